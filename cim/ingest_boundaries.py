"""Boundaries of one of the seven levels (districts, streets, communities, grids, compounds).

The level comes from ``--level`` or from the codes' length. Codes are checked (GB/T 2260 county codes of
the city for districts, the right number of digits, inside their parent), or found when the file has
none: districts by name among the city's districts, streets by name in the street register within the
district they lie in, and the finer levels numbered within the unit they lie in, from the north-west.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.columns import CODE, NAME, digits, find_column, text
from cim.ingest import Context, IngestError, IngestRequest
from cim.level_join import assign_codes, check_inside_parents, representative_points
from cim.levels import CITY_CODE, Level, level_columns
from cim.street_register import name_key
from cim.wuhan import DISTRICTS

TABLES = {Level.DISTRICT: "districts", Level.STREET: "streets", Level.COMMUNITY: "communities",
          Level.GRID: "grids", Level.COMPOUND: "compounds"}
_BY_DIGITS = {lv.digits: lv for lv in TABLES}


def _guess_level(codes: pd.Series, name: str) -> Level:
    lengths = sorted({int(n) for n in codes.dropna().str.len()})
    if len(lengths) != 1 or lengths[0] not in _BY_DIGITS:
        said = " and ".join(str(n) for n in lengths)
        levels = ", ".join(f"{lv.name.lower()} {lv.digits}" for lv in TABLES)
        raise IngestError(f"{name}: its codes have {said} digits, which is no one level (codes have {levels} "
                          f"digits); fix the codes, or pass --level")
    return _BY_DIGITS[lengths[0]]


#: The city's districts in GB/T 2260 (420101 市辖区 is a statistical heading, not a district with a boundary).
DISTRICT_CODES = {d.code: d.name_zh for d in DISTRICTS}


def _check_districts(codes: pd.Series, names: pd.Series, name: str, *, what: str) -> None:
    """Every code's district part must be one of the city's GB/T 2260 districts (420199 is none)."""
    foreign = ~codes.isin(DISTRICT_CODES).to_numpy()
    if foreign.any():
        i = int(foreign.argmax())
        where = f"{what} {i + 2 if what == 'row' else i}"
        raise IngestError(
            f"{name}: {where} ({names.iloc[i]}) has district code {codes.iloc[i]}, which is no district of the city "
            f"{CITY_CODE} in GB/T 2260 (its districts are {_ranges(sorted(DISTRICT_CODES))}; development zones "
            f"such as 东湖新技术开发区 have none of their own); give the code of the district it lies in")


def _ranges(codes: list[str]) -> str:
    """420102-420107, 420111-420117: runs of consecutive codes."""
    runs: list[list[str]] = []
    for code in codes:
        if runs and int(code) == int(runs[-1][-1]) + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _district_codes(names: pd.Series, name: str) -> pd.Series:
    known = {name_key_district(d.name_zh): d.code for d in DISTRICTS}
    codes = names.map(lambda n: known.get(name_key_district(str(n))))
    if codes.isna().any():
        missing = names[codes.isna()].astype(str).tolist()[:3]
        raise IngestError(f"{name}: no district of the city is called {missing}; give the districts' codes "
                          f"(adcode) in the file")
    return codes.astype("string")


def name_key_district(name: str) -> str:
    return name.strip().removesuffix("区")


def _numbered_within(points: np.ndarray, parents: pd.Series, digits_: int) -> pd.Series:
    """Codes for units that lie in ``parents``: the parent's code and a serial, from the north-west."""
    xy = shapely.get_coordinates(points)
    order = np.lexsort((xy[:, 0], -np.round(xy[:, 1], 3), parents.to_numpy().astype(str)))
    sorted_parent = parents.to_numpy().astype(str)[order]
    first = np.searchsorted(sorted_parent, sorted_parent, side="left")
    serial = np.empty(len(order), dtype=np.int64)
    serial[order] = np.arange(len(order)) - first + 1
    if serial.max(initial=0) >= 10**digits_:
        raise IngestError(f"more than {10**digits_ - 1} units in one parent; give the units' codes in the file")
    return parents.astype(str) + pd.Series(serial, index=parents.index).astype(str).str.zfill(digits_)


def register(frame: pd.DataFrame, name: str, level: Level | None) -> tuple[str, pd.DataFrame, str]:
    """A list of units' codes and names without shapes (the street and township register, say)."""
    name_col, code_col = find_column(frame, NAME), find_column(frame, CODE)
    if name_col is None or code_col is None:
        raise IngestError(f"{name}: a list of units without shapes needs code and name columns; it has "
                          f"{list(frame.columns)}")
    codes, names = digits(frame[code_col]), text(frame[name_col])
    level = level or _guess_level(codes, name)
    bad = ~codes.str.fullmatch(rf"\d{{{level.digits}}}").fillna(False)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise IngestError(f"{name}: row {i + 2} has code {codes.iloc[i]!r}, not a {level.name.lower()} code")
    _check_districts(codes.str[:Level.DISTRICT.digits], names, name, what="row")
    parent = Level(int(level) - 1)
    rows = pd.DataFrame({"code": codes.astype(str), "name": names.astype(str), "level": level.name.lower(),
                         "parent_code": codes.str[: parent.digits] if level > Level.DISTRICT else pd.NA})
    return "register", rows, level.name.lower()


