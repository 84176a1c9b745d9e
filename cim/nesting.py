"""The levels between district and compound: streets, communities and grids.

Each parent unit is split into children by k-means over its compounds, and each child's boundary is
the Voronoi cell of its cluster centre clipped to the parent, so a compound always lies in the unit
its codes name. Children are numbered from the north-west, row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from cim.compounds import Compounds
from cim.demo_scale import DemoCityError, ScaleSpec
from cim.land import Land, voronoi_cells


@dataclass(frozen=True)
class Units:
    parent: np.ndarray  # index of the parent unit
    geometry: list  # local metres
    serial: np.ndarray  # 1-based number within the parent


@dataclass(frozen=True)
class Hierarchy:
    streets: Units
    communities: Units
    grids: Units
    compound_grid: np.ndarray
    compound_serial: np.ndarray


def nest_units(land: Land, comp: Compounds, spec: ScaleSpec, rng: np.random.Generator) -> Hierarchy:
    xy = np.column_stack([comp.x, comp.y])
    district_geoms = [geom for _, geom in land.districts]
    per_grid = spec.compounds_per_grid
    per_community = per_grid * spec.grids_per_community
    per_street = per_community * spec.communities_per_street
    streets, comp_street = partition(district_geoms, comp.district, xy, per_street, rng, max_children=999)
    communities, comp_comm = partition(streets.geometry, comp_street, xy, per_community, rng, max_children=999)
    grids, comp_grid = partition(communities.geometry, comp_comm, xy, per_grid, rng, max_children=99)
    serial = serials(comp_grid, xy)
    if serial.max(initial=0) > 999:
        raise DemoCityError("a grid has more than 999 compounds; lower compounds_per_grid")
    return Hierarchy(streets, communities, grids, comp_grid, serial)


def partition(
    parent_geoms: list,
    item_parent: np.ndarray,
    xy: np.ndarray,
    items_per_child: float,
    rng: np.random.Generator,
    *,
    max_children: int,
) -> tuple[Units, np.ndarray]:
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
        labels, centres = kmeans(xy[members], k, rng)
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
    units = Units(np.concatenate(child_parent), child_geoms, np.concatenate(child_serial))
    return units, item_child


def kmeans(xy: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means; returns labels 0..m-1 and m ≤ k non-empty centres."""
    if k >= len(xy):
        return np.arange(len(xy)), xy.astype(float).copy()
    centres = xy[rng.choice(len(xy), size=k, replace=False)].astype(float)
    for _ in range(iterations):
        labels = nearest(xy, centres)
        counts = np.bincount(labels, minlength=k)
        for dim in range(2):
            sums = np.bincount(labels, weights=xy[:, dim], minlength=k)
            centres[:, dim] = np.where(counts > 0, sums / np.maximum(counts, 1), centres[:, dim])
    labels = nearest(xy, centres)
    used, labels = np.unique(labels, return_inverse=True)
    return labels, centres[used]


def nearest(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
    return d2.argmin(axis=1)


def serials(parent: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """1-based serial of each item within its parent, from the north-west."""
    order = np.lexsort((xy[:, 0], -xy[:, 1], parent))
    sorted_parent = parent[order]
    starts = np.searchsorted(sorted_parent, sorted_parent, side="left")
    serial = np.empty(len(parent), dtype=np.int64)
    serial[order] = np.arange(len(parent)) - starts + 1
    return serial
