"""Sessions on both backends: kept as a digest, ended by time, by idleness, by signing out, by disabling."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from twin.live_schema import sessions as sessions_table
from twin.live_store import LiveStore
from twin.manifest import now
from twin.permissions import Grant, Role
from twin.sessions import IDLE_TTL, SESSION_TTL, SessionStore
from twin.users import UnknownUser, UserStore


@pytest.fixture
def live(database_url, tmp_path):
    store = LiveStore.open(database_url, tmp_path)
    users = UserStore(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    users.add("chen", password="correct horse battery", grants=[Grant(Role.ANALYST)])
    yield store
    store.dispose()


@pytest.fixture
def sessions(live):
    return SessionStore(live)


def _rows(live: LiveStore) -> list[dict]:
    with live.read() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(sessions_table))]


def test_a_session_is_kept_as_the_digest_of_its_id_with_its_own_csrf_token(sessions, live):
    t0 = now()
    started = sessions.create("chen", ip="10.0.0.1", user_agent="Firefox " + "x" * 400, now=t0)
    assert started.expires_at == t0 + SESSION_TTL and started.session_id != started.csrf_token
    [row] = _rows(live)
    assert row["id_hash"] == hashlib.sha256(started.session_id.encode()).hexdigest()
    assert started.session_id not in row.values() and len(row["user_agent"]) == 300
    found = sessions.get(started.session_id, now=t0)
    assert (found.user, found.csrf_token, found.created_at, found.expires_at) == (
        "chen", started.csrf_token, t0, t0 + SESSION_TTL)


@pytest.mark.parametrize("session_id", ["", "nope", "x" * 500])
def test_an_unknown_session_is_none(sessions, session_id):
    sessions.create("chen", ip="10.0.0.1", user_agent="test")
    assert sessions.get(session_id) is None


def test_a_session_ends_after_eight_hours_however_busy(sessions):
    t0 = now()
    started = sessions.create("chen", ip="10.0.0.1", user_agent="test", now=t0)
    moment = t0
    while moment < t0 + SESSION_TTL - timedelta(minutes=30):
        moment += timedelta(minutes=30)
        assert sessions.get(started.session_id, now=moment) is not None
    assert sessions.get(started.session_id, now=t0 + SESSION_TTL) is None


def test_a_session_ends_after_an_hour_without_a_request(sessions):
    t0 = now()
    started = sessions.create("chen", ip="10.0.0.1", user_agent="test", now=t0)
    assert sessions.get(started.session_id, now=t0 + IDLE_TTL - timedelta(seconds=1)) is not None
    later = t0 + IDLE_TTL - timedelta(seconds=1)  # that request counted: the hour starts again from it
    assert sessions.get(started.session_id, now=later + IDLE_TTL - timedelta(seconds=1)) is not None
    other = sessions.create("chen", ip="10.0.0.1", user_agent="test", now=t0)
    assert sessions.get(other.session_id, now=t0 + IDLE_TTL) is None


def test_last_seen_is_written_at_most_once_a_minute(sessions, live):
    t0 = now()
    started = sessions.create("chen", ip="10.0.0.1", user_agent="test", now=t0)
    sessions.get(started.session_id, now=t0 + timedelta(seconds=30))
    assert _rows(live)[0]["last_seen_at"] == t0
    sessions.get(started.session_id, now=t0 + timedelta(seconds=90))
    assert _rows(live)[0]["last_seen_at"] == t0 + timedelta(seconds=90)


def test_signing_out_revokes_the_session(sessions):
    started = sessions.create("chen", ip="10.0.0.1", user_agent="test")
    kept = sessions.create("chen", ip="10.0.0.2", user_agent="test")
    assert sessions.revoke(started.session_id) is True
    assert sessions.revoke(started.session_id) is False
    assert sessions.get(started.session_id) is None and sessions.get(kept.session_id) is not None


def test_revoking_a_user_ends_all_their_sessions(sessions):
    started = [sessions.create("chen", ip="10.0.0.1", user_agent="test") for _ in range(3)]
    assert sessions.revoke_user("chen") == 3
    assert [sessions.get(s.session_id) for s in started] == [None] * 3


def test_disabling_the_user_ends_the_session(sessions, live):
    started = sessions.create("chen", ip="10.0.0.1", user_agent="test")
    UserStore(live).disable("chen")
    assert sessions.get(started.session_id) is None
    assert {r["revoked_at"] is not None for r in _rows(live)} == {True}


def test_no_session_starts_for_an_unknown_or_disabled_user(sessions, live):
    with pytest.raises(UnknownUser, match="no enabled user 'nobody'"):
        sessions.create("nobody", ip="10.0.0.1", user_agent="test")
    UserStore(live).disable("chen")
    with pytest.raises(UnknownUser, match="no enabled user 'chen'"):
        sessions.create("chen", ip="10.0.0.1", user_agent="test")
    assert _rows(live) == []


def test_sweeping_deletes_the_sessions_that_can_no_longer_be_used(sessions, live):
    t0 = now()
    live_one = sessions.create("chen", ip="10.0.0.1", user_agent="test", now=t0 + SESSION_TTL)
    sessions.create("chen", ip="10.0.0.1", user_agent="test", now=t0)  # expired by the sweep's time
    revoked = sessions.create("chen", ip="10.0.0.1", user_agent="test", now=t0 + SESSION_TTL)
    sessions.revoke(revoked.session_id)
    assert sessions.sweep(now=t0 + SESSION_TTL + timedelta(minutes=1)) == 2
    assert [r["id_hash"] for r in _rows(live)] == [hashlib.sha256(live_one.session_id.encode()).hexdigest()]
    assert sessions.sweep(now=t0 + SESSION_TTL + timedelta(minutes=1)) == 0
