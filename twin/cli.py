"""The ``twin`` command line. Each command parses its options and calls library functions."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from twin.errors import TwinError
from twin.settings import load_settings

STORE_HELP = "the city folder  [default: TWIN_DATA or data/demo]"


class _Group(click.Group):
    """Turns our errors into one line on stderr and exit code 2; no traceback reaches the user."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except TwinError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:  # a folder we cannot write, a full disk: say which file and why
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"error: {exc.strerror or exc}{where}; check the path and its permissions", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: one line for the user, the traceback in a file for the report
            report = _save_traceback()
            click.echo(f"error: internal error ({type(exc).__name__}: {str(exc)[:200]}); please report it with "
                       f"{report}", err=True)
            sys.exit(3)


def _save_traceback() -> Path:
    import tempfile
    import traceback

    path = Path(tempfile.gettempdir()) / "city-twin-error.txt"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


def _store_option(*names: str):
    return click.option(*(names or ("--store",)), "store", type=click.Path(path_type=Path), default=None,
                        help=STORE_HELP)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """City-operations digital twin: the city store, its jobs, and the command screen."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --- demo ------------------------------------------------------------------------------------------------


@main.group(cls=_Group)
def demo() -> None:
    """The built-in demo city."""


@demo.command("build")
@click.option("--scale", type=click.Choice(["small", "city"]), default="small", show_default=True,
              help="small renders fast (4,000 buildings); "
              "city is Wuhan's full scale (300 k buildings, 13.7 M residents)")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="the same seed always gives the same city")
@_store_option("--store", "--out")
@click.option("--buildings", type=click.IntRange(min=1), default=None, help="override the number of buildings")
@click.option("--force", is_flag=True, help="rebuild the demo tables even if the store already holds a city")
def demo_build(scale: str, seed: int, store: Path | None, buildings: int | None, force: bool) -> None:
    """Generate the demo city into the store (kept as it is if it already holds a city)."""
    from twin.demo import build_demo

    store = store or load_settings().data
    result = build_demo(store, seed=seed, scale=scale, buildings=buildings, force=force,
                        progress=lambda m: click.echo(m, err=True))
    click.echo(result.summary())


# --- serve and work --------------------------------------------------------------------------------------


@main.command()
@_store_option("--store", "--data")
@click.option("--host", default=None, help="address to listen on  [default: TWIN_HOST or 127.0.0.1]")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port  [default: TWIN_PORT or 8050]")
@click.option("--worker", type=click.Choice(["embedded", "external"]), default=None,
              help="embedded: this process runs the jobs too; external: twin worker processes do  "
              "[default: TWIN_WORKER or embedded]")
def serve(store: Path | None, host: str | None, port: int | None, worker: str | None) -> None:
    """Serve the command screen and the API over HTTP."""
    import waitress

    from app import create_app
    from twin.services import open_services

    settings = load_settings(data=store, host=host, port=port, worker=worker)
    _check_port_free(settings.host, settings.port)
    services = open_services(settings)
    services.start(embedded_worker=settings.worker == "embedded")
    try:
        app = create_app(services)
        tables = services.store.manifest().tables
        count = f"{tables['buildings'].rows:,} buildings" if "buildings" in tables else "an empty city"
        click.echo(f"serving {count} from {services.store.folder} at http://{settings.host}:{settings.port} "
                   f"(jobs: {settings.worker})", err=True)
        try:
            waitress.serve(app.server, host=settings.host, port=settings.port, threads=settings.server_threads,
                           channel_request_lookahead=5, ident="city-twin")
        except OSError as exc:
            raise TwinError(
                f"cannot listen on {settings.host}:{settings.port} ({exc.strerror or exc}); "
                f"choose another --port or TWIN_PORT"
            ) from None
    finally:
        services.close()


def _check_port_free(host: str, port: int) -> None:
    """Fail before anything starts when another program already listens on ``host:port``."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TwinError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); check --host or TWIN_HOST") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise TwinError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port or TWIN_PORT"
            ) from None


@main.command()
@_store_option()
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="jobs this worker runs at once  [default: TWIN_WORKER_THREADS or 2]")
def worker(store: Path | None, threads: int | None) -> None:
    """Run background jobs (start as many as you like; each takes jobs from the same queue)."""
    from twin.job_queue import Worker
    from twin.services import open_services

    settings = load_settings(data=store, worker_threads=threads)
    services = open_services(settings)
    click.echo(f"worker for {services.store.folder}: queue {services.queue.describe()}, "
               f"{settings.worker_threads} threads; stop with Ctrl-C", err=True)
    logging.getLogger("huey").setLevel(logging.INFO)
    try:
        Worker(services.queue, threads=settings.worker_threads, embedded=False,
               every=services.schedule_derived).run()
    finally:
        services.live.dispose()


# --- the store -------------------------------------------------------------------------------------------


@main.group(cls=_Group)
def store() -> None:
    """The city store: its tables, their checks, upgrades."""


@store.command("info")
@_store_option()
@click.option("--json", "as_json", is_flag=True, help="print the manifest as JSON")
def store_info(store: Path | None, as_json: bool) -> None:
    """List the tables in the store."""
    from twin.city_store import CityStore

    s = CityStore.open(store or load_settings().data)
    manifest = s.manifest()
    if as_json:
        click.echo(manifest.model_dump_json(indent=2))
        return
    click.echo(f"{s.folder}: generation {manifest.generation}, {len(manifest.tables)} tables")
    for kind, e in sorted(manifest.tables.items()):
        click.echo(f"  {kind:<14} {e.rows:>12,} rows  {e.classification:<9} v{e.schema_version}  "
                   f"{e.written_at:%Y-%m-%d %H:%M} by {e.writer}")


