"""The city store: one folder of Parquet tables and a manifest, written by many, read by the server.

Layout::

    manifest.json                    the typed manifest (twin.manifest); the only mutable file
    tables/KIND/HASH.parquet         one immutable file per version of a table (GeoParquet for shapes)
    live.db, queue.db                the live state and the job queue (not the store's business)

A writer writes each new table under a temporary name, fsyncs it and renames it to its content hash,
then, holding the store's lock, re-reads the manifest, puts its entries in and replaces the manifest
in one rename. A reader reads the manifest and then the files it names, which never change: it sees
the old version of a table or the new one, never half of one. Files that leave the manifest are kept
for a grace period (readers that have just read the old manifest can still open them), then removed.

>>> store = CityStore.open(folder, create=True)  # doctest: +SKIP
>>> store.write("water", water, sources=[...], writer="me")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely
from filelock import FileLock

from cim.tables import SchemaError, TableKind, check_arrow_schema, check_frame, kind_of
from twin.manifest import FORMAT, Manifest, Source, StoreError, TableEntry, now, parse_manifest


class StoreConflict(StoreError):
    """A write whose tables changed under it; nothing was written."""

    status = 409

MANIFEST = "manifest.json"
TABLES = "tables"
LOCK = ".lock"
#: How long a file that left the manifest stays on disk for readers of the old manifest.
GRACE = timedelta(minutes=10)
ROW_GROUP = 1_000_000


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shape_hash(frame: pd.DataFrame, columns: Sequence[str]) -> str | None:
    """A hash of the columns that define a table's shapes: equal hashes mean the same shapes, row by row."""
    if not columns:
        return None
    h = hashlib.sha256()
    h.update(str(len(frame)).encode())
    for name in columns:
        col = frame[name]
        if name == "geometry":
            wkb = shapely.to_wkb(np.asarray(col.to_numpy(), dtype=object), output_dimension=2)
            for blob in wkb:
                h.update(len(blob).to_bytes(4, "little"))
                h.update(blob)
        else:
            h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
    return h.hexdigest()


def _bbox(frame: pd.DataFrame) -> tuple[float, float, float, float] | None:
    if len(frame) == 0:
        return None
    if isinstance(frame, gpd.GeoDataFrame):
        xmin, ymin, xmax, ymax = (float(v) for v in frame.total_bounds)
    elif "lon" in frame.columns and "lat" in frame.columns:
        xmin, xmax = float(frame["lon"].min()), float(frame["lon"].max())
        ymin, ymax = float(frame["lat"].min()), float(frame["lat"].max())
    else:
        return None
    return (round(xmin, 7), round(ymin, 7), round(xmax, 7), round(ymax, 7))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Written:
    entry: TableEntry
    path: Path


