"""Building footprints: heights and floors read from text, uses mapped to the vocabulary, codes and names
from the boundaries they stand in, and building codes numbered within their compound (or grid, ...).

Heights come as numbers or text ("45米"); 0 or blank means unknown. An unknown height is estimated from
the floors (3 m a floor) and the building is flagged ``height_estimated``; unknown floors come from the
height; with neither, a one-storey building of 3 m, flagged. Features with the same source id (a
building cut at vector-tile edges, say) are joined into one building.

A building's code is its own where the file gives one (a 楼栋编码 column, checked against where it lies);
else, when appending or updating, the code of the stored building with the same footprint (so an update
replaces that building, and an append of a file added before is refused); else a new serial after the
highest already taken in its compound, so a second file's buildings are added beside the first's.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.columns import (
    ADDRESS,
    FLOORS,
    HEIGHT,
    ID,
    USE,
    digits,
    find_column,
    first_present,
    numbers,
    osm_tags,
    text,
)
from cim.ingest import Context, IngestError, IngestRequest
from cim.ingest_people import BUILDING_CODE
from cim.level_join import assign_codes, representative_points
from cim.levels import Level, level_columns
from cim.local_frame import to_local

STOREY_M = 3.0
#: Two footprints are the same building when their overlap is at least this share of the two together (IoU).
SAME_FOOTPRINT = 0.5
#: Source values of a building's use (OSM building=*, Tilezen kind_detail, Chinese 用途) → our vocabulary.
USE_WORDS = {
    "residential": ("residential", "apartments", "house", "dormitory", "detached", "terrace", "住宅", "居住",
                    "公寓", "宿舍"),
    "commercial": ("commercial", "retail", "office", "mall", "hotel", "supermarket", "商业", "办公", "商务",
                   "酒店", "商场"),
    "industrial": ("industrial", "warehouse", "factory", "manufacture", "工业", "仓储", "厂房", "仓库"),
    "public": ("public", "school", "university", "college", "hospital", "government", "civic", "train_station",
               "kindergarten", "church", "temple", "公共", "学校", "医院", "政府", "文化", "体育", "教育"),
}


def uses(values: pd.Series | None, *, rows: int) -> tuple[pd.Series, int]:
    """Each value's use in the vocabulary, and how many were not recognised (they become "unknown")."""
    if values is None:
        return pd.Series("unknown", index=range(rows), dtype="string"), 0
    lowered = text(values).str.lower()
    out = pd.Series("unknown", index=values.index, dtype="string")
    for use, words in USE_WORDS.items():
        hit = lowered.isin(words) | lowered.str.contains("|".join(w for w in words if not w.isascii()), na=False)
        out = out.mask(hit & (out == "unknown"), use)
    unknown = int(((out == "unknown") & lowered.notna() & ~lowered.isin(("yes", "building", "building_part")))
                  .sum())
    return out, unknown


def building_codes(prefixes: pd.Series, points: np.ndarray, *, taken: Sequence[str] = ()) -> pd.Series:
    """20-digit building codes: each compound code (17 digits) and a serial within it, from the north-west.

    ``taken``: the building codes the city has already; new serials follow the highest one already taken in
    each compound, so a second file adds its buildings beside the first file's instead of over them.
    """
    xy = shapely.get_coordinates(points)
    order = np.lexsort((xy[:, 0], -np.round(xy[:, 1], 4), prefixes.to_numpy().astype(str)))
    ordered = prefixes.to_numpy().astype(str)[order]
    first = np.searchsorted(ordered, ordered, side="left")
    serial = np.empty(len(order), dtype=np.int64)
    serial[order] = np.arange(len(order)) - first + 1
    if len(taken):
        stored = pd.Series(np.asarray(taken, dtype=str))
        highest = stored.str[-3:].astype(int).groupby(stored.str[:-3].to_numpy()).max()
        serial += prefixes.astype(str).map(highest).fillna(0).astype(np.int64).to_numpy()
    if serial.max(initial=0) > 999:
        raise IngestError("more than 999 buildings in one compound (or in one grid outside compounds); "
                          "ingest the compounds or grids first, or give the buildings' codes")
    return prefixes.astype(str) + pd.Series(serial, index=prefixes.index).astype(str).str.zfill(3)


