"""Roads, points of interest and organisations: their names, their kinds in our vocabularies, and their codes
from where they lie (a road by its middle, down to the street; a point down to the building it is in).
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd

from cim.columns import ADDRESS, ID, NAME, ROAD_CLASS, find_column, first_present, numbers, osm_tags, text
from cim.ingest import Context, IngestError, IngestRequest
from cim.ingest_people import place_in_buildings
from cim.level_join import assign_codes, representative_points
from cim.levels import Level
from cim.readers import WKT_NAMES
from cim.vocabulary import ORGANISATION_KINDS, POI_KINDS, Vocabulary

#: Source road classes (OSM highway=*, Tilezen kind/kind_detail, Chinese 道路等级) → our vocabulary.
ROAD_WORDS = {
    "motorway": ("motorway", "motorway_link", "高速", "高速公路", "highway"),
    "trunk": ("trunk", "trunk_link", "快速路", "城市快速路"),
    "primary": ("primary", "primary_link", "major_road", "主干道", "主干路"),
    "secondary": ("secondary", "secondary_link", "次干道", "次干路"),
    "tertiary": ("tertiary", "tertiary_link", "unclassified", "minor_road", "支路"),
    "residential": ("residential", "living_street", "小区道路", "内部道路"),
    "service": ("service", "辅路"),
    "path": ("path", "footway", "cycleway", "steps", "pedestrian", "track", "bridleway", "步行道", "人行道"),
}
#: Source place kinds (OSM amenity/shop/tourism/leisure, Tilezen kind, Chinese 类别) → our POI vocabulary.
PLACE_WORDS = {
    "school": ("school", "kindergarten", "college", "university", "学校", "小学", "中学", "大学", "幼儿园"),
    "hospital": ("hospital", "医院"),
    "clinic": ("clinic", "doctors", "dentist", "pharmacy", "诊所", "卫生服务", "卫生站", "药店"),
    "elder_care": ("nursing_home", "social_facility", "养老", "敬老院", "老年公寓"),
    "company": ("company", "office", "企业", "公司"),
    "shop": ("shop", "supermarket", "convenience", "marketplace", "商店", "超市", "便利店"),
    "government": ("townhall", "police", "courthouse", "government", "政府", "街道办", "派出所"),
    "restaurant": ("restaurant", "fast_food", "food_court", "餐厅", "饭店", "餐饮"),
    "cafe": ("cafe", "咖啡", "coffee"),
    "transit": ("bus_station", "bus_stop", "station", "subway_entrance", "ferry_terminal", "公交", "地铁", "车站"),
    "park": ("park", "garden", "playground", "公园", "广场"),
    "entrance": ("entrance", "gate", "出入口", "大门", "校门"),
}
KIND = ("kind", "category", "type", "amenity", "shop", "类别", "类型", "单位类型", "单位类别", "机构类型", "行业",
        "kind_detail", "fclass")


def _classify(values: pd.Series | None, words: dict[str, tuple[str, ...]], vocabulary: Vocabulary, default: str,
              *, rows: int) -> tuple[pd.Series, int]:
    """Each value's term; values with none take ``default``, and are counted (a file with no such column: all)."""
    if values is None:
        return pd.Series(default, index=range(rows), dtype="string"), rows
    lowered = text(values).str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    for term, terms in words.items():
        if term not in vocabulary.codes:
            continue
        exact = lowered.isin(terms)
        chinese = "|".join(t for t in terms if not t.isascii())
        hit = exact | (lowered.str.contains(chinese, na=False) if chinese else False)
        out = out.mask(out.isna() & hit, term)
    return out.fillna(default), int(out.isna().sum())


def _kinds(frame: pd.DataFrame, vocabulary: Vocabulary) -> tuple[pd.Series, int]:
    """Each row's kind from its kind columns, else from its name (友堤小学 is a school); unknown ones are other."""
    kind, unknown = _classify(_kind_values(frame), PLACE_WORDS, vocabulary, "other", rows=len(frame))
    name_col = find_column(frame, NAME)
    if unknown and name_col is not None:
        by_name, _ = _classify(frame[name_col].reset_index(drop=True), PLACE_WORDS, vocabulary, "other",
                               rows=len(frame))
        kind = kind.reset_index(drop=True)
        kind = kind.where(kind != "other", by_name)
        unknown = int((kind == "other").sum())
    return kind, unknown


