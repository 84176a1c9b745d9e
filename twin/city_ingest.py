"""``twin cim ingest``: a city's own file into the city store, through the same tables the demo build writes.

The store gives the ingest what it needs to place records (the boundaries so far, the register of
streets, the building footprints); :func:`cim.ingest.prepare` reads and checks the file; the table is
then written through the store (replaced or appended to), with the file, its sha256, its CRS and its
row count in the manifest. A refused file writes nothing; a running app shows the new table within a
second (it watches the manifest). Real districts ingested into a store holding the demo city are written
in one batch with the demo city laid out again inside them: both go live, or neither.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from cim.demo_scale import DemoCityError
from cim.ingest import STEPS, Context, IngestError, IngestReport, IngestRequest, prepare
from cim.level_join import UNIT_LEVELS, Units
from cim.levels import Level
from cim.privacy import PrivacyError, load_salt
from cim.street_register import StreetRegister
from cim.synthetic import DemoCity, generate_city
from twin.address_register import address_index
from twin.city_store import LOCK, MANIFEST, CityStore, StoreBatch
from twin.demo import DEMO_TABLES, DemoOptions, demo_options
from twin.demo import _note as demo_note  # the note a demo table's source carries (demo_options reads it back)
from twin.errors import TwinError
from twin.manifest import Source, StoreError, now

TABLE_OF_LEVEL = {Level.DISTRICT: "districts", Level.STREET: "streets", Level.COMMUNITY: "communities",
                  Level.GRID: "grids", Level.COMPOUND: "compounds"}
NEEDS_BUILDINGS = ("pois", "organisations", "addresses", "residents", "dwellings")
NEEDS_MATCHER = ("residents", "dwellings", "organisations")
WRITER = "twin cim ingest"


class IngestFailed(TwinError):
    """The file was refused; nothing was written."""


def units_of(store: CityStore) -> Units:
    """The store's boundaries by level (code, name and shape of each unit)."""
    by_level = {}
    for level in UNIT_LEVELS:
        table = TABLE_OF_LEVEL[level]
        if store.has(table):
            by_level[level] = store.read(table, columns=["code", "name", "geometry"])
    return Units(by_level)


def ingest_file(store: CityStore, request: IngestRequest, *, progress: Callable[..., None] = lambda *_, **__: None,
                salt_file: Path | None = None) -> IngestReport:
    """Read, check and write one file; raises :class:`IngestFailed` (one line) and writes nothing if refused.

    ``store`` may name a folder that holds no city yet (``CityStore(folder)``): the file is then read and checked
    against an empty city, and the store is created only to write it, so a refused file leaves no folder behind.
    """
    try:
        new = CityStore.is_new_at(store.folder)  # a bad place is refused before the file is read
    except StoreError as exc:
        raise IngestFailed(f"{exc}; nothing was written") from None
    register = StreetRegister.from_rows(store.read("register")) if not new and store.has("register") else None
    buildings = None
    stored_buildings = request.kind == "buildings" and request.mode in ("append", "update")  # codes to keep
    if (request.kind in NEEDS_BUILDINGS or stored_buildings) and not new and store.has("buildings"):
        buildings = store.read("buildings", columns=["code", "geometry"])
    matcher = None
    if request.kind in NEEDS_MATCHER and not new and store.has("addresses"):
        progress("indexing the city's standard addresses")
        matcher = address_index(store, dwellings=False).match
    try:
        salt = (load_salt(salt_file, outside=store.folder) if salt_file is not None and request.kind == "residents"
                else None)
    except (PrivacyError, OSError) as exc:
        raise IngestFailed(f"{exc}; nothing was written") from None
    context = Context(units=Units() if new else units_of(store), register=register, progress=progress,
                      buildings=buildings, matcher=matcher, salt=salt)
    try:
        prepared = prepare(request, context)
    except IngestError as exc:
        raise IngestFailed(f"{exc}; nothing was written") from None
    report = prepared.report
    source = Source(file=report.file, sha256=report.sha256, kind=prepared.table, rows=report.features, time=now(),
                    crs_in=report.crs_in, note=f"{report.format}" + (f", {report.encoding}" if report.encoding else ""))
    frame = prepared.frame
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    layout = None
    if prepared.table in TABLE_OF_LEVEL.values() and not new:
        layout = _new_layout(store, prepared.table, frame, request.mode, report, progress)
    progress(f"writing {report.features:,} rows into the {prepared.table} table", done=4, total=STEPS)
    try:
        # the table and the demo city laid out in it go live together
        with into_store(store, new=new) as store, store.batch(WRITER) as batch:
            batch.write(prepared.table, frame, sources=[source], mode=request.mode)
            if layout is not None:
                progress("writing the demo city laid out again", done=4, total=STEPS)
                _write_layout(batch, *layout)
    except StoreError as exc:
        raise IngestFailed(f"{report.file}: {exc}" + ("" if "nothing was written" in str(exc) else
                                                      "; nothing was written")) from None
    if layout is not None:
        report.warnings.append(f"the demo city ({len(layout[0].buildings):,} buildings) was laid out again inside "
                               f"these districts, so every building's codes agree with them")
    if prepared.review is not None and len(prepared.review):
        folder = store.folder / "review"
        folder.mkdir(exist_ok=True)
        path = folder / f"{Path(report.file).stem}.{prepared.table}.review.csv"
        prepared.review.to_csv(path, index=False, encoding="utf-8-sig")
        report.warnings.append(f"{len(prepared.review)} rows to review are listed in {path}")
    return report


