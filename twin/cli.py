"""The ``twin`` command line. Each command parses its options and calls library functions."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from twin.errors import TwinError
from twin.settings import load_settings

if TYPE_CHECKING:
    from twin.city_store import CityStore
    from twin.live_store import LiveStore
    from twin.permissions import Grant
    from twin.settings import Settings

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


def _cli_actor() -> str:
    """Who the audit log names for a command run at this machine's shell."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli:unknown"


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
    if result.built:
        _audit_write(store, "store.demo_build", str(store), scale=scale, seed=seed, buildings=result.buildings)
    click.echo(result.summary())


@demo.command("users")
@_store_option("--store", "--out")
def demo_users(store: Path | None) -> None:
    """Make one demo user per role, each with a fresh one-time password, printed once."""
    from twin.audit import AuditLog
    from twin.demo_users import ensure_demo_users
    from twin.live_store import LiveStore
    from twin.users import UserStore

    settings = load_settings(data=store)
    live = LiveStore.open(settings.database_url, settings.data)
    try:
        made = ensure_demo_users(UserStore(live))
        AuditLog(live).record(actor=_cli_actor(), actor_kind="cli", action="user.demo",
                              target=", ".join(u.name for u in made))
    finally:
        live.dispose()
    click.echo("demo users (one-time passwords made for this run: sign in at /signin, then choose your own):")
    for u in made:
        click.echo(f"  {u.name:<20} {u.password:<18} {u.role.value} {u.label}")


# --- serve and work --------------------------------------------------------------------------------------


@main.command()
@_store_option("--store", "--data")
@click.option("--host", default=None, help="address to listen on  [default: TWIN_HOST or 127.0.0.1]")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port  [default: TWIN_PORT or 8050]")
@click.option("--worker", type=click.Choice(["embedded", "external"]), default=None,
              help="embedded: this process runs the jobs too; external: twin worker processes do  "
              "[default: TWIN_WORKER or embedded]")
@click.option("--guest", is_flag=True, default=None,
              help="visitors who have not signed in see the public layers, read-only  [default: TWIN_GUEST]")
def serve(store: Path | None, host: str | None, port: int | None, worker: str | None, guest: bool | None) -> None:
    """Serve the command screen and the API over HTTP (sign-in required, unless --guest)."""
    import waitress

    from app import create_app
    from twin.services import open_services

    settings = load_settings(data=store, host=host, port=port, worker=worker, guest=guest)
    _check_port_free(settings.host, settings.port)
    services = open_services(settings)
    services.start(embedded_worker=settings.worker == "embedded")
    try:
        app = create_app(services)
        tables = services.store.manifest().tables
        count = f"{tables['buildings'].rows:,} buildings" if "buildings" in tables else "an empty city"
        access = "guests see public layers" if settings.guest else "sign-in required"
        click.echo(f"serving {count} from {services.store.folder} at http://{settings.host}:{settings.port} "
                   f"(jobs: {settings.worker}; {access})", err=True)
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

    folder = store or load_settings().data
    result = upgrade_store(folder, progress=lambda m: click.echo(m, err=True))
    _audit_write(folder, "store.upgrade", str(folder))
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

    folder = store or load_settings().data
    entry = put_table(folder, kind, file, mode=mode)
    _audit_write(folder, "store.put", kind, file=file.name, mode=mode, rows=entry.rows)
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
    from twin.progress import Steps

    request = request_for(kind, file, crs=crs, encoding=encoding, layer=layer, level=level, mode=mode)
    settings = load_settings()
    target = _ingest_target(store or settings.data)
    try:
        with Steps(quiet=as_json) as steps:
            report = ingest_file(target, request, progress=steps, salt_file=settings.salt_file)
    except TwinError as exc:
        _audit_refused_ingest(target.folder, settings, kind, file, exc)
        raise
    _audit_write(target.folder, "store.ingest", report.table, file=file.name, mode=mode, rows=report.features,
                 crs_in=report.crs_in)
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
def bim() -> None:
    """IFC building models: ingest them into the city, placed and linked to the city base."""


@bim.command("ingest")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--anchor", default=None, metavar="LON,LAT[,ELEV]",
              help="place the model's origin here, overriding the file's georeference (WGS84 degrees, or x,y in --crs)")
@click.option("--crs", default=None, metavar="EPSG:N",
              help="the projected CRS of the file's IfcMapConversion when it names none or a wrong one; with "
                   "--anchor, the CRS the anchor is given in")