def same_buildings(geoms: np.ndarray, stored: gpd.GeoDataFrame | None) -> np.ndarray:
    """For each footprint, the code of the stored building with the same footprint (overlapping it by at least
    half of the two together), else None. Each stored building is matched once at most."""
    out = np.full(len(geoms), None, dtype=object)
    if stored is None or not len(stored) or not len(geoms):
        return out
    points = gpd.GeoDataFrame({"i": np.arange(len(geoms))}, geometry=representative_points(geoms), crs="EPSG:4326")
    pairs = gpd.sjoin(points, stored[["code", "geometry"]].reset_index(drop=True), predicate="within", how="inner")
    if not len(pairs):
        return out
    mine = np.asarray(geoms, dtype=object)[pairs["i"].to_numpy()]
    theirs = stored.geometry.to_numpy()[pairs["index_right"].to_numpy()]
    with np.errstate(all="ignore"):
        overlap = shapely.area(shapely.intersection(mine, theirs)) / shapely.area(shapely.union(mine, theirs))
    pairs = pairs.assign(overlap=np.nan_to_num(overlap))
    pairs = pairs[pairs["overlap"] >= SAME_FOOTPRINT].sort_values("overlap", ascending=False)
    pairs = pairs[~pairs["i"].duplicated() & ~pairs["code"].duplicated()]
    out[pairs["i"].to_numpy()] = pairs["code"].astype(str).to_numpy()
    return out


def _own_codes(frame: gpd.GeoDataFrame, codes: pd.DataFrame, name: str) -> pd.Series:
    """The building codes the file gives itself (a 楼栋编码 column), checked against where each building lies."""
    column = find_column(frame, BUILDING_CODE)
    if column is None:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    own = digits(frame[column]).reset_index(drop=True)
    bad = own.notna() & ~own.str.fullmatch(r"\d{20}").fillna(False)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise IngestError(f"{name}: building {i} has {column} {own.iloc[i]!r}, not a building code of 20 digits; "
                          f"fix it or leave it blank (a blank one is numbered in its compound)")
    repeated = own.notna() & own.duplicated(keep=False)
    if repeated.any():
        i = int(repeated.to_numpy().argmax())
        raise IngestError(f"{name}: {column} {own.iloc[i]} is given to more than one building; give each its own")
    known = codes["known_level"].to_numpy()
    for level in (Level.COMPOUND, Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT):
        where = codes[level.column].astype("string")
        wrong = (own.notna() & (known >= int(level)) & (own.str[: level.digits] != where)).fillna(False)
        if wrong.any():
            i = int(wrong.to_numpy().argmax())
            raise IngestError(f"{name}: building {i} has {column} {own.iloc[i]}, but it lies in "
                              f"{level.name.lower()} {where.iloc[i]}; fix the code or the footprint")
    return own


def _join_parts(frame: gpd.GeoDataFrame, id_col: str | None, warnings: list[str]) -> gpd.GeoDataFrame:
    """Features with the same id joined into one building; a feature without an id is a building of its own (an
    OSM extract's buildings drawn as ways have no ``osm_id``, only an ``osm_way_id``)."""
    if id_col is None:
        return frame
    ids = frame[id_col]
    if not (ids.notna() & ids.duplicated()).any():
        return frame
    count = int((ids.notna() & ids.duplicated()).sum())
    position = pd.Series(np.arange(len(frame)), index=frame.index)
    group = position.groupby(ids, sort=False).transform("first").fillna(position).astype(int).to_numpy()
    first = frame.drop(columns="geometry").groupby(group, sort=False).first()
    shapes = frame.groupby(group, sort=False)["geometry"].agg(lambda g: shapely.union_all(g.to_numpy()))
    joined = gpd.GeoDataFrame(first, geometry=shapes.reindex(first.index).to_numpy(),
                              crs=frame.crs).reset_index(drop=True)
    warnings.append(f"{count} features repeat a building already read (same {id_col}, e.g. cut at tile edges): "
                    f"joined into one footprint each")
    return joined


