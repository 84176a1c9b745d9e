"""A layer's data as messages for the browser: the full message (shapes and values) and the
values-only message (what changes when the shapes stay the same, e.g. a live count).

Both carry the layer's versions in their meta: ``version`` (of everything) and ``geometryVersion``
(of the shapes). The browser keeps a layer's shapes while their geometry version holds and swaps in
new values from a values-only message.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layers.geometry import POSITION_ENCODING, encode_positions, origin_of
from layers.spec import LayerData, LayerSpec, SpecError, Variant
from layers.wire import encode

FULL = "full"
VALUES = "values"


def _values(spec: LayerSpec, data: LayerData) -> tuple[dict[str, Any], dict[str, Any]]:
    columns: dict[str, Any] = dict(data.values)
    if data.labels is not None:  # the text of a label is a value (a renamed district keeps its shape)
        columns["label_text"] = np.asarray(data.labels.text).astype(str)
    palettes, legends = {}, {}
    for colouring in spec.colourings:
        colours = colouring.colour(data)
        if len(colours.index) != data.count:
            raise SpecError(f"colouring {colouring.id!r} of layer {spec.id!r} gave {len(colours.index)} colours "
                             f"for {data.count} features")
        columns[f"colour.{colouring.id}"] = colours.index
        palettes[colouring.id] = [list(c) for c in colours.palette]
        legends[colouring.id] = colours.legend.to_json()
    return columns, {"palettes": palettes, "legends": legends}


def _shapes(data: LayerData) -> tuple[dict[str, Any], dict[str, Any]]:
    rings = data.rings
    if len(rings.coords):
        lo, hi = rings.coords.min(axis=0), rings.coords.max(axis=0)
        origin = origin_of((lo[0], lo[1], hi[0], hi[1]))
    else:
        origin = (0.0, 0.0)
    columns: dict[str, Any] = {
        "positions": encode_positions(rings.coords, rings.starts, origin),
        "starts": rings.starts.astype(np.uint32),
    }
    if rings.count != data.count or not np.array_equal(rings.feature, np.arange(rings.count)):
        columns["ring_feature"] = rings.feature.astype(np.uint32)
    if data.labels is not None:
        columns["label_x"] = (np.asarray(data.labels.lon) - origin[0]).astype(np.float32)
        columns["label_y"] = (np.asarray(data.labels.lat) - origin[1]).astype(np.float32)
    return columns, {"origin": list(origin), "positions": POSITION_ENCODING, "rings": rings.count}


def message(
    spec: LayerSpec,
    data: LayerData,
    *,
    part: str,
    variant: Variant | None,
    version: str,
    geometry_version: str,
) -> bytes:
    """The ``full`` or ``values`` message of one layer (and variant) at one version."""
    if part not in (FULL, VALUES):
        raise SpecError(f"a layer message is {FULL!r} or {VALUES!r}, not {part!r}")
    columns, meta = _values(spec, data)
    meta |= {
        "layer": spec.id,
        "part": part,
        "variant": variant.id if variant else None,
        "count": data.count,
        "version": version,
        "geometryVersion": geometry_version,
        **dict(data.meta),
    }
    if part == FULL:
        shape_columns, shape_meta = _shapes(data)
        columns = shape_columns | columns
        meta |= shape_meta
    return encode(columns, meta)
