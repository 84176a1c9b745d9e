"""Shapes as flat arrays for the browser: rings of vertices, ring starts, and positions as int32 steps.

deck.gl draws variable-size polygons and paths from one flat vertex array and the index where each
ring starts. Positions travel as whole units of 1e-7 degree (about 1 cm), each vertex as the step
from the one before it in its ring (the first vertex of a ring from the layer's origin): small
integers compress to a third of the size of float32 degrees, and the browser adds them up again
(``views/assets/wire.js``), giving float32 offsets from the origin for ``LNGLAT_OFFSETS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

POSITION_UNIT = 1e-7
POSITION_ENCODING = "delta-int32-1e-7"


class GeometryError(ValueError):
    """Shapes that cannot be turned into rings for the browser."""


@dataclass(frozen=True)
class Rings:
    """Closed rings: vertices (n, 2) lon/lat, ``starts`` (rings + 1) and the feature each ring belongs to."""

    coords: np.ndarray
    starts: np.ndarray
    feature: np.ndarray

    @property
    def count(self) -> int:
        return len(self.starts) - 1


def rings_of(geoms: np.ndarray) -> Rings:
    """Every ring (exteriors and holes) of polygons, for outlines."""
    geoms = np.asarray(geoms, dtype=object)
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    starts = np.searchsorted(vertex_ring, np.arange(len(rings) + 1))
    return Rings(coords, starts, part_feature[ring_part])


def exteriors_of(geoms: np.ndarray) -> Rings:
    """The exterior ring of every polygon part, wound counter-clockwise, for filled areas."""
    geoms = np.asarray(geoms, dtype=object)
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    rings = shapely.get_exterior_ring(shapely.orient_polygons(parts))
    coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    starts = np.searchsorted(vertex_ring, np.arange(len(rings) + 1))
    return Rings(coords, starts, part_feature)


def lines_of(geoms: np.ndarray) -> Rings:
    """Every part of (multi)lines, as open paths: vertices, ``starts`` and the feature of each path."""
    geoms = np.asarray(geoms, dtype=object)
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    coords, vertex_part = shapely.get_coordinates(parts, return_index=True)
    starts = np.searchsorted(vertex_part, np.arange(len(parts) + 1))
    return Rings(coords, starts, part_feature)


def points_of(geoms: np.ndarray) -> Rings:
    """Points, one vertex each (a multipoint by its first point)."""
    geoms = np.asarray(geoms, dtype=object)
    first = shapely.get_point(geoms, 0)
    single = shapely.get_type_id(geoms) == 0
    first[single] = geoms[single]
    coords = shapely.get_coordinates(first)
    return Rings(coords, np.arange(len(coords) + 1), np.arange(len(coords)))


def origin_of(bounds: tuple[float, float, float, float] | np.ndarray) -> tuple[float, float]:
    """A round origin near the middle of ``bounds`` (xmin, ymin, xmax, ymax)."""
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    return round((xmin + xmax) / 2, 2), round((ymin + ymax) / 2, 2)


def encode_positions(coords: np.ndarray, starts: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """Vertex lon/lat (n, 2) to interleaved int32 steps, restarting at every ring start."""
    q = np.round((coords - np.asarray(origin)) / POSITION_UNIT).astype(np.int64)
    steps = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    first = starts[:-1][starts[:-1] < len(q)]
    steps[first] = q[first]
    if np.abs(steps).max(initial=0) >= 2**31:
        raise GeometryError("a vertex lies more than 214 degrees from the origin; choose an origin inside the data")
    return steps.astype(np.int32).ravel()


def decode_positions(steps: np.ndarray, starts: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """The inverse of :func:`encode_positions`: vertex lon/lat (n, 2), as the browser computes it."""
    xy = steps.reshape(-1, 2).astype(np.int64)
    ring = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    summed = np.cumsum(xy, axis=0)
    before = np.vstack([np.zeros((1, 2), dtype=np.int64), summed])[starts[:-1]]  # sum of the rings before
    return (summed - before[ring]) * POSITION_UNIT + np.asarray(origin)
