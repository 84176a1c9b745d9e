"""Free address text linked to a register of standard addresses (标准地址), many texts at once.

A register has one row per address (a building, or a dwelling in it: unit and room), with its parts and its
codes at the seven levels. :meth:`AddressIndex.build` reads it once; :meth:`AddressIndex.match` then links a
whole sequence of texts in a few array passes:

1. **exact**: the text, normalised (:func:`cim.address_parse.normalize_addresses`) and without its
   province/city, equals a register row's. One hash look-up for all texts.
2. **candidates** for the rest, parsed into parts (:func:`cim.address_parse.extract_parts`): the *sites* (a
   door and the compound behind it) the text can mean, found by the compound's name and by the road and door
   number; a name the register does not know is looked up within one edit (a wrong, missing or extra
   character: a deletion neighbourhood, as in SymSpell), unless the other way found a site already. Then the
   register rows of those sites with the text's building, unit and room. Every step is a sort and a binary
   search over integer keys, or a hash look-up of the distinct names.
3. **score** every (text, row) pair at once: the weighted share of the parts that place the building which
   the text states and the row agrees with (:data:`WEIGHTS`). A name agrees by ``1 - edit distance / length
   of its own part``, its generic ending and phase left out (花林 of 花林花园, 桂园 of 桂园2期花园): one
   character off gives 0.5, two give 0. Numbers agree or not (a door number only on a road that agrees, or is
   one character off). Parts the text leaves out do not count against it, so 新岭街7号花林花园1栋 finds its
   row without a district or a street. The building, unit and room must be the text's (the review list also
   shows rows that are not, scored lower). The edit distances of all pairs are computed together, once per
   distinct pair of names, with a running minimum along numpy rows instead of a loop over characters.
4. **accept** the best row if it scores at least ``threshold`` and no other row comes within ``margin`` of it;
   otherwise the text goes to the review list with its best three rows and their scores: never a guess.

The weights: the door number and the compound's name 4 each (each names a site by itself; the road 2 only
with its number), the street 3 and the district 2 (they name no site, but a text that contradicts them
means another place unless a door and a compound agree). The default threshold, 0.75, lies in the gap
between what must be linked and what must not:

========================================================================  ===========  ====================
text against its row                                                       all levels   no district, street
========================================================================  ===========  ====================
everything agrees                                                          1.0          1.0
road one character off, compound and door agree                           0.93         0.90
district wrong, the rest agrees                                            0.87         -
compound one character off, road and door agree                            0.87         0.80
road one character off, door agrees, no compound in the text               -            0.83
street wrong, the rest agrees                                              0.80         -
compound one character off, district and street agree, no road or door     0.78         -
*review:* door number wrong, compound agrees                               0.73         0.60
*review:* compound unknown (two or more characters off) at a real door     0.73         0.60
*review:* compound alone, street wrong (another compound of that name)     0.67         -
*review:* district and street wrong, door and compound agree               0.67         -
*review:* compound one character off, no road or door in the text          -            0.50
========================================================================  ===========  ====================

Normalising and parsing run in Arrow's RE2 kernels on one thread per core (they release the GIL); the rest
is numpy over whole arrays. ``bench/addresses.py`` measures the speed and the precision this gives.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cim.address_parse import extract_parts, normalize_addresses, strip_city_prefix, text_array
from cim.levels import LEVEL_COLUMNS
from cim.names import COMPOUND_SUFFIXES, ROAD_SUFFIXES
from layers.cells import points_to_cells

__all__ = [
    "CELL_RESOLUTION",
    "DEFAULT_MARGIN",
    "DEFAULT_THRESHOLD",
    "REGISTER_COLUMNS",
    "WEIGHTS",
    "AddressIndex",
    "AddressMatchError",
    "MatchResult",
]

CELL_RESOLUTION = 12
DEFAULT_THRESHOLD = 0.75
DEFAULT_MARGIN = 0.03
CANDIDATES_IN_REVIEW = 3

#: The register's columns, in order.
REGISTER_COLUMNS: tuple[str, ...] = (
    "address_id", *LEVEL_COLUMNS, "text", "district_name", "street_name", "road", "number", "compound_name",
    "building_no", "unit", "room", "lon", "lat",
)
#: How much each part of a text counts in its score: the parts that place the building (names compared by edit
#: distance, the rest exactly), then the parts within it, which a candidate must have as the text says.
WEIGHTS: dict[str, float] = {
    "district": 2.0, "street": 3.0, "road": 2.0, "number": 4.0, "compound": 4.0, "building": 2.0, "unit": 1.0,
    "room": 1.0,
}
_PLACE = ("district", "street", "road", "number", "compound")
_FUZZY = ("compound", "road", "street")
#: Generic endings of names. A name's edit distance is counted against its own part (花林 of 花林花园), so a
#: compound two characters off is as far as a different one, and one character off is half-way.
SUFFIXES: dict[str, tuple[str, ...]] = {
    "compound": (*COMPOUND_SUFFIXES, "小镇", "花城", "广场", "大厦", "公馆", "山庄", "庄园", "华府", "府", "园", "城",
                 "居", "庭", "里", "湾", "苑", "院", "坊"),
    "road": (*ROAD_SUFFIXES, "巷", "道", "街", "路"),
    "street": ("街道", "镇", "乡"),
}
_SOURCE = {"district": "district_name", "street": "street_name", "road": "road", "number": "number",
           "compound": "compound_name", "building": "building_no", "unit": "unit", "room": "room"}
_PARTS = tuple(WEIGHTS)
_NAME_CHARS = 16  # names are compared on their first 16 characters
_ABSENT, _UNKNOWN = -2, -1  # part ids: not in the text; in the text but not in the register


class AddressMatchError(ValueError):
    """A register or an input file that cannot be matched, with a one-line reason."""


@dataclass(frozen=True)
class MatchResult:
    """What :meth:`AddressIndex.match` found.

    ``matches``: one row per linked text: ``query_index`` (its position in the input), ``query``, the row's
    ``address_id`` and ``text``, its seven level codes, ``h3_cell`` (uint64, resolution 12, of the address
    point), ``score`` and ``rule``: ``exact`` (the normalised texts are equal), ``components`` (every part the
    text states agrees) or ``fuzzy-<part>`` (the part that disagrees most: ``fuzzy-compound``, ``fuzzy-road``,
    ``fuzzy-street``, ``fuzzy-district``, ``fuzzy-number``).

    ``review``: one row per text left to a person: ``query_index``, ``query``, ``reason`` (``empty``, ``no
    candidate``, ``below threshold`` or ``ambiguous``), ``best_score``, then ``candidate_k``, ``text_k`` and
    ``score_k`` for its best three register rows (k = 1..3, empty where there are fewer).
    """

    matches: pd.DataFrame
    review: pd.DataFrame

    @property
    def matched(self) -> int:
        return len(self.matches)

    @property
    def reviewed(self) -> int:
        return len(self.review)


# --- building blocks ------------------------------------------------------------------------------------------

def _codepoints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strings as a (n, 16) matrix of code points, zero-padded, and their lengths (at most 16)."""
    fixed = np.asarray(values, dtype=f"U{_NAME_CHARS}")
    codes = fixed.view(np.uint32).reshape(len(fixed), _NAME_CHARS) if len(fixed) else (
        np.zeros((0, _NAME_CHARS), np.uint32))
    return codes, (codes != 0).sum(axis=1).astype(np.int16)