def buildings(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
              ) -> tuple[str, gpd.GeoDataFrame, str]:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise IngestError(f"{name}: buildings need footprints; the file has no shapes")
    if Level.DISTRICT not in context.units.levels:
        raise IngestError(f"{name}: the city has no district boundaries to place buildings in; ingest them first "
                          f"(twin cim ingest boundaries FILE)")
    frame = _join_parts(frame, find_column(frame, ID), warnings)
    tags = frame["other_tags"] if "other_tags" in frame.columns else None
    height_col, floors_col = find_column(frame, HEIGHT), find_column(frame, FLOORS)
    height = first_present(numbers(frame[height_col]) if height_col else None,
                           numbers(osm_tags(tags, "height")) if tags is not None else None)
    floors = first_present(numbers(frame[floors_col]) if floors_col else None,
                           numbers(osm_tags(tags, "building:levels")) if tags is not None else None)
    n = len(frame)
    height = (height if height is not None else pd.Series(np.nan, index=frame.index)).where(lambda h: h > 0)
    floors = (floors if floors is not None else pd.Series(np.nan, index=frame.index)).where(lambda f: f > 0)
    estimated = height.isna()
    height = height.fillna(floors * STOREY_M).fillna(STOREY_M)
    floors = floors.fillna(np.maximum(1, np.round(height / STOREY_M))).astype(int).clip(1, 300)
    if estimated.any():
        warnings.append(f"{int(estimated.sum())} of {n} buildings had no height: estimated from their floors "
                        f"({STOREY_M:g} m a floor; one floor when unknown too) and flagged height_estimated")
    use_col = find_column(frame, USE)
    use, unknown = uses(first_present(frame[use_col] if use_col else None,
                                      osm_tags(tags, "building") if tags is not None else None), rows=len(frame))
    if unknown:
        warnings.append(f"{unknown} buildings have a use we do not recognise: stored as unknown")
    points = representative_points(frame.geometry.to_numpy())
    codes = assign_codes(points, context.units, finest=Level.COMPOUND)
    outside = (codes["known_level"] == 0).to_numpy()
    if outside.all():
        raise IngestError(f"{name}: none of its buildings lies in a district of the city; check the file's CRS "
                          f"and that the districts are ingested")
    if outside.any():
        warnings.append(f"{int(outside.sum())} buildings lie in no district of the city: skipped")
        frame, points, codes = frame[~outside], points[~outside], codes[~outside].reset_index(drop=True)
        height, floors, estimated, use = (s[~outside].reset_index(drop=True) for s in (height, floors, estimated, use))
        frame = frame.reset_index(drop=True)
    code = _codes_of(frame, codes, points, request, context, name)
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    local = shapely.transform(frame.geometry.to_numpy(), lambda xy: np.column_stack(to_local(xy[:, 0], xy[:, 1])))
    address_col = find_column(frame, ADDRESS)
    names = _unit_names(codes, context)
    rows = pd.DataFrame({
        "code": code.to_numpy(),
        **level_columns(code.to_numpy(), Level.BUILDING),
        "address": text(frame[address_col]).to_numpy() if address_col else pd.NA,
        **names,
        "road": pd.NA,
        "number": pd.array([pd.NA] * len(frame), dtype="Int32"),
        "building_no": pd.array([pd.NA] * len(frame), dtype="Int16"),
        "use": use.to_numpy().astype(str),
        "floors": floors.to_numpy().astype(np.int16),
        "height_m": height.to_numpy().astype(float),
        "height_estimated": estimated.to_numpy().astype(bool),
        "footprint_m2": np.round(shapely.area(local), 1),
        "dwellings": np.zeros(len(frame), dtype=np.int32),
        "residents": np.zeros(len(frame), dtype=np.int64),
        "lon": lon,
        "lat": lat,
    })
    for column in ("road", "address", *names):
        rows[column] = rows[column].astype("string")
    return "buildings", gpd.GeoDataFrame(rows, geometry=frame.geometry.to_numpy(), crs="EPSG:4326"), "building"


def _codes_of(frame: gpd.GeoDataFrame, codes: pd.DataFrame, points: np.ndarray, request: IngestRequest,
              context: Context, name: str) -> pd.Series:
    """Each building's code: its own (a 楼栋编码 column), else the stored building's with the same footprint
    (appending or updating), else a new serial after the highest already in its compound."""
    code = _own_codes(frame, codes, name)
    stored = context.buildings if request.mode in ("append", "update") else None
    taken = stored["code"].astype(str).to_numpy() if stored is not None else np.array([], dtype=str)
    same = pd.Series(same_buildings(frame.geometry.to_numpy(), stored), dtype="string")
    same = same.where(~same.isin(code.dropna()))  # a code the file gives is not given twice
    code = code.fillna(same)
    new = code.isna().to_numpy()
    if new.any():
        code[new] = building_codes(_compound_prefix(codes)[new], points[new], taken=taken).to_numpy()
    if request.mode == "append":
        there = code.isin(taken).to_numpy()
        if there.any():
            i = int(there.argmax())
            raise IngestError(
                f"{name}: {int(there.sum())} of its {len(code)} buildings are in the city already (the building at "
                f"{shapely.get_x(points[i]):.6f}, {shapely.get_y(points[i]):.6f} is building {code.iloc[i]}, "
                f"same footprint or code); was this file added before? use --mode update to replace them")
    return code


def _compound_prefix(codes: pd.DataFrame) -> pd.Series:
    """The 17-digit compound part of each building code; levels the city does not know are 0s."""
    out = pd.Series("", index=codes.index, dtype="string")
    for level in (Level.COMPOUND, Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT):
        known = codes[level.column]
        pad = Level.COMPOUND.digits - level.digits
        out = out.mask((out == "") & known.notna(), known + "0" * pad)
    return out


def _unit_names(codes: pd.DataFrame, context: Context) -> dict[str, object]:
    out = {}
    for level, column in ((Level.DISTRICT, "district_name"), (Level.STREET, "street_name"),
                          (Level.COMMUNITY, "community_name"), (Level.COMPOUND, "compound_name")):
        units = context.units.by_level.get(level)
        if units is None or level.column not in codes:
            out[column] = pd.NA
            continue
        lookup = dict(zip(units["code"].astype(str), units["name"].astype(str), strict=False))
        out[column] = codes[level.column].map(lookup).to_numpy()
    return out
