"""The demo city: a deterministic, Wuhan-like city generated from a seed and a scale.

It is laid out at Wuhan's real location: the thirteen districts with their real codes around their
real centres, the Yangtze, the Han and East Lake as water, then streets, communities, grids,
compounds and buildings, standard addresses and residents. Every record carries its code at each
of the seven levels (see :mod:`cim.levels`).

Everything is vectorised with numpy except the loops over parent units (one per district, street
and community), so the full-scale city (300 k buildings, 13.7 M residents) builds in seconds to
minutes, not hours.

>>> city = generate_city(seed=7, scale="small")
>>> len(city.buildings) == scale_spec("small").buildings
True
"""


from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.compounds import COMPOUND_SIDE_M, Compounds, Layout, compound_sites, lay_out_compounds, place
from cim.demo_dwellings import expand_dwellings
from cim.demo_places import place_organisations, points_of_interest
from cim.demo_roads import lay_roads
from cim.demo_scale import DemoCityError, Scale, ScaleSpec, scale_spec
from cim.land import Land, build_land, land_in
from cim.levels import CITY_CODE, Level, level_columns
from cim.local_frame import WGS84, geometry_to_wgs84, to_local_geometry, to_wgs84
from cim.names import (
    COMMUNITY_SUFFIX,
    COMPOUND_SUFFIXES,
    ROAD_SUFFIXES,
    STREET_SUFFIX,
    unique_names,
)
from cim.nesting import Hierarchy, nest_units, serials
from cim.vocabulary import BUILDING_USES
from cim.wuhan import DISTRICTS, Bank, District

__all__ = ["DemoCity", "Scale", "ScaleSpec", "generate_city", "scale_spec"]

FLOOR_AREA_PER_DWELLING_M2 = 90.0
SEGMENT_M = 250.0  # longest boundary edge before going back to lon/lat


@dataclass(frozen=True)
class DemoCity:
    """The tables of a generated city, all in WGS84."""

    seed: int
    spec: ScaleSpec
    districts: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    residents: pd.DataFrame
    addresses: pd.DataFrame
    dwellings: pd.DataFrame
    organisations: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame


def generate_city(
    seed: int = 0,
    scale: Scale | str = Scale.SMALL,
    *,
    buildings: int | None = None,
    districts: gpd.GeoDataFrame | None = None,
) -> DemoCity:
    """Generate the demo city. The same ``seed`` and scale always give the same city.

    ``districts``: real district boundaries (WGS84, with ``code`` and ``name``) to lay the city out in,
    instead of the generated ones; every building then stands in the district its code names.
    """
    spec = scale_spec(scale, buildings=buildings)
    rng = np.random.default_rng(seed)
    land = build_land() if districts is None else land_in(real_districts(districts))
    sites = compound_sites(land, spec, rng)
    compounds, layout = lay_out_compounds(sites, spec, rng)
    hierarchy = nest_units(land, compounds, spec, rng)
    return _assemble(seed, spec, land, compounds, layout, hierarchy, rng)