def _edit_distance(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Levenshtein distance for many pairs of code-point rows at once.

    One pass per character of ``a``; within a pass the insertions are a running minimum along the row
    (``np.minimum.accumulate``), so there is no loop over the characters of ``b`` or over the pairs.
    """
    n = len(a)
    if n == 0:
        return np.zeros(0, np.int32)
    width = int(max(la.max(), lb.max(), 1))
    a, b = a[:, :width], b[:, :width]
    steps = np.arange(width + 1, dtype=np.int32)
    prev = np.broadcast_to(steps, (n, width + 1)).copy()
    dist = lb.astype(np.int32).copy()  # for empty a
    rows = np.arange(n)
    for i in range(1, int(la.max()) + 1):
        diagonal = prev[:, :-1] + (a[:, i - 1 : i] != b)
        best = np.minimum(prev[:, 1:] + 1, diagonal)
        shifted = np.empty_like(prev)
        shifted[:, 0] = i
        shifted[:, 1:] = best - steps[1:]
        prev = np.minimum.accumulate(shifted, axis=1) + steps
        done = la == i
        dist[done] = prev[rows[done], lb[done]]
    return dist


@dataclass(frozen=True, eq=False)
class _Names:
    """The distinct values of one part in the register, with what finding and comparing them takes."""

    index: pd.Index
    arrow: pa.Array  # the same names, for Arrow's hash look-up
    codes: np.ndarray
    lengths: np.ndarray
    stems: np.ndarray  # length of each name without its generic ending, at least 1
    near: dict[str, tuple[int, ...]] | None  # one-deletion variants -> ids, for names within one edit

    @classmethod
    def build(cls, values: np.ndarray, *, fuzzy: bool, suffixes: tuple[str, ...] = ()) -> _Names:
        """The names of one part, from its distinct values."""
        index = pd.Index(values, dtype=object)
        codes, lengths = _codepoints(index.to_numpy(dtype=object))
        ends = sorted(suffixes, key=len, reverse=True)
        stems = np.array([_stem_length(n, ends) for n in index], dtype=np.int16)
        near = None
        if fuzzy:
            table: dict[str, list[int]] = {}
            for i, name in enumerate(index):
                for variant in _variants(name):
                    table.setdefault(variant, []).append(i)
            near = {k: tuple(dict.fromkeys(v)) for k, v in table.items()}
        return cls(index, pa.array(index.to_numpy(dtype=object), type=pa.string()), codes, lengths, stems, near)

    def ids(self, values: pa.Array) -> np.ndarray:
        """The id of each value: ``_UNKNOWN`` if the register does not have it, ``_ABSENT`` if null."""
        found = pc.fill_null(pc.index_in(values, value_set=self.arrow), _UNKNOWN).to_numpy().astype(np.int32)
        found[values.is_null().to_numpy(zero_copy_only=False)] = _ABSENT
        return found

    def within_one_edit(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``names``, id) for every register name one edit or less from each name."""
        assert self.near is not None
        near = self.near
        pos: list[int] = []
        ids: list[int] = []
        for i, name in enumerate(names):
            if len(name) < 3:  # one edit from a two-character name is almost anything
                continue
            found: set[int] = set()
            for variant in _variants(name):
                found.update(near.get(variant, ()))
            pos.extend([i] * len(found))
            ids.extend(found)
        return np.asarray(pos, dtype=np.int64), np.asarray(ids, dtype=np.int64)


_PHASE = re.compile(r"\d+期$")


def _stem_length(name: str, ends: Sequence[str]) -> int:
    """Characters of a name that tell it from others: without its generic ending and its phase (桂园 of
    桂园2期花园), at least 1. Many compounds share a phase number, so it does not make two names alike."""
    stem = next((name[: -len(e)] for e in ends if name.endswith(e) and len(name) > len(e)), name)
    return max(len(_PHASE.sub("", stem)), 1)


def _variants(name: str) -> set[str]:
    return {name, *(name[:k] + name[k + 1 :] for k in range(len(name)))}


@dataclass(frozen=True, eq=False)
class _MultiMap:
    """Integer keys to integer values, many values per key: a sorted array and binary search."""

    keys: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, keys: np.ndarray, values: np.ndarray) -> _MultiMap:
        keep = keys >= 0
        keys, values = keys[keep], values[keep]
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], values[order].astype(np.int64))

    def pairs(self, keys: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, value) for every value stored under each key (owners[i] asks for keys[i])."""
        order = np.argsort(keys)  # sorted needles walk the table once: far fewer cache misses
        keys, owners = keys[order], owners[order]
        lo = np.searchsorted(self.keys, keys, "left")
        hi = np.searchsorted(self.keys, keys, "right")
        count = np.where(keys >= 0, hi - lo, 0)
        total = int(count.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        start = np.repeat(lo - np.cumsum(count) + count, count)
        return np.repeat(owners, count), self.values[start + np.arange(total)]


def _pack(parts: Sequence[np.ndarray], bits: Sequence[int]) -> np.ndarray:
    """Small non-negative ids packed into one int64 key; -1 where any is negative or too large."""
    key = np.zeros(len(parts[0]), dtype=np.int64)
    bad = np.zeros(len(parts[0]), dtype=bool)
    for part, width in zip(parts, bits, strict=True):
        part = np.asarray(part, dtype=np.int64)
        bad |= (part < 0) | (part >= (1 << width))
        key = (key << width) | np.clip(part, 0, (1 << width) - 1)
    key[bad] = -1
    return key


_KEY_BITS = (26, 12, 9, 16)  # site, building, unit, room (ids + 1, 0 = none)
_DOOR_BITS = (24, 24)  # road, door number


def _slot(ids: np.ndarray, *, optional: bool) -> np.ndarray:
    """Part ids as key slots: id + 1; 0 for a part the text leaves out (if it may); -1 (no key) otherwise."""
    absent = 0 if optional else -1
    return np.where(ids >= 0, ids + 1, np.where(ids == _ABSENT, absent, -1))


def _site_key(site: np.ndarray, building: np.ndarray, unit: np.ndarray, room: np.ndarray) -> np.ndarray:
    return _pack([site, _slot(building, optional=False), _slot(unit, optional=True), _slot(room, optional=True)],
                 _KEY_BITS)


def _door_key(road: np.ndarray, number: np.ndarray) -> np.ndarray:
    return _pack([_slot(road, optional=False), _slot(number, optional=False)], _DOOR_BITS)


# --- the index ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class AddressIndex:
    """A register of standard addresses made ready for matching. Build it with :meth:`build`."""

    register: pd.DataFrame
    exact: pd.Index  # normalised text without province/city, unique, -> row
    exact_rows: np.ndarray
    names: dict[str, _Names]
    part_ids: dict[str, np.ndarray]  # per row, per part: id in names[part], _ABSENT if null
    sites_by_compound: _MultiMap
    sites_by_door: _MultiMap
    rows_by_key: _MultiMap  # (site, building, unit, room) -> row
    building_rows_by_site: _MultiMap  # site -> its building-level rows
    site_rows: np.ndarray  # site -> its first row
    cells: np.ndarray
    out: pa.Table  # what a match reports of its row: address_id, text and the seven codes
    threshold: float = DEFAULT_THRESHOLD
    margin: float = DEFAULT_MARGIN

    @classmethod
    def build(cls, register: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD,
              margin: float = DEFAULT_MARGIN) -> AddressIndex:
        """Index a register (columns :data:`REGISTER_COLUMNS`; ``unit`` and ``room`` null for a building)."""
        missing = [c for c in REGISTER_COLUMNS if c not in register.columns]
        if missing:
            raise AddressMatchError(
                f"the register has no column {missing[0]!r}{f' (nor {missing[1:]})' if missing[1:] else ''}; "
                f"a register needs {list(REGISTER_COLUMNS)}"
            )
        if not 0 < threshold <= 1 or not 0 <= margin < 1:
            raise AddressMatchError(f"threshold must be in (0, 1] and margin in [0, 1), got {threshold}, {margin}")
        rows = register.loc[:, list(REGISTER_COLUMNS)].reset_index(drop=True)
        n = len(rows)

        keys = strip_city_prefix(_parallel(normalize_addresses, text_array(rows["text"].astype(str))))
        key_values = pd.Series(keys.to_numpy(zero_copy_only=False), dtype=object)
        first = ~key_values.duplicated(keep=False)  # a text two rows share is left to the later stages
        exact = pd.Index(key_values[first].to_numpy())
        exact.get_indexer(exact[:1])  # builds the hash table now, not on the first match
        exact_rows = np.flatnonzero(first.to_numpy())

        names: dict[str, _Names] = {}
        part_ids: dict[str, np.ndarray] = {}
        for part, column in _SOURCE.items():
            # each distinct value once: written as the parser writes that part, then numbered
            codes, distinct = pd.factorize(rows[column])
            written = _part_values(np.asarray(distinct, dtype=object), numeric=part not in _PLACE or part == "number")
            ids, vocabulary = pd.factorize(written)
            names[part] = _Names.build(np.asarray(vocabulary, dtype=object), fuzzy=part in ("compound", "road"),
                                       suffixes=SUFFIXES.get(part, ()))
            looked_up = ids[codes] if len(ids) else np.full(len(codes), _ABSENT)  # a part no row has (rooms)
            part_ids[part] = np.where(codes >= 0, looked_up, _ABSENT).astype(np.int32)

        compound, road, number = part_ids["compound"], part_ids["road"], part_ids["number"]
        door = _door_key(road, number)
        # a site: one door with the compound behind it (either may be missing)
        site, first_row = _factorize_first((pd.factorize(door)[0].astype(np.int64) << 26) | (compound + 2))
        if len(first_row) >= 1 << _KEY_BITS[0]:
            raise AddressMatchError(f"the register has {len(first_row)} doors and compounds; at most {1 << 26}")
        sites_by_compound = _MultiMap.build(compound[first_row].astype(np.int64), np.arange(len(first_row)))
        sites_by_door = _MultiMap.build(door[first_row], np.arange(len(first_row)))

        building, unit, room = part_ids["building"], part_ids["unit"], part_ids["room"]
        row_keys = _site_key(site, building, unit, room)
        if (row_keys < 0).any():
            bad = int(np.flatnonzero(row_keys < 0)[0])
            raise AddressMatchError(f"register row {bad} ({rows['text'].iloc[bad]!r}) has too many distinct "
                                    f"buildings, units or rooms to index, or no building")
        rows_by_key = _MultiMap.build(row_keys, np.arange(n))
        is_building = (unit == _ABSENT) & (room == _ABSENT)
        building_rows_by_site = _MultiMap.build(np.where(is_building, site, -1), np.arange(n))

        lon = rows["lon"].to_numpy(dtype=np.float64)
        lat = rows["lat"].to_numpy(dtype=np.float64)
        cells = points_to_cells(lon, lat, CELL_RESOLUTION)
        out = pa.Table.from_pandas(rows.loc[:, ["address_id", "text", *LEVEL_COLUMNS]].astype(str),
                                   preserve_index=False)
        return cls(rows, exact, exact_rows, names, part_ids, sites_by_compound, sites_by_door, rows_by_key,
                   building_rows_by_site, first_row, cells, out, threshold, margin)

    def __len__(self) -> int:
        return len(self.register)

    # --- matching ---------------------------------------------------------------------------------------------

    def match(self, texts: Iterable[str | None] | pd.Series, *, to_building: bool = False) -> MatchResult:
        """Link each text to one register row, or put it on the review list (see the module's notes).

        With ``to_building`` a text is matched down to its building only: the unit and room it names are
        not looked for (a resident placed in a building whose rooms the register does not list yet).
        """
        raw = text_array(texts)
        n = len(raw)
        row = np.full(n, -1, dtype=np.int64)
        score = np.zeros(n)
        rule = np.full(n, "", dtype=object)

        normalized = _parallel(normalize_addresses, raw)
        row[:] = self._exact(strip_city_prefix(normalized))
        score[row >= 0] = 1.0
        rule[row >= 0] = "exact"
        rest = np.flatnonzero(row < 0)
        normalized = normalized.take(pa.array(rest))

        review_rows = []
        if len(rest):
            query = self._query_parts(_parallel(extract_parts, normalized))
            if to_building:
                for part in ("unit", "room"):
                    query.ids[part][:] = _ABSENT
                    query.strings[part] = pa.nulls(query.n, pa.string())
            pairs_q, pairs_row, sites_q, sites_site = self._candidates(query)
            best = self._best(query, pairs_q, pairs_row)
            accept = (best.score >= self.threshold) & (best.second < best.score - self.margin)
            ok = rest[accept]
            row[ok], score[ok], rule[ok] = best.row[accept], best.score[accept], best.rule[accept]
            undecided = np.flatnonzero(~accept)
            if len(undecided):
                review_rows = self._review(query, rest, undecided, best, pairs_q, pairs_row, sites_q, sites_site,
                                           raw, normalized)
        return MatchResult(self._matches(raw, row, score, rule), _review_frame(review_rows))

    def _exact(self, keys: pa.Array) -> np.ndarray:
        found = self.exact.get_indexer(keys.to_numpy(zero_copy_only=False))
        out = np.full(len(found), -1, dtype=np.int64)
        out[found >= 0] = self.exact_rows[found[found >= 0]]
        return out

    def _query_parts(self, parts: pa.StructArray) -> _Query:
        strings = {}
        ids = {}
        for part in _PARTS:
            values = pc.struct_field(parts, part)
            strings[part] = values
            ids[part] = self.names[part].ids(values)
        return _Query(len(parts), strings, ids)

    def _candidates(self, q: _Query) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(query, row) pairs whose site and building, unit and room agree; and the (query, site) pairs."""
        owners = np.arange(q.n, dtype=np.int64)
        found_q: list[np.ndarray] = []
        found_site: list[np.ndarray] = []

        def add(pairs: tuple[np.ndarray, np.ndarray]) -> None:
            found_q.append(pairs[0])
            found_site.append(pairs[1])

        compound, road, number = q.ids["compound"], q.ids["road"], q.ids["number"]
        add(self.sites_by_compound.pairs(compound.astype(np.int64), owners))
        add(self.sites_by_door.pairs(_door_key(road, number), owners))
        by_name = np.zeros(q.n, dtype=bool)
        by_name[found_q[0]] = True
        by_door = np.zeros(q.n, dtype=bool)
        by_door[found_q[1]] = True
        # a name the register does not know: the names within one edit of it, unless the other way of finding
        # the site found one (a compound misspelt at a known door is found by the door, and scored by its name)
        for part in ("compound", "road"):
            unknown = q.ids[part] == _UNKNOWN
            unknown = np.flatnonzero(unknown & ~by_door if part == "compound" else unknown & ~by_name & (number >= 0))
            if not len(unknown):
                continue
            written = q.strings[part].take(unknown).to_numpy(zero_copy_only=False)
            inverse, distinct = pd.factorize(written)
            pos, near = self.names[part].within_one_edit(list(distinct))
            if not len(pos):
                continue
            # back from distinct names to the queries that wrote them
            order = np.argsort(inverse, kind="stable")
            starts = np.searchsorted(inverse[order], pos, "left")
            ends = np.searchsorted(inverse[order], pos, "right")
            counts = ends - starts
            qi = unknown[order[np.repeat(starts, counts) + group_ranks(counts)]]
            ni = np.repeat(near, counts)
            if part == "compound":
                add(self.sites_by_compound.pairs(ni, qi))
            else:
                add(self.sites_by_door.pairs(_door_key(ni, number[qi]), qi))

        sq, ss = _unique_pairs(np.concatenate(found_q), np.concatenate(found_site))
        keys = _site_key(ss, q.ids["building"][sq], q.ids["unit"][sq], q.ids["room"][sq])
        pq, prow = self.rows_by_key.pairs(keys, sq)
        return pq, prow, sq, ss

    def _score(self, q: _Query, pq: np.ndarray, prow: np.ndarray, *,
               place_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Score of each (query, row) pair, and which part disagrees most (index into _PARTS, -1 if none).

        The score is the weighted share of the placing parts the text states that agree with the row (a name
        by ``1 - edit distance / length of its own part``; the door number only if the road is at most one
        character off), times the weighted share of the building, unit and
        room the text states that the row has: 1 for every pair the candidate search gives, less for the
        nearby rows shown on the review list (the building of a room the register does not have: 0.5).
        """
        sums = {"place": np.zeros(len(pq)), "within": np.zeros(len(pq))}
        stated = {"place": np.zeros(len(pq)), "within": np.zeros(len(pq))}
        loss = np.zeros((len(_PARTS), len(pq)))
        road_agrees = np.ones(len(pq), dtype=bool)
        for k, part in enumerate(_PLACE if place_only else _PARTS):
            qid = q.ids[part][pq]
            rid = self.part_ids[part][prow]
            says = qid != _ABSENT
            sim = (qid == rid).astype(np.float64)
            if part in _FUZZY:
                differ = np.flatnonzero(says & (qid != rid) & (rid >= 0))
                if len(differ):
                    sim[differ] = self._name_similarity(part, q.strings[part], pq[differ], rid[differ])
            elif part == "number":  # a door number on another road is no agreement
                sim *= road_agrees
            elif part in ("unit", "room"):
                sim[~says & (rid >= 0)] = 0.0  # a dwelling is not the building the text names
                says = says | (rid >= 0)
            if part == "road":
                road_agrees = ~says | (sim > 0)
            weight = WEIGHTS[part] * says
            group = "place" if part in _PLACE else "within"
            sums[group] += weight * sim
            stated[group] += weight
            loss[k] = weight * (1.0 - sim)
        place = np.divide(sums["place"], stated["place"], out=np.zeros(len(pq)), where=stated["place"] > 0)
        within = np.divide(sums["within"], stated["within"], out=np.ones(len(pq)), where=stated["within"] > 0)
        worst = np.where(loss.max(axis=0) > 0, loss.argmax(axis=0), -1)
        return place * within, worst

    def _name_similarity(self, part: str, strings: pa.Array, queries: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """``1 - edit distance / stem length`` of the register's name, once per distinct (written, name) pair."""
        names = self.names[part]
        written = strings.take(pa.array(queries)).to_numpy(zero_copy_only=False)
        inverse, distinct = pd.factorize(written)
        combos, back = np.unique(inverse.astype(np.int64) * len(names.index) + ids, return_inverse=True)
        a, b = combos // len(names.index), combos % len(names.index)
        codes, lengths = _codepoints(np.asarray(distinct, dtype=object))
        dist = _edit_distance(codes[a], lengths[a], names.codes[b], names.lengths[b])
        return np.clip(1.0 - dist / names.stems[b], 0.0, 1.0)[back.reshape(-1)]

    def _best(self, q: _Query, pq: np.ndarray, prow: np.ndarray) -> _Best:
        score, worst = self._score(q, pq, prow)
        order = np.lexsort((prow, -score, pq))
        pq, prow, score, worst = pq[order], prow[order], score[order], worst[order]
        first = np.ones(len(pq), dtype=bool)
        first[1:] = pq[1:] != pq[:-1]
        best = _Best(np.full(q.n, -1, np.int64), np.zeros(q.n), np.full(q.n, -1.0), np.full(q.n, "", object))
        at = np.flatnonzero(first)
        best.row[pq[at]] = prow[at]
        best.score[pq[at]] = score[at]
        rules = np.array(["components", *(f"fuzzy-{p}" for p in _PARTS)], dtype=object)
        best.rule[pq[at]] = rules[worst[at] + 1]
        second = at + 1
        has_second = second < len(pq)
        has_second[has_second] = pq[second[has_second]] == pq[at[has_second]]
        best.second[pq[at[has_second]]] = score[second[has_second]]
        return best

    def _review(self, q: _Query, rest: np.ndarray, undecided: np.ndarray, best: _Best, pq: np.ndarray,
                prow: np.ndarray, sq: np.ndarray, ss: np.ndarray, raw: pa.Array,
                normalized: pa.Array) -> list[pd.DataFrame]:
        """The texts left to a person, with up to three candidates: the pairs found, and the buildings of the sites
        the text can mean (for a building or room the register does not have)."""
        wanted = np.zeros(q.n, dtype=bool)
        wanted[undecided] = True
        keep = wanted[pq]
        # the buildings of each text's three best sites (a site's place is scored on its first row)
        site_q, site = sq[wanted[sq]], ss[wanted[sq]]
        place, _ = self._score(q, site_q, self.site_rows[site], place_only=True)
        order = np.lexsort((site, -place, site_q))
        site_q, site = site_q[order], site[order]
        best_sites = group_ranks(np.unique(site_q, return_counts=True)[1]) < CANDIDATES_IN_REVIEW if len(site_q) else (
            np.zeros(0, dtype=bool))
        more_q, more_row = self.building_rows_by_site.pairs(site[best_sites], site_q[best_sites])
        cq, crow = _unique_pairs(np.concatenate([pq[keep], more_q]), np.concatenate([prow[keep], more_row]))
        score, _ = self._score(q, cq, crow)
        order = np.lexsort((crow, -score, cq))
        cq, crow, score = cq[order], crow[order], score[order]
        rank = group_ranks(np.unique(cq, return_counts=True)[1]) if len(cq) else np.zeros(0, np.int64)
        top = rank < CANDIDATES_IN_REVIEW
        cq, crow, score, rank = cq[top], crow[top], score[top], rank[top]

        some = np.zeros(q.n, dtype=bool)
        some[cq] = True
        reason = np.where(~some[undecided], "no candidate",
                          np.where(best.score[undecided] < self.threshold, "below threshold", "ambiguous"))
        empty = pc.equal(pc.utf8_length(normalized.take(pa.array(undecided))), 0).to_numpy(zero_copy_only=False)
        reason = np.where(empty, "empty", reason)
        top_score = np.zeros(q.n)
        top_score[cq[rank == 0]] = score[rank == 0]
        asked = rest[undecided]
        columns = {"query_index": pa.array(asked), "query": raw.take(asked), "reason": pa.array(reason),
                   "best_score": pa.array(np.round(top_score[undecided], 4))}
        slot_of = np.full(q.n, -1, dtype=np.int64)  # query -> its line on the review list
        slot_of[undecided] = np.arange(len(undecided))
        for k in range(CANDIDATES_IN_REVIEW):
            at = rank == k
            where = np.full(len(undecided), -1, dtype=np.int64)  # line -> its k-th candidate pair, -1 if none
            where[slot_of[cq[at]]] = np.flatnonzero(at)
            pick = pa.array(np.where(where >= 0, crow[np.maximum(where, 0)], 0), mask=where < 0) if len(crow) else (
                pa.nulls(len(undecided), pa.int64()))
            picked = self.out.select(["address_id", "text"]).take(pick)
            columns[f"candidate_{k + 1}"] = picked.column("address_id")
            columns[f"text_{k + 1}"] = picked.column("text")
            columns[f"score_{k + 1}"] = pa.array(np.round(score[np.maximum(where, 0)], 4) if len(score) else
                                                 np.zeros(len(undecided)), mask=where < 0)
        return [pa.table(columns).to_pandas()]

    def _matches(self, raw: pa.Array, row: np.ndarray, score: np.ndarray, rule: np.ndarray) -> pd.DataFrame:
        at = np.flatnonzero(row >= 0)
        rows = row[at]
        picked = self.out.take(pa.array(rows))
        columns = {"query_index": pa.array(at), "query": raw.take(pa.array(at))}
        columns |= {name: picked.column(name) for name in picked.column_names}
        columns["h3_cell"] = pa.array(self.cells[rows])
        columns["score"] = pa.array(np.round(score[at], 4))
        columns["rule"] = pa.array(rule[at].astype(str))
        return pa.table(columns).to_pandas()


@dataclass(frozen=True, eq=False)
class _Query:
    n: int
    strings: dict[str, pa.Array]
    ids: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class _Best:
    row: np.ndarray
    score: np.ndarray
    second: np.ndarray
    rule: np.ndarray


def _factorize_first(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A number for each distinct key (0, 1, ... in order of first appearance) and the row it first appears in."""
    codes, _ = pd.factorize(keys)
    first = np.full(int(codes.max()) + 1 if len(codes) else 0, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes.astype(np.int64), first


def group_ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each run of the given lengths."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs, sorted; both are non-negative and below 2**31."""
    both = np.sort((a.astype(np.int64) << 31) | b.astype(np.int64))
    if len(both):
        both = both[np.concatenate([[True], both[1:] != both[:-1]])]
    return both >> 31, both & ((1 << 31) - 1)


def _part_values(values: np.ndarray, *, numeric: bool) -> np.ndarray:
    """Distinct register values written as the parser writes that part: numbers without leading zeros, names
    normalised."""
    text = [str(v).strip() for v in values]
    normalized = np.asarray(normalize_addresses(text).to_numpy(zero_copy_only=False), dtype=object)
    if numeric:  # 7, "07", 7.0 -> "7"; anything else (A, 7-1) as the parser would write it
        whole = [str(int(float(t))) if t.replace(".", "", 1).isdigit() and float(t).is_integer() else None
                 for t in text]
        return np.array([w if w is not None else n for w, n in zip(whole, normalized, strict=True)], dtype=object)
    return normalized


def _parallel(fn: Callable[[pa.Array], pa.Array], values: pa.Array) -> pa.Array:
    """``fn`` over slices of ``values``, one per core (up to 4) on threads, joined back: Arrow's kernels release
    the GIL, so the regular expressions run side by side."""
    n = len(values)
    workers = min(os.cpu_count() or 1, 4)
    if n < 20_000 or workers < 2:
        return fn(values)
    bounds = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda i: fn(values.slice(bounds[i], bounds[i + 1] - bounds[i])), range(workers)))
    return pa.concat_arrays(parts)


_REVIEW_SCHEMA = pa.schema(
    [("query_index", pa.int64()), ("query", pa.string()), ("reason", pa.string()), ("best_score", pa.float64())]
    + [field for k in range(1, CANDIDATES_IN_REVIEW + 1)
       for field in ((f"candidate_{k}", pa.string()), (f"text_{k}", pa.string()), (f"score_{k}", pa.float64()))]
)


def _review_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return _REVIEW_SCHEMA.empty_table().to_pandas()
    return pd.concat(parts, ignore_index=True).sort_values("query_index", ignore_index=True)[_REVIEW_SCHEMA.names]