def _ids(frame: pd.DataFrame, prefix: str, points: np.ndarray) -> np.ndarray:
    column = find_column(frame, ID)
    if column is not None and frame[column].notna().all() and not frame[column].duplicated().any():
        return (prefix + frame[column].astype(str)).to_numpy()
    keys = [f"{p.x:.7f},{p.y:.7f}:{i}" for i, p in enumerate(points)]
    return np.array([prefix + hashlib.sha1(k.encode()).hexdigest()[:16] for k in keys])


def _place(frame: gpd.GeoDataFrame, context: Context, finest: Level, what: str, name: str, warnings: list[str]
           ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, np.ndarray]:
    if Level.DISTRICT not in context.units.levels:
        raise IngestError(f"{name}: the city has no district boundaries to place {what} in; ingest them first")
    points = representative_points(frame.geometry.to_numpy())
    codes = assign_codes(points, context.units, finest=finest)
    outside = (codes["known_level"] == 0).to_numpy()
    if outside.all():
        raise IngestError(f"{name}: none of its {what} lies in a district of the city; check its CRS")
    if outside.any():
        warnings.append(f"{int(outside.sum())} {what} lie in no district of the city: skipped")
    keep = ~outside
    return (frame[keep].reset_index(drop=True), codes[keep].drop(columns="known_level").reset_index(drop=True),
            points[keep])


def _with_building(codes: pd.DataFrame, points: np.ndarray, context: Context) -> pd.DataFrame:
    """A point inside a building footprint takes that building's code (and so its compound's and grid's)."""
    if context.buildings is None or not len(context.buildings):
        codes[Level.BUILDING.column] = pd.array([pd.NA] * len(codes), dtype="string")
        return codes
    left = gpd.GeoDataFrame({"i": np.arange(len(points))}, geometry=points, crs="EPSG:4326")
    hits = gpd.sjoin(left, context.buildings[["code", "geometry"]], predicate="within", how="inner")
    hits = hits[~hits["i"].duplicated()]
    building = pd.Series(pd.NA, index=codes.index, dtype="string")
    building.iloc[hits["i"].to_numpy()] = hits["code"].astype(str).to_numpy()
    codes[Level.BUILDING.column] = building
    for level in (Level.COMPOUND, Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT):
        codes[level.column] = codes[level.column].where(building.isna(), building.str[: level.digits])
    return codes


def roads(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
          ) -> tuple[str, gpd.GeoDataFrame, str]:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise IngestError(f"{name}: roads need their lines; the file has no shapes (a CSV gives them in a WKT "
                          f"column: {', '.join(WKT_NAMES[:4])} ...)")
    frame, codes, points = _place(frame, context, Level.STREET, "roads", name, warnings)
    tags = frame["other_tags"] if "other_tags" in frame.columns else None
    class_col = first_present(*(frame[c] for c in ("kind_detail",) if c in frame.columns),
                              frame[find_column(frame, ROAD_CLASS)] if find_column(frame, ROAD_CLASS) else None,
                              osm_tags(tags, "highway") if tags is not None else None)
    road_class, unknown = _classify(class_col, ROAD_WORDS, _road_vocabulary(), "other", rows=len(frame))
    if unknown:
        warnings.append(f"{unknown} roads have a class we do not recognise: stored as other")
    name_col = find_column(frame, NAME)
    rows = pd.DataFrame({"road_id": _ids(frame, "road-", points),
                         "name": text(frame[name_col]) if name_col else pd.NA,
                         "road_class": road_class.to_numpy()})
    rows["name"] = rows["name"].astype("string")
    for column in codes.columns:
        rows[column] = codes[column].to_numpy()
    return "roads", gpd.GeoDataFrame(rows, geometry=frame.geometry.to_numpy(), crs="EPSG:4326"), "street"


