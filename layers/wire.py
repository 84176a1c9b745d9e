"""The binary form in which layers travel to the browser: typed columns behind a small JSON header.

Layout (all little-endian)::

    b"TWB2" | uint32 header length | JSON header (padded so the body starts 8-byte aligned)
    | buffers, each starting 8-byte aligned

The header is ``{"meta": {...}, "columns": {name: column}}``. Offsets count bytes from the body
start; ``length`` counts elements. A column is one of

- a number: ``{"type": "float32"|"float64"|"int8"|...|"uint64"|"bool", "offset", "length"}``.
  64-bit integers (H3 cell ids) arrive in the browser as ``BigInt64Array``/``BigUint64Array``;
- a timestamp: ``{"type": "timestamp", "unit": "ms", ...}``, int64 milliseconds since 1970 UTC;
- dictionary-coded text: ``{"type": "dictionary", "index": "uint8"|"uint16"|"uint32", "offset",
  "length", "dictionary": {"count", "offsets", "data", "bytes"}}``: one index per row into a list of
  distinct strings, stored as UTF-8 bytes (``data``) with ``count + 1`` uint32 ``offsets``;
- any of these may carry ``"validity": offset``: a bitmap, one bit per row, least significant bit
  first (as in Arrow); a 0 bit is a null.

The browser wraps every buffer in a typed array without copying (``views/assets/wire.js``), so no
GeoJSON or JSON arrays are parsed on either side.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

MAGIC = b"TWB2"
MEDIA_TYPE = "application/vnd.city-twin.layer"
#: Number types and their little-endian numpy dtypes.
NUMBERS = {
    "float32": "<f4",
    "float64": "<f8",
    "int8": "i1",
    "uint8": "u1",
    "int16": "<i2",
    "uint16": "<u2",
    "int32": "<i4",
    "uint32": "<u4",
    "int64": "<i8",
    "uint64": "<u8",
}


class WireError(ValueError):
    """A message that is not a layer in our binary form, or a column we cannot send."""


def _pad(n: int) -> int:
    return (-n) % 8


class _Body:
    def __init__(self) -> None:
        self.blobs: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> int:
        offset = self.size
        self.blobs.append(data + b"\0" * _pad(len(data)))
        self.size += len(self.blobs[-1])
        return offset


def _index_type(count: int) -> str:
    return "uint8" if count <= 0xFF else "uint16" if count <= 0xFFFF else "uint32"


def _validity(valid: np.ndarray) -> bytes:
    return np.packbits(valid.astype(bool), bitorder="little").tobytes()


def _encode_column(name: str, values: Any, body: _Body) -> dict[str, Any]:
    if isinstance(values, pd.Series):
        values = values.array
    mask: np.ndarray | None = None
    if isinstance(values, pd.Categorical) or _is_text(values):
        cat = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
        strings = [str(v) for v in cat.categories]
        codes = np.asarray(cat.codes)
        if (codes < 0).any():
            mask = codes >= 0
            codes = np.where(mask, codes, 0)
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.concatenate([[0], np.cumsum([len(b) for b in encoded])]).astype("<u4")
        index = _index_type(len(strings))
        spec = {
            "type": "dictionary",
            "index": index,
            "length": len(codes),
            "offset": body.add(codes.astype(NUMBERS[index]).tobytes()),
            "dictionary": {
                "count": len(strings),
                "offsets": body.add(offsets.tobytes()),
                "data": body.add(b"".join(encoded)),
                "bytes": int(offsets[-1]),
            },
        }
    else:
        if isinstance(values, pd.api.extensions.ExtensionArray):
            if isinstance(values, pd.arrays.DatetimeArray | pd.arrays.BooleanArray | pd.arrays.IntegerArray
                          | pd.arrays.FloatingArray):
                na = np.asarray(values.isna())
                if na.any() or not isinstance(values, pd.arrays.DatetimeArray):
                    mask = ~na  # a nullable column stays nullable, with or without nulls
                if isinstance(values, pd.arrays.DatetimeArray):
                    values = values.tz_convert("UTC").tz_localize(None) if values.tz is not None else values
                    values = np.asarray(values.to_numpy(dtype="datetime64[ms]"))
                    values = np.where(na, np.datetime64(0, "ms"), values)
                else:
                    fill = False if isinstance(values, pd.arrays.BooleanArray) else 0
                    values = values.to_numpy(dtype=values.dtype.numpy_dtype, na_value=fill)
            else:
                raise WireError(f"column {name!r} has type {values.dtype}, which the wire cannot carry")
        array = np.asarray(values)
        if array.ndim != 1:
            raise WireError(f"column {name!r} has {array.ndim} dimensions; flatten it first")
        if array.dtype.kind == "M":
            if isinstance(array.dtype, np.dtype) and array.dtype != "datetime64[ms]":
                array = array.astype("datetime64[ms]")
            nat = np.isnat(array)
            if nat.any():
                mask = ~nat if mask is None else mask & ~nat
                array = np.where(nat, np.datetime64(0, "ms"), array)
            spec = {"type": "timestamp", "unit": "ms", "length": int(array.size),
                    "offset": body.add(array.view("<i8").astype("<i8").tobytes())}
        elif array.dtype.kind == "b":
            spec = {"type": "bool", "length": int(array.size), "offset": body.add(array.astype("u1").tobytes())}
        elif array.dtype.name in NUMBERS:
            spec = {"type": array.dtype.name, "length": int(array.size),
                    "offset": body.add(np.ascontiguousarray(array, dtype=NUMBERS[array.dtype.name]).tobytes())}
        else:
            raise WireError(
                f"column {name!r} has dtype {array.dtype}; the wire carries numbers {sorted(NUMBERS)}, bool, "
                f"timestamps and text"
            )
    if mask is not None:
        spec["validity"] = body.add(_validity(mask))
    return spec


def _is_text(values: Any) -> bool:
    if isinstance(values, pd.api.extensions.ExtensionArray):
        return pd.api.types.is_string_dtype(values.dtype)
    array = np.asarray(values)
    return array.dtype.kind in "USO" and (array.dtype.kind != "O" or all(
        v is None or isinstance(v, str) or (isinstance(v, float) and np.isnan(v)) for v in array))


def encode(columns: dict[str, Any], meta: dict[str, Any] | None = None) -> bytes:
    """One message holding ``columns`` (1-D: numbers, bools, datetimes, text or categoricals, with nulls)."""
    body = _Body()
    specs = {name: _encode_column(name, values, body) for name, values in columns.items()}
    head = json.dumps({"meta": meta or {}, "columns": specs}, ensure_ascii=False, separators=(",", ":")).encode()
    head += b" " * _pad(8 + len(head))
    return b"".join([MAGIC, len(head).to_bytes(4, "little"), head, *body.blobs])


def header(message: bytes) -> tuple[dict[str, Any], int]:
    """The JSON header of a message and where its body starts."""
    if message[:4] != MAGIC:
        raise WireError(f"not a city-twin layer message: it starts with {message[:4]!r}, not {MAGIC!r}")
    size = int.from_bytes(message[4:8], "little")
    return json.loads(message[8 : 8 + size]), 8 + size


def decode(message: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns and meta of a message made by :func:`encode`.

    Numbers come back as numpy arrays (bools as bool); timestamps as ``datetime64[ms]``; text as
    ``pandas.Categorical``; a column with nulls as a pandas nullable array (or NaT / NaN categories).
    """
    head, body = header(message)
    out: dict[str, Any] = {}
    for name, spec in head["columns"].items():
        n = spec["length"]
        kind = spec["type"]
        if kind == "dictionary":
            d = spec["dictionary"]
            offsets = np.frombuffer(message, "<u4", d["count"] + 1, body + d["offsets"])
            data = message[body + d["data"] : body + d["data"] + d["bytes"]]
            strings = [data[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(d["count"])]
            codes = np.frombuffer(message, NUMBERS[spec["index"]], n, body + spec["offset"]).astype(np.int64)
            if "validity" in spec:
                codes = np.where(_valid(message, body + spec["validity"], n), codes, -1)
            out[name] = pd.Categorical.from_codes(codes, categories=pd.Index(strings, dtype=object))
            continue
        if kind == "timestamp":
            values = np.frombuffer(message, "<i8", n, body + spec["offset"]).view("datetime64[ms]")
        elif kind == "bool":
            values = np.frombuffer(message, "u1", n, body + spec["offset"]).astype(bool)
        else:
            values = np.frombuffer(message, NUMBERS[kind], n, body + spec["offset"])
        if "validity" in spec:
            valid = _valid(message, body + spec["validity"], n)
            if kind == "timestamp":
                values = np.where(valid, values, np.datetime64("NaT"))
            elif kind == "bool":
                values = pd.array(values, dtype="boolean")
                values[~valid] = pd.NA
            else:
                values = pd.arrays.IntegerArray(values.copy(), ~valid) if values.dtype.kind in "iu" else (
                    pd.arrays.FloatingArray(values.copy(), ~valid))
        out[name] = values
    return out, head["meta"]


def _valid(message: bytes, offset: int, n: int) -> np.ndarray:
    bits = np.frombuffer(message, "u1", (n + 7) // 8, offset)
    return np.unpackbits(bits, bitorder="little")[:n].astype(bool)
