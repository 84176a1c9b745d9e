"""A map layer as data: one typed :class:`LayerSpec` says everything the server and the browser need.

The spec names the layer (Chinese and English), how the browser draws it (a :class:`Renderer`), the
store tables it is made from and the function that makes it (:class:`LayerData`: shapes and
per-feature values), the colourings computed on the server (palette and legend), the tooltip, what
a click picks and where the details come from, the zoom range it shows in, its data class and its
version. The browser draws any spec with the renderer it names; nothing else lists the layers.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from cim.levels import Level
from cim.tables import Classification
from layers.colours import Colours
from layers.geometry import Rings

Tables = Mapping[str, pd.DataFrame]


class Renderer(StrEnum):
    """How the browser draws a layer (one small renderer each in ``views/assets/renderers.js``)."""

    EXTRUDED = "extruded"  # polygons raised to a height (binding "elevation"; deck.gl SolidPolygonLayer, extruded)
    AREAS = "areas"  # flat filled polygons (SolidPolygonLayer)
    OUTLINES = "outlines"  # boundary lines (PathLayer), with an optional hover fill and name labels (TextLayer)
    LINES = "lines"  # open lines, e.g. roads (PathLayer), coloured by feature
    POINTS = "points"  # one dot per feature (ScatterplotLayer), coloured by feature
    MODELS = "models"  # a 3D model (GLB) per feature, its elements picked one by one (SimpleMeshLayer)


#: The accessors each renderer takes from a value column (the spec's ``bindings`` name the columns).
RENDERER_BINDINGS: dict[Renderer, tuple[str, ...]] = {
    Renderer.EXTRUDED: ("elevation",),
    Renderer.AREAS: (),
    Renderer.OUTLINES: (),
    Renderer.LINES: (),
    Renderer.POINTS: (),
    Renderer.MODELS: ("elevation",),  # the footprint raised to this, until the GLB is drawn
}


class SpecError(ValueError):
    """A layer spec that contradicts itself, or a request for a variant or colouring it does not have."""


@dataclass(frozen=True)
class Labels:
    """Text drawn at a point per feature (with the shapes: they move only when the shapes do)."""

    lon: np.ndarray
    lat: np.ndarray
    text: np.ndarray


@dataclass(frozen=True)
class LayerData:
    """What a layer's build function makes: the shapes, and one value per feature in each column.

    ``shapes`` may be a function that makes the rings: they are made only when asked for, so a message
    of new values for unchanged shapes never computes them.
    """

    count: int
    shapes: Rings | Callable[[], Rings]
    values: Mapping[str, Any] = field(default_factory=dict)
    labels: Labels | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    # made on first use, under a lock of this object's own (functools.cached_property locks per class on 3.11,
    # which would make every layer wait for every other's shapes)
    _made: dict[str, Rings] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, column in self.values.items():
            if len(column) != self.count:
                raise SpecError(f"value column {name!r} has {len(column)} entries for {self.count} features")

    @property
    def rings(self) -> Rings:
        with self._lock:
            if "rings" not in self._made:
                rings = self.shapes() if callable(self.shapes) else self.shapes
                if len(rings.feature) and int(rings.feature.max()) >= self.count:
                    raise SpecError(f"a ring belongs to feature {int(rings.feature.max())} of {self.count}")
                self._made["rings"] = rings
            return self._made["rings"]


@dataclass(frozen=True)
class Variant:
    """One of several forms of a layer the user chooses between (e.g. an H3 resolution)."""

    id: str
    title: str
    value: int | str


@dataclass(frozen=True)
class Colouring:
    """One way to colour a layer's features, computed on the server from the layer's data."""

    id: str
    title_zh: str
    title_en: str
    colour: Callable[[LayerData], Colours]


@dataclass(frozen=True)
class Details:
    """What the side panel shows for one picked feature."""

    layer: str
    key: str
    title: str
    subtitle: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    codes: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "key": self.key, "title": self.title, "subtitle": self.subtitle,
                "facts": [list(f) for f in self.facts], "codes": [list(c) for c in self.codes]}


def level_codes(row: Mapping[str, Any], *, upto: Level = Level.BUILDING,
                missing: str | None = None) -> tuple[tuple[str, str], ...]:
    """The row's code at each level from the district down to ``upto``, labelled for the panel; a level it has
    no code for is left out, or shown as ``missing`` when that is given."""
    out = []
    for lv in Level:
        if lv > upto:
            break
        value = row[lv.column]
        if isinstance(value, str) and value:
            out.append((f"{lv.label_zh} {lv.name.lower()}", value))
        elif missing is not None:
            out.append((f"{lv.label_zh} {lv.name.lower()}", missing))
    return tuple(out)


@dataclass(frozen=True)
class Pick:
    """What a click on a feature picks: its stable ``key`` (for links) and its details.

    ``details(tables, variant, index)`` and ``find(tables, variant, key) -> index`` read the layer's
    own tables plus ``tables`` listed here (e.g. buildings, to count what lies inside a street).
    """

    details: Callable[[Tables, Variant | None, int], Details]
    find: Callable[[Tables, Variant | None, str], int | None]
    tables: tuple[str, ...] = ()


_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


@dataclass(frozen=True)
class LayerSpec:
    id: str
    title_zh: str
    title_en: str
    renderer: Renderer
    #: store tables the layer is made from; their content hashes make its version
    tables: tuple[str, ...]
    build: Callable[[Tables, Variant | None], LayerData]
    #: tables the layer reads when the store has them (e.g. the BIM models that take the place of blocks);
    #: their content hashes are part of its version, and ``build`` finds them in its tables only when present
    optional_tables: tuple[str, ...] = ()
    #: bump when ``build`` or the styling changes what the browser gets from the same tables
    version: int = 1
    classification: Classification = Classification.PUBLIC
    colourings: tuple[Colouring, ...] = ()
    #: the colour of every feature (RGBA) when the layer has no colourings
    colour: tuple[int, int, int, int] = (200, 200, 200, 255)
    #: text on hover, with ``{column}``, ``{column:,}`` (thousands) or ``{column:.1f}`` from the values
    tooltip: str | None = None
    pick: Pick | None = None
    variants: tuple[Variant, ...] = ()
    default_variant: str | None = None
    min_zoom: float | None = None
    max_zoom: float | None = None
    #: shown when the page opens (the user can turn it off, unless ``toggle`` is False)
    visible: bool = True
    toggle: bool = True
    #: which value column feeds which of the renderer's accessors, e.g. {"elevation": "height"}
    bindings: Mapping[str, str] = field(default_factory=dict)
    #: renderer options, passed to the browser as they are (line width, opacity, label size, ...)
    style: Mapping[str, Any] = field(default_factory=dict)
    #: what a viewer without clearance for ``classification`` gets instead: the same layer (same id) with
    #: fewer values, of a more open class; None: such a viewer does not get the layer at all
    redacted: LayerSpec | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise SpecError(f"layer id {self.id!r} must be lower-case letters, digits and dashes")
        ids = [c.id for c in self.colourings]
        if len(set(ids)) != len(ids):
            raise SpecError(f"layer {self.id!r} repeats a colouring id: {ids}")
        variants = [v.id for v in self.variants]
        if len(set(variants)) != len(variants):
            raise SpecError(f"layer {self.id!r} repeats a variant id: {variants}")
        if self.variants and self.default_variant not in variants:
            raise SpecError(f"layer {self.id!r}: default variant {self.default_variant!r} is not one of {variants}")
        if not self.variants and self.default_variant is not None:
            raise SpecError(f"layer {self.id!r} has a default variant but no variants")
        if not self.toggle and not self.visible:
            raise SpecError(f"layer {self.id!r} can be neither seen nor turned on")
        if self.redacted is not None and (
            self.redacted.id != self.id or self.redacted.classification.covers(self.classification)
        ):
            raise SpecError(f"layer {self.id!r}: its redacted form must have the same id and a more open class")
        needed = RENDERER_BINDINGS[self.renderer]
        if set(self.bindings) != set(needed):
            raise SpecError(
                f"layer {self.id!r} is drawn as {self.renderer}, which takes the bindings {sorted(needed)}; "
                f"it gives {sorted(self.bindings)}"
            )

    def variant(self, variant_id: str | None) -> Variant | None:
        """The variant called ``variant_id`` (the default when None); None for a layer without variants."""
        if not self.variants:
            if variant_id not in (None, ""):
                raise SpecError(f"layer {self.id!r} has no variants, so it has no {variant_id!r}")
            return None
        wanted = variant_id or self.default_variant
        for v in self.variants:
            if v.id == wanted:
                return v
        raise SpecError(
            f"layer {self.id!r} has no variant {wanted!r}; it has {', '.join(v.id for v in self.variants)}"
        )

    def colouring(self, colouring_id: str) -> Colouring:
        for c in self.colourings:
            if c.id == colouring_id:
                return c
        raise SpecError(
            f"layer {self.id!r} has no colouring {colouring_id!r}; it has "
            f"{', '.join(c.id for c in self.colourings) or 'none'}"
        )

    @property
    def tooltip_fields(self) -> tuple[str, ...]:
        return tuple(_FIELD.findall(self.tooltip or ""))

    def to_json(self) -> dict[str, Any]:
        """What the browser needs to draw and list the layer (versions are added by the server)."""
        return {
            "id": self.id,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "renderer": str(self.renderer),
            "classification": str(self.classification),
            "colourings": [{"id": c.id, "title": {"zh": c.title_zh, "en": c.title_en}} for c in self.colourings],
            "colour": list(self.colour),
            "tooltip": self.tooltip,
            "pickable": self.pick is not None,
            "variants": [{"id": v.id, "title": v.title} for v in self.variants],
            "defaultVariant": self.default_variant,
            "minZoom": self.min_zoom,
            "maxZoom": self.max_zoom,
            "visible": self.visible,
            "toggle": self.toggle,
            "bindings": dict(self.bindings),
            "style": dict(self.style),
        }


@dataclass(frozen=True)
class LayerRegistry:
    """The layers of the map, in drawing order (first drawn first, underneath)."""

    specs: tuple[LayerSpec, ...]

    def __post_init__(self) -> None:
        ids = [s.id for s in self.specs]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise SpecError(f"layer ids must be unique; repeated: {repeated}")

    def __iter__(self):
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.specs)

    def get(self, layer_id: str) -> LayerSpec:
        for s in self.specs:
            if s.id == layer_id:
                return s
        raise SpecError(f"no layer named {layer_id!r}; layers: {', '.join(self.ids)}")

    def for_clearance(self, clearance: Classification) -> LayerRegistry:
        """The layers a viewer cleared for ``clearance`` gets: each layer whole, its redacted form, or none."""
        specs = []
        for spec in self.specs:
            while spec is not None and not clearance.covers(spec.classification):
                spec = spec.redacted
            if spec is not None:
                specs.append(spec)
        return LayerRegistry(tuple(specs))

    def with_layer(self, spec: LayerSpec, *, before: str | None = None) -> LayerRegistry:
        """A new registry with ``spec`` added (drawn under ``before`` if given, else on top)."""
        specs = list(self.specs)
        at = self.ids.index(before) if before is not None else len(specs)
        specs.insert(at, spec)
        return LayerRegistry(tuple(specs))