@contextmanager
def into_store(store: CityStore, *, new: bool) -> Iterator[CityStore]:
    """The store a writer writes into: made now in its folder if ``new`` (see :meth:`CityStore.is_new_at`), and
    taken back again if the write fails, so a refused write leaves no folder behind."""
    undo = _undo_new_store(store.folder) if new else (lambda: None)
    try:
        yield CityStore.open(store.folder, create=True) if new else store
    except BaseException:
        undo()
        raise


def _undo_new_store(folder: Path) -> Callable[[], None]:
    """How to take back a new store about to be made in ``folder`` (absent, or empty: see
    :meth:`CityStore.check_creatable`) if the write into it fails: remove the folders creating it makes (the
    outermost of it and its parents that does not exist yet), or the manifest and lock it puts into a folder
    that was empty."""
    folder = Path(folder).absolute()
    if folder.exists():
        def undo() -> None:
            for name in (MANIFEST, LOCK):
                (folder / name).unlink(missing_ok=True)
        return undo
    made = folder
    for path in folder.parents:
        if path.exists():
            break
        made = path
    return lambda: shutil.rmtree(made, ignore_errors=True)


def _new_layout(store: CityStore, table: str, frame: gpd.GeoDataFrame, mode: str, report: IngestReport,
                progress: Callable[..., None]) -> tuple[DemoCity, DemoOptions] | None:
    """When the store's buildings are the generated demo city, the demo city laid out again inside the new real
    districts (the demo's own tables only), to be written in the same batch as the districts; else None."""
    options = demo_options(store)
    if options is None:
        return None
    if table != "districts":  # the generator lays its own levels out inside the districts only
        report.warnings.append(f"the demo city keeps its own {table}; only real districts change its layout")
        return None
    ingested = [kind for kind in DEMO_TABLES if kind != "districts" and (entry := store.entry(kind)) is not None
                and any(s.file != "generated" for s in entry.sources)]
    if ingested:  # a new layout would replace them: nothing ingested is lost without being asked
        report.warnings.append(
            f"the demo city keeps its old layout: laying it out again would replace the ingested "
            f"{', '.join(ingested)}; to do so anyway run twin demo build --force --store {store.folder}")
        return None
    districts = frame
    if mode in ("append", "update") and store.has("districts"):  # the districts as they will be after the write
        old = store.read("districts")
        if mode == "update":
            old = old[~old["code"].isin(frame["code"])]
        districts = gpd.GeoDataFrame(pd.concat([old, frame], ignore_index=True), geometry="geometry", crs="EPSG:4326")
    progress("laying the demo city out again inside these districts", done=4, total=STEPS)
    try:
        city = generate_city(options.seed, options.scale, buildings=options.buildings, districts=districts)
    except DemoCityError as exc:  # districts and layout go together or not at all: refuse, write nothing
        raise IngestFailed(
            f"{report.file}: the demo city in {store.folder} cannot be laid out again inside these districts "
            f"({exc}); build it smaller first (twin demo build --force --buildings N --store {store.folder}); "
            f"nothing was written") from None
    return city, options


def _write_layout(batch: StoreBatch, city: DemoCity, options: DemoOptions) -> None:
    """The demo city's tables (all but the districts, which are the real ones) and its population layer, into
    ``batch``, with the same sources the demo build gives them (so the store still knows how it was made)."""
    from layers.population import build_population_layer

    b = city.buildings
    population = build_population_layer(b["lon"].to_numpy(), b["lat"].to_numpy(), weights=b["residents"].to_numpy())
    note, moment = demo_note(options), now()

    def generated(kind: str, rows: int) -> list[Source]:
        return [Source(file="generated", kind=kind, rows=rows, time=moment, note=note)]

    for kind in DEMO_TABLES:
        if kind == "districts":
            continue
        table = getattr(city, kind)
        if kind == "residents":
            table = table.drop(columns=["building_index"])
        entry = batch.write(kind, table, sources=generated(kind, len(table)))
        if kind == "residents":
            batch.write("population_h3", population.table, sources=generated("population_h3", len(population.table)),
                        derived_from={"residents": entry.content_hash})


def request_for(kind: str, path: Path, *, crs: str | None, encoding: str | None, layer: str | None,
                level: str | None, mode: str) -> IngestRequest:
    parsed = None
    if level is not None:
        names = {lv.name.lower(): lv for lv in TABLE_OF_LEVEL}
        if level.lower() not in names:
            raise IngestFailed(f"--level {level!r} is not a level of boundaries; use one of {', '.join(names)}")
        parsed = names[level.lower()]
    return IngestRequest(kind=kind, path=Path(path), crs=crs, encoding=encoding, layer=layer, level=parsed, mode=mode)
