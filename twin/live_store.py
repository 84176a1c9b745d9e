"""The live-state store: jobs now; readings, warnings, events, users and audit as they arrive.

SQLite (WAL) in the city folder by default, so the embedded twin needs no server; PostgreSQL
through psycopg 3 when ``TWIN_DATABASE_URL`` is set. The schema is created and changed by the
alembic migrations in ``twin/migrations``, run (under a lock, so several processes may start at
once) whenever the store is opened.

On SQLite, writes take the write lock when they begin (``BEGIN IMMEDIATE``) and every connection
waits up to 30 s for it, so concurrent writers queue instead of failing with "database is locked".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from filelock import FileLock

from twin.errors import TwinError

MIGRATIONS = Path(__file__).parent / "migrations"
LIVE_DB = "live.db"
_PG_LOCK_ID = 7_343_431  # any constant: the advisory lock that serialises migrations on PostgreSQL


class LiveStoreError(TwinError):
    """The live-state database cannot be reached, or holds a schema this version does not know."""


def database_url(url: str | None, folder: Path) -> str:
    """The SQLAlchemy URL: SQLite in ``folder`` by default; ``postgresql://`` goes through psycopg 3."""
    if not url:
        return f"sqlite:///{(Path(folder) / LIVE_DB).resolve()}"
    if re.match(r"^postgres(ql)?://", url):
        return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)
    if url.startswith(("postgresql+psycopg://", "sqlite:///")):
        return url
    raise LiveStoreError(
        f"TWIN_DATABASE_URL={_redact(url)!r} is neither postgresql://... nor sqlite:///...; "
        f"fix it, or unset it to keep the live state in the city folder"
    )


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


class LiveStore:
    """One database of live state, with its migrations run."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = "sqlite" if url.startswith("sqlite") else "postgresql"
        if self.backend == "sqlite":
            self.engine = sa.create_engine(
                url, connect_args={"timeout": 30, "check_same_thread": False}, pool_pre_ping=False
            )
            sa.event.listen(self.engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    @classmethod
    def open(cls, url: str | None, folder: Path) -> LiveStore:
        """The live store for a city folder, migrated to the newest schema."""
        store = cls(database_url(url, folder))
        try:
            store.migrate()
        except sa.exc.OperationalError as exc:
            store.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise LiveStoreError(
                f"cannot reach the live-state database {store.describe()} ({reason}); start it, or unset "
                f"TWIN_DATABASE_URL to keep the live state in the city folder"
            ) from None
        return store

    def describe(self) -> str:
        return _redact(self.url)

    def dispose(self) -> None:
        self.engine.dispose()

    # --- schema ------------------------------------------------------------------------------------------

    def head(self) -> str:
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> None:
        """Bring the schema to the newest revision; refuse a database written by a newer version."""
        script = ScriptDirectory.from_config(_alembic_config())
        with self._migration_lock(), self.engine.begin() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None and not _known(script, current):
                raise LiveStoreError(
                    f"the live-state database {self.describe()} is at revision {current!r}, which this version "
                    f"of city-twin does not know (it was written by a newer one); use that version"
                )
            command.upgrade(_alembic_config(conn), "head")

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.backend == "sqlite":
            path = Path(self.engine.url.database or LIVE_DB)
            path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(path) + ".migrate.lock", timeout=120):
                yield
        else:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                    conn.commit()

    # --- transactions ------------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction (on SQLite it holds the write lock from its first statement)."""
        with self.engine.connect().execution_options(twin_write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("twin_write") else "BEGIN")
