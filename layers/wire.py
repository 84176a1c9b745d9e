"""The binary form in which layers travel to the browser: typed arrays behind a small JSON header.

Layout (all little-endian)::

    b"TWB1" | uint32 header length | JSON header (padded to 8 bytes)
    | array buffers, each 8-byte aligned

The header is ``{"meta": {...}, "arrays": {name: {"dtype", "offset", "length"}}}``: ``offset``
counts from the end of the header (the body start, 8-byte aligned), ``length`` in elements.
The browser wraps each buffer in a typed array of that dtype without copying it
(``views/assets/city_map.js`` reads it) and hands the arrays to deck.gl as binary attributes,
so no GeoJSON is parsed on either side.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

MAGIC = b"TWB1"
MEDIA_TYPE = "application/vnd.city-twin.layer"
#: dtypes the browser has a typed array for.
DTYPES = {
    "float32": "<f4",
    "float64": "<f8",
    "uint8": "u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "int32": "<i4",
}


class WireError(ValueError):
    """A message that is not a layer in our binary form, or an array we cannot send."""


def _pad(n: int) -> int:
    return (-n) % 8


def encode(arrays: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> bytes:
    """One message holding ``arrays`` (1-D, of a dtype in :data:`DTYPES`) and JSON-able ``meta``."""
    specs: dict[str, dict[str, Any]] = {}
    blobs: list[bytes] = []
    offset = 0
    for name, array in arrays.items():
        array = np.asarray(array)
        dtype = array.dtype.name
        if dtype not in DTYPES:
            raise WireError(f"array {name!r} has dtype {dtype}; the browser takes only {sorted(DTYPES)}")
        if array.ndim != 1:
            raise WireError(f"array {name!r} has {array.ndim} dimensions; flatten it first")
        blob = np.ascontiguousarray(array, dtype=DTYPES[dtype]).tobytes()
        specs[name] = {"dtype": dtype, "length": int(array.size), "offset": offset}
        blobs.append(blob + b"\0" * _pad(len(blob)))
        offset += len(blobs[-1])
    head = json.dumps({"meta": meta or {}, "arrays": specs}, ensure_ascii=False, separators=(",", ":")).encode()
    head += b" " * _pad(8 + len(head))
    return b"".join([MAGIC, len(head).to_bytes(4, "little"), head, *blobs])


def decode(message: bytes) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a message made by :func:`encode`."""
    if message[:4] != MAGIC:
        raise WireError(f"not a city-twin layer message: it starts with {message[:4]!r}, not {MAGIC!r}")
    size = int.from_bytes(message[4:8], "little")
    header = json.loads(message[8 : 8 + size])
    arrays = {}
    for name, spec in header["arrays"].items():
        dtype = np.dtype(DTYPES[spec["dtype"]])
        arrays[name] = np.frombuffer(message, dtype=dtype, count=spec["length"], offset=8 + size + spec["offset"])
    return arrays, header["meta"]
