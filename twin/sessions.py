"""Browser sessions: what a successful sign-in starts, and what the session cookie names.

The cookie holds a random session id; the store keeps only its SHA-256 digest, so a copy of the database
signs nobody in. A session ends :data:`SESSION_TTL` after it began whatever happens, after
:data:`IDLE_TTL` without a request, when it is revoked (signing out, a new password), or when its user is
disabled. Each session has its own CSRF token, which writes made with the cookie must carry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from twin.access_rows import digest
from twin.live_schema import sessions as sessions_table
from twin.live_schema import users as users_table
from twin.live_store import LiveStore
from twin.manifest import now as _now
from twin.users import UnknownUser

#: A session ends this long after sign-in, however busy it is.
SESSION_TTL = timedelta(hours=8)
#: ...and this long after its last request.
IDLE_TTL = timedelta(minutes=60)
#: last_seen_at is written at most this often per session.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewSession:
    """A session just started: ``session_id`` goes into the cookie and is not kept anywhere else."""

    session_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    user: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class SessionStore:
    def __init__(self, live: LiveStore) -> None:
        self.live = live

    def create(self, user: str, *, ip: str, user_agent: str, now: datetime | None = None) -> NewSession:
        """Start a session for ``user`` (an enabled user: the caller has just checked their password)."""
        moment = now or _now()
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = moment + SESSION_TTL
        with self.live.write() as conn:
            row = conn.execute(sa.select(users_table.c.disabled).where(users_table.c.name == user)).first()
            if row is None or row.disabled:
                raise UnknownUser(f"no enabled user {user!r} to start a session for; twin users list shows them")
            conn.execute(sessions_table.insert().values(
                id_hash=digest(session_id), user_name=user, csrf_token=csrf, created_at=moment, last_seen_at=moment,
                expires_at=expires, revoked_at=None, ip=(ip or "")[:64], user_agent=(user_agent or "")[:300],
            ))
        return NewSession(session_id, csrf, expires)

    def get(self, session_id: str, *, now: datetime | None = None) -> Session | None:
        """The live session with this id; None when it is unknown, revoked, expired, idle too long, or its
        user is disabled. A request now counts as activity (written at most once a minute)."""
        if not session_id or len(session_id) > 200:
            return None
        moment = now or _now()
        s, u = sessions_table.c, users_table.c
        key = digest(session_id)
        with self.live.read() as conn:
            row = conn.execute(
                sa.select(s.user_name, s.csrf_token, s.created_at, s.expires_at, s.last_seen_at)
                .join_from(sessions_table, users_table, s.user_name == u.name)
                .where((s.id_hash == key) & s.revoked_at.is_(None) & u.disabled.is_(False))
            ).first()
        if row is None:
            return None
        m = row._mapping
        if moment >= m["expires_at"] or moment - m["last_seen_at"] >= IDLE_TTL:
            return None
        if moment - m["last_seen_at"] >= TOUCH_EVERY:
            with self.live.write() as conn:
                conn.execute(sessions_table.update().where((s.id_hash == key) & (s.last_seen_at < moment))
                             .values(last_seen_at=moment))
        return Session(m["user_name"], m["csrf_token"], m["created_at"], m["expires_at"])

    def revoke(self, session_id: str) -> bool:
        """End the session with this id (signing out); False when there was no live one."""
        if not session_id or len(session_id) > 200:
            return False
        s = sessions_table.c
        with self.live.write() as conn:
            done = conn.execute(sessions_table.update().where((s.id_hash == digest(session_id))
                                                              & s.revoked_at.is_(None)).values(revoked_at=_now()))
        return done.rowcount == 1

    def revoke_user(self, user: str) -> int:
        """End every session of ``user``; how many there were."""
        s = sessions_table.c
        with self.live.write() as conn:
            done = conn.execute(sessions_table.update().where((s.user_name == user) & s.revoked_at.is_(None))
                                .values(revoked_at=_now()))
        return done.rowcount

    def sweep(self, now: datetime | None = None) -> int:
        """Delete the sessions that can no longer be used (expired, idle too long, or revoked); how many."""
        moment = now or _now()
        s = sessions_table.c
        with self.live.write() as conn:
            done = conn.execute(sessions_table.delete().where(
                (s.expires_at <= moment) | (s.last_seen_at <= moment - IDLE_TTL) | s.revoked_at.isnot(None)))
        return done.rowcount
