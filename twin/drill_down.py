"""Drill-down through the seven levels: a unit with the trail of units above it and the units below it,
each with its name, code, outline's box and what it holds (:mod:`twin.unit_counts`).

city → district → street → community → grid → compound → building. A unit is named by its code alone: the
trail is its code's prefixes. Names and boxes come from the boundary tables (and the buildings table for a
building); a level the store has no boundaries for still shows its units, by code, from the buildings'
codes. Rebuilt only when one of the tables it reads changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from cim.levels import CITY_CODE, CodeError, Level, level_of
from cim.tables import Classification, kind_of
from twin.city_store import CityStore
from twin.errors import NotFound, TwinError
from twin.unit_counts import Counts, CountsCache, UnitCounts

#: The table (and map layer) of each level's units.
LAYER_OF_LEVEL: dict[Level, str] = {
    Level.DISTRICT: "districts", Level.STREET: "streets", Level.COMMUNITY: "communities", Level.GRID: "grids",
    Level.COMPOUND: "compounds", Level.BUILDING: "buildings",
}
CITY_NAME = "武汉市"
#: At most this many units below are listed (a compound of a thousand buildings lists the first ones).
MAX_CHILDREN = 200
MAX_ORGANISATIONS = 50
MAX_RESIDENTS = 20
#: What a building's panel lists of each resident (never a name: none is stored).
RESIDENT_FIELDS = ("person_id", "age", "sex", "phone_masked")

Box = tuple[float, float, float, float]


class UnknownUnit(NotFound):
    """A code that names no unit of the city."""


class UnknownArea(TwinError):
    """A grant's area names no unit of the city (a user or token would be limited to nowhere)."""

    status = 400


def check_area(store: CityStore, code: str) -> None:
    """Nothing when ``code`` names a unit the city in ``store`` has, or when the store holds no units to tell;
    :class:`UnknownArea` saying so otherwise. A level without its boundary table is looked up in the
    buildings' codes (every building carries the codes of the units it stands in)."""
    try:
        level = level_of(code)
    except CodeError as exc:
        raise UnknownArea(f"area {code[:40]!r} is not a unit code: {exc}") from None
    if level is Level.CITY or not any(store.has(t) for t in LAYER_OF_LEVEL.values()):
        return
    table = LAYER_OF_LEVEL[level]
    if store.has(table):
        found = store.read(table, columns=["code"], where=("code", "==", code))
    elif store.has("buildings"):
        found = store.read("buildings", columns=[level.column], where=(level.column, "==", code))
    else:  # boundaries of other levels only: nothing tells whether this one exists
        return
    if len(found) == 0:
        raise UnknownArea(f"the city has no {level.name.lower()} with code {code}; give the code of one of its "
                          f"units (GET /api/v1/units/{CITY_CODE} lists the districts, each lists what lies below)")


@dataclass(frozen=True)
class Unit:
    level: Level
    code: str
    name: str
    layer: str | None  # the map layer that draws it (None for the city)
    bbox: Box | None
    counts: Counts

    def to_json(self) -> dict:
        return {"level": self.level.name.lower(), "level_zh": self.level.label_zh, "code": self.code,
                "name": self.name, "layer": self.layer, "bbox": list(self.bbox) if self.bbox else None,
                "counts": self.counts.to_json()}


@dataclass(frozen=True)
class DrillView:
    unit: Unit
    trail: tuple[Unit, ...]  # city first, the unit itself last
    children: tuple[Unit, ...]
    child_level: Level | None
    more_children: int  # units below that are not listed (past MAX_CHILDREN)
    organisations: tuple[tuple[str, str], ...]  # in a building: (name, kind)

    def to_json(self) -> dict:
        return {"unit": self.unit.to_json(), "trail": [u.to_json() for u in self.trail],
                "children": [u.to_json() for u in self.children],
                "child_level": self.child_level.name.lower() if self.child_level else None,
                "more_children": self.more_children,
                "organisations": [{"name": n, "kind": k} for n, k in self.organisations]}


@dataclass(frozen=True)
class ResidentList:
    """Some residents of one building, each a record of text fields, and the data class of every field."""

    rows: tuple[dict[str, str | None], ...]
    total: int
    classes: dict[str, Classification]


@dataclass(frozen=True)
class _Names:
    """Each level's known units: code → name and box, codes sorted (for finding the units below by prefix)."""

    names: dict[Level, pd.Series]
    boxes: dict[Level, pd.DataFrame]
    city_box: Box | None