class CityStore:
    """A city folder. Cheap to create; every read looks at the manifest on disk (cached by its stat)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._cache: tuple[tuple[int, int, int], Manifest] | None = None

    # --- opening -------------------------------------------------------------------------------------

    @staticmethod
    def exists_at(folder: Path) -> bool:
        return (Path(folder) / MANIFEST).exists()

    @staticmethod
    def check_creatable(folder: Path) -> None:
        """Refuse, before any work is done, a place where a new store cannot go."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder} is a file, not a city folder; choose a folder with --store")
        if folder.exists() and not (folder / MANIFEST).exists() and any(folder.iterdir()):
            raise StoreError(
                f"{folder} exists and is not a city store (it has files but no {MANIFEST}); "
                f"choose an empty or new folder with --store"
            )

    @classmethod
    def is_new_at(cls, folder: Path) -> bool:
        """Whether ``folder`` holds no city yet (a writer would make the store); a place where a store cannot
        go is refused (:class:`StoreError`) before any work is done."""
        if cls.exists_at(folder):
            return False
        cls.check_creatable(folder)
        return True

    @classmethod
    def open(cls, folder: Path, *, create: bool = False) -> CityStore:
        """The store in ``folder``. With ``create``, an absent or empty folder becomes a new, empty store."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder} is a file, not a city folder; choose a folder with --store")
        manifest = folder / MANIFEST
        if not manifest.exists():
            empty = not folder.exists() or not any(folder.iterdir())
            if not create:
                if empty:
                    raise StoreError(
                        f"no city at {folder}; build the demo city with: twin demo build --store {folder}"
                    )
                raise StoreError(
                    f"{folder} is not a city store (it has no {MANIFEST}); point --store at a city folder, or "
                    f"build one with: twin demo build --store NEW_FOLDER"
                )
            cls.check_creatable(folder)
            folder.mkdir(parents=True, exist_ok=True)
            store = cls(folder)
            with store._locked():
                if not manifest.exists():
                    store._replace_manifest(Manifest())
            return store
        store = cls(folder)
        store.manifest()  # the format and the entries are checked here
        return store

    # --- reading -------------------------------------------------------------------------------------

    def manifest(self) -> Manifest:
        """The manifest as it is on disk now."""
        path = self.folder / MANIFEST
        try:
            st = path.stat()
        except FileNotFoundError:
            raise StoreError(
                f"the city at {self.folder} has lost its {MANIFEST}; restore it from a backup, or rebuild "
                f"with: twin demo build --force --store {self.folder}"
            ) from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = self._cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        manifest = parse_manifest(path.read_text(encoding="utf-8"), folder=str(self.folder))
        self._cache = (stamp, manifest)
        return manifest

    @property
    def generation(self) -> int:
        return self.manifest().generation

    def entry(self, kind: str) -> TableEntry | None:
        return self.manifest().tables.get(kind)

    def has(self, kind: str) -> bool:
        return kind in self.manifest().tables

    def require(self, kind: str) -> TableEntry:
        entry = self.entry(kind)
        if entry is None:
            raise StoreError(
                f"the city at {self.folder} has no {kind} table; build the demo city "
                f"(twin demo build --store {self.folder}) or write one (twin store put {kind} FILE)"
            )
        return entry

    def path_of(self, entry: TableEntry) -> Path:
        return self.folder / entry.file

    def blob(self, relative: str) -> Path:
        """The file a table names (see :meth:`StoreBatch.write_blob`); a :class:`StoreError` if it is not one."""
        parts = Path(relative).parts
        if len(parts) != 3 or parts[0] != "blobs" or any(p in ("", ".", "..") for p in parts):
            raise StoreError(f"{relative!r} is not a file of the store's blobs")
        path = self.folder / relative
        if not path.is_file():
            raise StoreError(
                f"{relative} is named by a table of {self.folder} but missing; restore it from a backup or ingest "
                f"the model again"
            )
        return path

    def _checked_path(self, kind: str, entry: TableEntry | None = None) -> tuple[TableEntry, TableKind, Path]:
        entry = entry or self.require(kind)
        spec = kind_of(kind)
        if entry.schema_version != spec.schema_version:
            raise StoreError(
                f"the {kind} table in {self.folder} has schema version {entry.schema_version}, this version "
                f"reads {spec.schema_version}; upgrade the store with: twin store upgrade --store {self.folder}"
            )
        path = self.path_of(entry)
        if not path.exists():
            raise StoreError(
                f"the {kind} table of {self.folder} should be in {entry.file}, which is missing; restore it from "
                f"a backup or write the table again (twin demo build --force rebuilds the demo city)"
            )
        try:
            check_arrow_schema(spec, pq.read_schema(path), where=str(path))
        except SchemaError as exc:
            raise StoreError(f"{exc} (the file changed since it was written; write the table again)") from None
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(
                f"{path} cannot be read ({exc}); restore it from a backup or write the {kind} table again"
            ) from None
        return entry, spec, path

    def read(
        self, kind: str, columns: Sequence[str] | None = None, *, entry: TableEntry | None = None,
        where: tuple[str, str, object] | Sequence[tuple[str, str, object]] | None = None,
    ) -> pd.DataFrame:
        """The table of ``kind`` as it is now (or the version ``entry`` names): a GeoDataFrame for kinds with shapes.
        ``where`` keeps only the rows that pass one test, e.g. ``("building_code", "==", code)``, or all of a
        list of tests, reading only the row groups that may hold them."""
        _, spec, path = self._checked_path(kind, entry)
        cols = list(columns) if columns is not None else None
        if where is None:
            filters = None
        else:
            filters = [where] if isinstance(where[0], str) else list(where)
        try:
            if spec.geometry and (cols is None or "geometry" in cols):
                return _read_geoparquet(path, cols, filters)
            return pd.read_parquet(path, columns=cols, filters=filters)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise StoreError(
                f"{path} cannot be read ({exc}); restore it from a backup or write the {kind} table again"
            ) from None

    def columns(self, kind: str) -> tuple[str, ...]:
        """The columns the table of ``kind`` holds now (optional columns may be absent)."""
        _, _, path = self._checked_path(kind, None)
        return tuple(pq.read_schema(path).names)

    def batches(self, kind: str, columns: Sequence[str]) -> tuple[int, Iterator[pa.RecordBatch]]:
        """The rows of a table in batches of up to a million: the row count and the batches."""
        entry, _, path = self._checked_path(kind)
        parquet = pq.ParquetFile(path)
        return entry.rows, parquet.iter_batches(batch_size=ROW_GROUP, columns=list(columns))

    # --- writing -------------------------------------------------------------------------------------

    def write(
        self,
        kind: str,
        frame: pd.DataFrame,
        *,
        sources: Sequence[Source],
        writer: str,
        derived_from: Mapping[str, str] | None = None,
        mode: str = "replace",
        expect: Mapping[str, str | None] | None = None,
    ) -> TableEntry:
        """Replace the table of ``kind`` with ``frame``; ``mode="append"`` adds its rows; ``mode="update"`` adds
        them and replaces the rows whose key they carry (a resident who moved, a building re-surveyed).

        ``expect`` names tables whose content hash must still be the given one (None: still absent) when the
        write commits; otherwise :class:`StoreConflict` is raised and nothing is written.
        """
        with self.batch(writer) as batch:
            entry = batch.write(kind, frame, sources=sources, derived_from=derived_from, mode=mode, expect=expect)
        return entry

    @contextmanager
    def batch(self, writer: str) -> Iterator[StoreBatch]:
        """Write several tables that go live together: one manifest commit when the block ends.

        If the block fails, nothing is committed and the files it wrote are removed.
        """
        batch = StoreBatch(self, writer)
        try:
            yield batch
            batch.commit()
        except BaseException:
            batch.discard()
            raise

    # --- internals -----------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = FileLock(str(self.folder / LOCK), timeout=60)
        try:
            with lock:
                yield
        except TimeoutError:
            raise StoreError(
                f"another writer has held {self.folder / LOCK} for a minute; wait for it to finish, or remove "
                f"the lock file if no twin process is running"
            ) from None

    def _replace_manifest(self, manifest: Manifest) -> None:
        path = self.folder / MANIFEST
        tmp = self.folder / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            f.write(manifest.model_dump_json(indent=2))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.folder)
        self._cache = None

    def _commit(self, written: Sequence[_Written], expect: Mapping[str, str | None]) -> Manifest:
        with self._locked():
            current = parse_manifest((self.folder / MANIFEST).read_text(encoding="utf-8"), folder=str(self.folder))
            for kind, wanted in expect.items():
                entry = current.tables.get(kind)
                found = entry.content_hash if entry is not None else None
                if found != wanted:
                    raise StoreConflict(
                        f"the {kind} table changed while this write was being prepared "
                        f"({'now ' + found[:12] if found else 'now absent'}, expected "
                        f"{wanted[:12] if wanted else 'absent'}); nothing was written: read it again and retry"
                    )
            for w in written:
                if not w.path.exists():
                    raise StoreError(f"{w.path} vanished before it was committed; nothing was written, retry")
            tables = dict(current.tables)
            retired = dict(current.retired)
            moment = now()
            for w in written:
                old = tables.get(w.entry.kind)
                if old is not None and old.file != w.entry.file:
                    retired[old.file] = moment
                retired.pop(w.entry.file, None)
                tables[w.entry.kind] = w.entry
            retired = self._collect(retired, keep={e.file for e in tables.values()})
            manifest = Manifest(
                format=FORMAT,
                id=current.id,
                generation=current.generation + 1,
                created_at=current.created_at,
                tables=tables,
                retired=retired,
            )
            self._replace_manifest(manifest)
            return manifest

    def _collect(self, retired: dict, *, keep: set[str]) -> dict:
        """Remove retired files past their grace period; returns the ones still waiting.

        A file written again lately (a batch in progress may be about to name it: file names are content
        hashes) waits another grace period, whatever its retirement date says.
        """
        moment = now()
        waiting = {}
        for file, since in retired.items():
            if file in keep:
                continue
            path = self.folder / file
            try:
                written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except FileNotFoundError:
                continue
            if moment - since < GRACE or moment - written < GRACE:
                waiting[file] = since
            else:
                path.unlink(missing_ok=True)
        return waiting


class StoreBatch:
    """The tables one writer puts into the store together (see :meth:`CityStore.batch`)."""

    def __init__(self, store: CityStore, writer: str) -> None:
        self.store = store
        self.writer = writer
        self._written: list[_Written] = []
        self._new_files: list[Path] = []
        self._new_blobs: list[Path] = []
        self._expect: dict[str, str | None] = {}

    def write(
        self,
        kind: str,
        frame: pd.DataFrame,
        *,
        sources: Sequence[Source],
        derived_from: Mapping[str, str] | None = None,
        mode: str = "replace",
        expect: Mapping[str, str | None] | None = None,
    ) -> TableEntry:
        spec = kind_of(kind)
        if mode not in ("replace", "append", "update"):
            raise StoreError(f"mode {mode!r} is not known; use replace, append or update")
        if mode == "update" and not spec.key:
            raise StoreError(f"the {kind} table has no key to update rows by; use replace or append")
        for other, wanted in (expect or {}).items():
            self._expect[other] = wanted
        old_sources: tuple[Source, ...] = ()
        if mode in ("append", "update"):
            base = self.store.entry(kind)
            self._expect[kind] = base.content_hash if base is not None else None  # no append may be lost
        if mode in ("append", "update") and base is not None:
            old = self.store.read(kind)
            old_sources = base.sources
            if mode == "update" and spec.key in frame.columns:
                old = old[~old[spec.key].isin(frame[spec.key])]
            elif spec.key and spec.key in frame.columns and frame[spec.key].isin(old[spec.key]).all() and len(frame):
                raise StoreError(f"every row being appended to the {kind} table is there already (same "
                                 f"{spec.key}); was this file added before? use update to replace those rows; "
                                 f"nothing was written")
            frame = pd.concat([old, frame], ignore_index=True)
            if spec.geometry:
                frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=old.crs)
        frame = frame.reset_index(drop=True)
        try:
            check_frame(spec, frame, where=f"the {kind} table")
        except SchemaError as exc:
            raise StoreError(f"{exc}; nothing was written") from None
        folder = self.store.folder / "tables" / kind
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{uuid.uuid4().hex}.tmp"
        self._new_files.append(tmp)
        try:
            _write_parquet(spec, frame, tmp)
            digest = _sha256_file(tmp)
            final = folder / f"{digest[:24]}.parquet"
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        self._new_files.append(final)
        entry = TableEntry(
            kind=kind,
            file=final.relative_to(self.store.folder).as_posix(),
            schema_version=spec.schema_version,
            classification=spec.classification,
            rows=len(frame),
            content_hash=digest,
            shape_hash=shape_hash(frame, spec.shape_columns),
            bbox=_bbox(frame),
            sources=(*old_sources, *sources),
            derived_from=dict(derived_from or {}),
            written_at=now(),
            writer=self.writer,
        )
        self._written = [w for w in self._written if w.entry.kind != kind] + [_Written(entry, final)]
        return entry

    def write_blob(self, data: bytes, *, folder: str, suffix: str) -> str:
        """Put a file that a table names (a model's GLB) into the store; its name is its content hash.

        The path (relative to the store folder) goes into a table written in this batch; until that commits,
        no table names the file, and a discarded batch removes it again.
        """
        if not folder.isidentifier():
            raise StoreError(f"blob folder {folder!r} must be a plain name")
        digest = hashlib.sha256(data).hexdigest()
        target = self.store.folder / "blobs" / folder
        target.mkdir(parents=True, exist_ok=True)
        final = target / f"{digest[:32]}{suffix}"
        if not final.exists():
            tmp = target / f".{uuid.uuid4().hex}.tmp"
            try:
                with tmp.open("wb") as sink:
                    sink.write(data)
                    sink.flush()
                    os.fsync(sink.fileno())
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            self._new_blobs.append(final)
        return final.relative_to(self.store.folder).as_posix()

    def commit(self) -> Manifest | None:
        if not self._written:
            return None
        _fsync_dir(self.store.folder / "tables")
        manifest = self.store._commit(self._written, self._expect)
        committed = {w.path for w in self._written}
        self._drop([p for p in self._new_files if p not in committed])  # a kind written twice: the first one
        self._written, self._new_files, self._new_blobs = [], [], []
        return manifest

    def discard(self) -> None:
        """Remove what this batch wrote (an interrupted or refused batch leaves no file behind)."""
        self._drop(self._new_files)
        for path in self._new_blobs:
            path.unlink(missing_ok=True)
        self._written, self._new_files, self._new_blobs = [], [], []

    def _drop(self, paths: Sequence[Path]) -> None:
        """Remove files this batch wrote, unless a manifest names them now or lately (identical content)."""
        try:
            manifest = self.store.manifest()
            keep = {e.file for e in manifest.tables.values()} | set(manifest.retired)
        except StoreError:
            keep = set()
        for path in paths:
            if path.relative_to(self.store.folder).as_posix() not in keep:
                path.unlink(missing_ok=True)


@functools.cache
def _wgs84() -> pyproj.CRS:
    return pyproj.CRS.from_epsg(4326)


def _read_geoparquet(path: Path, columns: list[str] | None, filters) -> gpd.GeoDataFrame:
    """A table with shapes. The store keeps every shape in WGS84 as WKB: its CRS is made once per process, not
    parsed again from each file's metadata (25 ms a table, most of the cost of reading a small one). A file
    that says otherwise is read by geopandas in full."""
    table = pq.read_table(path, columns=columns, filters=filters)
    geo = json.loads((table.schema.metadata or {}).get(b"geo", b"{}"))
    meta = geo.get("columns", {}).get("geometry", {})
    crs = meta.get("crs", {}) or {}
    if geo.get("primary_column") != "geometry" or meta.get("encoding") != "WKB" or len(geo.get("columns", {})) != 1 \
            or crs.get("id") != {"authority": "EPSG", "code": 4326}:
        return gpd.read_parquet(path, columns=columns, filters=filters)
    frame = table.to_pandas()
    frame["geometry"] = shapely.from_wkb(frame["geometry"].to_numpy())
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=_wgs84())


def _write_parquet(spec: TableKind, frame: pd.DataFrame, path: Path) -> None:
    with path.open("wb") as sink:
        if spec.geometry:
            frame.to_parquet(sink, index=False, compression="zstd", row_group_size=ROW_GROUP)
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, sink, compression="zstd", row_group_size=ROW_GROUP)
        sink.flush()
        os.fsync(sink.fileno())
