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

import math
from dataclasses import dataclass
from enum import StrEnum

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.land import Land, build_land, voronoi_cells
from cim.levels import CITY_CODE, Level
from cim.local_frame import geometry_to_wgs84, to_local, to_wgs84
from cim.names import (
    COMMUNITY_SUFFIX,
    COMPOUND_SUFFIXES,
    ROAD_SUFFIXES,
    STREET_SUFFIX,
    unique_names,
)
from cim.wuhan import CITY_BUILDINGS, CITY_CENTRE, CITY_RESIDENTS, DISTRICTS

WGS84 = "EPSG:4326"

#: Building uses, in the order of the ``use_id`` column.
USES: tuple[str, ...] = ("residential", "commercial", "industrial", "public")
USE_ZH: dict[str, str] = {
    "residential": "住宅", "commercial": "商业办公", "industrial": "工业仓储", "public": "公共服务",
}

SITE_SPACING_M = 220.0  # lattice of compound sites
COMPOUND_SIDE_M = 190.0  # compound outline
LAYOUT_SIDE_M = 170.0  # where buildings stand inside a compound
MAX_ROTATION_DEG = 8.0  # keeps rotated compounds apart on the lattice
WATER_SETBACK_M = 150.0
URBAN_LENGTH_M = 6000.0  # how fast high-rise gives way to low-rise away from the centre
FLOOR_AREA_PER_DWELLING_M2 = 90.0
SEGMENT_M = 250.0  # longest boundary edge before going back to lon/lat


class Scale(StrEnum):
    SMALL = "small"
    CITY = "city"


@dataclass(frozen=True)
class ScaleSpec:
    """How big a demo city is and how its units nest."""

    buildings: int
    residents: int
    compounds_per_grid: float
    grids_per_community: float
    communities_per_street: float
    spread_m: float  # e-folding distance of the density of compounds around the centre

    def __post_init__(self) -> None:
        if self.buildings < 1:
            raise ValueError(f"a demo city needs at least one building, got {self.buildings}")
        if self.residents < 0:
            raise ValueError(f"residents must be zero or more, got {self.residents}")


def scale_spec(scale: Scale | str, *, buildings: int | None = None) -> ScaleSpec:
    """The size of a demo city: ``small`` renders fast, ``city`` is Wuhan's full scale.

    ``buildings`` overrides the number of buildings (residents follow at Wuhan's ratio).
    """
    try:
        scale = Scale(scale)
    except ValueError:
        raise ValueError(f"unknown demo scale {scale!r}; use one of: small, city") from None
    n = buildings if buildings is not None else (4000 if scale is Scale.SMALL else CITY_BUILDINGS)
    residents = round(CITY_RESIDENTS * n / CITY_BUILDINGS)
    if scale is Scale.CITY:
        return ScaleSpec(n, residents, 3.0, 4.0, 16.0, spread_m=URBAN_LENGTH_M)
    spread = max(900.0, URBAN_LENGTH_M * math.sqrt(n / CITY_BUILDINGS))
    return ScaleSpec(n, residents, 3.0, 4.0, 5.0, spread_m=spread)


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

    def units(self, level: Level) -> gpd.GeoDataFrame:
        """The boundary table of one level (the city itself is the union of its districts)."""
        tables = {
            Level.DISTRICT: self.districts,
            Level.STREET: self.streets,
            Level.COMMUNITY: self.communities,
            Level.GRID: self.grids,
            Level.COMPOUND: self.compounds,
            Level.BUILDING: self.buildings,
        }
        if level is Level.CITY:
            raise ValueError("the city level has one unit, 420100; use the districts for its area")
        return tables[level]


def generate_city(seed: int = 0, scale: Scale | str = Scale.SMALL, *, buildings: int | None = None) -> DemoCity:
    """Generate the demo city. The same ``seed`` and scale always give the same city."""
    spec = scale_spec(scale, buildings=buildings)
    rng = np.random.default_rng(seed)
    land = build_land()
    sites = _compound_sites(land, spec, rng)
    compounds, layout = _lay_out_compounds(sites, spec, rng)
    hierarchy = _nest_units(land, compounds, spec, rng)
    return _assemble(seed, spec, land, compounds, layout, hierarchy, rng)


