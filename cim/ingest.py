"""Ingest a city's own file: read it, find its true CRS, turn it to WGS84, give every record its codes at
the seven levels, and hand back the table of the kind it is, checked, with a report of what was done.

The steps, whatever the kind:

1. read the file (:mod:`cim.readers`): GeoJSON, TopoJSON, GeoPackage, Shapefile, GeoParquet, FlatGeobuf,
   CSV, OSM PBF; Chinese text in UTF-8, GBK or GB18030;
2. CRS truth (:mod:`cim.crs_check`): the declared or given CRS must put the coordinates inside the city,
   or the error names the CRS they look like; GCJ-02 and BD-09 when given; everything to WGS84;
3. shapes: empty ones refused by feature number, invalid ones repaired (and said so), other geometry
   types than the kind's skipped (and said so);
4. the kind's own reading of the columns (``cim/ingest_*.py``), which also assigns codes by spatial join
   (:mod:`cim.level_join`) where the file has none;
5. damaged text (mojibake, replacement characters) reported by column.

Nothing here writes anything: the caller (``twin cim ingest``) writes the table through the city store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.errors

from cim.crs_check import WUHAN, CityBox, CrsError, geometry_to_wgs84, resolve_crs, sample_points
from cim.level_join import Units
from cim.levels import Level
from cim.readers import ReadError, SourceRead, read_source
from cim.street_register import StreetRegister
from cim.tables import SchemaError, check_frame, kind_of

#: The steps of an ingest, for progress counts: read, CRS, codes, check (here), write (the caller).
STEPS = 5
INGEST_KINDS = ("boundaries", "buildings", "addresses", "residents", "dwellings", "organisations", "pois", "roads")
#: The geometry each kind takes from a file (None: no shapes; points or none).
GEOMETRY = {
    "boundaries": ("Polygon", "MultiPolygon"),
    "buildings": ("Polygon", "MultiPolygon"),
    "roads": ("LineString", "MultiLineString"),
    "pois": ("Point",),
    "organisations": ("Point",),
    "addresses": ("Point",),
    "residents": ("Point",),
    "dwellings": (),
}


class IngestError(ValueError):
    """A file that cannot be ingested as asked; the message names the file, the feature or row, and the fix."""


@dataclass(frozen=True)
class IngestRequest:
    kind: str
    path: Path
    crs: str | None = None
    encoding: str | None = None
    layer: str | None = None
    level: Level | None = None
    mode: str = "replace"


@dataclass
class IngestReport:
    kind: str
    table: str
    features: int
    crs_in: str | None
    bbox: tuple[float, float, float, float] | None
    level: str | None
    warnings: list[str] = field(default_factory=list)
    file: str = ""
    sha256: str = ""
    format: str = ""
    encoding: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "table": self.table, "features": self.features, "crs_in": self.crs_in,
                "bbox": list(self.bbox) if self.bbox else None, "level": self.level, "warnings": self.warnings}


@dataclass(frozen=True)
class Prepared:
    table: str  # the store kind the rows go into (a boundaries file at street level goes into "streets")
    frame: pd.DataFrame
    report: IngestReport
    #: rows left out for a person to look at (row number, address, reason, candidates); nothing personal
    review: pd.DataFrame | None = None


@dataclass(frozen=True)
class Context:
    """What a kind's reader may use: the city's boundaries so far, the street register, the city's box."""

    units: Units
    register: StreetRegister | None
    city: CityBox = WUHAN
    #: told each step: ``progress(message, done=step, total=STEPS)`` (see :class:`twin.progress.Steps`)
    progress: Callable[..., None] = lambda *_, **__: None
    #: building footprints (code, geometry) for placing points inside buildings; None when not needed
    buildings: gpd.GeoDataFrame | None = None
    #: matches address texts to the city's standard addresses (``cim.address_match.AddressIndex.match``)
    matcher: Callable[..., Any] | None = None
    #: the key for hashing ID numbers; kept outside the city folder
    salt: bytes | None = None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def clean_shapes(frame: gpd.GeoDataFrame, allowed: tuple[str, ...], *, name: str, warnings: list[str]
                 ) -> gpd.GeoDataFrame:
    """Refuse empty shapes, repair invalid ones, skip the ones of another type; all said in ``warnings``."""
    geoms = frame.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise IngestError(
            f"{name}: feature {i} has no geometry ({int(empty.sum())} features in all); drop them or give them "
            f"a shape"
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        where = ", ".join(str(i) for i in np.flatnonzero(invalid)[:5])
        reason = shapely.is_valid_reason(geoms[np.flatnonzero(invalid)[0]])
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        if any(t in allowed for t in ("Polygon", "MultiPolygon")):  # make_valid may leave lines beside areas
            geoms[invalid] = [_areas_of(g) for g in geoms[invalid]]
        warnings.append(f"{int(invalid.sum())} invalid shapes repaired (features {where}; the first: {reason})")
        frame = frame.set_geometry(geoms)
    types = np.asarray(shapely.get_type_id(frame.geometry.to_numpy()))
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                      "MultiPolygon", "GeometryCollection"])[types]
    other = ~np.isin(names, allowed)
    if other.all():
        found = ", ".join(sorted(set(names)))
        raise IngestError(f"{name}: its features are {found}; this kind takes {' or '.join(allowed)} shapes")
    if other.any():
        skipped = pd.Series(names[other]).value_counts()
        said = ", ".join(f"{n} {t}" for t, n in skipped.items())
        warnings.append(f"{int(other.sum())} features skipped: they are not {'/'.join(allowed)} ({said})")
        frame = frame[~other].reset_index(drop=True)
    return frame


