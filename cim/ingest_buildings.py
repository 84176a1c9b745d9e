"""Building footprints: heights and floors read from text, uses mapped to the vocabulary, codes and names
from the boundaries they stand in, and building codes numbered within their compound (or grid, ...).

Heights come as numbers or text ("45米"); 0 or blank means unknown. An unknown height is estimated from
the floors (3 m a floor) and the building is flagged ``height_estimated``; unknown floors come from the
height; with neither, a one-storey building of 3 m, flagged. Features with the same source id (a
building cut at vector-tile edges, say) are joined into one building.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.columns import ADDRESS, FLOORS, HEIGHT, ID, USE, find_column, first_present, numbers, osm_tags, text
from cim.ingest import Context, IngestError, IngestRequest
from cim.level_join import assign_codes, representative_points
from cim.levels import Level, level_columns
from cim.local_frame import to_local

STOREY_M = 3.0
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


def building_codes(prefixes: pd.Series, points: np.ndarray) -> pd.Series:
    """20-digit building codes: each compound code (17 digits) and a serial within it, from the north-west."""
    xy = shapely.get_coordinates(points)
    order = np.lexsort((xy[:, 0], -np.round(xy[:, 1], 4), prefixes.to_numpy().astype(str)))
    ordered = prefixes.to_numpy().astype(str)[order]
    first = np.searchsorted(ordered, ordered, side="left")
    serial = np.empty(len(order), dtype=np.int64)
    serial[order] = np.arange(len(order)) - first + 1
    if serial.max(initial=0) > 999:
        raise IngestError("more than 999 buildings in one compound (or in one grid outside compounds); "
                          "ingest the compounds or grids first, or give the buildings' codes")
    return prefixes.astype(str) + pd.Series(serial, index=prefixes.index).astype(str).str.zfill(3)


def _join_parts(frame: gpd.GeoDataFrame, id_col: str | None, warnings: list[str]) -> gpd.GeoDataFrame:
    if id_col is None or not frame[id_col].duplicated().any():
        return frame
    count = int(frame[id_col].duplicated().sum())
    first = frame.drop(columns="geometry").groupby(id_col, sort=False, dropna=False).first()
    shapes = frame.groupby(id_col, sort=False, dropna=False)["geometry"].agg(lambda g: shapely.union_all(g.to_numpy()))
    joined = gpd.GeoDataFrame(first, geometry=shapes.reindex(first.index).to_numpy(), crs=frame.crs).reset_index()
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
    compound = _compound_prefix(codes)
    code = building_codes(compound, points)
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
