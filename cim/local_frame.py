"""A metric frame for laying out the city: CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547).

Wuhan's own surveying frame; CGCS2000 and WGS84 agree to a few centimetres, well below what
this synthetic city needs. Everything the generator lays out in metres goes back to WGS84 here.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer

LOCAL_CRS = "EPSG:4547"
WGS84 = "EPSG:4326"

_TO_LOCAL = Transformer.from_crs(WGS84, LOCAL_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(LOCAL_CRS, WGS84, always_xy=True)


def to_local(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat (degrees) to local eastings/northings (metres)."""
    x, y = _TO_LOCAL.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local eastings/northings (metres) to WGS84 lon/lat (degrees)."""
    lon, lat = _TO_WGS84.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def geometry_to_wgs84(geoms: np.ndarray) -> np.ndarray:
    """Shapely geometries in the local frame to lon/lat."""
    return shapely.transform(geoms, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1])))


def to_local_geometry(geom: object) -> object:
    """A lon/lat shape in the local frame (metres)."""
    return shapely.transform(geom, lambda xy: np.column_stack(to_local(xy[:, 0], xy[:, 1])))