def boundaries(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
               ) -> tuple[str, gpd.GeoDataFrame, str]:
    if not isinstance(frame, gpd.GeoDataFrame):
        warnings.append(f"{name} has no shapes: stored as the register of {TABLES.get(request.level, 'units')}, "
                        f"whose names and codes boundaries without codes take")
        return register(frame, name, request.level)
    name_col = find_column(frame, NAME)
    if name_col is None:
        raise IngestError(f"{name}: boundaries need a name column (one of {', '.join(NAME[:4])} ...); "
                          f"it has {[c for c in frame.columns if c != 'geometry']}")
    code_col = find_column(frame, CODE)
    names = text(frame[name_col])
    codes = digits(frame[code_col]) if code_col else pd.Series(pd.NA, index=frame.index, dtype="string")
    if names.isna().any():
        raise IngestError(f"{name}: feature {int(names.isna().to_numpy().argmax())} has no name")
    if request.level is not None:
        level = request.level
    elif codes.notna().all():
        level = _guess_level(codes, name)
    elif codes.isna().all() and names.str.endswith("区").all():
        level = Level.DISTRICT
    else:
        raise IngestError(f"{name}: it has no codes to tell its level by; pass --level "
                          f"({', '.join(lv.name.lower() for lv in TABLES)})")
    if level not in TABLES:
        raise IngestError(f"{name}: {level.name.lower()} is not a level of boundaries; give one of "
                          f"{', '.join(lv.name.lower() for lv in TABLES)}")
    points = representative_points(frame.geometry.to_numpy())
    if codes.isna().all():
        codes = _find_codes(level, names, points, context, name, warnings)
    elif codes.isna().any():
        raise IngestError(f"{name}: feature {int(codes.isna().to_numpy().argmax())} has no code while others "
                          f"have; give every unit its code")
    bad = ~codes.str.fullmatch(rf"\d{{{level.digits}}}").fillna(False)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise IngestError(f"{name}: feature {i} ({names.iloc[i]}) has code {codes.iloc[i]!r}, not a "
                          f"{level.name.lower()} code of {level.digits} digits")
    _check_districts(codes.str[:Level.DISTRICT.digits], names, name, what="feature")
    units = gpd.GeoDataFrame({"code": codes.astype(str), "name": names.astype(str)},
                             geometry=frame.geometry.to_numpy(), crs="EPSG:4326")
    if units["code"].duplicated().any():  # one unit in several features (split parts): one shape each
        parts = int(units["code"].duplicated().sum())
        units = units.dissolve(by="code", as_index=False, aggfunc="first")[["code", "name", "geometry"]]
        warnings.append(f"{parts} features were further parts of a unit already read: joined into one shape each")
    problems = check_inside_parents(units, level, context.units, where=name)
    if problems:
        raise IngestError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                          + "; fix the codes or the shapes")
    rows = units.assign(**level_columns(units["code"].to_numpy(), level))
    rows = _with_kind_columns(rows, level)
    return TABLES[level], gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"), level.name.lower()


def _find_codes(level: Level, names: pd.Series, points: np.ndarray, context: Context, name: str,
                warnings: list[str]) -> pd.Series:
    if level is Level.DISTRICT:
        warnings.append("the file has no codes: districts take their GB/T 2260 codes by name")
        return _district_codes(names, name)
    parent = Level(int(level) - 1)
    if parent not in context.units.levels:
        raise IngestError(f"{name}: its {TABLES[level]} have no codes, and the city has no {TABLES[parent]} to find "
                          f"them in; ingest the {TABLES[parent]} first, or give the codes")
    joined = assign_codes(points, context.units, finest=parent)
    outside = joined[parent.column].isna().to_numpy()
    if outside.any():
        i = int(outside.argmax())
        raise IngestError(f"{name}: {names.iloc[i]} lies in no {parent.name.lower()} of the city; check its shape")
    parents = joined[parent.column].astype(str)
    if level is Level.STREET:
        if context.register is None:
            raise IngestError(f"{name}: streets without codes take them from the street register, which is not "
                              f"loaded; give the codes")
        codes = context.register.codes_for(parents, names)
        if codes.isna().any():
            missing = [f"{n} (in {p})" for n, p in zip(names[codes.isna()], parents[codes.isna()], strict=True)][:3]
            raise IngestError(f"{name}: the street register has no {', '.join(missing)}; give the streets' codes, "
                              f"or correct the names")
        warnings.append(f"street codes found by name in the register ({len(codes)} of {len(codes)})")
        return codes
    digits_ = level.digits - parent.digits
    warnings.append(f"the file has no codes: {TABLES[level]} numbered within the {TABLES[parent]} they lie in")
    return _numbered_within(points, parents, digits_)


def _with_kind_columns(rows: gpd.GeoDataFrame, level: Level) -> gpd.GeoDataFrame:
    if level is Level.DISTRICT:
        english = {d.code: d.name_en for d in DISTRICTS}
        rows["name_en"] = rows["code"].map(english)
    if level is Level.COMPOUND:
        for column in ("use", "road", "number"):
            rows[column] = None
    return rows


__all__ = ["boundaries", "name_key", "name_key_district"]
