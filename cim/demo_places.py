"""The demo city's organisations (实有单位) and points of interest.

Public buildings house schools, clinics, elder-care homes, hospitals and offices of government;
commercial and industrial buildings house companies, and some commercial ground floors a shop. Each
organisation stands at its building's centre with the building's standard address and codes. The
points of interest are the organisations' entrances plus a transit stop on every primary road.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.levels import Level, level_columns
from cim.local_frame import WGS84

PUBLIC_KINDS = ("school", "clinic", "elder_care", "hospital", "government")
PUBLIC_WEIGHTS = (0.35, 0.25, 0.15, 0.05, 0.20)
TRADES = ("科技", "贸易", "物流", "建设", "制造", "信息", "咨询", "文化")
KIND_SUFFIXES = {
    "school": ("小学", "中学", "幼儿园"),
    "clinic": ("社区卫生服务站", "诊所"),
    "elder_care": ("养老院", "老年公寓"),
    "hospital": ("医院",),
    "government": ("街道办事处", "社区服务中心"),
    "shop": ("便利店", "超市", "药店"),
}


def _names(stems: np.ndarray, kinds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(len(kinds), dtype=object)
    for kind, suffixes in KIND_SUFFIXES.items():
        at = np.flatnonzero(kinds == kind)
        picks = np.asarray(suffixes)[rng.integers(0, len(suffixes), len(at))]
        out[at] = np.char.add(stems[at].astype(str), picks)
    at = np.flatnonzero(kinds == "company")
    trades = np.asarray(TRADES)[rng.integers(0, len(TRADES), len(at))]
    out[at] = np.char.add(np.char.add(np.char.add("武汉", stems[at].astype(str)), trades), "有限公司")
    names = [str(n) for n in out]
    # a name that comes again takes an ordinal after its stem: 武湾幼儿园, 武湾第二幼儿园, ...
    again = pd.Series(names).groupby(names).cumcount().to_numpy()
    for i in np.flatnonzero(again > 0):
        ordinal = "第" + _CHINESE_ORDINALS[min(int(again[i]), len(_CHINESE_ORDINALS) - 1)]
        names[i] = names[i].replace(str(stems[i]), str(stems[i]) + ordinal, 1)
    return np.asarray(names, dtype=object)


_CHINESE_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


def place_organisations(buildings: pd.DataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """One organisation per public building, one to three companies per commercial or industrial building,
    and a shop on some commercial ground floors."""
    use = buildings["use"].to_numpy().astype(str)
    public = np.flatnonzero(use == "public")
    business = np.flatnonzero((use == "commercial") | (use == "industrial"))
    companies = rng.integers(1, 4, len(business))
    shops = business[(use[business] == "commercial") & (rng.random(len(business)) < 0.4)]
    where = np.concatenate([public, np.repeat(business, companies), shops])
    kinds = np.concatenate([
        np.asarray(PUBLIC_KINDS)[rng.choice(len(PUBLIC_KINDS), len(public), p=PUBLIC_WEIGHTS)],
        np.full(int(companies.sum()), "company"),
        np.full(len(shops), "shop"),
    ])
    order = np.lexsort((kinds, where))
    where, kinds = where[order], kinds[order]
    b = buildings.iloc[where]
    stems = np.asarray([name[:2] for name in b["compound_name"].to_numpy().astype(str)])
    serial = np.arange(len(where)) - np.searchsorted(where, where, side="left") + 1
    codes = b[Level.BUILDING.column].to_numpy().astype(str)
    staff = np.where(kinds == "hospital", rng.integers(300, 3000, len(where)),
                     np.where(kinds == "shop", rng.integers(2, 15, len(where)), rng.integers(10, 400, len(where))))
    data = {
        "org_id": np.char.add(np.char.add(codes, "-"), np.char.zfill(serial.astype(str), 2)),
        "name": _names(stems, kinds, rng),
        "kind": kinds,
        "address": b["address"].to_numpy().astype(str),
        "staff": staff.astype(np.int32),
    } | level_columns(codes, Level.BUILDING)
    points = shapely.points(b["lon"].to_numpy(), b["lat"].to_numpy())
    return gpd.GeoDataFrame(data, geometry=points, crs=WGS84)


def points_of_interest(organisations: gpd.GeoDataFrame, roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The organisations' entrances, and a transit stop halfway along every primary road."""
    orgs = pd.DataFrame({
        "poi_id": np.char.add("org-", organisations["org_id"].to_numpy().astype(str)),
        "name": organisations["name"].to_numpy(),
        "kind": organisations["kind"].to_numpy(),
        **{lv.column: organisations[lv.column].to_numpy() for lv in Level},
    })
    primary = roads[roads["road_class"].to_numpy().astype(str) == "primary"]
    stops = pd.DataFrame({
        "poi_id": np.char.add("stop-", primary["road_id"].to_numpy().astype(str)),
        "name": np.char.add(primary["name"].to_numpy().astype(str), "站"),
        "kind": "transit",
        **{lv.column: primary[lv.column].to_numpy() if lv <= Level.STREET else None for lv in Level},
    })
    geometry = np.concatenate([organisations.geometry.to_numpy(),
                               shapely.line_interpolate_point(primary.geometry.to_numpy(), 0.5, normalized=True)])
    return gpd.GeoDataFrame(pd.concat([orgs, stops], ignore_index=True), geometry=geometry, crs=WGS84)