def _areas_of(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else geom


def locate(read: SourceRead, request: IngestRequest, city: CityBox, warnings: list[str]) -> tuple[pd.DataFrame, str]:
    """The frame with its shapes in WGS84, and the name of the CRS it came in."""
    frame = read.frame
    name = read.path.name
    if not isinstance(frame, gpd.GeoDataFrame):
        if request.crs:
            warnings.append(f"--crs {request.crs} is ignored: {name} has no coordinates")
        return frame, "none"
    allowed = GEOMETRY[request.kind] or ("Point",)
    frame = clean_shapes(frame, allowed, name=name, warnings=warnings)
    try:
        crs = resolve_crs(declared=read.declared_crs, given=request.crs,
                          xy=sample_points(frame.geometry.to_numpy()), city=city, where=name)
    except CrsError as exc:
        raise IngestError(str(exc)) from None
    if crs.warning:
        warnings.append(crs.warning)
    if crs.source == "given" and crs.declared and crs.declared != crs.name:
        warnings.append(f"{name} declares {crs.declared}; read as {crs.name} as --crs says")
    if crs.source == "assumed":
        warnings.append(f"{name} declares no CRS; its values fit lon/lat (EPSG:4326) in {city.name}")
    frame = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geometry_to_wgs84(
        frame.geometry.to_numpy(), crs.name), crs="EPSG:4326")
    return frame, crs.name


def prepare(request: IngestRequest, context: Context) -> Prepared:
    """Read, check and convert one file into the rows of its kind; raises :class:`IngestError`."""
    from cim import ingest_boundaries, ingest_buildings, ingest_people, ingest_places

    readers: dict[str, Callable[..., tuple[str, pd.DataFrame, str | None]]] = {
        "boundaries": ingest_boundaries.boundaries,
        "buildings": ingest_buildings.buildings,
        "roads": ingest_places.roads,
        "pois": ingest_places.pois,
        "organisations": ingest_places.organisations,
        "residents": ingest_people.residents,
        "dwellings": ingest_people.dwellings,
        "addresses": ingest_people.addresses,
    }
    if request.kind not in INGEST_KINDS:
        raise IngestError(f"no kind {request.kind!r} to ingest; the kinds are {', '.join(INGEST_KINDS)}")
    if request.kind not in readers:
        raise IngestError(f"ingesting {request.kind} files is not built yet; the kinds ingested are "
                          f"{', '.join(readers)}")
    path = Path(request.path)
    context.progress(f"reading {path.name}", done=0, total=STEPS)
    try:
        read = read_source(path, kind=request.kind, layer=request.layer, encoding=request.encoding)
    except ReadError as exc:
        raise IngestError(str(exc)) from None
    warnings = list(read.warnings)
    frame = read.frame
    context.progress(f"finding the CRS of {len(frame):,} features of {path.name}", done=1, total=STEPS)
    try:
        frame, crs_in = locate(read, request, context.city, warnings)
        context.progress(f"placing {len(frame):,} {request.kind} (in {crs_in}) at the seven levels", done=2,
                         total=STEPS)
        table, rows, level = readers[request.kind](frame, request, context, warnings, name=path.name)
    except shapely.errors.GEOSException as exc:  # a shape GEOS cannot work with: name it, never a traceback
        raise IngestError(f"{path.name}: {_shape_in_trouble(frame)} ({str(exc).strip()[:160]}); fix the shape or "
                          f"drop the feature") from None
    review = rows.attrs.pop("review", None)
    context.progress(f"checking {len(rows):,} rows of {table}", done=3, total=STEPS)
    _report_damaged_text(rows, warnings)
    try:
        check_frame(kind_of(table), rows, where=path.name)
    except SchemaError as exc:
        raise IngestError(str(exc)) from None
    bbox = None
    if isinstance(rows, gpd.GeoDataFrame) and len(rows):
        bbox = tuple(round(float(v), 6) for v in rows.total_bounds)
    report = IngestReport(kind=request.kind, table=table, features=len(rows), crs_in=crs_in, bbox=bbox,
                          level=level, warnings=warnings, file=str(path.resolve()), sha256=_sha256(path),
                          format=read.format, encoding=read.encoding)
    return Prepared(table, rows, report, review)


def _shape_in_trouble(frame: pd.DataFrame) -> str:
    """Which feature's shape GEOS fails on, tried one by one (only after a failure)."""
    if isinstance(frame, gpd.GeoDataFrame):
        for i, geom in enumerate(frame.geometry.to_numpy()):
            try:
                shapely.point_on_surface(shapely.make_valid(geom))
            except shapely.errors.GEOSException:
                return f"feature {i}'s shape cannot be worked with"
    return "a shape cannot be worked with"


def _report_damaged_text(frame: pd.DataFrame, warnings: list[str]) -> None:
    from cim.text_encoding import damaged_fields

    damaged = damaged_fields(frame.drop(columns=["geometry"], errors="ignore"))
    if damaged:
        said = ", ".join(f"{column} ({count} values)" for column, count in damaged.items())
        warnings.append(f"columns {said} hold damaged text (mojibake or replacement characters); the file was "
                        f"probably saved in another encoding: check it, or pass --encoding")
