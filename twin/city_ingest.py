"""``twin cim ingest``: a city's own file into the city store, through the same tables the demo build writes.

The store gives the ingest what it needs to place records (the boundaries so far, the register of
streets, the building footprints); :func:`cim.ingest.prepare` reads and checks the file; the table is
then written through the store (replaced or appended to), with the file, its sha256, its CRS and its
row count in the manifest. A refused file writes nothing; a running app shows the new table within a
second (it watches the manifest).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd

from cim.ingest import Context, IngestError, IngestReport, IngestRequest, prepare
from cim.level_join import UNIT_LEVELS, Units
from cim.levels import Level
from cim.privacy import PrivacyError, load_salt
from cim.street_register import StreetRegister
from twin.address_register import address_index
from twin.city_store import CityStore
from twin.demo import DEMO_TABLES, build_demo, demo_options
from twin.errors import TwinError
from twin.manifest import Source, StoreError, now

TABLE_OF_LEVEL = {Level.DISTRICT: "districts", Level.STREET: "streets", Level.COMMUNITY: "communities",
                  Level.GRID: "grids", Level.COMPOUND: "compounds"}
NEEDS_BUILDINGS = ("pois", "organisations", "addresses", "residents", "dwellings")
NEEDS_MATCHER = ("residents", "dwellings", "organisations")


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


def ingest_file(store: CityStore, request: IngestRequest, *, progress: Callable[[str], None] = lambda _: None,
                salt_file: Path | None = None) -> IngestReport:
    """Read, check and write one file; raises :class:`IngestFailed` (one line) and writes nothing if refused."""
    register = StreetRegister.from_rows(store.read("register")) if store.has("register") else None
    buildings = None
    stored_buildings = request.kind == "buildings" and request.mode in ("append", "update")  # codes to keep
    if (request.kind in NEEDS_BUILDINGS or stored_buildings) and store.has("buildings"):
        buildings = store.read("buildings", columns=["code", "geometry"])
    matcher = None
    if request.kind in NEEDS_MATCHER and store.has("addresses"):
        progress("indexing the city's standard addresses")
        matcher = address_index(store, dwellings=False).match
    try:
        salt = load_salt(salt_file) if salt_file is not None and request.kind == "residents" else None
    except (PrivacyError, OSError) as exc:
        raise IngestFailed(f"{exc}; nothing was written") from None
    context = Context(units=units_of(store), register=register, progress=progress, buildings=buildings,
                      matcher=matcher, salt=salt)
    try:
        prepared = prepare(request, context)
    except IngestError as exc:
        raise IngestFailed(f"{exc}; nothing was written") from None
    report = prepared.report
    source = Source(file=report.file, sha256=report.sha256, kind=prepared.table, rows=report.features, time=now(),
                    crs_in=report.crs_in, note=f"{report.format}" + (f", {report.encoding}" if report.encoding else ""))
    progress(f"writing {report.features:,} rows into the {prepared.table} table")
    frame = prepared.frame
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    try:
        store.write(prepared.table, frame, sources=[source], writer="twin cim ingest", mode=request.mode)
    except StoreError as exc:
        raise IngestFailed(f"{report.file}: {exc}") from None
    if prepared.review is not None and len(prepared.review):
        folder = store.folder / "review"
        folder.mkdir(exist_ok=True)
        path = folder / f"{Path(report.file).stem}.{prepared.table}.review.csv"
        prepared.review.to_csv(path, index=False, encoding="utf-8-sig")
        report.warnings.append(f"{len(prepared.review)} rows to review are listed in {path}")
    if prepared.table in TABLE_OF_LEVEL.values():
        _relayout_demo(store, prepared.table, report, progress)
    return report


def _relayout_demo(store: CityStore, table: str, report: IngestReport, progress: Callable[[str], None]) -> None:
    """When the store's buildings are the generated demo city, lay it out again inside new real districts, so
    every demo building stands in the district its code names (the demo's own tables only; one batch)."""
    options = demo_options(store)
    if options is None:
        return
    if table != "districts":  # the generator lays its own levels out inside the districts only
        report.warnings.append(f"the demo city keeps its own {table}; only real districts change its layout")
        return
    ingested = [kind for kind in DEMO_TABLES if kind != "districts" and (entry := store.entry(kind)) is not None
                and any(s.file != "generated" for s in entry.sources)]
    if ingested:  # a new layout would replace them: nothing ingested is lost without being asked
        report.warnings.append(
            f"the demo city keeps its old layout: laying it out again would replace the ingested "
            f"{', '.join(ingested)}; to do so anyway run twin demo build --force --store {store.folder}")
        return
    progress("laying the demo city out again inside these districts")
    try:
        result = build_demo(store.folder, seed=options.seed, scale=options.scale, buildings=options.buildings,
                            force=True)
    except TwinError as exc:
        report.warnings.append(f"the demo city keeps its old layout: {exc}; try twin demo build --force "
                               f"--buildings N --store {store.folder} with fewer buildings")
        return
    report.warnings.append(f"the demo city ({result.buildings:,} buildings) was laid out again inside these "
                           f"districts, so every building's codes agree with them")


def request_for(kind: str, path: Path, *, crs: str | None, encoding: str | None, layer: str | None,
                level: str | None, mode: str) -> IngestRequest:
    parsed = None
    if level is not None:
        names = {lv.name.lower(): lv for lv in TABLE_OF_LEVEL}
        if level.lower() not in names:
            raise IngestFailed(f"--level {level!r} is not a level of boundaries; use one of {', '.join(names)}")
        parsed = names[level.lower()]
    return IngestRequest(kind=kind, path=Path(path), crs=crs, encoding=encoding, layer=layer, level=parsed, mode=mode)
