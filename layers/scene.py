"""The layers of the 3D city view, as binary messages (see :mod:`layers.wire`).

Coordinates travel as float32 offsets in degrees from an origin near the city centre, which deck.gl
reads with ``COORDINATE_SYSTEM.LNGLAT_OFFSETS``: half the bytes of float64 with centimetre precision.
Per-feature values (height, use, residents) travel once per feature; the browser expands them to the
per-vertex attributes deck.gl wants.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from layers.cells import cells_to_rings
from layers.population import PopulationLayer
from layers.wire import encode

#: Building uses and their colours (RGB), in the order of the ``use`` array.
USE_COLOURS: dict[str, tuple[int, int, int]] = {
    "residential": (242, 183, 92),
    "commercial": (79, 156, 235),
    "industrial": (168, 132, 214),
    "public": (92, 201, 142),
}


def origin_of(frame: gpd.GeoDataFrame) -> tuple[float, float]:
    """A round origin near the middle of ``frame``'s extent."""
    xmin, ymin, xmax, ymax = frame.total_bounds
    return round((xmin + xmax) / 2, 2), round((ymin + ymax) / 2, 2)


def rings_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ring (exterior and holes) of polygons: vertices (n, 2), starts (rings + 1), feature of each ring."""
    geoms = np.asarray(geoms, dtype=object)
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    starts = np.searchsorted(vertex_ring, np.arange(len(rings) + 1))
    return coords, starts, part_feature[ring_part]


def exteriors_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exterior ring of every polygon part, wound counter-clockwise: vertices, starts, feature of each."""
    geoms = np.asarray(geoms, dtype=object)
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    rings = shapely.get_exterior_ring(shapely.orient_polygons(parts))
    coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    starts = np.searchsorted(vertex_ring, np.arange(len(rings) + 1))
    return coords, starts, part_feature


#: Positions travel as whole units of 1e-7 degree (about 1 cm), each vertex as the step from the one
#: before it in its ring (the first vertex of a ring from the origin). Small integers compress to a
#: third of the size of float32 degrees; the browser adds them up again (``city_map.js``).
POSITION_UNIT = 1e-7
POSITION_ENCODING = "delta-int32-1e-7"


def encode_positions(coords: np.ndarray, starts: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """Vertex lon/lat (n, 2) to interleaved int32 steps, restarting at every ring start."""
    q = np.round((coords - np.asarray(origin)) / POSITION_UNIT).astype(np.int64)
    steps = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    first = starts[:-1][starts[:-1] < len(q)]
    steps[first] = q[first]
    if np.abs(steps).max(initial=0) >= 2**31:
        raise ValueError("a vertex lies more than 214 degrees from the origin; choose an origin inside the data")
    return steps.astype(np.int32).ravel()


def decode_positions(steps: np.ndarray, starts: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """The inverse of :func:`encode_positions`: vertex lon/lat (n, 2), as the browser computes it."""
    xy = steps.reshape(-1, 2).astype(np.int64)
    ring = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    summed = np.cumsum(xy, axis=0)
    before = np.vstack([np.zeros((1, 2), dtype=np.int64), summed])[starts[:-1]]  # sum of the rings before
    return (summed - before[ring]) * POSITION_UNIT + np.asarray(origin)


def _message(
    layer: str,
    count: int,
    coords: np.ndarray,
    starts: np.ndarray,
    origin: tuple[float, float],
    arrays: dict[str, np.ndarray],
    **meta: object,
) -> bytes:
    """A layer message: encoded ring positions and starts, the layer's own arrays, and meta."""
    geometry = {"positions": encode_positions(coords, starts, origin), "starts": starts.astype(np.uint32)}
    head = {"layer": layer, "count": count, "origin": list(origin), "positions": POSITION_ENCODING}
    return encode(geometry | arrays, head | meta)


def buildings_message(buildings: gpd.GeoDataFrame, origin: tuple[float, float]) -> bytes:
    """Extruded building footprints with height, floors, use and residents."""
    coords, starts, feature = exteriors_of(buildings.geometry.to_numpy())
    if len(feature) != len(buildings):
        raise ValueError("every building footprint must be a single polygon")
    uses = list(USE_COLOURS)
    use_index = buildings["use"].map({u: i for i, u in enumerate(uses)})
    if use_index.isna().any():
        unknown = sorted(set(buildings.loc[use_index.isna(), "use"]))
        raise ValueError(f"buildings have uses {unknown} with no colour; known uses: {uses}")
    arrays = {
        "height": buildings["height_m"].to_numpy(dtype=np.float32),
        "floors": buildings["floors"].to_numpy(dtype=np.uint16),
        "use": use_index.to_numpy(dtype=np.uint8),
        "residents": buildings["residents"].to_numpy(dtype=np.uint32),
    }
    return _message("buildings", len(buildings), coords, starts, origin, arrays,
                    uses=uses, colours=[list(c) for c in USE_COLOURS.values()])


def population_message(layer: PopulationLayer, resolution: int, origin: tuple[float, float]) -> bytes:
    """H3 hexagons at ``resolution`` with their residents."""
    cells = layer.at(resolution)
    coords, starts = cells_to_rings(cells["cell"].to_numpy())
    residents = cells["residents"].to_numpy()
    return _message("population", len(cells), coords, starts, origin, {"residents": residents.astype(np.uint32)},
                    resolution=resolution, max=int(residents.max(initial=0)), total=int(residents.sum()))


def outlines_message(units: gpd.GeoDataFrame, origin: tuple[float, float], *, layer: str) -> bytes:
    """Boundary lines of administrative units (every ring, holes too) with their codes and names as meta."""
    coords, starts, feature = rings_of(units.geometry.to_numpy())
    labels = shapely.get_coordinates(shapely.point_on_surface(units.geometry.to_numpy()))
    return _message(layer, len(units), coords, starts, origin, {"feature": feature.astype(np.uint32)},
                    codes=units["code"].tolist(), names=units["name"].tolist(),
                    label_positions=np.round(labels, 5).tolist())


def areas_message(areas: gpd.GeoDataFrame, origin: tuple[float, float], *, layer: str) -> bytes:
    """Flat filled areas (water) by their exterior rings, with names as meta."""
    coords, starts, feature = exteriors_of(areas.geometry.to_numpy())
    return _message(layer, len(areas), coords, starts, origin, {"feature": feature.astype(np.uint32)},
                    names=areas["name"].tolist())