def _road_vocabulary() -> Vocabulary:
    from cim.vocabulary import ROAD_CLASSES

    return ROAD_CLASSES


def pois(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
         ) -> tuple[str, gpd.GeoDataFrame, str]:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise IngestError(f"{name}: points of interest need coordinates (lon/lat columns or shapes)")
    frame, codes, points = _place(frame, context, Level.COMPOUND, "points", name, warnings)
    codes = _with_building(codes, points, context)
    kind, unknown = _kinds(frame, POI_KINDS)
    if unknown:
        warnings.append(f"{unknown} points have no kind we recognise: stored as other")
    name_col = find_column(frame, NAME)
    rows = pd.DataFrame({"poi_id": _ids(frame, "poi-", points),
                         "name": text(frame[name_col]).to_numpy() if name_col else pd.NA,
                         "kind": kind.to_numpy()})
    rows["name"] = rows["name"].astype("string")
    for column in codes.columns:
        rows[column] = codes[column].to_numpy()
    return "pois", gpd.GeoDataFrame(rows, geometry=points, crs="EPSG:4326"), "building"


def _kind_values(frame: pd.DataFrame) -> pd.Series | None:
    tags = frame["other_tags"] if "other_tags" in frame.columns else None
    columns = [frame[c] for c in KIND if c in frame.columns]
    if tags is not None:
        columns += [osm_tags(tags, key) for key in ("amenity", "shop", "tourism", "leisure", "public_transport")]
    return first_present(*columns)


def organisations(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
                  ) -> tuple[str, gpd.GeoDataFrame, str]:
    name_col = find_column(frame, NAME)
    if name_col is None:
        raise IngestError(f"{name}: organisations need a name column (one of {', '.join(NAME[:3])} ...)")
    review = None
    if not isinstance(frame, gpd.GeoDataFrame):
        frame, review = _at_their_addresses(frame, context, name, warnings)
    frame, codes, points = _place(frame, context, Level.COMPOUND, "organisations", name, warnings)
    codes = _with_building(codes, points, context)
    kind, unknown = _kinds(frame, ORGANISATION_KINDS)
    if unknown:
        warnings.append(f"{unknown} organisations have no kind we recognise: stored as other")
    address_col = find_column(frame, ADDRESS)
    staff_col = find_column(frame, ("staff", "employees", "职工人数", "人数"))
    rows = pd.DataFrame({
        "org_id": _ids(frame, "org-", points),
        "name": text(frame[name_col]).to_numpy(),
        "kind": kind.to_numpy(),
        "address": text(frame[address_col]).fillna("").to_numpy() if address_col else "",
        "staff": pd.array(numbers(frame[staff_col]).round() if staff_col else [pd.NA] * len(frame), dtype="Int32"),
    })
    for column in codes.columns:
        rows[column] = codes[column].to_numpy()
    out = gpd.GeoDataFrame(rows, geometry=points, crs="EPSG:4326")
    if review is not None:
        out.attrs["review"] = review
    return "organisations", out, "building"


def _at_their_addresses(frame: pd.DataFrame, context: Context, name: str, warnings: list[str]
                        ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Rows without coordinates, placed at the building their address matches (the rest go to review)."""
    if find_column(frame, ADDRESS) is None:
        raise IngestError(f"{name}: organisations need coordinates (lon/lat columns or shapes) or an address "
                          f"column (one of {', '.join(ADDRESS[:3])} ...)")
    code, review = place_in_buildings(frame, context, name, warnings)
    placed = code.notna().to_numpy()
    buildings = context.buildings
    centres = pd.Series(representative_points(buildings.geometry.to_numpy()), index=buildings["code"].astype(str))
    points = centres.reindex(code[placed].astype(str).to_numpy()).to_numpy()
    return gpd.GeoDataFrame(frame[placed].reset_index(drop=True), geometry=points, crs="EPSG:4326"), review
