"""One versioned codec for the values a result carries, used wherever they are stored or carried.

A :class:`~medassist.domain.prediction.Prediction` (with its gate verdict, image link, population
notice, film context, subtype splits and explanations), a :class:`TreatmentDecision`, a
:class:`FindingReview` and a :class:`FilmAttachment` are written as plain JSON by the same rules
in session files (``persistence.session_file``), worklist rows (``hospital``), ``--json`` lines
(``result_text.result_json`` adds the sentences there, and only there) and the model host's
replies (``inference.host``). The schema *is* the dataclasses: pydantic reads their fields, so a
field added to a value is stored everywhere at once; ``docs/values.schema.json`` is the JSON schema
(:func:`json_schema`, checked by a test). Arrays (an explanation's map or scores) never sit in the
JSON: each is a reference, and the array goes to the channel the caller gives
(:mod:`medassist.domain.arrays`).

Every document says which version of this codec wrote it. Reading migrates an older version
step by step (never writing it back); a newer version is refused with a message saying so.

Versions:

- **0**: a result as ``Prediction.to_dict`` gave it, before this codec (worklist databases,
  ``--json`` lines): ``"file"`` for the source, explanations summarised without their arrays
  (they are dropped on reading: the arrays were never stored).
- **1**: entries of session files of format 1: an explanation names its array by key (``"values"``)
  with a separate ``"dtype"``; population figures as free-form dicts.
- **2**: an explanation's array is a reference ``{"array", "dtype", "shape"}``; population figures
  typed (:class:`~medassist.domain.figures.Figures`; figures under other keys are dropped when
  migrating a version-1 notice, its message is kept).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from medassist.domain.arrays import ArrayChannel, ArrayShapes, InlineArrays
from medassist.domain.decisions import FilmAttachment, FindingReview, TreatmentDecision
from medassist.domain.figures import typed_figures
from medassist.domain.prediction import Explanation, Prediction

FORMAT = "medassist-values"
VERSION = 2

T = TypeVar("T")

# The values a document may hold, by the name it gives them.
KINDS: dict[str, type] = {
    "prediction": Prediction,
    "explanation": Explanation,
    "treatment_decision": TreatmentDecision,
    "finding_review": FindingReview,
    "film_attachment": FilmAttachment,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}


class CodecError(ValueError):
    """A stored value cannot be read: damaged, of another kind, or written by a newer MedAssist."""


_ADAPTERS: dict[type, Any] = {}


def _adapter(cls: type) -> Any:
    """pydantic's reader and writer of ``cls``, built once (pydantic is imported when a value is first
    encoded, not with the domain)."""
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def json_value(value: Any) -> Any:
    """What a free-form field (``extra``, ``inputs``) may hold besides JSON types, as JSON (numpy
    numbers and arrays, dates and timestamps, paths, sets, pandas' missing values)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    if isinstance(value, _dt.date) or hasattr(value, "isoformat"):  # dates, datetimes, pandas timestamps
        return value.isoformat()
    raise CodecError(f"cannot store a value of type {type(value).__name__} in a MedAssist value")


def encode(value: Any, arrays: ArrayChannel) -> dict[str, Any]:
    """``value`` (one of :data:`KINDS` or a value inside one) as plain JSON; its arrays go to ``arrays``."""
    from pydantic_core import PydanticSerializationError

    try:
        data: dict[str, Any] = _adapter(type(value)).dump_python(value, mode="json", context=arrays, fallback=json_value,
                                                                warnings=False)
    except PydanticSerializationError as exc:
        raise CodecError(str(exc)) from exc
    return data


def plain(value: Any) -> Any:
    """A value as JSON for a log line or a summary (arrays as their shapes only)."""
    return encode(value, ArrayShapes())


def decode(cls: type[T], data: Any, arrays: ArrayChannel, version: int = VERSION) -> T:
    """A value of ``cls`` from what :func:`encode` wrote in codec ``version`` (older versions migrated
    first). Raises :class:`CodecError` naming the first field that cannot be read."""
    from pydantic import ValidationError

    check_version(version)
    data = _migrated(_KIND_OF.get(cls, ""), data, version)
    try:
        value: T = _adapter(cls).validate_python(data, context=arrays)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or _KIND_OF.get(cls, cls.__name__)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise CodecError(f"{where}: {first['msg']}{more}") from exc
    return value


def check_version(version: Any) -> int:
    """``version`` when this MedAssist reads it; a newer or unknown one is a :class:`CodecError` saying so."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CodecError(f"values version {version!r} is not one MedAssist writes")
    if version > VERSION:
        raise CodecError(f"written by a newer MedAssist (values version {version}; this one reads up to {VERSION}): "
                         "update MedAssist to open it")
    return version


def document(value: Any, arrays: ArrayChannel | None = None) -> dict[str, Any]:
    """A self-describing document of one value: format, version, kind and the value (arrays inline
    unless another channel is given)."""
    kind = _KIND_OF.get(type(value))
    if kind is None:
        raise CodecError(f"a {type(value).__name__} is not a value MedAssist stores on its own")
    return {"format": FORMAT, "version": VERSION, "kind": kind,
            "value": encode(value, arrays if arrays is not None else InlineArrays())}


def from_document(cls: type[T], data: Any, arrays: ArrayChannel | None = None) -> T:
    """The value of a :func:`document`; a bare value without a header is read as version 0 (what
    MedAssist stored before this codec)."""
    if not isinstance(data, dict):
        raise CodecError(f"a stored value must be a JSON object, not {type(data).__name__}")
    channel = arrays if arrays is not None else InlineArrays()
    if "format" not in data:
        return decode(cls, data, channel, version=0)
    if data.get("format") != FORMAT:
        raise CodecError(f"not a MedAssist value (format {data.get('format')!r})")
    version = check_version(data.get("version"))
    if data.get("kind") != _KIND_OF.get(cls):
        raise CodecError(f"holds a {data.get('kind')!r}, not a {_KIND_OF.get(cls, cls.__name__)!r}")
    return decode(cls, data.get("value"), channel, version)


def json_schema() -> dict[str, Any]:
    """The JSON schema of every kind of value at this version (``docs/values.schema.json``)."""
    from pydantic import TypeAdapter

    keys, schema = TypeAdapter.json_schemas([(kind, "serialization", _adapter(cls)) for kind, cls in KINDS.items()],
                                            title=f"MedAssist values, version {VERSION}")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": schema["title"],
            "description": f"Documents are {{format: {FORMAT!r}, version: {VERSION}, kind, value}}; arrays are "
                           "references to data carried beside the JSON (or inline 'values').",
            "version": VERSION, "kinds": {kind: keys[(kind, "serialization")] for kind in KINDS},
            "$defs": schema.get("$defs", {})}


# ---------------------------------------------------------------------------------------------
# migrations: each takes a value of one version to the next (plain data in, plain data out)

def _v0_prediction(data: dict[str, Any]) -> dict[str, Any]:
    """``Prediction.to_dict`` -> version 1: ``file`` was the source; explanation summaries held no arrays."""
    data = dict(data)
    if "file" in data:
        data.setdefault("source", data.pop("file"))
    data.pop("explanation", None)
    data["explanations"] = []
    return data


def _v1_explanation(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    key, dtype = data.get("values"), data.pop("dtype", "float32")
    if isinstance(key, str):
        data["values"] = {"array": key, "dtype": dtype, "shape": None}
    return data


def _v1_prediction(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["explanations"] = [_v1_explanation(e) if isinstance(e, dict) else e for e in data.get("explanations") or []]
    notice = data.get("population_notice")
    if isinstance(notice, dict):
        data["population_notice"] = {**notice, "metrics": typed_figures(notice.get("metrics", {}))}
    return data


_MIGRATIONS: dict[int, dict[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    0: {"prediction": _v0_prediction},
    1: {"prediction": _v1_prediction, "explanation": _v1_explanation},
}


def _migrated(kind: str, data: Any, version: int) -> Any:
    for step in range(version, VERSION):
        migrate = _MIGRATIONS.get(step, {}).get(kind)
        if migrate is not None and isinstance(data, dict):
            data = migrate(data)
    return data
