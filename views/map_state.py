"""The map's state as the URL carries it, and which layers the map draws first for a state.

The browser (``views/assets/city_map.js``) reads the same query: ``view=lon,lat,zoom,pitch,bearing``,
``layers=id,id``, ``colour=layer:colouring``, ``variant=layer:variant``, ``sel=layer:key``. The server uses
it to tell the browser, in the page itself, which layer messages to fetch before any script has run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The first view: the confluence of the Yangtze and the Han, looking north-east.
INITIAL_VIEW = {"longitude": 114.30, "latitude": 30.575, "zoom": 12.6, "pitch": 50, "bearing": -20}


def model_link(lon: float, lat: float, model_id: str) -> str:
    """The map opened on an IFC model, looking down at it from the south, the model selected, each layer as it
    opens by default (the models are shown by default: the link names no layers, so it lists none again)."""
    return f"/?view={lon:.5f},{lat:.5f},18.6,40,{INITIAL_VIEW['bearing']}&sel=bim:{model_id}"


@dataclass(frozen=True)
class MapState:
    view: Mapping[str, float] = field(default_factory=lambda: dict(INITIAL_VIEW))
    layers: frozenset[str] | None = None  # None: each layer's own default
    variants: Mapping[str, str] = field(default_factory=dict)


def _pairs(text: str | None) -> dict[str, str]:
    out = {}
    for item in (text or "").split(","):
        key, _, value = item.partition(":")
        if key and value:
            out[key] = value
    return out


def parse_state(args: Mapping[str, str]) -> MapState:
    """The state in a map URL's query; anything malformed falls back to the defaults, as in the browser."""
    view = dict(INITIAL_VIEW)
    parts = (args.get("view") or "").split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 5 and all(abs(n) < 1e6 for n in numbers):
        view.update(zip(("longitude", "latitude", "zoom", "pitch", "bearing"), numbers, strict=True))
    layers = frozenset(x for x in args["layers"].split(",") if x) if "layers" in args else None
    return MapState(view, layers, _pairs(args.get("variant")))


def first_view(listing: Mapping[str, Any], state: MapState) -> list[tuple[str, str]]:
    """The (layer, variant) pairs the map draws for ``state``, in drawing order (as ``city_map.js`` chooses)."""
    zoom = state.view["zoom"]
    out = []
    for spec in listing["layers"]:
        on = (not spec["toggle"]) or (spec["id"] in state.layers if state.layers is not None else spec["visible"])
        in_zoom = (spec["minZoom"] is None or zoom >= spec["minZoom"]) and (
            spec["maxZoom"] is None or zoom <= spec["maxZoom"])
        if not (spec["available"] and on and in_zoom):
            continue
        variant = ""
        if spec["variants"]:
            ids = [v["id"] for v in spec["variants"]]
            asked = state.variants.get(spec["id"])
            variant = asked if asked in ids else spec["defaultVariant"]
        out.append((spec["id"], variant))
    return out


def data_url(layer_id: str, variant: str) -> str:
    """Where the browser fetches a layer's message (the same string as ``city_map.js`` builds)."""
    return f"/api/v1/layers/{layer_id}/data" + (f"?variant={variant}" if variant else "")
