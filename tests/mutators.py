"""Ways to damage a real file, for fuzzing readers: bit flips, truncation, splices, junk."""

from __future__ import annotations

import random
import shutil
import signal
import traceback
from pathlib import Path
from typing import Callable, Iterable


def bit_flips(data: bytes, rng: random.Random, count: int = 8) -> bytes:
    buf = bytearray(data)
    for _ in range(count):
        if buf:
            index = rng.randrange(len(buf))
            buf[index] ^= 1 << rng.randrange(8)
    return bytes(buf)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def splice_junk(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    return data[:at] + junk + data[at:]


def duplicate_block(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randrange(1, 256))
    return data[:end] + data[start:end] + data[end:]


MUTATORS = (bit_flips, truncate, splice_junk, duplicate_block)


def mutations(data: bytes, seed: int, n: int):
    """``n`` deterministic mutants of ``data``."""
    rng = random.Random(seed)
    for _ in range(n):
        yield rng.choice(MUTATORS)(data, rng)


# structure-aware mutants: damage that keeps the file well-formed, so it reaches the code that
# interprets values (LUTs, frame counts, manifests, dates) instead of stopping at the parser ------

ODD_JSON_VALUES = (None, True, 0, -1, 2**63, 1e308, "", "x" * 300, [], {}, [[[]]], {"resourceType": 5},
                   {"resourceType": "NopeType"}, {"": None}, [None], "1677-01-01", "0001-01-01T00:00:00Z")


def _json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_paths(item, path + (index,))


def json_value_mutant(document, rng: random.Random) -> bytes:
    """A JSON document with one value replaced by one of an odd type, a key removed or added, a
    deep nesting or an over-long integer: the damage a schema must catch."""
    import copy
    import json

    doc = copy.deepcopy(document)
    paths = list(_json_paths(doc))
    path = rng.choice(paths)
    choice = rng.randrange(6)
    if choice == 4:  # beyond Python's JSON recursion limit, or its int-string limit, at that place
        marker = "__MUTANT__"
        _replace(doc, path, marker) if path else None
        text = json.dumps(doc) if path else json.dumps(marker)
        junk = "[" * rng.choice((1_000, 100_000)) + "]" * rng.choice((0, 1_000, 100_000)) if rng.random() < 0.5 \
            else "9" * rng.choice((4_301, 10_000))
        return text.replace(json.dumps(marker), junk, 1).encode()
    if not path:
        return json.dumps(rng.choice(ODD_JSON_VALUES)).encode()
    parent = _get(doc, path[:-1])
    if choice == 5 and isinstance(parent, dict):
        del parent[path[-1]]
    elif choice == 3 and isinstance(parent, dict):
        parent[f"unknown_{rng.randrange(100)}"] = rng.choice(ODD_JSON_VALUES)
    else:
        _replace(doc, path, rng.choice(ODD_JSON_VALUES))
    return json.dumps(doc).encode()


def _get(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def _replace(doc, path, value) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def dicom_value_mutant(data: bytes, rng: random.Random) -> bytes:
    """A DICOM file whose values disagree with each other or with its pixel data: VOI LUTs and palettes
    with wrong lengths, entry sizes and ranges; frame counts, sizes and bit depths that do not match the
    pixel data; non-finite rescale values."""
    import io

    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    for _ in range(rng.randrange(1, 3)):
        choice = rng.randrange(7)
        if choice == 0:  # a VOI LUT whose descriptor, data and VR may disagree
            item = Dataset()
            entries = rng.choice((0, 1, 2, 128, 256, 4096, 65535))
            depth = rng.choice((8, 12, 16, 32, 0))
            descriptor = [entries, rng.choice((0, -1024, 2**15 - 1, 100)), depth]
            item.add_new(0x00283002, "SS" if min(descriptor) < 0 else "US", [v if v < 2**15 else 2**15 - 1 for v in descriptor]
                         if min(descriptor) < 0 else descriptor)
            count = max(0, entries + rng.choice((0, 0, -1, 1, -entries, 7)))
            values = [rng.randrange(rng.choice((2, 256, 4096, 65536))) for _ in range(min(count, 70000))]
            if rng.random() < 0.5:
                item.add_new(0x00283006, "US", values or None)
            else:
                raw = b"".join(v.to_bytes(4, "little")[:2] for v in values)
                item.add_new(0x00283006, "OW", raw[: rng.choice((len(raw), 8, 0, len(raw) // 2))])
            ds.VOILUTSequence = Sequence([item])
        elif choice == 1:  # palette colour tables of different or zero lengths
            ds.PhotometricInterpretation = "PALETTE COLOR"
            for colour in ("Red", "Green", "Blue"):
                entries = rng.choice((0, 1, 16, 256, 4096))
                ds.add_new({"Red": 0x00281101, "Green": 0x00281102, "Blue": 0x00281103}[colour], "US", [entries, 0, rng.choice((8, 16))])
                length = rng.choice((0, 2, 2 * entries, 2 * entries - 2, 2 * entries + 4))
                setattr(ds, f"{colour}PaletteColorLookupTableData", bytes(rng.randrange(256) for _ in range(max(length, 0))))
        elif choice == 2:
            ds.RescaleSlope = rng.choice(("NaN", "inf", "-inf", "1e400", "0", "-1"))
            ds.RescaleIntercept = rng.choice(("0", "nan", "-1024", "1e308"))
        elif choice == 3:
            ds.NumberOfFrames = rng.choice((0, 2, 3, 1000, 2**31 - 1, 65536))
        elif choice == 4:
            ds.Rows = rng.choice((0, 1, 3, 7, 65535))
            ds.Columns = rng.choice((0, 1, 3, 7, 65535))
        elif choice == 5:
            ds.BitsAllocated = rng.choice((0, 1, 7, 8, 12, 16, 32, 64))
            ds.BitsStored = rng.choice((0, 1, 8, 12, 16, 33))
            ds.SamplesPerPixel = rng.choice((0, 1, 2, 3, 4))
            ds.PixelRepresentation = rng.choice((0, 1, 2))
        else:
            pixels = bytes(ds.PixelData) if "PixelData" in ds else b""
            ds.PixelData = rng.choice((pixels[: rng.randrange(len(pixels) + 1)], pixels * rng.choice((2, 3)), b"\0" * 4 * 2**20, b""))
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    return buffer.getvalue()


def csv_value_mutant(text: str, rng: random.Random) -> bytes:
    """A CSV whose cells hold what its readers must survive: dates pandas cannot hold at nanoseconds,
    fields over the csv module's limit, a very wide header, quotes, UTF-16 with a torn last byte."""
    lines = text.splitlines(keepends=True)
    choice = rng.randrange(6)
    if choice == 0 and len(lines) > 1:
        row = rng.randrange(1, len(lines))
        cells = lines[row].rstrip("\n").split(",")
        cells[rng.randrange(len(cells))] = rng.choice(("1677-01-01", "0021-08-23", "2262-04-12", "9999-12-31T23:59:59Z",
                                                       "1900-01-01T00:00:00.000000001Z", "31/02/2020", "1e400", "nan"))
        lines[row] = ",".join(cells) + "\n"
    elif choice == 1:
        row = rng.randrange(len(lines))
        lines[row] = lines[row].rstrip("\n") + "," + "A" * rng.choice((131_073, 200_000)) + "\n"
    elif choice == 2:
        lines[0] = lines[0].rstrip("\n") + "," * rng.choice((20_000, 1_000_000)) + "\n"
    elif choice == 3:
        row = rng.randrange(len(lines))
        lines[row] = '"' + lines[row]
    data = "".join(lines)
    if choice == 4 or rng.random() < 0.2:
        encoded = data.encode("utf-16")
        return encoded[: len(encoded) - rng.choice((0, 1, 3))]
    if choice == 5:
        return data.encode("utf-8") + bytes([rng.choice((0x80, 0xC3, 0xFF))])
    return data.encode("utf-8")


def npy_header_mutant(data: bytes, rng: random.Random) -> bytes:
    """A zlib-compressed ``.npy`` (as in session files) with a damaged header: huge or negative shapes,
    an object dtype, an unterminated dict, a body shorter or longer than declared, or a zlib bomb."""
    import zlib

    raw = zlib.decompress(data)
    header_end = raw.index(b"\n") + 1
    header, body = raw[:header_end], raw[header_end:]
    choice = rng.randrange(6)
    if choice == 0:
        header = header.replace(b"'shape': (", rng.choice((b"'shape': (1000000, 1000000, ", b"'shape': (-1, ", b"'shape': (2**64, ")), 1)
    elif choice == 1:
        header = header.replace(b"'descr': '", rng.choice((b"'descr': '|O", b"'descr': 'xx", b"'descr': '<U")), 1)
    elif choice == 2:
        header = header[: rng.randrange(10, len(header))]
    elif choice == 3:
        body = body[: rng.randrange(len(body) + 1)]
    elif choice == 4:
        body = body + b"\0" * rng.randrange(1, 4096)
    else:
        return zlib.compress(header + b"\0" * rng.choice((2**26, 2**28)), 9)
    return zlib.compress(header + body, 1)


class Crashes:
    """The crash classes a fuzz run meets (exception type and the frame that raised it), each with its
    count and a kept copy of its first mutant. The run goes on past a crash, so one long run names
    every class at once; :meth:`assert_none` fails the test at the end if there was any."""

    HANG_SECONDS = 60  # a guard against a hang (the run would never end), not a speed check

    def __init__(self, keep_in: Path) -> None:
        self.keep_in = keep_in
        self.classes: dict[str, list] = {}

    def outcome(self, check: Callable[[Path], str], path: Path) -> str:
        """``check(path)``'s outcome, or "crashed" (any exception, a failed assertion or a hang)."""
        def hung(*_):
            raise TimeoutError(f"still running after {self.HANG_SECONDS} s")

        previous = signal.signal(signal.SIGALRM, hung)
        signal.alarm(self.HANG_SECONDS)
        try:
            return check(path)
        except Exception as exc:  # noqa: BLE001 - every escape is a finding, named below
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            if key not in self.classes:
                kept = self.keep_in / f"crash{len(self.classes)}-{path.name}"
                if path.is_file():
                    shutil.copyfile(path, kept)
                self.classes[key] = [0, str(kept), str(exc)[:200]]
            self.classes[key][0] += 1
            return "crashed"
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)

    def assert_none(self) -> None:
        assert not self.classes, "crash classes (count, first mutant, message): " + "; ".join(
            f"{key}: {value}" for key, value in self.classes.items())


def tally(keep_in: Path, check: Callable[[Path], str], kinds: tuple[str, ...], mutants: Iterable[Path], expected: int,
          label: str = "") -> dict[str, int]:
    """Each written mutant's outcome (one of ``kinds``, or "crashed") counted over the whole run; then the test
    fails on any crash class (named with its first kept mutant) and unless all ``expected`` mutants were tried."""
    outcomes = dict.fromkeys((*kinds, "crashed"), 0)
    crashes = Crashes(keep_in)
    for path in mutants:
        outcomes[crashes.outcome(check, path)] += 1
    print(label, outcomes)
    crashes.assert_none()
    assert sum(outcomes.values()) == expected
    return outcomes
