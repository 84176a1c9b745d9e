"""Reading a city's files: GeoJSON (also a bare array of features, and TopoJSON), GeoPackage, Shapefile
(also zipped), GeoParquet, FlatGeobuf, CSV and OSM PBF, into one frame with what the file declares.

Nothing here decides what the columns mean or where the coordinates are: a :class:`SourceRead` is the
file as it is (its CRS as declared, or None), for the ingest (``cim.ingest``) to check and convert. A
file that cannot be read gets a :class:`ReadError` naming the file, what is wrong and how to fix it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
import shapely.errors
from pyogrio.errors import DataLayerError, DataSourceError

SUPPORTED = ("GeoJSON (.geojson, .json: a FeatureCollection, a bare array of features, or TopoJSON), "
             "GeoPackage (.gpkg), Shapefile (.shp, or zipped .zip), GeoParquet (.parquet), FlatGeobuf (.fgb), "
             "CSV (.csv) and OSM PBF (.osm.pbf)")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "point_x")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "point_y")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "坐标")
#: Which OSM features each kind takes, as a filter on the OSM driver's layer.
OSM_LAYERS = {
    "buildings": ("multipolygons", "building IS NOT NULL"),
    "roads": ("lines", "highway IS NOT NULL"),
    # the OSM driver keeps a point's amenity, shop, ... tags in other_tags ("amenity"=>"cafe",...)
    "pois": ("points", " OR ".join(f"other_tags LIKE '%\"{key}\"=>%'"
                                   for key in ("amenity", "shop", "tourism", "leisure", "public_transport"))),
}


class ReadError(ValueError):
    """A file that cannot be read as it is, with what to do about it."""


@dataclass(frozen=True)
class SourceRead:
    path: Path
    frame: pd.DataFrame  # a GeoDataFrame when the file has shapes or coordinates
    format: str
    declared_crs: object | None  # what the file says its CRS is; None when it says nothing
    encoding: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_geometry(self) -> bool:
        return isinstance(self.frame, gpd.GeoDataFrame)


def decode_text(data: bytes, *, path: Path, encoding: str | None) -> tuple[str, str]:
    """The text of a file and the encoding it was read in (UTF-8 with or without BOM, GBK, GB18030)."""
    from cim.text_encoding import TextEncodingError, decode_bytes

    try:
        decoded = decode_bytes(data, declared=encoding)
    except TextEncodingError as exc:
        raise ReadError(f"{path.name}: {exc}") from None
    return decoded.text, decoded.encoding


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffixes, fmt in (
        ((".osm.pbf", ".pbf"), "osm"),
        ((".geojson", ".json", ".topojson"), "json"),
        ((".gpkg",), "gpkg"),
        ((".shp",), "shp"),
        ((".zip",), "zip"),
        ((".parquet", ".geoparquet"), "parquet"),
        ((".fgb",), "fgb"),
        ((".csv", ".tsv", ".txt"), "csv"),
    ):
        if name.endswith(suffixes):
            return fmt
    raise ReadError(f"{path.name}: cannot tell the format from its name; the formats read are {SUPPORTED}")


#: What GDAL and pyogrio warn about while reading: None drops the warning (what follows handles it), else the
#: note for the report. Nothing they say reaches stderr.
GDAL_NOTES: tuple[tuple[str, str | None], ...] = (
    ("Several features with id", None),  # repeated ids: the kinds' readers join or number those
    ("Could not parse column", None),  # a text column that looked like JSON (text heights "45米"): read as text
    ("Unsupported geometry type detected", "some features have a geometry type GDAL does not read: they have no "
                                           "shape"),
    ("Non closed ring detected", "a ring whose last point is not its first was read"),
)


def read_source(path: Path, *, kind: str | None = None, layer: str | None = None, encoding: str | None = None
                ) -> SourceRead:
    """Read ``path`` whole. ``kind`` picks the OSM features of an OSM file; ``layer`` a GeoPackage's layer.

    GDAL's warnings do not reach stderr: the useful ones become the read's warnings (see :data:`GDAL_NOTES`).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = _read_source(path, kind=kind, layer=layer, encoding=encoding)
    notes = _notes_of([str(w.message) for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning))])
    for w in caught:  # anything else (a deprecation, say) goes on as it came
        if not issubclass(w.category, (RuntimeWarning, UserWarning)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not notes:
        return read
    return replace(read, warnings=(*read.warnings, *(f"{read.path.name}: {note}" for note in notes)))


def _notes_of(messages: list[str]) -> list[str]:
    notes: list[str] = []
    for message in messages:
        first = message.strip().splitlines()[0] if message.strip() else message
        note = next((said for start, said in GDAL_NOTES if first.startswith(start)), f"GDAL says: {first[:200]}")
        if note is not None and note not in notes:
            notes.append(note)
    return notes


#: GEOS's words for shapes it cannot build, and ours.
GEOS_REASONS = (
    ("Points of LinearRing do not form a closed linestring", "a ring is not closed (its last point must repeat "
                                                             "its first)"),
    ("Invalid number of points in LinearRing", "a ring has fewer than 4 points"),
    ("point array must contain 0 or >1 elements", "a line has only one point"),
)


def _geos_reason(exc: Exception) -> str:
    text = str(exc).strip().removeprefix("IllegalArgumentException: ").strip()
    return next((ours for theirs, ours in GEOS_REASONS if theirs in text), text.splitlines()[0][:200])


def _first_bad_wkb(shapes: object) -> tuple[int, str]:
    """The first WKB shape GEOS cannot build, and why (the position, for the one-line error)."""
    for i, wkb in enumerate(shapes):  # only after a failed read: one by one to find the feature
        if wkb is None:
            continue
        try:
            shapely.from_wkb(wkb)
        except shapely.errors.GEOSException as exc:
            return i, _geos_reason(exc)
    return -1, "a shape GEOS cannot build"


def _read_frame(source: str | Path | bytes, name: str, **options: object) -> gpd.GeoDataFrame:
    """``pyogrio.read_dataframe``, with a shape GEOS cannot build named by its feature number."""
    try:
        return pyogrio.read_dataframe(io.BytesIO(source) if isinstance(source, bytes) else source, **options)
    except shapely.errors.GEOSException:
        _, _, shapes, _ = pyogrio.raw.read(io.BytesIO(source) if isinstance(source, bytes) else source, **options)
        i, reason = _first_bad_wkb(shapes)
        raise ReadError(f"{name}: feature {i}'s shape cannot be read: {reason}; fix the shape or drop the "
                        f"feature") from None


def _read_source(path: Path, *, kind: str | None, layer: str | None, encoding: str | None) -> SourceRead:
    path = Path(path)
    if not path.exists():
        raise ReadError(f"no file at {path}; check the path")
    if path.is_dir():
        raise ReadError(f"{path} is a folder; give the file itself")
    if path.stat().st_size == 0:
        raise ReadError(f"{path.name} is empty (0 bytes); the download or copy did not finish")
    fmt = _format_of(path)
    try:
        if fmt == "json":
            read = _read_json(path, encoding)
        elif fmt == "csv":
            read = _read_csv(path, encoding)
        elif fmt == "parquet":
            read = _read_parquet(path)
        elif fmt == "osm":
            read = _read_osm(path, kind)
        else:
            read = _read_ogr(path, fmt, layer, encoding)
    except (DataSourceError, DataLayerError) as exc:
        raise ReadError(f"{path.name} cannot be read as {fmt.upper()}: {_first_line(exc)}") from None
    if len(read.frame) == 0:
        raise ReadError(f"{path.name} has no features or rows; nothing to ingest")
    return read


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _declared_json_crs(doc: dict) -> str | None:
    """The CRS a GeoJSON's (non-standard, pre-RFC 7946) ``crs`` member names, if any."""
    crs = doc.get("crs")
    if not isinstance(crs, dict):
        return None
    name = (crs.get("properties") or {}).get("name")
    if not isinstance(name, str):
        return None
    if re.search(r"CRS84$", name):
        return "EPSG:4326"
    match = re.search(r"EPSG:+(\d+)$", name)
    return f"EPSG:{match.group(1)}" if match else name


def _read_json(path: Path, encoding: str | None) -> SourceRead:
    text, used = decode_text(path.read_bytes(), path=path, encoding=encoding)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "; the file looks cut short (truncated)" if exc.pos >= len(text.rstrip()) - 80 else ""
        raise ReadError(
            f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}{hint}"
        ) from None
    notes: list[str] = []
    if isinstance(doc, list):
        if not doc or not all(isinstance(f, dict) and f.get("type") == "Feature" for f in doc):
            raise ReadError(f"{path.name} is a JSON array but not of GeoJSON Features; give a FeatureCollection")
        notes.append(f"{path.name} is a bare JSON array of {len(doc)} features, read as a FeatureCollection")
        doc = {"type": "FeatureCollection", "features": doc}
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature", "Topology"):
        kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise ReadError(f"{path.name} is JSON but not GeoJSON or TopoJSON (its type is {kind!r})")
    if doc.get("type") == "FeatureCollection" and not doc.get("features"):
        raise ReadError(f"{path.name} has no features; nothing to ingest")
    declared = _declared_json_crs(doc)
    fmt = "TopoJSON" if doc["type"] == "Topology" else "GeoJSON"
    if doc["type"] != "Topology":
        _check_json_types(doc, path.name)
    frame = _read_frame(json.dumps(doc, ensure_ascii=False).encode("utf-8"), path.name)
    if fmt == "TopoJSON":
        frame = frame.drop(columns=[c for c in ("id",) if c in frame.columns and frame[c].isna().all()])
    return SourceRead(path, frame, fmt, declared, used, tuple(notes))


