"""CRS truth: which coordinate system a file's numbers are really in, and WGS84 out of it.

A file declares a CRS, or does not, or declares the wrong one (a Web Mercator file labelled UTM is a
classic). Before anything is stored we take the declared (or given) CRS, turn a sample of the
coordinates to WGS84 with it, and check two things: they fall where that CRS is valid, and they fall
inside the configured city. If not, we try the CRS that are in use at the city's place (the CGCS2000,
Beijing 1954, Xian 1980 and New Beijing Gauss-Kruger grids, UTM, Web Mercator, lon/lat) and name the
one the numbers fit, those on the datum of the CRS tried first: "values look like EPSG:3857; pass --crs
EPSG:3857". A CRS the user gives with ``--crs`` needs only to put the values inside the city: a Beijing
1954 zone used a little outside the area EPSG declares for it (EPSG:2436 at Wuhan) is taken, with a warning.

GCJ-02 and BD-09 (China's web-map offsets, ``--crs gcj02`` / ``--crs bd09``) are lon/lat a few hundred
metres off WGS84: no check on the numbers can tell them from WGS84, so they are used only when given.

>>> crs = resolve_crs(declared="EPSG:4326", given=None, xy=np.array([[114.3, 30.58]]), city=WUHAN)
>>> crs.name, crs.source
('EPSG:4326', 'declared')
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_crs_info
from pyproj.enums import PJType
from pyproj.exceptions import CRSError as ProjCRSError

from cim.wuhan import CITY_OUTLINE

OFFSET_DATUMS = ("gcj02", "bd09")
#: Families of projected CRS used in Chinese cities, in the order a guess prefers them.
FAMILIES = ("CGCS2000", "WGS 84 / UTM zone", "Beijing 1954", "Xian 1980", "New Beijing")


class CrsError(ValueError):
    """Coordinates that do not fit the CRS they claim, or a CRS we cannot use; the message names the fix."""


@dataclass(frozen=True)
class CityBox:
    """Where the configured city lies (lon/lat, WGS84), with a margin for data just across its border."""

    name: str
    west: float
    south: float
    east: float
    north: float

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return (lon >= self.west) & (lon <= self.east) & (lat >= self.south) & (lat <= self.north)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.west + self.east) / 2, (self.south + self.north) / 2


def _city_box(name: str, outline: tuple[tuple[float, float], ...], margin: float) -> CityBox:
    lon, lat = np.array(outline).T
    return CityBox(name, lon.min() - margin, lat.min() - margin, lon.max() + margin, lat.max() + margin)


WUHAN = _city_box("Wuhan", CITY_OUTLINE, 0.15)


@dataclass(frozen=True)
class ResolvedCrs:
    """The CRS a file's coordinates are in (``EPSG:n`` or an offset datum), and how we know."""

    name: str
    source: str  # "given" (--crs), "declared" (the file), or "assumed" (lon/lat, nothing declared)
    declared: str | None
    #: what the report should say about it (a --crs used outside the area it is made for), or None
    warning: str | None = None


def crs_name(crs: object) -> str | None:
    """``EPSG:n`` for a CRS pyproj can identify, else its WKT-free name; None for no CRS."""
    if crs is None:
        return None
    if isinstance(crs, str) and crs.lower() in OFFSET_DATUMS:
        return crs.lower()
    try:
        parsed = CRS.from_user_input(crs)
    except ProjCRSError as exc:
        raise CrsError(
            f"{crs!r} is not a CRS pyproj knows ({str(exc).splitlines()[0]}); give EPSG:n, gcj02 or bd09"
        ) from None
    code = parsed.to_epsg(min_confidence=70)
    if code is not None:
        return "EPSG:4326" if code == 4326 or parsed.name == "WGS 84 (CRS84)" else f"EPSG:{code}"
    return parsed.name


