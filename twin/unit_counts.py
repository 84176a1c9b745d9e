"""What each unit of the seven levels holds: its buildings, residents, dwellings and organisations.

Counted from the store's own tables (so an ingest of residents or dwellings shows at once): residents and
dwellings per building code, read as one dictionary-encoded column in batches (a few seconds for the
full-scale city's millions of rows), then rolled up by code prefix, since a building's code holds the codes of
every unit above it (:mod:`cim.levels`). Organisations are counted on their own level columns, because one
may stand in a compound without a building code. Recounted only when one of those tables changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cim.levels import Level
from twin.city_store import CityStore

COUNTED = ("buildings", "residents", "dwellings", "organisations")
#: The tables the counts are made from.
SOURCES = ("buildings", "residents", "dwellings", "organisations")


@dataclass(frozen=True)
class Counts:
    buildings: int | None = 0  # None: not shown to this viewer (a unit beyond the areas their grants reach)
    residents: int | None = 0  # None too for a building's own residents, below internal clearance
    dwellings: int | None = 0
    organisations: int | None = 0

    def to_json(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in COUNTED}


#: What a viewer is shown of a unit beyond the areas their grants reach: that it is there, not what it holds.
HIDDEN = Counts(None, None, None, None)


class UnitCounts:
    """The counts of every unit at every level, for one version of the tables they are made from."""

    def __init__(self, by_level: dict[Level, pd.DataFrame], total: Counts) -> None:
        self._by_level = by_level
        self.total = total

    def of(self, level: Level, code: str) -> Counts:
        if level is Level.CITY:
            return self.total
        frame = self._by_level.get(level)
        if frame is None or code not in frame.index:
            return Counts()
        row = frame.loc[code]
        return Counts(*(int(row[name]) for name in COUNTED))

    def codes(self, level: Level) -> pd.Index:
        """The codes at ``level`` that hold anything (sorted)."""
        frame = self._by_level.get(level)
        return frame.index if frame is not None else pd.Index([], dtype=object)

    @classmethod
    def count(cls, store: CityStore) -> UnitCounts:
        per_building = pd.DataFrame(columns=list(COUNTED[:3]), dtype=np.int64)
        if store.has("buildings"):
            buildings = store.read("buildings", columns=["code"])["code"].astype(str)
            per_building = pd.DataFrame({"buildings": 1, "residents": 0, "dwellings": 0},
                                        index=pd.Index(buildings.to_numpy(), dtype=object))
        for table in ("residents", "dwellings"):
            if store.has(table):
                counted = value_counts(store, table, "building_code")
                per_building = per_building.reindex(per_building.index.union(counted.index), fill_value=0)
                per_building[table] = counted.reindex(per_building.index, fill_value=0).to_numpy()
        per_building = per_building.sort_index()
        codes = per_building.index.to_numpy().astype(str)
        organisations = (store.read("organisations", columns=[lv.column for lv in Level if lv is not Level.CITY])
                         if store.has("organisations") else None)
        by_level: dict[Level, pd.DataFrame] = {}
        for level in Level:
            if level is Level.CITY:
                continue
            keys = codes.astype(f"<U{level.digits}")  # the code of the unit above: a prefix (truncation)
            frame = per_building.groupby(keys, sort=True).sum() if len(codes) else per_building.copy()
            frame["organisations"] = 0
            if organisations is not None:
                orgs = organisations[level.column].dropna().astype(str).value_counts()
                frame = frame.reindex(frame.index.union(orgs.index), fill_value=0)
                frame["organisations"] = orgs.reindex(frame.index, fill_value=0).to_numpy()
            by_level[level] = frame.astype(np.int64)
        total = Counts(
            buildings=int(per_building["buildings"].sum()), residents=int(per_building["residents"].sum()),
            dwellings=int(per_building["dwellings"].sum()),
            organisations=len(organisations) if organisations is not None else 0,
        )
        return cls(by_level, total)


def value_counts(store: CityStore, table: str, column: str) -> pd.Series:
    """How many rows of ``table`` hold each value of ``column``, read in batches (no full column in memory)."""
    parts: list[pd.Series] = []
    _, batches = store.batches(table, [column])
    for batch in batches:
        array = batch.column(0)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        counted = pc.value_counts(array)
        values = counted.field("values").to_numpy(zero_copy_only=False)
        parts.append(pd.Series(counted.field("counts").to_numpy(), index=pd.Index(values, dtype=object)))
    if not parts:
        return pd.Series(dtype=np.int64)
    out = pd.concat(parts).groupby(level=0).sum()
    return out[out.index.notna()].astype(np.int64)


class CountsCache:
    """The counts of the store as it is now, recounted when a table they are made from changes."""

    def __init__(self, store: CityStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._counts: UnitCounts | None = None

    def _version(self, tables: Iterable[str]) -> tuple:
        manifest = self.store.manifest()
        return tuple((t, manifest.tables[t].content_hash if t in manifest.tables else None) for t in tables)

    def get(self) -> UnitCounts:
        key = self._version(SOURCES)
        with self._lock:  # one count at a time: a second request waits for the first one's answer
            if self._key != key or self._counts is None:
                self._counts = UnitCounts.count(self.store)
                self._key = key
            return self._counts
