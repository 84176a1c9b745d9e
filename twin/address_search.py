"""The address search box: one typed address matched to a building through the city's standard addresses.

The same matcher as ``twin cim match`` (:mod:`cim.address_match`), over the register of buildings' door
plates (a typed unit and room still find their building), kept until the addresses change. A text that
matches well enough names its building; one that does not gets the closest candidates, never a guess.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd

from cim.address_match import AddressIndex
from twin.address_register import register_of
from twin.city_store import CityStore
from twin.errors import TwinError

MAX_QUERY = 200


class SearchError(TwinError):
    status = 400


@dataclass(frozen=True)
class Hit:
    building_code: str
    text: str
    score: float
    rule: str  # "exact", "components", "fuzzy-…"; "candidate" for one the text did not match well enough
    lon: float
    lat: float

    def to_json(self) -> dict:
        return {"building_code": self.building_code, "text": self.text, "score": self.score, "rule": self.rule,
                "lon": self.lon, "lat": self.lat}


@dataclass(frozen=True)
class SearchResult:
    query: str
    match: Hit | None
    candidates: tuple[Hit, ...]
    reason: str = ""  # why there is no match: "below threshold", "ambiguous", "no candidate"

    def to_json(self) -> dict:
        return {"query": self.query, "match": self.match.to_json() if self.match else None,
                "candidates": [c.to_json() for c in self.candidates], "reason": self.reason}


class AddressSearch:
    def __init__(self, store: CityStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._key: str | None = None
        self._index: AddressIndex | None = None
        self._where: pd.DataFrame | None = None

    def _ready(self) -> tuple[AddressIndex, pd.DataFrame]:
        entry = self.store.entry("addresses")
        if entry is None:
            raise SearchError("this city has no standard addresses to search; build the demo city or ingest them "
                              "(twin cim ingest addresses FILE)")
        with self._lock:
            if self._key != entry.content_hash or self._index is None or self._where is None:
                register = register_of(self.store, dwellings=False)
                self._index = AddressIndex.build(register)
                self._where = register.set_index("address_id")[["building_code", "text", "lon", "lat"]]
                self._key = entry.content_hash
            return self._index, self._where

    def warm(self) -> None:
        if self.store.has("addresses"):
            self._ready()

    def search(self, query: str) -> SearchResult:
        text = (query or "").strip()
        if not text:
            raise SearchError("type an address to search for, e.g. 江汉区友谊路12号锦苑小区3栋")
        if len(text) > MAX_QUERY:
            raise SearchError(f"an address has at most {MAX_QUERY} characters; this one has {len(text)}")
        index, where = self._ready()
        result = index.match([text], to_building=True)
        if len(result.matches):
            m = result.matches.iloc[0]
            at = where.loc[m["address_id"]]
            hit = Hit(str(m["building_code"]), str(m["text"]), float(m["score"]), str(m["rule"]), float(at["lon"]),
                      float(at["lat"]))
            return SearchResult(text, hit, ())
        review = result.review.iloc[0]
        candidates = []
        for k in (1, 2, 3):
            address_id = review.get(f"candidate_{k}")
            if address_id is None or pd.isna(address_id) or address_id not in where.index:
                continue
            at = where.loc[address_id]
            candidates.append(Hit(str(at["building_code"]), str(at["text"]), float(review[f"score_{k}"]), "candidate",
                                  float(at["lon"]), float(at["lat"])))
        return SearchResult(text, None, tuple(candidates), str(review["reason"]))
