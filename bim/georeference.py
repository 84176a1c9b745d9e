"""Where an IFC model stands on Earth: the georeference a file declares, or the one a planner gives.

An IFC model is drawn in its own engineering frame, in metres once ifcopenshell has tessellated it. Three
ways tie that frame to the Earth, in this order of precedence:

1. an explicit anchor (``--anchor LON,LAT[,ELEV]``, with ``--rotation``): a planner placing a model made
   elsewhere. It overrides what the file says, and the report names what it overrode;
2. ``IfcMapConversion`` (or ``IfcMapConversionScaled``; for IFC2X3 the ``ePSet_MapConversion`` property set)
   with its ``IfcProjectedCRS``: eastings, northings, height, the direction of the model's x axis on the
   map grid and a scale. Projected coordinates go to WGS84 through pyproj;
3. ``IfcSite.RefLatitude``/``RefLongitude``/``RefElevation``: the site's origin in WGS84, turned by the
   context's ``TrueNorth``.

A model with none of them is refused with the advice to pass ``--anchor``. Every method ends in the same
form, :class:`Placement`: a function from engineering coordinates (metres) to east/north/up metres around
a reference point, plus that point in WGS84. Conflicts are reported as warnings, never silently placed:
a site reference and a map conversion more than 50 m apart, a model whose own placement already carries
the map offset (applied twice), and coordinates so far from the origin that float32 loses precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import ifcopenshell
import ifcopenshell.util.element
import ifcopenshell.util.geolocation
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from bim.errors import BimError

Method = Literal["anchor", "map_conversion", "site_reference"]

#: mean Earth radius (m): east/north metres around a point are taken on its tangent plane
EARTH_RADIUS = 6_371_008.8
#: a site reference and a map conversion further apart than this are reported
CONFLICT_M = 50.0
#: float32 keeps 24 bits: beyond this distance from the origin a step is more than a millimetre
FLOAT32_SAFE_M = 8_000.0


@dataclass(frozen=True)
class Anchor:
    """A placement given by hand: a point (WGS84 lon/lat, or x/y in ``crs``), its elevation, and a turn."""

    x: float
    y: float
    elevation: float | None = None
    #: degrees anticlockwise seen from above: the angle from east to the model's x axis
    rotation: float | None = None
    crs: str | None = None

    @classmethod
    def parse(cls, text: str, *, rotation: float | None = None, crs: str | None = None) -> Anchor:
        parts = [p.strip() for p in str(text).split(",")]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) not in (2, 3) or not all(math.isfinite(v) for v in values):
            raise BimError(f"--anchor {text!r}: give LON,LAT or LON,LAT,ELEV in degrees (e.g. 114.30,30.58)")
        if crs is None and not (-180 <= values[0] <= 180 and -90 <= values[1] <= 90):
            raise BimError(
                f"--anchor {text!r}: {values[0]}, {values[1]} is not a longitude and latitude; give degrees, or "
                f"pass --crs EPSG:N for projected coordinates"
            )
        if rotation is not None and not math.isfinite(rotation):
            raise BimError(f"--rotation {rotation}: give a number of degrees")
        return cls(values[0], values[1], values[2] if len(values) == 3 else None, rotation, crs)


@dataclass(frozen=True)
class Placement:
    """How engineering coordinates (metres) become east/north/up metres around a point of known lon/lat."""

    method: Method
    crs: str | None
    #: the reference point: the engineering origin of the model (or, for a model far from its origin, the
    #: centre of its extent in plan, at the height of its origin), in WGS84 and metres above the datum
    lon: float
    lat: float
    elevation: float
    #: degrees anticlockwise from east to the model's x axis (as drawn on the map, true north up)
    rotation: float
    warnings: tuple[str, ...] = ()
    #: the engineering point that sits at (lon, lat)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _to_enu: object = field(default=None, repr=False, compare=False)

    def enu(self, xyz: np.ndarray) -> np.ndarray:
        """East, north, up metres (float64, shape (n, 3)) around the reference point."""
        return self._to_enu(np.asarray(xyz, dtype=np.float64).reshape(-1, 3))

    def lonlat(self, enu: np.ndarray) -> np.ndarray:
        """WGS84 lon/lat of east/north metres around the reference point (shape (n, 2))."""
        return enu_to_lonlat(np.asarray(enu, dtype=np.float64).reshape(-1, enu.shape[-1])[:, :2], self.lon, self.lat)

    def to_json(self) -> dict:
        return {"method": self.method, "crs": self.crs, "lon": round(self.lon, 8), "lat": round(self.lat, 8),
                "elevation": round(self.elevation, 3), "rotation": round(self.rotation, 4),
                "warnings": list(self.warnings)}


def enu_to_lonlat(en: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    lat = lat0 + np.degrees(en[:, 1] / EARTH_RADIUS)
    lon = lon0 + np.degrees(en[:, 0] / (EARTH_RADIUS * math.cos(math.radians(lat0))))
    return np.column_stack([lon, lat])


def lonlat_to_en(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    east = np.radians(np.asarray(lon) - lon0) * EARTH_RADIUS * math.cos(math.radians(lat0))
    north = np.radians(np.asarray(lat) - lat0) * EARTH_RADIUS
    return np.column_stack([east, north])


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(a)))


def where_text(lon: float, lat: float) -> str:
    """41.87432 N, 87.63935 W"""
    return f"{abs(lat):.5f} {'N' if lat >= 0 else 'S'}, {abs(lon):.5f} {'E' if lon >= 0 else 'W'}"


def _rotate(xy: np.ndarray, degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.column_stack([c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]])


def _dms(value) -> float | None:
    """IfcCompoundPlaneAngleMeasure (degrees, minutes, seconds, millionths, all of one sign) in degrees."""
    if value is None:
        return None
    parts = [float(v) for v in tuple(value)[:4]]
    parts += [0.0] * (4 - len(parts))
    return parts[0] + parts[1] / 60 + parts[2] / 3600 + parts[3] / 3.6e9


# --- what the file says -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteReference:
    lon: float
    lat: float
    elevation: float
    #: the engineering point the reference names: the site's placement origin (metres)
    origin: tuple[float, float, float]


@dataclass(frozen=True)
class MapConversion:
    eastings: float
    northings: float
    height: float
    #: degrees anticlockwise from the grid's east to the model's x axis
    grid_rotation: float
    #: map units per metre of the model (scale and units together), per axis
    factors: tuple[float, float, float]
    crs_name: str | None
    crs: CRS | None
    notes: tuple[str, ...] = ()
    #: metres of height on the map per metre of the model's z (Scale times FactorZ, in metres)
    z_factor: float = 1.0


def project_unit_m(model: ifcopenshell.file) -> float:
    """Metres per length unit of the project (0.001 for millimetres)."""
    try:
        return float(ifcopenshell.util.unit.calculate_unit_scale(model))
    except Exception:
        return 1.0


def true_north(model: ifcopenshell.file) -> float:
    """Degrees anticlockwise from the model's +y axis to true north (0 when the file does not say)."""
    for context in model.by_type("IfcGeometricRepresentationContext", include_subtypes=False):
        tn = getattr(context, "TrueNorth", None)
        if tn is not None:
            x, y = [*tn.DirectionRatios, 0.0, 0.0][:2]
            if x or y:
                return math.degrees(math.atan2(-x, y))
    return 0.0