GEOJSON_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                 "GeometryCollection")


def _check_json_types(doc: dict, name: str) -> None:
    """A feature whose geometry type GeoJSON does not have is named (GDAL would read it as no shape)."""
    features = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    for i, feature in enumerate(features or []):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if isinstance(geometry, dict) and kind not in GEOJSON_TYPES:
            raise ReadError(f"{name}: feature {i} has geometry type {kind!r}, which GeoJSON does not have (it has "
                            f"{', '.join(GEOJSON_TYPES)}); fix its type or drop the feature")


def _read_ogr(path: Path, fmt: str, layer: str | None, encoding: str | None) -> SourceRead:
    target = str(path)
    if fmt == "zip":
        try:
            with zipfile.ZipFile(path) as z:
                shps = [n for n in z.namelist() if n.lower().endswith(".shp")]
        except zipfile.BadZipFile:
            raise ReadError(f"{path.name} is not a valid zip file; it may be cut short") from None
        if not shps:
            raise ReadError(f"{path.name} holds no .shp file; zip the shapefile's .shp, .shx, .dbf (and .prj, .cpg)")
        if len(shps) > 1 and layer is None:
            raise ReadError(f"{path.name} holds {len(shps)} shapefiles ({', '.join(shps)}); pick one with --layer")
        inner = next((s for s in shps if layer and Path(s).stem == layer), shps[0])
        target = f"/vsizip/{path}/{inner}"
    if fmt == "gpkg" and layer is None:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        if len(layers) > 1:
            raise ReadError(f"{path.name} has {len(layers)} layers ({', '.join(layers)}); pick one with --layer")
    if fmt in ("shp", "zip") and encoding is None and not _has_cpg(path):
        encoding = _guess_dbf_encoding(target)
    frame = _read_frame(target, path.name, layer=layer if fmt == "gpkg" else None, encoding=encoding)
    declared = frame.crs if frame.crs is not None else None
    notes = () if fmt not in ("shp", "zip") or declared is not None else (
        f"{path.name} has no .prj (no declared CRS)",)
    return SourceRead(path, frame, {"gpkg": "GeoPackage", "shp": "Shapefile", "zip": "Shapefile (zipped)",
                                    "fgb": "FlatGeobuf"}[fmt], declared, encoding, notes)