# -- compounds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sites:
    x: np.ndarray
    y: np.ndarray
    district: np.ndarray  # index into DISTRICTS
    urbanity: np.ndarray  # 1 at the centre, towards 0 in the countryside


def _compound_sites(land: Land, spec: ScaleSpec, rng: np.random.Generator) -> _Sites:
    """Candidate sites on a lattice over dry land, weighted by density, drawn without replacement."""
    xmin, ymin, xmax, ymax = land.outline.bounds
    gx = np.arange(xmin + SITE_SPACING_M / 2, xmax, SITE_SPACING_M)
    gy = np.arange(ymin + SITE_SPACING_M / 2, ymax, SITE_SPACING_M)
    x, y = (a.ravel() for a in np.meshgrid(gx, gy))
    district = np.full(x.shape, -1, dtype=np.int16)
    for i, (_, geom) in enumerate(land.districts):
        inner = geom.buffer(-WATER_SETBACK_M)
        district[shapely.contains_xy(inner, x, y) & (district < 0)] = i
    keep = district >= 0
    x, y, district = x[keep], y[keep], district[keep]

    cx, cy = to_local(np.array([CITY_CENTRE[0]]), np.array([CITY_CENTRE[1]]))
    r_core = np.hypot(x - cx[0], y - cy[0])
    weight = np.exp(-r_core / spec.spread_m)
    urbanity = np.exp(-r_core / URBAN_LENGTH_M)
    total_10k = sum(d.residents_10k for d in DISTRICTS)
    for i, d in enumerate(DISTRICTS):
        if d.core:
            continue
        tx, ty = to_local(np.array([d.lon]), np.array([d.lat]))
        r_town = np.hypot(x - tx[0], y - ty[0])
        share = d.residents_10k / total_10k
        weight = weight + 0.6 * share * np.exp(-r_town / (spec.spread_m / 2)) * (district == i)
        urbanity = np.maximum(urbanity, 0.3 * np.exp(-r_town / 4000.0))
    weight = weight + 1e-9  # every site can be drawn
    # Weighted sampling without replacement (Efraimidis-Spirakis): the largest log(U)/w win.
    wanted = min(len(x), spec.buildings)  # at most one compound per building
    keys = np.log(rng.random(len(x))) / weight
    order = np.argsort(-keys, kind="stable")[:wanted]
    return _Sites(x[order], y[order], district[order], urbanity[order])


@dataclass(frozen=True)
class _Compounds:
    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray  # radians
    district: np.ndarray
    use: np.ndarray  # index into USES
    urbanity: np.ndarray
    first_building: np.ndarray  # index of the compound's first building; len = n + 1


@dataclass(frozen=True)
class _Layout:
    """Buildings, one row each, in compound order."""

    compound: np.ndarray
    ring_xy: np.ndarray  # (n, 5, 2) local metres, counter-clockwise, closed
    use: np.ndarray
    floors: np.ndarray
    height_m: np.ndarray
    footprint_m2: np.ndarray