def site_reference(model: ifcopenshell.file) -> SiteReference | None:
    unit = project_unit_m(model)
    for site in model.by_type("IfcSite"):
        lat, lon = _dms(site.RefLatitude), _dms(site.RefLongitude)
        if lat is None or lon is None:
            continue
        origin = (0.0, 0.0, 0.0)
        if site.ObjectPlacement is not None:
            matrix = ifcopenshell.util.placement.get_local_placement(site.ObjectPlacement)
            origin = tuple(float(v) * unit for v in matrix[:3, 3])
        return SiteReference(lon=lon, lat=lat, elevation=float(site.RefElevation or 0.0) * unit, origin=origin)
    return None


def _map_unit_m(crs_entity) -> float | None:
    unit = getattr(crs_entity, "MapUnit", None) if crs_entity is not None else None
    if unit is None:
        return None
    try:
        return float(ifcopenshell.util.unit.get_named_unit_scale(unit) if unit.is_a("IfcNamedUnit") else 1.0)
    except Exception:
        return None


def _crs_entity(model: ifcopenshell.file):
    if model.schema == "IFC2X3":
        return None
    for op in model.by_type("IfcCoordinateOperation"):
        return getattr(op, "TargetCRS", None)
    return None


def map_conversion(model: ifcopenshell.file, *, crs_override: str | None = None) -> MapConversion | None:
    params = ifcopenshell.util.geolocation.get_helmert_transformation_parameters(model)
    if params is None:
        return None
    unit = project_unit_m(model)
    notes: list[str] = []
    if model.schema == "IFC2X3":
        info = ifcopenshell.util.geolocation.get_crs(model) or {}
        crs_name = info.get("Name")
        map_unit = None
    else:
        entity = _crs_entity(model)
        crs_name = getattr(entity, "Name", None) if entity is not None else None
        map_unit = _map_unit_m(entity)
    map_unit = map_unit or 1.0  # metres per map unit
    scale = float(params.scale or 1.0)
    if abs(scale - 1.0) < 1e-12 and abs(unit - map_unit) > 1e-12:
        # Scale left at 1 though the units differ: the units say how a model unit becomes a map unit
        per_m = 1.0 / map_unit
        notes.append(f"IfcMapConversion.Scale is 1 but the model is in {unit:g} m units and the map in "
                     f"{map_unit:g} m units: converted by the units")
    else:
        per_m = scale / unit  # scale: map units per model unit
    fx, fy, fz = (float(getattr(params, a, 1.0) or 1.0) for a in ("factor_x", "factor_y", "factor_z"))
    grid_rotation = math.degrees(math.atan2(float(params.xao or 0.0), float(params.xaa or 1.0))) \
        if (params.xaa or params.xao) else 0.0
    crs = None
    wanted = crs_override or crs_name
    if wanted:
        try:
            crs = CRS.from_user_input(wanted)
        except CRSError:
            crs = None
        if crs is not None and not crs.is_projected:
            notes.append(f"the CRS {wanted!r} is not projected")
            crs = None
    if crs_override and crs_name and crs is not None and crs_override.upper() != str(crs_name).upper():
        notes.append(f"--crs {crs_override} overrides the file's IfcProjectedCRS {crs_name!r}")
    return MapConversion(
        eastings=float(params.e or 0.0), northings=float(params.n or 0.0), height=float(params.h or 0.0),
        grid_rotation=grid_rotation, factors=(per_m * fx, per_m * fy, per_m * fz), crs_name=crs_name, crs=crs,
        notes=tuple(notes), z_factor=per_m * fz * map_unit,
    )


