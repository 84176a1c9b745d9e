"""The audit log on both backends: bounded records, newest first, and a database that refuses to rewrite it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from twin.audit import MAX_DETAIL_BYTES, TRUNCATED, AuditError, AuditLog, AuditThrottle, since_of
from twin.live_schema import audit as audit_table
from twin.live_store import LiveStore
from twin.manifest import now


@pytest.fixture
def live(database_url, tmp_path):
    store = LiveStore.open(database_url, tmp_path)
    yield store
    store.dispose()


@pytest.fixture
def log(live):
    return AuditLog(live)


def _count(live: LiveStore) -> int:
    with live.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_table)).scalar_one()


def test_a_record_comes_back_as_it_was_written(log):
    at = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)
    log.record(actor="chen", actor_kind="user", action="export", target="residents.csv", ip="10.0.0.7",
               detail={"rows": 120, "masked": ["phone"], "名": "武汉"}, at=at)
    [record] = log.query()
    assert record.to_json() == {
        "id": record.id, "at": "2026-11-29T08:30:00+00:00", "actor": "chen", "actor_kind": "user", "action": "export",
        "target": "residents.csv", "outcome": "ok", "ip": "10.0.0.7",
        "detail": {"masked": ["phone"], "rows": 120, "名": "武汉"},
    }


def test_records_come_newest_first_and_filter_by_user_since_and_action(log):
    t0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    for minutes, actor, action in [(0, "chen", "signin"), (10, "li", "signin"), (20, "chen", "export"),
                                   (30, "chen", "signout")]:
        log.record(actor=actor, actor_kind="user", action=action, at=t0 + timedelta(minutes=minutes))
    assert [r.action for r in log.query()] == ["signout", "export", "signin", "signin"]
    assert [r.action for r in log.query(user="chen")] == ["signout", "export", "signin"]
    assert [r.action for r in log.query(user="chen", since=t0 + timedelta(minutes=10))] == ["signout", "export"]
    assert [r.actor for r in log.query(action="signin")] == ["li", "chen"]
    assert [r.action for r in log.query(limit=2)] == ["signout", "export"]
    assert log.query(user="nobody") == []


def test_records_of_the_same_moment_keep_the_order_they_were_written_in(log):
    at = now()
    for action in ("a", "b", "c"):
        log.record(actor="chen", actor_kind="user", action=action, at=at)
    assert [r.action for r in log.query()] == ["c", "b", "a"]


def test_a_long_target_and_a_large_detail_are_cut_with_a_marker(log):
    log.record(actor="chen", actor_kind="user", action="export", target="t" * 1000,
               detail={"rows": list(range(5000))})
    [record] = log.query()
    assert len(record.target) == 300 and record.target.endswith(TRUNCATED)
    assert record.detail["truncated"].startswith('{"rows": [0, 1, 2') and record.detail["truncated"].endswith(TRUNCATED)
    assert record.detail["bytes"] > MAX_DETAIL_BYTES
    assert len(json.dumps(record.detail, ensure_ascii=False).encode()) <= MAX_DETAIL_BYTES


def test_a_detail_json_cannot_hold_is_kept_as_text(log):
    log.record(actor="chen", actor_kind="user", action="export",
               detail={"file": Path("/tmp/x.csv"), "when": datetime(2026, 1, 2, tzinfo=UTC)})
    assert log.query()[0].detail == {"file": "/tmp/x.csv", "when": "2026-01-02 00:00:00+00:00"}


def test_an_unknown_outcome_is_a_bug_and_is_refused(log):
    with pytest.raises(ValueError, match="an audit outcome is one of ok, denied, failed, not 'maybe'"):
        log.record(actor="chen", actor_kind="user", action="export", outcome="maybe")


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit SET actor = 'someone else'", "DELETE FROM audit", "DELETE FROM audit WHERE actor = 'chen'"],
)
def test_the_database_itself_refuses_to_change_or_delete_a_record(log, live, statement):
    log.record(actor="chen", actor_kind="user", action="export")
    with pytest.raises(sa.exc.DBAPIError, match="the audit log is append-only"), live.write() as conn:
        conn.execute(sa.text(statement))
    assert [(r.actor, r.action) for r in log.query()] == [("chen", "export")]


def test_postgresql_refuses_to_truncate_the_log(log, live):
    if live.backend != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's; SQLite's DELETE FROM is refused by the test above")
    log.record(actor="chen", actor_kind="user", action="export")
    with pytest.raises(sa.exc.DBAPIError, match="the audit log is append-only"), live.write() as conn:
        conn.execute(sa.text("TRUNCATE audit"))
    assert _count(live) == 1


def test_since_reads_durations_and_dates():
    moment = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert since_of("2h", now=moment) == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert since_of("7d", now=moment) == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert since_of("30m", now=moment) == datetime(2026, 11, 29, 11, 30, tzinfo=UTC)
    assert since_of("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert since_of("2026-11-01T08:00:00+08:00") == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    with pytest.raises(AuditError, match="since 'yesterday' is neither a duration like 30m, 2h or 7d nor an ISO date"):
        since_of("yesterday")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_since_past_the_first_or_last_day_is_refused_in_one_line(text):
    with pytest.raises(AuditError, match=rf"^since '{re.escape(text)}' lies outside the dates the audit log can "
                                         r"hold; give a date from 0001-01-02 to 9999-12-30, or a duration like "
                                         r"30m, 2h or 7d$"):
        since_of(text)
    assert since_of("0001-01-01T00:00:00") == datetime(1, 1, 1, tzinfo=UTC)  # the first moment itself is fine


def test_a_limit_out_of_bounds_is_refused(log):
    with pytest.raises(AuditError, match="limit must be from 1 to 100,000, not 0"):
        log.query(limit=0)


class _Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def tick(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def _deny(throttle: AuditThrottle, path: str) -> bool:
    return throttle.record(("chen", path), actor="chen", actor_kind="user", action="access.denied", target=path,
                           outcome="denied", detail={"needs": "manage_users on internal data"})


def test_a_throttle_writes_one_record_a_minute_per_key_and_counts_the_rest_into_the_next(log):
    clock = _Clock()
    throttle = AuditThrottle(log, clock=clock)
    written = []
    for _ in range(5):
        written.append(_deny(throttle, "/api/v1/users"))
        clock.tick(10)
    assert written == [True, False, False, False, False]
    assert _deny(throttle, "/api/v1/audit")  # another key is not held back
    clock.tick(20)  # 60 s after the first
    assert _deny(throttle, "/api/v1/users") and not _deny(throttle, "/api/v1/users")
    records = log.query(action="access.denied")
    assert [(r.target, r.detail, r.at - records[-1].at) for r in reversed(records)] == [
        ("/api/v1/users", {"needs": "manage_users on internal data"}, timedelta(0)),
        ("/api/v1/audit", {"needs": "manage_users on internal data"}, timedelta(seconds=50)),
        ("/api/v1/users", {"needs": "manage_users on internal data", "suppressed": 4}, timedelta(seconds=70)),
    ]


def test_a_throttle_past_its_keys_forgets_the_oldest_and_its_count(log):
    clock = _Clock()
    throttle = AuditThrottle(log, clock=clock, max_keys=1)
    assert _deny(throttle, "/a") and not _deny(throttle, "/a")  # /a holds one back
    clock.tick(1)
    assert _deny(throttle, "/b")  # /a forgotten to make room
    clock.tick(1)
    assert _deny(throttle, "/a")  # written at once, and what /a held back is lost
    assert [(r.target, r.detail.get("suppressed")) for r in log.query()] == [("/a", None), ("/b", None), ("/a", None)]
