"""Vectorised H3 cells as unsigned 64-bit integers.

Points go to cells through h3ronpy (Rust, whole arrays at a time). Going up to a coarser resolution
needs no library at all: an H3 index keeps its resolution in bits 52-55 and one 3-bit digit per
resolution below that, so the parent is the same index with the resolution field changed and the
finer digits set to 7 (the "unused" digit). That is a few numpy bit operations over the array.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import h3
import numpy as np
import shapely
from h3ronpy.vector import cells_to_wkb_polygons, coordinates_to_cells

MAX_RESOLUTION = 15
PARALLEL_FROM = 500_000  # points; below this one thread is as fast
_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF) << _RES_SHIFT


class CellError(ValueError):
    """Points or cells that cannot be indexed, with what was wrong and where."""


def _check_resolution(resolution: int) -> None:
    if not (isinstance(resolution, int | np.integer) and 0 <= resolution <= MAX_RESOLUTION):
        raise CellError(f"H3 resolution must be a whole number from 0 to 15, got {resolution!r}")


def points_to_cells(lon: np.ndarray, lat: np.ndarray, resolution: int) -> np.ndarray:
    """The H3 cell (uint64) of each lon/lat point, at ``resolution``.

    Raises :class:`CellError` naming the first bad position if a coordinate is not finite or out of range.
    """
    _check_resolution(resolution)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    if lon.shape != lat.shape or lon.ndim != 1:
        raise CellError(f"lon and lat must be 1-D arrays of one length, got shapes {lon.shape} and {lat.shape}")
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CellError(
            f"{int(bad.sum())} points have no valid lon/lat, the first at position {i}: "
            f"lon={float(lon[i])!r}, lat={float(lat[i])!r}; drop them or fix their coordinates"
        )
    if len(lon) < PARALLEL_FROM:
        return np.asarray(coordinates_to_cells(lat, lon, resolution)).astype(np.uint64, copy=False)
    # h3ronpy releases the GIL: index one chunk per core
    bounds = np.linspace(0, len(lon), (os.cpu_count() or 1) + 1).astype(int)
    spans = list(pairwise(bounds))
    with ThreadPoolExecutor(len(spans)) as pool:
        parts = pool.map(lambda s: np.asarray(coordinates_to_cells(lat[s[0] : s[1]], lon[s[0] : s[1]], resolution)),
                         spans)
        return np.concatenate(list(parts)).astype(np.uint64, copy=False)


def cells_resolution(cells: np.ndarray) -> np.ndarray:
    """The resolution of each cell."""
    return ((np.asarray(cells, dtype=np.uint64) & _RES_MASK) >> _RES_SHIFT).astype(np.int8)


def cells_to_parents(cells: np.ndarray, resolution: int) -> np.ndarray:
    """The parent of each cell at the coarser ``resolution`` (a cell is its own parent at its resolution)."""
    _check_resolution(resolution)
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) and int(cells_resolution(cells).min()) < resolution:
        raise CellError(
            f"cannot take parents at resolution {resolution} of cells as coarse as "
            f"resolution {int(cells_resolution(cells).min())}; ask for a coarser resolution"
        )
    unused = np.uint64((1 << (3 * (MAX_RESOLUTION - resolution))) - 1)
    return (cells & ~_RES_MASK) | (np.uint64(resolution) << _RES_SHIFT) | unused


def cells_to_rings(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boundary of each cell as one closed ring: vertex lon/lat (n, 2) and ring starts (len + 1)."""
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return np.empty((0, 2)), np.zeros(1, dtype=np.int64)
    polygons = shapely.from_wkb(np.asarray(cells_to_wkb_polygons(cells), dtype=object))
    rings = shapely.get_exterior_ring(polygons)
    coords, index = shapely.get_coordinates(rings, return_index=True)
    starts = np.searchsorted(index, np.arange(len(cells) + 1))
    return coords, starts


def cell_to_string(cell: int) -> str:
    """The usual hexadecimal form of a cell, e.g. ``8940d1a1a0bffff``."""
    return h3.int_to_str(int(cell))