def _describe_site(ref: SiteReference) -> str:
    return f"IfcSite RefLatitude/RefLongitude ({ref.lat:.6f}, {ref.lon:.6f})"


def _describe_map(conv: MapConversion) -> str:
    return f"IfcMapConversion (E {conv.eastings:.2f}, N {conv.northings:.2f}, {conv.crs_name or 'no CRS named'})"


# --- placing ------------------------------------------------------------------------------------------------


def _far_warning(extent: np.ndarray, where: str) -> str | None:
    """Coordinates far from the engineering origin lose precision as float32 (what a GLB holds)."""
    far = float(np.abs(extent).max()) if extent.size else 0.0
    if far <= FLOAT32_SAFE_M:
        return None
    step = far * 2.0 ** -23
    return (f"{where}: the model's coordinates reach {far / 1000:,.1f} km from its origin, where float32 steps are "
            f"{step * 100:.1f} cm; the model was recentred before it was written, so no precision was lost")


def _placement(method: Method, crs: str | None, lon0: float, lat0: float, elev0: float, rotation: float,
               warnings: list[str], origin: tuple[float, float, float], to_enu) -> Placement:
    rotation = round(rotation, 6) + 0.0  # -0.0 reads as a turn
    return Placement(method=method, crs=crs, lon=lon0, lat=lat0, elevation=elev0, rotation=rotation,
                     warnings=tuple(warnings), origin=origin, _to_enu=to_enu)