def _assemble(
    seed: int,
    spec: ScaleSpec,
    land: Land,
    comp: Compounds,
    layout: Layout,
    h: Hierarchy,
    rng: np.random.Generator,
) -> DemoCity:
    d_codes = np.array([d.code for d, _ in land.districts])
    d_names = np.array([d.name_zh for d, _ in land.districts])

    st_codes = np.array([f"{d_codes[p]}{s:03d}" for p, s in zip(h.streets.parent, h.streets.serial, strict=True)])
    st_names = np.array(unique_names(rng, len(st_codes), (STREET_SUFFIX,)))
    cm_codes = np.array(
        [f"{st_codes[p]}{s:03d}" for p, s in zip(h.communities.parent, h.communities.serial, strict=True)]
    )
    cm_names = np.array(unique_names(rng, len(cm_codes), (COMMUNITY_SUFFIX,)))
    gr_codes = np.array([f"{cm_codes[p]}{s:02d}" for p, s in zip(h.grids.parent, h.grids.serial, strict=True)])
    gr_names = np.array([f"{cm_names[p]}第{s}网格" for p, s in zip(h.grids.parent, h.grids.serial, strict=True)])

    n_comp = len(comp.x)
    co_codes = np.array([f"{gr_codes[g]}{s:03d}" for g, s in zip(h.compound_grid, h.compound_serial, strict=True)])
    co_names = np.array(unique_names(rng, n_comp, COMPOUND_SUFFIXES))
    co_grid = h.compound_grid
    co_comm = h.grids.parent[co_grid]
    co_street = h.communities.parent[co_comm]

    # roads: a handful per street; each compound fronts one, numbered along it
    roads_per_street = 6
    road_names = np.array(unique_names(rng, len(st_codes) * roads_per_street, ROAD_SUFFIXES))
    co_road = co_street * roads_per_street + rng.integers(0, roads_per_street, n_comp)
    co_number = serials(co_road, np.column_stack([comp.x, comp.y])) * 2 - 1 + rng.integers(0, 2, n_comp)

    def frame(codes: np.ndarray, names: np.ndarray, geoms: list, level: Level) -> gpd.GeoDataFrame:
        local = np.asarray(geoms, dtype=object)
        data = {"code": codes, "name": names} | level_columns(codes, level)
        # densify first, so that a child's edge along its parent's bends with it under the projection
        local = shapely.segmentize(local, SEGMENT_M)
        return gpd.GeoDataFrame(data, geometry=_valid_areas(geometry_to_wgs84(local)), crs=WGS84)

    districts = frame(d_codes, d_names, [g for _, g in land.districts], Level.DISTRICT)
    districts["name_en"] = [d.name_en for d, _ in land.districts]
    streets = frame(st_codes, st_names, h.streets.geometry, Level.STREET)
    communities = frame(cm_codes, cm_names, h.communities.geometry, Level.COMMUNITY)
    grids = frame(gr_codes, gr_names, h.grids.geometry, Level.GRID)

    half = COMPOUND_SIDE_M / 2
    square = np.array([[-half, -half], [half, -half], [half, half], [-half, half], [-half, -half]])
    co_ring = place(comp.x[:, None], comp.y[:, None], comp.angle[:, None], square[:, 0], square[:, 1])
    co_outlines = shapely.polygons(co_ring)
    compounds = frame(co_codes, co_names, list(co_outlines), Level.COMPOUND)
    compounds["use"] = np.array(BUILDING_USES.codes)[comp.use]
    compounds["road"] = road_names[co_road]
    compounds["number"] = co_number

    buildings = _buildings_frame(layout, compounds, d_codes, d_names, st_names[co_street], cm_names[co_comm])
    residents = _residents(buildings, spec, rng, [d for d, _ in land.districts])
    buildings["residents"] = np.bincount(residents["building_index"].to_numpy(), minlength=len(buildings))

    water = gpd.GeoDataFrame(
        {"name": [w.name_zh for w in land.water], "name_en": [w.name_en for w in land.water],
         "kind": [w.kind for w in land.water]},
        geometry=geometry_to_wgs84(np.array([w.geometry for w in land.water], dtype=object)),
        crs=WGS84,
    )
    # what the base city lacks, from a random stream of its own (the base city stays as it was for a seed)
    extra = np.random.default_rng([seed, 7])
    road_street = st_codes[np.arange(len(road_names)) // roads_per_street]
    roads = lay_roads(comp.x, comp.y, comp.angle, co_road, road_names, road_street, extra,
                      land=shapely.union_all([g for _, g in land.districts]), outlines=co_outlines)
    organisations = place_organisations(buildings, extra)
    return DemoCity(
        seed, spec, districts, streets, communities, grids, compounds, buildings, water, residents,
        addresses=_addresses(buildings),
        dwellings=expand_dwellings(buildings, extra),
        organisations=organisations,
        pois=points_of_interest(organisations, roads),
        roads=roads,
    )


def _valid_areas(geoms: np.ndarray) -> np.ndarray:
    """Shapes made valid (a real boundary's fine detail can cross itself after a projection), areas only
    (a cell clipped to a real boundary may keep a sliver of line where it touches it: that is dropped)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    bad = ~shapely.is_valid(geoms) | ~np.isin(shapely.get_type_id(geoms), (3, 6))
    if bad.any():
        fixed = shapely.make_valid(geoms[bad])
        geoms[bad] = [shapely.union_all([p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)])
                      for g in fixed]
    return geoms


def real_districts(frame: gpd.GeoDataFrame) -> list[tuple[District, object]]:
    """Real district boundaries as the generator's districts: census weights and centres from the reference
    table where the code is known there; the shape's own centre and an average weight otherwise."""
    known = {d.code: d for d in DISTRICTS}
    average = sum(d.residents_10k for d in DISTRICTS) / len(DISTRICTS)
    out = []
    for code, name, geom in zip(frame["code"].astype(str), frame["name"].astype(str), frame.geometry, strict=True):
        centre = geom.representative_point()
        d = known.get(code) or District(code, name, name, round(centre.x, 2), round(centre.y, 2), average,
                                        Bank.WUCHANG, False)
        out.append((d, to_local_geometry(geom)))
    return sorted(out, key=lambda pair: pair[0].code)


def _addresses(buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each building's standard address (its door plate)."""
    columns = ["district_name", "street_name", "road", "number", "compound_name", "building_no", "lon", "lat",
               *(lv.column for lv in Level)]
    frame = pd.DataFrame({"address_id": buildings["code"].to_numpy(), "text": buildings["address"].to_numpy()})
    for c in columns:
        frame[c] = buildings[c].to_numpy()
    return frame


def _buildings_frame(
    layout: Layout,
    compounds: gpd.GeoDataFrame,
    district_codes: np.ndarray,
    district_names: np.ndarray,
    street_names: np.ndarray,
    community_names: np.ndarray,
) -> gpd.GeoDataFrame:
    comp = layout.compound
    nb = len(comp)
    first = np.searchsorted(comp, comp, side="left")
    serial = np.arange(nb) - first + 1
    co = compounds.iloc[comp]
    codes = np.char.add(co["code"].to_numpy().astype(str), np.char.zfill(serial.astype(str), 3))
    lon, lat = to_wgs84(layout.ring_xy[..., 0].ravel(), layout.ring_xy[..., 1].ravel())
    rings = np.stack([lon.reshape(nb, 5), lat.reshape(nb, 5)], axis=-1)
    cx, cy = to_wgs84(layout.ring_xy[:, :4, 0].mean(axis=1), layout.ring_xy[:, :4, 1].mean(axis=1))
    residential = layout.use == 0
    dwellings = np.where(
        residential, np.maximum(1, np.round(layout.floors * layout.footprint_m2 / FLOOR_AREA_PER_DWELLING_M2)), 0
    ).astype(np.int32)
    levels = level_columns(codes, Level.BUILDING)
    data = {
        "code": codes,
        **levels,
        "district_name": district_names[np.searchsorted(district_codes, levels[Level.DISTRICT.column])],
        "street_name": street_names[comp],
        "community_name": community_names[comp],
        "road": co["road"].to_numpy(),
        "number": co["number"].to_numpy(),
        "compound_name": co["name"].to_numpy(),
        "building_no": serial.astype(np.int16),
        "use": np.array(BUILDING_USES.codes)[layout.use],
        "floors": layout.floors,
        "height_m": layout.height_m,
        "height_estimated": np.zeros(nb, dtype=bool),
        "footprint_m2": layout.footprint_m2,
        "dwellings": dwellings,
        "lon": cx,
        "lat": cy,
    }
    frame = gpd.GeoDataFrame(data, geometry=shapely.polygons(rings), crs=WGS84)
    frame["address"] = (
        "湖北省武汉市" + frame["district_name"] + frame["street_name"] + frame["road"]
        + frame["number"].astype(str) + "号" + frame["compound_name"] + frame["building_no"].astype(str) + "栋"
    )
    return frame


def _residents(buildings: gpd.GeoDataFrame, spec: ScaleSpec, rng: np.random.Generator,
               land_districts: list[District]) -> pd.DataFrame:
    """One row per resident, living in a residential building in proportion to its dwellings.

    With census weighting, each district first gets its census share of the residents (blended with
    its share of the dwellings by ``spec.census_weighting``), then its buildings share them by dwellings.
    """
    dwellings = buildings["dwellings"].to_numpy().astype(float)
    if spec.residents and dwellings.sum() == 0:
        raise DemoCityError("the demo city has no dwellings to house its residents; generate more buildings")
    districts = sorted(land_districts, key=lambda d: d.code)
    codes = np.array([d.code for d in districts])
    district = np.searchsorted(codes, buildings[Level.DISTRICT.column].to_numpy())
    by_district = np.bincount(district, weights=dwellings, minlength=len(codes))
    census = np.array([d.residents_10k for d in districts]) * (by_district > 0)
    alpha = spec.census_weighting
    share = alpha * census / census.sum() + (1 - alpha) * by_district / by_district.sum()
    p = share[district] * np.divide(dwellings, by_district[district], out=np.zeros_like(dwellings),
                                    where=by_district[district] > 0)
    per_building = rng.multinomial(spec.residents, p / p.sum()) if spec.residents else (
        np.zeros(len(buildings), dtype=np.int64))
    index = np.repeat(np.arange(len(buildings), dtype=np.int32), per_building)
    n = len(index)
    age_weights = np.concatenate([np.full(60, 1.0), np.linspace(1.0, 0.02, 40)])
    age = rng.choice(100, size=n, p=age_weights / age_weights.sum()).astype(np.uint8)
    sex = np.where(rng.random(n) < 0.512, "M", "F")
    frame = pd.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "building_index": index,
            "age": age,
            "sex": pd.Categorical(sex, categories=["F", "M"]),
            "lon": buildings["lon"].to_numpy()[index],
            "lat": buildings["lat"].to_numpy()[index],
        }
    )
    for level in (Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID, Level.COMPOUND, Level.BUILDING):
        categories, codes = np.unique(buildings[level.column].to_numpy().astype(str), return_inverse=True)
        frame[level.column] = pd.Categorical.from_codes(codes[index], categories=categories)
    frame[Level.CITY.column] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[CITY_CODE])
    return frame