def _has_cpg(path: Path) -> bool:
    if path.suffix.lower() == ".shp":
        return path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists()
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.lower().endswith(".cpg") for n in z.namelist())
    except zipfile.BadZipFile:
        return False


def _guess_dbf_encoding(target: str) -> str | None:
    """A shapefile without a .cpg: its text is GBK if it does not read as UTF-8 (Chinese desktop GIS default)."""
    try:
        pyogrio.read_dataframe(target, encoding="utf-8", max_features=200, read_geometry=False)
        return None
    except (UnicodeDecodeError, DataSourceError, DataLayerError):
        return "gbk"


def _read_parquet(path: Path) -> SourceRead:
    try:
        frame = gpd.read_parquet(path)
        return SourceRead(path, frame, "GeoParquet", frame.crs)
    except shapely.errors.GEOSException:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        column = next((c for c in ("geometry", "geom") if c in table.column_names), table.column_names[-1])
        i, reason = _first_bad_wkb(table.column(column).to_pylist())
        raise ReadError(f"{path.name}: row {i}'s shape cannot be read: {reason}; fix the shape or drop the row"
                        ) from None
    except ValueError:  # not GeoParquet: a plain table (residents, dwellings)
        try:
            return SourceRead(path, pd.read_parquet(path), "Parquet", None)
        except (OSError, ValueError) as exc:
            raise ReadError(f"{path.name} cannot be read as Parquet: {_first_line(exc)}") from None
    except OSError as exc:
        raise ReadError(f"{path.name} cannot be read as Parquet: {_first_line(exc)}") from None