def _rigid(origin: np.ndarray, rotation: float):
    def to_enu(xyz: np.ndarray) -> np.ndarray:
        local = xyz - origin
        out = np.empty_like(local)
        out[:, :2] = _rotate(local[:, :2], rotation)
        out[:, 2] = local[:, 2]
        return out
    return to_enu


def _map_lonlat(conv: MapConversion, xyz: np.ndarray, transformer: Transformer, *, baked: bool) -> np.ndarray:
    """lon, lat, height of engineering points through the map conversion."""
    if baked:  # the model's own placement already holds map coordinates (in metres)
        e, n = xyz[:, 0] * conv.factors[0], xyz[:, 1] * conv.factors[1]
    else:
        xy = np.column_stack([xyz[:, 0] * conv.factors[0], xyz[:, 1] * conv.factors[1]])
        r = _rotate(xy, conv.grid_rotation)
        e, n = conv.eastings + r[:, 0], conv.northings + r[:, 1]
    lon, lat = transformer.transform(e, n)
    return np.column_stack([lon, lat, conv.height + xyz[:, 2] * conv.factors[2]])


def locate(model: ifcopenshell.file, extent: np.ndarray, *, where: str, anchor: Anchor | None = None,
           crs: str | None = None) -> Placement:
    """The placement of ``model``; ``extent`` holds the corners of its geometry (metres, engineering frame).

    ``crs`` names the projected CRS of the file's map conversion when the file does not (or names a wrong
    one); with ``anchor`` it is the CRS the anchor's x and y are given in.
    """
    extent = np.asarray(extent, dtype=np.float64).reshape(-1, 3)
    site = site_reference(model)
    conv = map_conversion(model, crs_override=None if anchor is not None else crs)
    warnings: list[str] = []
    centre = (extent.min(axis=0) + extent.max(axis=0)) / 2 if extent.size else np.zeros(3)
    far = _far_warning(extent, where)

    if anchor is not None:
        return _by_anchor(model, anchor, site, conv, extent, centre, far, where)

    if conv is not None:
        if conv.crs is None:
            named = f"IfcProjectedCRS {conv.crs_name!r}" if conv.crs_name else "no IfcProjectedCRS"
            raise BimError(
                f"{where}: the IfcMapConversion names {named}, which pyproj does not know; pass --crs EPSG:N "
                f"(the map's projected CRS), or place the model with --anchor LON,LAT"
            )
        warnings.extend(conv.notes)
        transformer = Transformer.from_crs(conv.crs, "EPSG:4326", always_xy=True)
        # applied twice: the model already sits at the map coordinates the conversion adds again
        mapped_centre = np.array([centre[0] * conv.factors[0], centre[1] * conv.factors[1]])
        offset = math.hypot(conv.eastings, conv.northings)
        baked = offset > 10_000 and math.hypot(mapped_centre[0] - conv.eastings,
                                                mapped_centre[1] - conv.northings) < 0.05 * offset
        if baked:
            warnings.append(
                f"{where}: the model's own placement already puts it at the eastings and northings that "
                f"IfcMapConversion adds (E {conv.eastings:.2f}, N {conv.northings:.2f}); they were applied once, "
                f"not twice"
            )
        # recentred on the middle of its plan, a model keeps its heights: z = 0 stays at the map's height (as the
        # other methods do, and as the map draws a GLB: from the ground up)
        origin = np.array([centre[0], centre[1], 0.0]) if (baked or far) else np.zeros(3)
        if far and not baked:
            warnings.append(far)
        ref = _map_lonlat(conv, origin[None, :], transformer, baked=baked)[0]
        lon0, lat0 = float(ref[0]), float(ref[1])
        axis = _map_lonlat(conv, np.array([origin, origin + np.array([10.0, 0.0, 0.0])]), transformer, baked=baked)
        en = lonlat_to_en(axis[:, 0], axis[:, 1], lon0, lat0)
        rotation = math.degrees(math.atan2(en[1, 1] - en[0, 1], en[1, 0] - en[0, 0]))

        def to_enu(xyz: np.ndarray) -> np.ndarray:
            ll = _map_lonlat(conv, xyz, transformer, baked=baked)
            out = np.empty_like(xyz)
            out[:, :2] = lonlat_to_en(ll[:, 0], ll[:, 1], lon0, lat0)
            out[:, 2] = (xyz[:, 2] - origin[2]) * conv.z_factor  # heights scale as the map's do (FactorZ)
            return out

        if site is not None:
            at_site = _map_lonlat(conv, np.array([site.origin]), transformer, baked=baked)[0]
            gap = distance_m(site.lon, site.lat, float(at_site[0]), float(at_site[1]))
            if gap > CONFLICT_M:
                warnings.append(
                    f"{where}: {_describe_site(site)} and {_describe_map(conv)} are {gap:,.0f} m apart; placed "
                    f"by the map conversion (pass --anchor to place it yourself)"
                )
        crs_text = conv.crs.to_string() if conv.crs is not None else conv.crs_name
        return _placement("map_conversion", crs_text, lon0, lat0, float(ref[2]), rotation, warnings,
                          tuple(float(v) for v in origin), to_enu)

    if site is not None:
        if not (-180 <= site.lon <= 180 and -90 <= site.lat <= 90):
            raise BimError(f"{where}: {_describe_site(site)} is not on Earth; place the model with --anchor LON,LAT")
        rotation_tn = true_north(model)
        rotation = -rotation_tn  # true north turned onto the map's north; x axis angle from east
        origin = np.array(site.origin)
        lon0, lat0 = site.lon, site.lat
        if far:
            warnings.append(far)
            shift = _rotate((centre - origin)[None, :2], rotation)[0]
            ll = enu_to_lonlat(shift[None, :], lon0, lat0)[0]
            lon0, lat0 = float(ll[0]), float(ll[1])
            origin = np.array([centre[0], centre[1], origin[2]])
        if abs(site.lat) < 1e-9 and abs(site.lon) < 1e-9:
            raise BimError(
                f"{where}: IfcSite RefLatitude/RefLongitude are 0, 0 (an exporter's default, not a place); "
                f"place the model with --anchor LON,LAT"
            )
        return _placement("site_reference", "EPSG:4326", lon0, lat0, site.elevation, rotation, warnings,
                          tuple(float(v) for v in origin), _rigid(origin, rotation))

    raise BimError(
        f"{where}: the model says nowhere where it stands (no IfcMapConversion, no IfcSite RefLatitude/"
        f"RefLongitude); place it with --anchor LON,LAT[,ELEV] (and --rotation DEG)"
    )


