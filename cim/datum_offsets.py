"""China's web-map offsets: GCJ-02 ("Mars coordinates") and BD-09, to and from WGS84, over whole arrays.

Maps published in China may not show true WGS84 positions. AMap (高德), Tencent, DataV GeoAtlas and
most Chinese web services publish **GCJ-02**: WGS84 shifted by a smooth, deliberately obscure offset of
a few hundred metres, computed from a polynomial-and-sine formula on the Krasovsky 1940 ellipsoid. Baidu
shifts once more into **BD-09**: GCJ-02 turned about the origin by a tiny angle, stretched by a tiny
factor, and moved by (0.0065°, 0.006°). Neither is a datum PROJ knows, so data in them must be mapped
here before it joins WGS84 layers; uncorrected, a building sits some 600 m from its footprint in Wuhan.

The offsets apply only inside China. Following the published algorithm, a point is "inside" when it lies
in the rectangle ``CHINA_BBOX`` = 72.004-137.8347 E, 0.8293-55.8271 N (lon/lat of the given point);
anything else (Tokyo, London, NaN) comes back unchanged. The rectangle is coarse on purpose: it is what
the services themselves use, so e.g. Seoul inside it is shifted too.

GCJ-02 has no closed-form inverse. ``gcj02_to_wgs84`` solves ``wgs84_to_gcj02(w) = g`` by fixed-point
iteration, stopping when the forward transform of the answer misses ``g`` by less than 1e-10 degree
(about 0.01 mm) at every point; the offset changes by less than 1% of any move, so 3 steps do it. The answer
is then within about 1e-10 degree of the true WGS84 point (measured: under 5e-11 over all of China).
BD-09's published inverse is a closed-form approximation off by up to about 2e-6 degree; ``bd09_to_gcj02``
starts from it and refines it the same way, to the same 1e-10 degree.

Example, a GPS fix near Wuhan's Yellow Crane Tower (黄鹤楼), where AMap and Baidu would draw it, and back:

    >>> lon, lat = wgs84_to_gcj02(114.3025, 30.5446)
    >>> print(f"{lon:.6f} {lat:.6f}")
    114.307937 30.542168
    >>> print("{:.10f} {:.10f}".format(*gcj02_to_wgs84(lon, lat)))
    114.3025000000 30.5446000000
    >>> print("{:.10f} {:.10f}".format(*to_wgs84("bd09", *from_wgs84("bd09", 114.3025, 30.5446))))
    114.3025000000 30.5446000000

Every function takes lon and lat as numbers, sequences or numpy arrays (broadcast against each other)
and returns float64 numpy arrays of their broadcast shape; scalars in give numpy float64 scalars out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Transform = Callable[[npt.ArrayLike, npt.ArrayLike], tuple[FloatArray, FloatArray]]

#: Krasovsky 1940 ellipsoid, on which the GCJ-02 offset is scaled from "metres" to degrees.
KRASOVSKY_A = 6378245.0
KRASOVSKY_E2 = 0.00669342162296594323

#: Where the offsets apply: (west, south, east, north) in degrees, as in the published algorithm.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)

#: BD-09's rotation and scale use the angle (lon or lat) * pi * 3000 / 180.
_BD_FACTOR = np.pi * 3000.0 / 180.0
_BD_SHIFT_LON = 0.0065
_BD_SHIFT_LAT = 0.006

#: The inverses stop when the forward transform of the answer is this close to the input (degrees).
INVERSE_TOLERANCE = 1e-10
_MAX_STEPS = 40


def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each point lies in ``CHINA_BBOX``, where the offsets apply (NaN is outside).

    >>> in_china([114.3, 139.69], [30.6, 35.69]).tolist()    # Wuhan, Tokyo
    [True, False]
    """
    x, y = _arrays(lon, lat)
    west, south, east, north = CHINA_BBOX
    return (x >= west) & (x <= east) & (y >= south) & (y <= north)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 to GCJ-02: add the obscured offset (a few hundred metres) inside China.

    >>> print("{:.6f} {:.6f}".format(*wgs84_to_gcj02(116.481499, 39.990475)))  # AMap's service: 116.487585 39.991754
    116.487586 39.991754
    """
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    dlon, dlat = _gcj_offset(x, y)
    return _out(np.where(inside, x + dlon, x)), _out(np.where(inside, y + dlat, y))


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 to WGS84, to within 1e-10 degree (``INVERSE_TOLERANCE``), by iterating the forward offset.

    Starts from ``g - offset(g)``, the one-step inverse many libraries and services stop at (off by up to
    6e-5 degree, several metres, over China), and repeats ``w += g - forward(w)`` until every point is
    within the tolerance.

    >>> print("{:.6f} {:.6f}".format(*gcj02_to_wgs84(116.487585177952, 39.991754014757)))
    116.481499 39.990475
    """
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    dlon, dlat = _gcj_offset(x, y)
    wlon, wlat = x - dlon, y - dlat

    def forward(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
        da, db = _gcj_offset(a, b)
        return a + da, b + db

    wlon, wlat = _refine(forward, x, y, wlon, wlat, inside)
    return _out(np.where(inside, wlon, x)), _out(np.where(inside, wlat, y))


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 to BD-09 (Baidu): a tiny rotation and stretch about the origin, then a shift of 0.0065°, 0.006°.

    >>> print("{:.6f} {:.6f}".format(*gcj02_to_bd09(114.30525, 30.59276)))
    114.311831 30.598428
    """
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    blon, blat = _bd_forward(x, y)
    return _out(np.where(inside, blon, x)), _out(np.where(inside, blat, y))


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 to GCJ-02: Baidu's closed-form inverse (good to about 2e-6°), refined to 1e-10°.

    >>> print("{:.6f} {:.6f}".format(*bd09_to_gcj02(114.31183118, 30.59842805)))
    114.305250 30.592760
    """
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    u, v = x - _BD_SHIFT_LON, y - _BD_SHIFT_LAT
    radius = np.hypot(u, v) - 2e-5 * np.sin(v * _BD_FACTOR)
    angle = np.arctan2(v, u) - 3e-6 * np.cos(u * _BD_FACTOR)
    glon, glat = _refine(_bd_forward, x, y, radius * np.cos(angle), radius * np.sin(angle), inside)
    return _out(np.where(inside, glon, x)), _out(np.where(inside, glat, y))


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 to BD-09, through GCJ-02: Baidu defines BD-09 on top of GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 to WGS84, through GCJ-02; both inverses are iterated, so this is good to about 1e-10°."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


class DatumError(ValueError):
    """An offset-datum name that is not one of ``OFFSET_DATUMS``."""


@dataclass(frozen=True)
class OffsetDatum:
    """One of China's web-map offsets, with its two transforms.

    ``name`` is how the rest of the code (table sources, ingest options) names it.
    """

    name: str
    title: str
    used_by: str
    to_wgs84: Transform
    from_wgs84: Transform


OFFSET_DATUMS: Mapping[str, OffsetDatum] = MappingProxyType(
    {
        "gcj02": OffsetDatum(
            "gcj02", "GCJ-02 (国测局坐标, 'Mars coordinates')", "AMap/高德, Tencent, DataV GeoAtlas",
            gcj02_to_wgs84, wgs84_to_gcj02,
        ),
        "bd09": OffsetDatum("bd09", "BD-09 (百度坐标, bd09ll)", "Baidu Maps", bd09_to_wgs84, wgs84_to_bd09),
    }
)

_ALIASES = MappingProxyType({"gcj": "gcj02", "bd09ll": "bd09"})


def offset_datum(name: str) -> OffsetDatum:
    """The offset datum called ``name``; case, '-' and '_' do not matter ("GCJ-02" is "gcj02").

    >>> offset_datum("BD-09").title
    'BD-09 (百度坐标, bd09ll)'
    """
    key = name.strip().lower().replace("-", "").replace("_", "")
    key = _ALIASES.get(key, key)
    if key not in OFFSET_DATUMS:
        known = ", ".join(OFFSET_DATUMS)
        raise DatumError(f"unknown offset datum {name!r}: the known ones are {known} (WGS84 needs no offset)")
    return OFFSET_DATUMS[key]


def to_wgs84(name: str, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Coordinates in the offset datum ``name`` ("gcj02" or "bd09") to WGS84.

    >>> lon, lat = to_wgs84("gcj02", [114.30525, 114.40], [30.59276, 30.50])
    >>> lon.round(6).tolist(), lat.round(6).tolist()
    ([114.299812, 114.394459], [30.595178, 30.502308])
    """
    return offset_datum(name).to_wgs84(lon, lat)


def from_wgs84(name: str, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 coordinates to the offset datum ``name`` ("gcj02" or "bd09")."""
    return offset_datum(name).from_wgs84(lon, lat)


def _arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return x, y


def _out(values: FloatArray) -> FloatArray:
    """The array itself, or a numpy float64 scalar for 0-d input."""
    return values[()]


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (degrees of lon, degrees of lat) at WGS84 points, without the China test.

    A sum of a quadratic and sines in (lon - 105, lat - 35), in pseudo-metres, turned into degrees with
    the Krasovsky ellipsoid's radii of curvature at the point's latitude.
    """
    x = lon - 105.0
    y = lat - 35.0
    with np.errstate(invalid="ignore"):
        ripple = 20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)
        east = (
            300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (2.0 / 3.0) * (ripple + 20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)
                             + 150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0))
        )
        north = (
            -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (2.0 / 3.0) * (ripple + 20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)
                             + 160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0))
        )
        phi = np.radians(lat)
        w = 1.0 - KRASOVSKY_E2 * np.sin(phi) ** 2
        meridian = KRASOVSKY_A * (1.0 - KRASOVSKY_E2) / (w * np.sqrt(w))
        prime_vertical = KRASOVSKY_A / np.sqrt(w)
        dlat = np.degrees(north / meridian)
        dlon = np.degrees(east / (prime_vertical * np.cos(phi)))
    return dlon, dlat


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 to BD-09 without the China test."""
    radius = np.hypot(lon, lat) + 2e-5 * np.sin(lat * _BD_FACTOR)
    angle = np.arctan2(lat, lon) + 3e-6 * np.cos(lon * _BD_FACTOR)
    return radius * np.cos(angle) + _BD_SHIFT_LON, radius * np.sin(angle) + _BD_SHIFT_LAT


def _refine(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    target_lon: FloatArray,
    target_lat: FloatArray,
    lon: FloatArray,
    lat: FloatArray,
    active: npt.NDArray[np.bool_],
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(lon, lat) = target`` from a first guess, for transforms that are the identity plus a
    slowly varying shift: each step moves the guess by what the forward transform still misses.

    Only the ``active`` points (those inside China) move, as whole arrays; a point stops moving once its miss
    is below ``INVERSE_TOLERANCE``, so its answer does not depend on the other points in the batch.
    """
    lon, lat = lon.copy(), lat.copy()
    moving = active.copy()
    for _ in range(_MAX_STEPS):
        flon, flat = forward(lon, lat)
        miss_lon, miss_lat = target_lon - flon, target_lat - flat
        moving &= (np.abs(miss_lon) >= INVERSE_TOLERANCE) | (np.abs(miss_lat) >= INVERSE_TOLERANCE)
        if not moving.any():
            break
        lon += np.where(moving, miss_lon, 0.0)
        lat += np.where(moving, miss_lat, 0.0)
    return lon, lat