@click.option("--rotation", type=float, default=None, metavar="DEG",
              help="with --anchor: degrees anticlockwise from east to the model's x axis  [default: the file's "
                   "true north]")
@_store_option()
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="tessellation threads  [default: one per core]")
@click.option("--json", "as_json", is_flag=True,
              help="print one JSON object: building_id, schema, georeference, storeys, spaces, elements, ... (the "
                   "first building's; with several, \"buildings\" holds each one's)")
def bim_ingest(file: Path, anchor: str | None, crs: str | None, rotation: float | None, store: Path | None,
               threads: int | None, as_json: bool) -> None:
    """Ingest the IFC model in FILE (.ifc or .ifczip) into the city store (a refused file writes nothing)."""
    from bim.errors import BimError
    from bim.georeference import Anchor
    from twin.bim_ingest import ingest_ifc
    from twin.progress import Steps

    if rotation is not None and anchor is None:
        raise BimError("--rotation turns a model placed with --anchor; pass --anchor LON,LAT too")
    placed = Anchor.parse(anchor, rotation=rotation, crs=crs) if anchor is not None else None
    settings = load_settings()
    target = _ingest_target(store or settings.data)
    try:
        with Steps(quiet=as_json) as steps:
            reports = ingest_ifc(target, file, anchor=placed, crs=None if placed else crs, num_threads=threads,
                                 progress=lambda text, share: steps(f"{text} ({share:.0%})"))
    except TwinError as exc:
        _audit_refused_ingest(target.folder, settings, "bim_models", file, exc)
        raise
    _audit_write(target.folder, "store.ingest", "bim_models", file=file.name, buildings=len(reports),
                 method=reports[0]["georeference"]["method"])
    if as_json:  # one object always: the first building's, and every building's under "buildings" if several
        shown = reports[0] if len(reports) == 1 else {**reports[0], "buildings": reports}
        click.echo(json.dumps(shown, ensure_ascii=False))
        return
    for r in reports:
        g = r["georeference"]
        click.echo(f"ingested {r['name'] or r['building_id']} from {file.name} ({r['schema']}): "
                   f"{len(r['storeys'])} storeys, {r['spaces']} spaces, {r['elements']} elements, "
                   f"{r['height_m']:.1f} m; placed by {g['method']} at {g['lat']:.6f} N, {g['lon']:.6f} E"
                   + (f"; stands on {r['city_building']}" if r["city_building"] else ""))
        for warning in g["warnings"] + r["warnings"]:
            click.echo(f"warning: {warning}", err=True)


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


# --- access: users, API tokens, the audit log ------------------------------------------------------------


@contextmanager
def _live_store(store: Path | None) -> Iterator[LiveStore]:
    """The live store of the city folder only (no jobs, no web side)."""
    from twin.live_store import LiveStore

    settings = load_settings(data=store)
    live = LiveStore.open(settings.database_url, settings.data)
    try:
        yield live
    finally:
        live.dispose()


def _grants(roles: tuple[str, ...], area: str | None, department: str | None, store: Path | None) -> list[Grant]:
    """One grant per ``--role``, each for the same area (a unit the city in ``store`` has); the department goes
    to the handler roles (the only ones that take one), or to every role when none is a handler (so that the
    grant says it does not fit)."""
    from twin.city_store import CityStore
    from twin.drill_down import check_area
    from twin.permissions import Grant, Role, role_named

    named = [role_named(r) for r in roles]  # a GrantError names what does not fit
    handlers = Role.HANDLER in named
    grants = [Grant(r, area=area, department=department if r is Role.HANDLER or not handlers else None)
              for r in named]
    folder = load_settings(data=store).data
    if area is not None and CityStore.exists_at(folder):
        check_area(CityStore.open(folder), area)
    return grants


def _password(password_file: Path | None) -> str:
    """From the first line of --password-file, else TWIN_PASSWORD, else asked twice without echo."""
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if os.environ.get("TWIN_PASSWORD"):
        return os.environ["TWIN_PASSWORD"]
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _audit_write(folder: Path, action: str, target: str, *, outcome: str = "ok", **detail: object) -> None:
    """Record a write to the city store made from this shell in the city's audit log."""
    from twin.audit import AuditLog
    from twin.live_store import LiveStore

    live = LiveStore.open(load_settings(data=folder).database_url, folder)
    try:
        AuditLog(live).record(actor=_cli_actor(), actor_kind="cli", action=action, target=target, outcome=outcome,
                              detail=detail or None)
    finally:
        live.dispose()