def _parse_csv(text: str, sep: str | None) -> pd.DataFrame:
    """Every value as text, blank as missing; ``sep`` None sniffs the delimiter (comma, semicolon, tab, ...)."""
    return pd.read_csv(io.StringIO(text), sep=sep, engine="python", dtype=str, keep_default_na=False,
                       na_values=[""], skipinitialspace=True)


def _read_csv(path: Path, encoding: str | None) -> SourceRead:
    text, used = decode_text(path.read_bytes(), path=path, encoding=encoding)
    sep = "\t" if path.suffix.lower() == ".tsv" else None
    try:
        try:
            frame = _parse_csv(text, sep)
        except csv.Error:
            if sep is not None:
                raise
            frame = _parse_csv(text, ",")  # one column gives the sniffer no delimiter to find
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise ReadError(f"{path.name} cannot be read as CSV: {_first_line(exc)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    lower = {c.lower(): c for c in frame.columns}
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    wkt = next((lower[n] for n in WKT_NAMES if n in lower), None)
    notes: list[str] = []
    if lon and lat:
        x = pd.to_numeric(frame[lon], errors="coerce")
        y = pd.to_numeric(frame[lat], errors="coerce")
        bad = (x.isna() | y.isna()).to_numpy()
        if bad.any():
            row = int(bad.argmax())
            raise ReadError(
                f"{path.name}: row {row + 2} has no number in {lon!r}/{lat!r} ({frame[lon].iloc[row]!r}, "
                f"{frame[lat].iloc[row]!r}); fix or drop the row"
            )
        frame = gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=shapely.points(x, y), crs=None)
    elif wkt:
        geoms = shapely.from_wkt(frame[wkt].to_numpy(), on_invalid="ignore")
        bad = shapely.is_missing(geoms)
        if bad.any():
            row = int(bad.argmax())
            raise ReadError(f"{path.name}: row {row + 2} of column {wkt!r} is not WKT ({frame[wkt].iloc[row]!r:.60})")
        frame = gpd.GeoDataFrame(frame.drop(columns=[wkt]), geometry=geoms, crs=None)
    else:
        notes.append(f"{path.name} has no coordinates (no lon/lat or WKT column): rows are placed by address")
    return SourceRead(path, frame, "CSV", None, used, tuple(notes))


def _read_osm(path: Path, kind: str | None) -> SourceRead:
    if kind not in OSM_LAYERS:
        raise ReadError(f"{path.name}: an OSM file gives {', '.join(OSM_LAYERS)}, not {kind}")
    layer, where = OSM_LAYERS[kind]
    frame = _read_frame(path, path.name, layer=layer, where=where)
    return SourceRead(path, frame, "OSM PBF", frame.crs or "EPSG:4326")