class DrillDown:
    """Drill-down views over a city store as it is now."""

    def __init__(self, store: CityStore) -> None:
        self.store = store
        self.counts = CountsCache(store)
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._names: _Names | None = None

    def view(self, code: str) -> DrillView:
        """The unit of ``code`` (a city, district, ... or building code), its trail and the units below it."""
        code = (code or "").strip()
        try:
            level = level_of(code)
        except CodeError as exc:
            raise UnknownUnit(str(exc)) from None
        counts = self.counts.get()
        names = self._known()
        if level is not Level.CITY and code not in names.names.get(level, ()) and code not in counts.codes(level):
            raise UnknownUnit(f"the city has no {level.name.lower()} with code {code}; drill down from the city "
                              f"(code {CITY_CODE}) to find it")
        trail = tuple(self._unit(names, counts, lv, CITY_CODE if lv is Level.CITY else code[: lv.digits])
                      for lv in Level if lv <= level)
        child_level = Level(level + 1) if level is not Level.BUILDING else None
        children: tuple[Unit, ...] = ()
        more = 0
        if child_level is not None:
            below = self._below(names, counts, child_level, "" if level is Level.CITY else code)
            more = max(0, len(below) - MAX_CHILDREN)
            children = tuple(self._unit(names, counts, child_level, c) for c in below[:MAX_CHILDREN])
        organisations = self._organisations(code) if level is Level.BUILDING else ()
        return DrillView(trail[-1], trail, children, child_level, more, organisations)

    def residents(self, building: str, limit: int = MAX_RESIDENTS) -> ResidentList:
        """The first ``limit`` residents of a building, with each field's data class (they are personal data:
        whoever shows them masks what the viewer is not cleared for)."""
        if level_of(building) is not Level.BUILDING or not self.store.has("residents"):
            return ResidentList((), 0, {})
        kind = kind_of("residents")
        present = set(self.store.columns("residents"))
        columns = [c for c in RESIDENT_FIELDS if c in present]
        here = self.store.read("residents", columns=columns, where=("building_code", "==", building))
        rows = tuple({c: (None if pd.isna(v) else str(v)) for c, v in zip(columns, r, strict=True)}
                     for r in here.head(limit).itertuples(index=False))
        return ResidentList(rows, len(here), {c: kind.class_of(c) for c in columns})

    def trail_of(self, code: str) -> tuple[Unit, ...]:
        return self.view(code).trail

    def warm(self) -> None:
        self.counts.get()
        self._known()

    # --- the parts -------------------------------------------------------------------------------------------

    def _unit(self, names: _Names, counts: UnitCounts, level: Level, code: str) -> Unit:
        if level is Level.CITY:
            return Unit(level, CITY_CODE, CITY_NAME, None, names.city_box, counts.total)
        name = names.names.get(level, pd.Series(dtype=object)).get(code)
        boxes = names.boxes.get(level)
        box = None
        if boxes is not None and code in boxes.index:
            box = tuple(float(v) for v in boxes.loc[code, ["w", "s", "e", "n"]])
        layer = LAYER_OF_LEVEL[level] if self.store.has(LAYER_OF_LEVEL[level]) else None
        return Unit(level, code, str(name) if name is not None else f"{level.label_zh} {code}", layer, box,
                    counts.of(level, code))

    @staticmethod
    def _below(names: _Names, counts: UnitCounts, level: Level, prefix: str) -> list[str]:
        known = names.names.get(level)
        codes = [known.index.to_numpy().astype(str)] if known is not None else []
        codes.append(counts.codes(level).to_numpy().astype(str))
        every = np.unique(np.concatenate(codes)) if codes else np.array([], dtype=str)
        lo = np.searchsorted(every, prefix, "left")
        hi = np.searchsorted(every, prefix + "\uffff", "right")
        return every[lo:hi].tolist()

    def _organisations(self, building: str) -> tuple[tuple[str, str], ...]:
        if not self.store.has("organisations"):
            return ()
        orgs = self.store.read("organisations", columns=["name", "kind", "building_code"])
        here = orgs[orgs["building_code"].astype(str).to_numpy() == building]
        return tuple((str(n), str(k)) for n, k in zip(here["name"], here["kind"], strict=True))[:MAX_ORGANISATIONS]

    def _known(self) -> _Names:
        manifest = self.store.manifest()
        tables = (*LAYER_OF_LEVEL.values(),)
        key = tuple((t, manifest.tables[t].content_hash if t in manifest.tables else None) for t in tables)
        with self._lock:
            if self._key != key or self._names is None:
                self._names = self._read_names()
                self._key = key
            return self._names

    def _read_names(self) -> _Names:
        names: dict[Level, pd.Series] = {}
        boxes: dict[Level, pd.DataFrame] = {}
        for level, table in LAYER_OF_LEVEL.items():
            if not self.store.has(table):
                continue
            if level is Level.BUILDING:
                frame = self.store.read(table, columns=["code", "compound_name", "building_no", "geometry"])
                labels = frame["compound_name"].astype(str) + frame["building_no"].astype(int).astype(str) + "栋"
            else:
                frame = self.store.read(table, columns=["code", "name", "geometry"])
                labels = frame["name"].astype(str)
            codes = frame["code"].astype(str).to_numpy()
            names[level] = pd.Series(labels.to_numpy(), index=pd.Index(codes, dtype=object)).sort_index()
            bounds = shapely.bounds(frame.geometry.to_numpy())
            boxes[level] = pd.DataFrame(bounds, columns=["w", "s", "e", "n"], index=pd.Index(codes, dtype=object))
        city_box = None
        top = next((boxes[lv] for lv in LAYER_OF_LEVEL if lv in boxes and len(boxes[lv])), None)
        if top is not None:
            finite = top.dropna()
            if len(finite):
                city_box = (float(finite["w"].min()), float(finite["s"].min()), float(finite["e"].max()),
                            float(finite["n"].max()))
        return _Names(names, boxes, city_box)