def _lay_out_compounds(sites: _Sites, spec: ScaleSpec, rng: np.random.Generator) -> tuple[_Compounds, _Layout]:
    n = len(sites.x)
    u = sites.urbanity
    # use of each compound, by urbanity
    p_com = 0.06 + 0.25 * u
    p_ind = 0.02 + 0.22 * (1 - u)
    p_pub = np.full(n, 0.09)
    p_res = 1 - p_com - p_ind - p_pub
    cum = np.cumsum(np.column_stack([p_res, p_com, p_ind, p_pub]), axis=1)
    use = (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, 3)
    village = (use == 0) & (u < 0.08)

    rows = np.select(
        [use == 0, use == 1, use == 2],
        [rng.integers(2, 5, n), rng.integers(1, 3, n), rng.integers(1, 3, n)],
        default=2,
    )
    cols = np.select(
        [use == 0, use == 1, use == 2],
        [rng.integers(1, 3, n), rng.integers(1, 3, n), rng.integers(1, 3, n)],
        default=2,
    )
    rows = np.where(village, 3, rows)
    cols = np.where(village, 3, cols)
    per = rows * cols
    first = np.concatenate([[0], np.cumsum(per)])
    # keep just enough compounds for the buildings wanted; the last one may be partly built
    kept = int(np.searchsorted(first, spec.buildings, side="left"))
    if first[kept] < spec.buildings:
        raise ValueError(
            f"the city has room for {first[kept]} buildings, fewer than the {spec.buildings} asked for"
        )
    per = per[:kept].copy()
    per[-1] -= first[kept] - spec.buildings
    first = np.concatenate([[0], np.cumsum(per)])
    sl = slice(0, kept)
    x, y, district, u, use = sites.x[sl], sites.y[sl], sites.district[sl], u[sl], use[sl]
    rows, cols, village = rows[sl], cols[sl], village[sl]
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, kept))

    # one row per building
    nb = int(first[-1])
    comp = np.repeat(np.arange(kept), per)
    slot = np.arange(nb) - first[comp]
    r, c = rows[comp], cols[comp]
    i, j = slot // c, slot % c
    b_use = use[comp]
    b_village = village[comp]
    cell_w, cell_h = LAYOUT_SIDE_M / c, LAYOUT_SIDE_M / r
    length = np.select(
        [b_village, b_use == 0, b_use == 1, b_use == 2],
        [np.full(nb, 14.0), np.minimum(60.0, cell_w - 16), np.minimum(45.0, np.minimum(cell_w, cell_h) - 30),
         cell_w - 20],
        default=np.minimum(55.0, cell_w - 20),
    )
    depth = np.select(
        [b_village, b_use == 0, b_use == 1, b_use == 2],
        [np.full(nb, 11.0), np.minimum(15.0, cell_h - 25), length, cell_h - 40],
        default=np.minimum(25.0, cell_h - 20),
    )
    bu = u[comp]
    noise = rng.lognormal(0.0, 0.3, nb)
    floors = np.select(
        [b_village, b_use == 0, b_use == 1, b_use == 2],
        [rng.integers(2, 4, nb), np.round((5 + 28 * bu) * noise), np.round((4 + 45 * bu) * noise * 1.2),
         rng.integers(1, 4, nb)],
        default=rng.integers(3, 9, nb),
    )
    floors = np.clip(floors, 1, 70).astype(np.int16)
    storey = np.array([3.0, 4.2, 7.0, 3.8])[b_use]
    height = np.round(floors * storey, 1)

    # footprint rings: rectangle in the slot, rotated with the compound, moved to the site
    dx = -LAYOUT_SIDE_M / 2 + (j + 0.5) * cell_w
    dy = -LAYOUT_SIDE_M / 2 + (i + 0.5) * cell_h
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    lx = dx[:, None] + corners[None, :, 0] * length[:, None]
    ly = dy[:, None] + corners[None, :, 1] * depth[:, None]
    ring = _place(x[comp][:, None], y[comp][:, None], angle[comp][:, None], lx, ly)

    compounds = _Compounds(x, y, angle, district, use, u, first)
    layout = _Layout(comp, ring, b_use, floors, height, np.round(length * depth, 1))
    return compounds, layout


