"""Arrays carried beside a value's JSON, never inside it: an explanation's map or scores.

A value field annotated ``Annotated[np.ndarray, OutOfBand()]`` is encoded by the codec
(:mod:`medassist.domain.codec`) as a reference, ``{"array": "a0", "dtype": "float32", "shape": [512, 512]}``,
and the array itself goes to the channel the caller gives: a session file stores it as a compressed
``.npy`` member, the model host sends its bytes over the socket as they lie in memory, and a worklist
row or a ``--json`` line holds it inline (``"values"``) or only its shape. Reading checks what the
reference declares (numeric dtype, shape, size) before any array is built.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import numpy as np
from typing_extensions import TypedDict  # pydantic reads its schema (typing.TypedDict only from Python 3.12)

# The largest array a value may carry: a float32 map of an image at the pixel budget (8192 x 8192).
MAX_ARRAY_BYTES = 8192 * 8192 * 4
_NUMERIC = "biuf"  # booleans, integers, floats: what explanations hold (never objects)


class ArrayError(ValueError):
    """An array reference or its data cannot be read (missing, damaged, not numeric, or too large)."""


class ArrayRef(TypedDict, total=False):
    """How a value names an array: its key in the channel, dtype and shape; ``values`` when inline."""

    array: str
    dtype: str
    shape: list[int] | None
    values: list[Any]


class ArrayChannel(Protocol):
    """Where a document's arrays go while encoding (``put``) and come from while decoding (``get``)."""

    def put(self, values: np.ndarray) -> ArrayRef: ...

    def get(self, ref: ArrayRef) -> np.ndarray: ...


def checked_layout(ref: Any) -> tuple[np.dtype, tuple[int, ...] | None]:
    """The dtype and shape a reference declares, refused when not numeric or above :data:`MAX_ARRAY_BYTES`."""
    if not isinstance(ref, dict):
        raise ArrayError(f"an array reference must be an object, not {type(ref).__name__}")
    try:
        dtype = np.dtype(str(ref.get("dtype", "float32")))
    except TypeError as exc:
        raise ArrayError(f"array dtype {ref.get('dtype')!r} is not a numpy dtype") from exc
    if dtype.kind not in _NUMERIC:
        raise ArrayError(f"array dtype {dtype} is not numeric")
    shape = ref.get("shape")
    if shape is None:
        return dtype, None
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ArrayError(f"array shape {shape!r} is not a list of sizes")
    size = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size > MAX_ARRAY_BYTES:
        raise ArrayError(f"array declares {size:,} bytes (shape {tuple(shape)}), more than the {MAX_ARRAY_BYTES:,} allowed")
    return dtype, tuple(shape)


def as_declared(values: np.ndarray, ref: ArrayRef) -> np.ndarray:
    """``values`` in the reference's dtype, refused when its shape is not the declared one."""
    dtype, shape = checked_layout(ref)
    if shape is not None and tuple(values.shape) != shape:
        raise ArrayError(f"array {ref.get('array', '')} has shape {tuple(values.shape)} where its value declares {shape}")
    return values if values.dtype == dtype else values.astype(dtype)


class KeyedArrays:
    """Arrays kept under keys ("a0", "a1", ...) beside the document: a session file's members, the
    model host's out-of-band buffers. ``load`` reads a stored array (given its key and reference)."""

    def __init__(self, load: Callable[[str, ArrayRef], np.ndarray] | None = None) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._load = load

    def put(self, values: np.ndarray) -> ArrayRef:
        values = np.asarray(values)
        key = f"a{len(self.arrays)}"
        self.arrays[key] = values
        return {"array": key, "dtype": values.dtype.name, "shape": list(values.shape)}

    def get(self, ref: ArrayRef) -> np.ndarray:
        checked_layout(ref)
        key = ref.get("array")
        if not isinstance(key, str):
            raise ArrayError("array reference names no key")
        if key in self.arrays:
            values = self.arrays[key]
        elif self._load is not None:
            values = self._load(key, ref)
        else:
            raise ArrayError(f"array {key} is missing")
        return as_declared(values, ref)


class InlineArrays:
    """Arrays held in the document as JSON lists (a worklist row, a ``--json`` line): exact for every
    float dtype, readable without MedAssist."""

    def put(self, values: np.ndarray) -> ArrayRef:
        values = np.asarray(values)
        return {"dtype": values.dtype.name, "shape": list(values.shape), "values": values.tolist()}

    def get(self, ref: ArrayRef) -> np.ndarray:
        dtype, shape = checked_layout(ref)
        if "values" not in ref:
            raise ArrayError("array reference holds no values")
        try:
            values = np.asarray(ref["values"], dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise ArrayError(f"array values are not {dtype} numbers ({exc})") from exc
        return as_declared(values, ref)


class ArrayShapes:
    """Only each array's dtype and shape (``--json`` summaries of image maps): a document made with it
    cannot be decoded back."""

    def put(self, values: np.ndarray) -> ArrayRef:
        values = np.asarray(values)
        return {"dtype": values.dtype.name, "shape": list(values.shape)}

    def get(self, ref: ArrayRef) -> np.ndarray:
        raise ArrayError("this document holds only the arrays' shapes, not their values")


class OutOfBand:
    """Marks an ``np.ndarray`` field the codec encodes as an :class:`ArrayRef` through the channel it is
    given as context (pydantic's schema hooks; pydantic is imported only when a codec is built)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def encode(values: np.ndarray, info: Any) -> ArrayRef:
            return _channel(info).put(np.asarray(values))

        def decode(value: Any, info: Any) -> np.ndarray:
            return value if isinstance(value, np.ndarray) else _channel(info).get(value)

        reference = handler.generate_schema(ArrayRef)
        return core_schema.with_info_plain_validator_function(
            decode, json_schema_input_schema=reference,
            serialization=core_schema.plain_serializer_function_ser_schema(encode, info_arg=True, return_schema=reference))


def _channel(info: Any) -> ArrayChannel:
    channel = info.context
    if channel is None or not hasattr(channel, "put"):
        raise ArrayError("arrays travel beside the document: the codec was given no channel for them")
    return channel
