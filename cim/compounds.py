"""Where the demo city's compounds stand and how their buildings are laid out in them.

Compounds take sites on a 220 m lattice over dry land, drawn without replacement with a weight that
falls off from the city centre and from the district towns; each compound gets a use, and its
buildings stand in rows and columns (slabs, towers, sheds, village houses) turned with the compound.
All of it in the local metric frame (EPSG:4547), vectorised over compounds and buildings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from cim.demo_scale import URBAN_LENGTH_M, DemoCityError, ScaleSpec
from cim.land import Land
from cim.local_frame import to_local
from cim.wuhan import CITY_CENTRE, SUB_CENTRES

SITE_SPACING_M = 220.0  # lattice of compound sites
COMPOUND_SIDE_M = 190.0  # compound outline
LAYOUT_SIDE_M = 170.0  # where buildings stand inside a compound
MAX_ROTATION_DEG = 8.0  # keeps rotated compounds apart on the lattice
WATER_SETBACK_M = 150.0


@dataclass(frozen=True)
class Sites:
    x: np.ndarray
    y: np.ndarray
    district: np.ndarray  # index into land.districts
    urbanity: np.ndarray  # 1 at the centre, towards 0 in the countryside


def compound_sites(land: Land, spec: ScaleSpec, rng: np.random.Generator) -> Sites:
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
    for _, lon, lat, strength in SUB_CENTRES:
        sx, sy = to_local(np.array([lon]), np.array([lat]))
        r_sub = np.hypot(x - sx[0], y - sy[0])
        weight = weight + strength * np.exp(-r_sub / (spec.spread_m * 0.6))
        urbanity = np.maximum(urbanity, strength * np.exp(-r_sub / (URBAN_LENGTH_M * 0.6)))
    districts = [d for d, _ in land.districts]
    total_10k = sum(d.residents_10k for d in districts)
    for i, d in enumerate(districts):
        if d.core:
            continue
        tx, ty = to_local(np.array([d.lon]), np.array([d.lat]))
        r_town = np.hypot(x - tx[0], y - ty[0])
        share = d.residents_10k / total_10k
        weight = weight + 0.6 * share * np.exp(-r_town / (spec.spread_m / 2)) * (district == i)
        urbanity = np.maximum(urbanity, 0.3 * np.exp(-r_town / 4000.0))
    if spec.census_weighting:
        # scale each district's weight so that its expected share of compounds is its share of residents
        census = np.array([d.residents_10k for d in districts]) / total_10k
        mass = np.bincount(district, weights=weight, minlength=len(districts))
        factor = np.divide(census, mass / mass.sum(), out=np.zeros_like(census), where=mass > 0)
        weight = weight * factor[district] ** spec.census_weighting
    weight = weight + 1e-9  # every site can be drawn
    # Weighted sampling without replacement (Efraimidis-Spirakis): the largest log(U)/w win.
    wanted = min(len(x), spec.buildings)  # at most one compound per building
    keys = np.log(rng.random(len(x))) / weight
    order = np.argsort(-keys, kind="stable")[:wanted]
    return Sites(x[order], y[order], district[order], urbanity[order])


@dataclass(frozen=True)
class Compounds:
    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray  # radians
    district: np.ndarray
    use: np.ndarray  # index into BUILDING_USES (residential, commercial, industrial, public)
    urbanity: np.ndarray
    first_building: np.ndarray  # index of the compound's first building; len = n + 1


@dataclass(frozen=True)
class Layout:
    """Buildings, one row each, in compound order."""

    compound: np.ndarray
    ring_xy: np.ndarray  # (n, 5, 2) local metres, counter-clockwise, closed
    use: np.ndarray
    floors: np.ndarray
    height_m: np.ndarray
    footprint_m2: np.ndarray


def lay_out_compounds(sites: Sites, spec: ScaleSpec, rng: np.random.Generator) -> tuple[Compounds, Layout]:
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
    if kept == len(first):
        raise DemoCityError(
            f"the city has room for {int(first[-1]):,} buildings, fewer than the {spec.buildings:,} asked for; "
            f"ask for fewer buildings"
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
    ring = place(x[comp][:, None], y[comp][:, None], angle[comp][:, None], lx, ly)

    compounds = Compounds(x, y, angle, district, use, u, first)
    layout = Layout(comp, ring, b_use, floors, height, np.round(length * depth, 1))
    return compounds, layout


def place(x: np.ndarray, y: np.ndarray, angle: np.ndarray, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Local offsets (lx, ly) turned by ``angle`` and moved to (x, y), broadcasting; the last axis is x, y."""
    ca, sa = np.cos(angle), np.sin(angle)
    return np.stack(np.broadcast_arrays(x + ca * lx - sa * ly, y + sa * lx + ca * ly), axis=-1)