def _ingest_target(folder: Path) -> CityStore:
    """The store an ingest writes into; a folder without a city becomes one only when the file is written, so
    a refused file leaves nothing behind."""
    from twin.city_store import CityStore

    return CityStore.open(folder) if CityStore.exists_at(folder) else CityStore(folder)


def _audit_refused_ingest(folder: Path, settings: Settings, table: str, file: Path, exc: TwinError) -> None:
    """A refused file is recorded too: who tried to write what, in the city it was for (if there is one yet)."""
    from twin.city_store import CityStore

    if CityStore.exists_at(folder) or settings.database_url:
        _audit_write(folder, "store.ingest", table, outcome="failed", file=file.name, error=str(exc)[:300])


def _audit(live: LiveStore, action: str, target: str, **detail: object) -> None:
    from twin.audit import AuditLog

    AuditLog(live).record(actor=_cli_actor(), actor_kind="cli", action=action, target=target, detail=detail or None)


ROLES_HELP = "a role such as admin or analyst (repeat for several; a wrong one lists them all)"
AREA_HELP = "limit the roles to one unit: its code at any of the seven levels (e.g. district 420102)"
DEPARTMENT_HELP = "the department a handler works for (a handler needs one; other roles take none)"
PASSWORD_FILE_HELP = "read the password from the first line of FILE  [default: TWIN_PASSWORD, or asked]"


@main.group(cls=_Group)
def users() -> None:
    """Who may sign in, and with which roles."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, metavar="ROLE", help=ROLES_HELP)
@click.option("--area", default=None, metavar="CODE", help=AREA_HELP)
@click.option("--department", default=None, metavar="DEPT", help=DEPARTMENT_HELP)
@click.option("--display-name", default=None, metavar="TEXT", help="the name shown on screen  [default: NAME]")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help=PASSWORD_FILE_HELP)
@click.option("--one-time", is_flag=True,
              help="the password is given to the user, who must choose their own at the first sign-in")
@_store_option()
def users_add(name: str, roles: tuple[str, ...], area: str | None, department: str | None,
              display_name: str | None, password_file: Path | None, one_time: bool, store: Path | None) -> None:
    """Add the user NAME (the first user must be an admin)."""
    from twin.access_rows import roles_text
    from twin.users import UserStore

    grants = _grants(roles, area, department, store)
    with _live_store(store) as live:
        people = UserStore(live)
        if people.is_empty() and not any(g.role == "admin" for g in grants):
            raise TwinError("the first user must be an admin: add one with --role admin")
        user = people.add(name, password=_password(password_file), grants=grants, display_name=display_name,
                          one_time=one_time)
        _audit(live, "user.add", name, roles=sorted(user.roles), **({"one_time": True} if one_time else {}))
    click.echo(f"added user {name} with roles {roles_text(user.grants)}"
               + ("; they choose their own password at the first sign-in" if one_time else ""))


@users.command("list")
@_store_option()
@click.option("--json", "as_json", is_flag=True)
def users_list(store: Path | None, as_json: bool) -> None:
    """The users, their roles, and whether they may sign in."""
    from twin.access_rows import roles_text
    from twin.users import UserStore

    with _live_store(store) as live:
        found = UserStore(live).list()
    if as_json:
        click.echo(json.dumps([u.to_json() for u in found], ensure_ascii=False, indent=2))
        return
    for u in found:
        state = "disabled" if u.disabled else f"locked until {u.locked_until:%H:%M}" if u.locked_until else "enabled"
        seen = f"{u.last_signin_at:%Y-%m-%d %H:%M}" if u.last_signin_at else "never"
        click.echo(f"{u.name:<20} {state:<20} last sign-in {seen:<16}  {roles_text(u.grants)}")


@users.command("disable")
@click.argument("name")
@_store_option()
def users_disable(name: str, store: Path | None) -> None:
    """Refuse NAME's sign-ins and end their sessions."""
    from twin.users import UserStore

    with _live_store(store) as live:
        UserStore(live).disable(name)
        _audit(live, "user.disable", name)
    click.echo(f"disabled user {name}; their sessions have ended")


@users.command("enable")
@click.argument("name")
@_store_option()
def users_enable(name: str, store: Path | None) -> None:
    """Let NAME sign in again (this also lifts a lock after failed sign-ins)."""
    from twin.users import UserStore

    with _live_store(store) as live:
        UserStore(live).enable(name)
        _audit(live, "user.enable", name)
    click.echo(f"enabled user {name}")


