"""The live-state store on both backends: SQLite in the city folder and the machine's PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from twin.live_schema import jobs, metadata
from twin.live_store import LiveStore, LiveStoreError, database_url
from twin.manifest import now


@pytest.fixture
def live(database_url, tmp_path):
    store = LiveStore.open(database_url, tmp_path)
    yield store
    store.dispose()


def test_opening_runs_the_migrations_to_the_newest_revision(live):
    assert live.revision() == live.head() == "0003_one_time_passwords"


def test_the_migrations_build_exactly_the_schema_the_code_declares(live):
    with live.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_opening_twice_at_once_migrates_once(database_url, tmp_path):
    errors, stores = [], []

    def open_one() -> None:
        try:
            stores.append(LiveStore.open(database_url, tmp_path))
        except Exception as exc:  # reported by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {s.revision() for s in stores} == {"0003_one_time_passwords"}
    for s in stores:
        s.dispose()


def _row(i: int) -> dict:
    moment = now()
    return {"id": f"job{i:04d}", "kind": "test", "title": "t", "key": None, "status": "queued", "progress": 0.0,
            "message": "", "params": {"i": i, "名": "武汉"}, "result": None, "error": None, "attempts": 0,
            "max_attempts": 1, "created_at": moment, "enqueued_at": moment, "started_at": None,
            "heartbeat_at": None, "finished_at": None, "worker": None}


def test_concurrent_writers_all_land_and_times_come_back_in_utc(live):
    def write(start: int) -> None:
        for i in range(start, start + 25):
            with live.write() as conn:
                conn.execute(jobs.insert().values(**_row(i)))

    threads = [threading.Thread(target=write, args=(k * 25,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with live.read() as conn:
        rows = conn.execute(sa.select(jobs).order_by(jobs.c.id)).all()
    assert len(rows) == 100
    assert rows[7]._mapping["params"] == {"i": 7, "名": "武汉"}
    assert rows[0]._mapping["created_at"].utcoffset().total_seconds() == 0


def test_sqlite_is_the_default_and_lives_in_the_city_folder(tmp_path):
    assert database_url(None, tmp_path) == f"sqlite:///{(tmp_path / 'live.db').resolve()}"
    store = LiveStore.open(None, tmp_path)
    try:
        assert (tmp_path / "live.db").exists()
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:secret@db/twin", "postgresql+psycopg://u:secret@db/twin"),
        ("postgres://db/twin", "postgresql+psycopg://db/twin"),
    ],
)
def test_postgresql_urls_go_through_psycopg_3(url, expected, tmp_path):
    assert database_url(url, tmp_path) == expected


def test_an_unknown_database_url_is_refused_without_its_password(tmp_path):
    with pytest.raises(LiveStoreError, match=r"TWIN_DATABASE_URL='mysql://me:\*\*\*@db/x' is neither"):
        database_url("mysql://me:hunter2@db/x", tmp_path)


def test_an_unreachable_database_is_one_line_with_what_to_do(tmp_path):
    with pytest.raises(LiveStoreError, match=r"cannot reach the live-state database "
                                             r"postgresql\+psycopg://127.0.0.1:1/x\?connect_timeout=2 "
                                             r"\(connection failed: .*Connection refused\); start it, or unset"):
        LiveStore.open("postgresql://127.0.0.1:1/x?connect_timeout=2", tmp_path)


def test_a_database_from_a_newer_version_is_refused(live):
    with live.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(LiveStoreError,
                       match="at revision '9999_future', which this version of city-twin does not know"):
        live.migrate()


def test_the_access_revision_downgrades_cleanly_and_upgrades_again(live):
    from alembic import command

    from twin.live_store import _alembic_config

    with live.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0001_jobs")
    assert live.revision() == "0001_jobs"
    assert set(sa.inspect(live.engine).get_table_names()) == {"jobs", "alembic_version"}
    live.migrate()
    assert live.revision() == "0003_one_time_passwords"
    with live.write() as conn:  # the append-only triggers are back too
        conn.execute(sa.text("INSERT INTO audit (at, actor, actor_kind, action, target, outcome, ip) "
                             "VALUES (CURRENT_TIMESTAMP, 'a', 'user', 'x', '', 'ok', '')"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), live.write() as conn:
        conn.execute(sa.text("DELETE FROM audit"))


def test_users_made_before_one_time_passwords_keep_theirs_as_their_own(live):
    from alembic import command

    from twin.live_store import _alembic_config

    with live.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002_access")
        conn.execute(sa.text("INSERT INTO users (name, display_name, password_hash, disabled, created_at, "
                             "password_changed_at, failed_signins) VALUES ('ops', 'ops', 'x', false, "
                             "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"))
    live.migrate()
    assert live.revision() == "0003_one_time_passwords"
    with live.read() as conn:
        assert conn.execute(sa.text("SELECT name, must_change_password FROM users")).all() == [("ops", False)]