@store.command("check")
@_store_option()
def store_check(store: Path | None) -> None:
    """Read every table and check it against its kind and its content hash."""
    from twin.store_check import check_store

    problems = check_store(store or load_settings().data, progress=lambda m: click.echo(m, err=True))
    if problems:
        for p in problems:
            click.echo(f"problem: {p}", err=True)
        raise TwinError(f"{len(problems)} table(s) failed the check; see above")
    click.echo("every table matches its kind and its hash")


@store.command("upgrade")
@_store_option()
def store_upgrade(store: Path | None) -> None:
    """Bring a city folder of an older format up to the current one, in place."""
    from twin.store_upgrade import upgrade_store

    result = upgrade_store(store or load_settings().data, progress=lambda m: click.echo(m, err=True))
    click.echo(result.summary())


@store.command("put")
@click.argument("kind")
@click.argument("file", type=click.Path(path_type=Path))
@_store_option()
@click.option("--mode", type=click.Choice(["replace", "append", "update"]), default="replace", show_default=True,
              help="replace the table, append rows, or update (append, replacing rows with the same key)")
def store_put(kind: str, file: Path, store: Path | None, mode: str) -> None:
    """Write a (Geo)Parquet FILE that already matches a table KIND into the store."""
    from twin.store_put import put_table

    entry = put_table(store or load_settings().data, kind, file, mode=mode)
    click.echo(f"wrote {entry.rows:,} rows of {kind} ({entry.content_hash[:12]})")


# --- city base -------------------------------------------------------------------------------------------


@main.group(cls=_Group)
def cim() -> None:
    """City-base data (一标三实): ingest a city's own files."""


@cim.command("ingest")
@click.argument("kind", type=click.Choice(["boundaries", "buildings", "addresses", "residents", "dwellings",
                                           "organisations", "pois", "roads"]))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--crs", default=None, help="the file's CRS when it declares none or the wrong one: EPSG:n, gcj02, bd09")
@click.option("--encoding", default=None, help="the text encoding when it is not UTF-8 (gbk, gb18030)")
@click.option("--layer", default=None, help="the layer of a GeoPackage (or the shapefile in a zip)")
@click.option("--level", default=None, help="which level a boundaries file holds (guessed from its codes)")
@click.option("--mode", type=click.Choice(["replace", "append", "update"]), default="replace", show_default=True,
              help="replace the table, append rows, or update (append, replacing rows with the same key)")
@_store_option()
@click.option("--json", "as_json", is_flag=True, help="print one JSON object: kind, features, crs_in, bbox, ...")
def cim_ingest(kind: str, file: Path, crs: str | None, encoding: str | None, layer: str | None, level: str | None,
               mode: str, store: Path | None, as_json: bool) -> None:
    """Ingest FILE as KIND into the city store (checked; a refused file writes nothing)."""
    from twin.city_ingest import ingest_file, request_for
    from twin.city_store import CityStore
    from twin.progress import Steps

    request = request_for(kind, file, crs=crs, encoding=encoding, layer=layer, level=level, mode=mode)
    target = CityStore.open(store or load_settings().data, create=True)
    settings = load_settings()
    with Steps(quiet=as_json) as steps:
        report = ingest_file(target, request, progress=steps, salt_file=settings.salt_file)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    click.echo(f"ingested {report.features:,} {report.table} from {file.name} (CRS {report.crs_in})")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


@cim.command("match")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--column", required=True, help="the column holding the address text (地址)")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="where to write the matches (default FILE.matched.csv; the review list beside it)")
@click.option("--encoding", default=None, help="the text encoding when it is not detected (gbk, gb18030)")
@click.option("--rooms/--buildings", default=True, show_default=True,
              help="match down to the dwelling (unit and room), or to the building only")
@_store_option()
@click.option("--json", "as_json", is_flag=True, help="print one JSON object: queries, matched, review, files")
def cim_match(file: Path, column: str, out: Path | None, encoding: str | None, rooms: bool, store: Path | None,
              as_json: bool) -> None:
    """Link each address in a CSV column to the city's standard addresses (codes at the seven levels, H3)."""
    from cim.address_files import match_file
    from cim.address_match import AddressMatchError
    from twin.address_register import address_index
    from twin.city_store import CityStore

    city = CityStore.open(store or load_settings().data)
    index = address_index(city, dwellings=rooms)
    try:
        summary = match_file(file, column, out, index=index, encoding=encoding, to_building=not rooms)
    except AddressMatchError as exc:
        raise TwinError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"queries": summary.queries, "matched": summary.matched, "review": summary.review,
                               "encoding": summary.encoding, "matches": str(summary.matches_path),
                               "review_list": str(summary.review_path)}, ensure_ascii=False))
        return
    click.echo(f"matched {summary.matched:,} of {summary.queries:,} addresses into {summary.matches_path}; "
               f"{summary.review:,} to review in {summary.review_path}")


# --- jobs ------------------------------------------------------------------------------------------------


@main.group(cls=_Group)
def jobs() -> None:
    """Background jobs: what runs, what ran, how it ended."""


@jobs.command("list")
@_store_option()
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def jobs_list(store: Path | None, as_json: bool, limit: int) -> None:
    """The most recent jobs."""
    from twin.jobs import JobStore
    from twin.live_store import LiveStore

    settings = load_settings(data=store)
    live = LiveStore.open(settings.database_url, settings.data)
    try:
        recent = JobStore(live).recent(limit)
    finally:
        live.dispose()
    if as_json:
        click.echo(json.dumps([j.to_json() for j in recent], ensure_ascii=False, indent=2))
        return
    for j in recent:
        click.echo(f"{j.id}  {j.status:<9} {100 * j.progress:5.1f}%  {j.title}  {j.error or j.message}")