@users.command("passwd")
@click.argument("name")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help=PASSWORD_FILE_HELP)
@click.option("--one-time", is_flag=True,
              help="the password is given to the user, who must choose their own at the first sign-in")
@_store_option()
def users_passwd(name: str, password_file: Path | None, one_time: bool, store: Path | None) -> None:
    """Set NAME's password (their sessions end)."""
    from twin.users import UserStore

    with _live_store(store) as live:
        people = UserStore(live)
        people.get(name)  # an unknown name fails before the password is asked for
        people.set_password(name, _password(password_file), one_time=one_time)
        _audit(live, "user.passwd", name, **({"one_time": True} if one_time else {}))
    click.echo(f"set the password of {name}; their sessions have ended"
               + ("; they choose their own at the next sign-in" if one_time else ""))


@main.group(cls=_Group)
def tokens() -> None:
    """API tokens: how machines and scripts call the API."""


@tokens.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, metavar="ROLE", help=ROLES_HELP)
@click.option("--area", default=None, metavar="CODE", help=AREA_HELP)
@click.option("--department", default=None, metavar="DEPT", help=DEPARTMENT_HELP)
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="  [default: never]")
@_store_option()
@click.option("--json", "as_json", is_flag=True, help='print {"name": ..., "roles": [...], "token": ...}')
def tokens_add(name: str, roles: tuple[str, ...], area: str | None, department: str | None,
               expires_days: int | None, store: Path | None, as_json: bool) -> None:
    """Make the API token NAME and print it, this once only."""
    from twin.api_tokens import TokenStore

    expires = timedelta(days=expires_days) if expires_days else None
    with _live_store(store) as live:
        issued = TokenStore(live).add(name, grants=_grants(roles, area, department, store), created_by=_cli_actor(),
                                      expires_in=expires)
        _audit(live, "token.add", name, roles=issued.roles, expires_days=expires_days)
    if as_json:
        click.echo(json.dumps({"name": issued.name, "roles": issued.roles, "token": issued.token}))
        return
    click.echo(f"added token {name} with roles {', '.join(issued.roles)}; it is shown only this once:", err=True)
    click.echo(issued.token)


@tokens.command("list")
@_store_option()
@click.option("--json", "as_json", is_flag=True)
def tokens_list(store: Path | None, as_json: bool) -> None:
    """The API tokens (never their secrets)."""
    from twin.access_rows import roles_text
    from twin.api_tokens import TokenStore

    with _live_store(store) as live:
        found = TokenStore(live).list()
    if as_json:
        click.echo(json.dumps([t.to_json() for t in found], ensure_ascii=False, indent=2))
        return
    for t in found:
        state = "disabled" if t.disabled else f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "no expiry"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        click.echo(f"{t.name:<20} {state:<18} used {used:<16}  by {t.created_by:<16} {roles_text(t.grants)}")


@tokens.command("disable")
@click.argument("name")
@_store_option()
def tokens_disable(name: str, store: Path | None) -> None:
    """Refuse the API token NAME from now on."""
    from twin.api_tokens import TokenStore

    with _live_store(store) as live:
        TokenStore(live).disable(name)
        _audit(live, "token.disable", name)
    click.echo(f"disabled token {name}")


@main.command("audit")
@click.option("--user", default=None, help="only what this user (or token, or cli:...) did")
@click.option("--since", default=None, help="an ISO date or time, or a duration back from now: 30m, 2h, 7d")
@click.option("--action", default=None, help="only this action (user.add, signin, export, ...)")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@_store_option()
@click.option("--json", "as_json", is_flag=True)
def audit(user: str | None, since: str | None, action: str | None, limit: int, store: Path | None,
          as_json: bool) -> None:
    """The audit log, newest first: when, who, what, to what, how it ended, from where."""
    from twin.audit import AuditLog, since_of

    with _live_store(store) as live:
        records = AuditLog(live).query(user=user, since=since_of(since) if since else None, action=action,
                                       limit=limit)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in records], ensure_ascii=False, indent=2))
        return
    rows = [(f"{r.at:%Y-%m-%d %H:%M:%S}", r.actor, r.action, r.target, r.outcome, r.ip) for r in records]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    for row in rows:
        click.echo("  ".join([*(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)), row[5]]).rstrip())