def _place(x: np.ndarray, y: np.ndarray, angle: np.ndarray, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Local offsets (lx, ly) turned by ``angle`` and moved to (x, y), broadcasting; the last axis is x, y."""
    ca, sa = np.cos(angle), np.sin(angle)
    return np.stack(np.broadcast_arrays(x + ca * lx - sa * ly, y + sa * lx + ca * ly), axis=-1)


# -- the levels between district and compound --------------------------------------------------------


@dataclass(frozen=True)
class _Units:
    parent: np.ndarray  # index of the parent unit
    geometry: list  # local metres
    serial: np.ndarray  # 1-based number within the parent


@dataclass(frozen=True)
class _Hierarchy:
    streets: _Units
    communities: _Units
    grids: _Units
    compound_grid: np.ndarray
    compound_serial: np.ndarray


def _nest_units(land: Land, comp: _Compounds, spec: ScaleSpec, rng: np.random.Generator) -> _Hierarchy:
    xy = np.column_stack([comp.x, comp.y])
    district_geoms = [geom for _, geom in land.districts]
    per_grid = spec.compounds_per_grid
    per_community = per_grid * spec.grids_per_community
    per_street = per_community * spec.communities_per_street
    streets, comp_street = _partition(district_geoms, comp.district, xy, per_street, rng, max_children=999)
    communities, comp_comm = _partition(streets.geometry, comp_street, xy, per_community, rng, max_children=999)
    grids, comp_grid = _partition(communities.geometry, comp_comm, xy, per_grid, rng, max_children=99)
    serial = _serials(comp_grid, xy)
    if serial.max(initial=0) > 999:
        raise ValueError("a grid has more than 999 compounds; lower compounds_per_grid")
    return _Hierarchy(streets, communities, grids, comp_grid, serial)


def _partition(
    parent_geoms: list,
    item_parent: np.ndarray,
    xy: np.ndarray,
    items_per_child: float,
    rng: np.random.Generator,
    *,
    max_children: int,
) -> tuple[_Units, np.ndarray]:
    """Split every parent into children: k-means clusters of its items, drawn as Voronoi cells."""
    child_parent: list[np.ndarray] = []
    child_geoms: list = []
    child_serial: list[np.ndarray] = []
    item_child = np.empty(len(xy), dtype=np.int64)
    order = np.argsort(item_parent, kind="stable")
    bounds = np.searchsorted(item_parent[order], np.arange(len(parent_geoms) + 1))
    offset = 0
    for p, geom in enumerate(parent_geoms):
        members = order[bounds[p] : bounds[p + 1]]
        if len(members) == 0:
            continue
        k = min(max_children, max(1, round(len(members) / items_per_child)))
        labels, centres = _kmeans(xy[members], k, rng)
        # number children from the north-west, row by row of about 2 km
        rank = np.lexsort((centres[:, 0], -np.floor(centres[:, 1] / 2000.0)))
        renumber = np.empty_like(rank)
        renumber[rank] = np.arange(len(rank))
        centres = centres[rank]
        labels = renumber[labels]
        cells = voronoi_cells(centres, geom)
        child_geoms.extend(shapely.make_valid(c) for c in cells)
        child_parent.append(np.full(len(centres), p))
        child_serial.append(np.arange(1, len(centres) + 1))
        item_child[members] = offset + labels
        offset += len(centres)
    units = _Units(np.concatenate(child_parent), child_geoms, np.concatenate(child_serial))
    return units, item_child


def _kmeans(xy: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means; returns labels 0..m-1 and m ≤ k non-empty centres."""
    if k >= len(xy):
        return np.arange(len(xy)), xy.astype(float).copy()
    centres = xy[rng.choice(len(xy), size=k, replace=False)].astype(float)
    for _ in range(iterations):
        labels = _nearest(xy, centres)
        counts = np.bincount(labels, minlength=k)
        for dim in range(2):
            sums = np.bincount(labels, weights=xy[:, dim], minlength=k)
            centres[:, dim] = np.where(counts > 0, sums / np.maximum(counts, 1), centres[:, dim])
    labels = _nearest(xy, centres)
    used, labels = np.unique(labels, return_inverse=True)
    return labels, centres[used]


def _nearest(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
    return d2.argmin(axis=1)


def _serials(parent: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """1-based serial of each item within its parent, from the north-west."""
    order = np.lexsort((xy[:, 0], -xy[:, 1], parent))
    sorted_parent = parent[order]
    starts = np.searchsorted(sorted_parent, sorted_parent, side="left")
    serial = np.empty(len(parent), dtype=np.int64)
    serial[order] = np.arange(len(parent)) - starts + 1
    return serial


# -- tables ----------------------------------------------------------------------------------------


def _assemble(
    seed: int,
    spec: ScaleSpec,
    land: Land,
    comp: _Compounds,
    layout: _Layout,
    h: _Hierarchy,
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
    co_district = h.streets.parent[co_street]

    # roads: a handful per street; each compound fronts one, numbered along it
    roads_per_street = 6
    road_names = np.array(unique_names(rng, len(st_codes) * roads_per_street, ROAD_SUFFIXES))
    co_road = co_street * roads_per_street + rng.integers(0, roads_per_street, n_comp)
    co_number = _serials(co_road, np.column_stack([comp.x, comp.y])) * 2 - 1 + rng.integers(0, 2, n_comp)

    def frame(codes: np.ndarray, names: np.ndarray, geoms: list, level: Level, parents: dict) -> gpd.GeoDataFrame:
        local = np.asarray(geoms, dtype=object)
        data = {"code": codes, "name": names, "level": level.name.lower(), Level.CITY.column: CITY_CODE}
        data |= parents
        data[level.column] = codes
        # densify first, so that a child's edge along its parent's bends with it under the projection
        local = shapely.segmentize(local, SEGMENT_M)
        return gpd.GeoDataFrame(data, geometry=geometry_to_wgs84(local), crs=WGS84)

    districts = frame(d_codes, d_names, [g for _, g in land.districts], Level.DISTRICT, {})
    districts["name_en"] = [d.name_en for d, _ in land.districts]
    streets = frame(st_codes, st_names, h.streets.geometry, Level.STREET,
                    {Level.DISTRICT.column: d_codes[h.streets.parent]})
    cm_street = h.communities.parent
    communities = frame(cm_codes, cm_names, h.communities.geometry, Level.COMMUNITY,
                        {Level.DISTRICT.column: d_codes[h.streets.parent[cm_street]],
                         Level.STREET.column: st_codes[cm_street]})
    gr_comm = h.grids.parent
    gr_street = h.communities.parent[gr_comm]
    grids = frame(gr_codes, gr_names, h.grids.geometry, Level.GRID,
                  {Level.DISTRICT.column: d_codes[h.streets.parent[gr_street]],
                   Level.STREET.column: st_codes[gr_street], Level.COMMUNITY.column: cm_codes[gr_comm]})

    half = COMPOUND_SIDE_M / 2
    square = np.array([[-half, -half], [half, -half], [half, half], [-half, half], [-half, -half]])
    co_ring = _place(comp.x[:, None], comp.y[:, None], comp.angle[:, None], square[:, 0], square[:, 1])
    compounds = frame(co_codes, co_names, list(shapely.polygons(co_ring)), Level.COMPOUND,
                      {Level.DISTRICT.column: d_codes[co_district], Level.STREET.column: st_codes[co_street],
                       Level.COMMUNITY.column: cm_codes[co_comm], Level.GRID.column: gr_codes[co_grid]})
    compounds["use"] = np.array(USES)[comp.use]
    compounds["road"] = road_names[co_road]
    compounds["number"] = co_number

    buildings = _buildings_frame(layout, compounds, d_codes, d_names, st_names[co_street], cm_names[co_comm], rng)
    residents = _residents(buildings, spec, rng)
    buildings["residents"] = np.bincount(residents["building_index"].to_numpy(), minlength=len(buildings))

    water = gpd.GeoDataFrame(
        {"name": [w.name_zh for w in land.water], "name_en": [w.name_en for w in land.water],
         "kind": [w.kind for w in land.water]},
        geometry=geometry_to_wgs84(np.array([w.geometry for w in land.water], dtype=object)),
        crs=WGS84,
    )
    return DemoCity(seed, spec, districts, streets, communities, grids, compounds, buildings, water, residents)


def _buildings_frame(
    layout: _Layout,
    compounds: gpd.GeoDataFrame,
    district_codes: np.ndarray,
    district_names: np.ndarray,
    street_names: np.ndarray,
    community_names: np.ndarray,
    rng: np.random.Generator,
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
    district = co[Level.DISTRICT.column].to_numpy()
    data = {
        "code": codes,
        "level": "building",
        Level.CITY.column: CITY_CODE,
        Level.DISTRICT.column: district,
        Level.STREET.column: co[Level.STREET.column].to_numpy(),
        Level.COMMUNITY.column: co[Level.COMMUNITY.column].to_numpy(),
        Level.GRID.column: co[Level.GRID.column].to_numpy(),
        Level.COMPOUND.column: co["code"].to_numpy(),
        Level.BUILDING.column: codes,
        "district_name": district_names[np.searchsorted(district_codes, district)],
        "street_name": street_names[comp],
        "community_name": community_names[comp],
        "road": co["road"].to_numpy(),
        "number": co["number"].to_numpy(),
        "compound_name": co["name"].to_numpy(),
        "building_no": serial.astype(np.int16),
        "use": np.array(USES)[layout.use],
        "floors": layout.floors,
        "height_m": layout.height_m,
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


def _residents(buildings: gpd.GeoDataFrame, spec: ScaleSpec, rng: np.random.Generator) -> pd.DataFrame:
    """One row per resident, living in a residential building in proportion to its dwellings."""
    dwellings = buildings["dwellings"].to_numpy().astype(float)
    if spec.residents and dwellings.sum() == 0:
        raise ValueError("the demo city has no dwellings to house its residents; generate more buildings")
    per_building = rng.multinomial(spec.residents, dwellings / dwellings.sum()) if spec.residents else (
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
