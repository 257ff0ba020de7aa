"""Ways to damage a real file, for fuzzing readers: bit flips, truncation, splices, junk."""

from __future__ import annotations

import random


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