def _to_lonlat(name: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if name in OFFSET_DATUMS:
        from cim.datum_offsets import to_wgs84

        return to_wgs84(name, x, y)
    transformer = _transformer(name)
    with np.errstate(all="ignore"):
        lon, lat = transformer.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


@lru_cache(maxsize=64)
def _transformer(name: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(name), "EPSG:4326", always_xy=True)


def _fits(name: str, xy: np.ndarray, city: CityBox) -> tuple[bool, bool]:
    """(inside the CRS's area of use, inside the city) for every sample point."""
    lon, lat = _to_lonlat(name, xy[:, 0], xy[:, 1])
    finite = np.isfinite(lon) & np.isfinite(lat)
    if not finite.all():
        return False, False
    if name in OFFSET_DATUMS:
        usable = True
    else:
        area = CRS.from_user_input(name).area_of_use
        usable = area is None or bool(((lon >= area.west - 1) & (lon <= area.east + 1)
                                       & (lat >= area.south - 1) & (lat <= area.north + 1)).all())
    return usable, bool(city.contains(lon, lat).all())


@lru_cache(maxsize=8)
def candidates(city: CityBox) -> tuple[str, ...]:
    """The CRS a file of this city may be in: lon/lat, Web Mercator, and the grids in use at its place."""
    area = AreaOfInterest(city.west, city.south, city.east, city.north)
    found = query_crs_info(auth_name="EPSG", pj_types=[PJType.PROJECTED_CRS], area_of_interest=area,
                           contains=False)
    ranked = []
    for rank, family in enumerate(FAMILIES):
        for info in found:
            if info.name.startswith(family) and not info.deprecated:
                three = "3-degree" in info.name
                ranked.append((rank, 0 if three else 1, info.name, f"EPSG:{info.code}"))
    return ("EPSG:4326", "EPSG:3857", *(code for *_, code in sorted(ranked)))


def guess_crs(xy: np.ndarray, city: CityBox, *, like: str | None = None) -> list[str]:
    """The candidate CRS in which every sample point lies in the city, best first; with ``like``, those on the
    same datum as ``like`` first (a Beijing 1954 file in the wrong zone is another Beijing 1954 zone, not CGCS2000).
    """
    found = [name for name in candidates(city) if all(_fits(name, xy, city))]
    datum = _datum(like) if like else None
    if datum is None:
        return found
    return sorted(found, key=lambda name: _datum(name) != datum)


@lru_cache(maxsize=256)
def _datum(name: str) -> str | None:
    if name in OFFSET_DATUMS:
        return None
    try:
        datum = CRS.from_user_input(name).datum
    except ProjCRSError:
        return None
    return datum.name if datum is not None else None


def _area_said(name: str) -> str:
    area = CRS.from_user_input(name).area_of_use
    if area is None:
        return "its area of use"
    return f"{area.west:g}°E-{area.east:g}°E, {area.south:g}°N-{area.north:g}°N"


def sample_points(geoms: np.ndarray, limit: int = 500) -> np.ndarray:
    """Up to ``limit`` coordinates spread over the geometries (their vertices), as an (n, 2) array."""
    coords = shapely.get_coordinates(np.asarray(geoms, dtype=object))
    if len(coords) <= limit:
        return coords
    return coords[np.linspace(0, len(coords) - 1, limit).round().astype(int)]


def resolve_crs(*, declared: object, given: str | None, xy: np.ndarray, city: CityBox, where: str = "the file"
                ) -> ResolvedCrs:
    """Decide the CRS of coordinates ``xy`` (a sample), or raise :class:`CrsError` naming the likely one."""
    declared_name = crs_name(declared)
    if given:
        name, source = crs_name(given), "given"
    elif declared_name:
        name, source = declared_name, "declared"
    else:
        name, source = "EPSG:4326", "assumed"
    assert name is not None
    if len(xy) == 0:
        return ResolvedCrs(name, source, declared_name)
    usable, inside = _fits(name, xy, city)
    if usable and inside:
        return ResolvedCrs(name, source, declared_name)
    if inside and source == "given":  # the user says so, and the values land in the city: take it, and say so
        return ResolvedCrs(name, source, declared_name, warning=(
            f"{where}: {name} is made for {_area_said(name)}; its coordinates land in {city.name}, outside that "
            f"area, and were read as --crs says (a projection used away from its zone is less exact)"))
    likely = [c for c in guess_crs(xy, city, like=None if source == "assumed" else name) if c != name]
    said = {"given": f"--crs {name}", "declared": f"its declared CRS {name}",
            "assumed": "lon/lat (it declares no CRS)"}[source]
    problem = "lie where that CRS is not valid" if not usable else f"fall outside {city.name}"
    if inside:
        problem += f" ({_area_said(name)}), though inside {city.name}"
    x0, y0 = xy[0]
    if likely:
        also = f" (or {', '.join(likely[1:3])})" if len(likely) > 1 else ""
        confirm = f", or --crs {name} if the file truly is in it" if inside else ""
        raise CrsError(
            f"{where}: read with {said}, its coordinates (e.g. {x0:.6g}, {y0:.6g}) {problem}; "
            f"values look like {likely[0]}{also}; pass --crs {likely[0]}{confirm}"
        )
    if usable:  # good numbers in a CRS valid where they land: most likely a file of another place; say which
        raise CrsError(
            f"{where}: read with {said}, its coordinates (e.g. {x0:.6g}, {y0:.6g}) {problem}, and no CRS in use "
            f"around {city.name} puts them there: they lie around {_far_from(name, xy, city)}; it looks like a "
            f"file of another place: ingest one that covers {city.name} (or, if its numbers are not {name}, pass "
            f"their CRS with --crs)"
        )
    raise CrsError(
        f"{where}: read with {said}, its coordinates (e.g. {x0:.6g}, {y0:.6g}) {problem}, and no CRS in use "
        f"around {city.name} puts them there; check the file is of {city.name}, or pass its CRS with --crs"
    )


COMPASS = ("north", "north-north-east", "north-east", "east-north-east", "east", "east-south-east", "south-east",
           "south-south-east", "south", "south-south-west", "south-west", "west-south-west", "west",
           "west-north-west", "north-west", "north-north-west")


def _far_from(name: str, xy: np.ndarray, city: CityBox) -> str:
    """Where coordinates ``xy`` (in ``name``) lie, and how far and which way from the city: "7.42°E 43.73°N,
    9,110 km west-north-west of Wuhan" (the median of the sample; the bearing as one leaves the city)."""
    lon, lat = _to_lonlat(name, xy[:, 0], xy[:, 1])
    x, y = float(np.median(lon)), float(np.median(lat))
    azimuth, _, metres = Geod(ellps="WGS84").inv(*city.centre, x, y)
    way = COMPASS[round((azimuth % 360) / 22.5) % 16]
    place = f"{abs(x):.2f}°{'E' if x >= 0 else 'W'} {abs(y):.2f}°{'N' if y >= 0 else 'S'}"
    return f"{place}, {metres / 1000:,.0f} km {way} of {city.name}"


def geometry_to_wgs84(geoms: np.ndarray, name: str) -> np.ndarray:
    """Geometries from CRS ``name`` to WGS84 lon/lat (vectorised over all their vertices)."""
    if name == "EPSG:4326":
        return np.asarray(geoms, dtype=object)

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = _to_lonlat(name, xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), move)