def _by_anchor(model, anchor: Anchor, site: SiteReference | None, conv: MapConversion | None, extent: np.ndarray,
               centre: np.ndarray, far: str | None, where: str) -> Placement:
    warnings: list[str] = []
    overridden = [d for d in ((_describe_map(conv) if conv else None), (_describe_site(site) if site else None)) if d]
    if overridden:
        warnings.append(f"--anchor overrides the file's {' and '.join(overridden)}")
    lon0, lat0, crs_text = anchor.x, anchor.y, "EPSG:4326"
    if anchor.crs:
        try:
            crs = CRS.from_user_input(anchor.crs)
        except CRSError:
            raise BimError(f"--crs {anchor.crs!r} is not a CRS pyproj knows; give EPSG:N (e.g. EPSG:4547)") from None
        lon0, lat0 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(anchor.x, anchor.y)
        crs_text = crs.to_string()
        if not (math.isfinite(lon0) and math.isfinite(lat0)):
            raise BimError(f"--anchor {anchor.x},{anchor.y} is outside the area of {anchor.crs}; check the numbers")
    if anchor.rotation is not None:
        rotation = float(anchor.rotation)
    else:
        rotation = -true_north(model)
    # the anchor names where the model's origin stands; a model drawn far from its origin is anchored by the
    # centre of its extent instead (its origin is then somewhere else, often a survey point kilometres away)
    if far:
        origin = np.array([centre[0], centre[1], 0.0])
        warnings.append(far.replace("was recentred", "was anchored by the centre of its extent"))
    else:
        origin = np.zeros(3)
    return _placement("anchor", crs_text, float(lon0), float(lat0), float(anchor.elevation or 0.0), rotation,
                      warnings, tuple(float(v) for v in origin), _rigid(origin, rotation))
