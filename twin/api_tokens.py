"""API tokens: how machines (a sensor gateway, a reporting system, a script) call the API.

A token is random, starts with ``twt_`` so that it is recognised where it leaks (a log, a repository), and
is shown once, when it is made; the store keeps only its SHA-256 digest. A token holds grants like a user
does, may expire, and may be disabled; it is sent as ``Authorization: Bearer twt_...``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from twin.access_rows import NAME, check_name, digest, read_grants, write_grants
from twin.errors import NotFound, TwinError
from twin.live_schema import api_tokens as tokens_table
from twin.live_store import LiveStore
from twin.manifest import now as _now
from twin.permissions import Grant, NotSignedIn, Principal

PREFIX = "twt_"
#: last_used_at is written at most this often per token (a busy gateway would otherwise write on every call).
TOUCH_EVERY = timedelta(minutes=1)
INVALID = "the API token is not valid (unknown, disabled or expired); ask an admin for a new one"


class TokenError(TwinError):
    status = 400


class UnknownToken(NotFound):
    status = 404


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: ``token`` is the secret itself, shown this once and never again."""

    name: str
    roles: list[str]
    token: str


@dataclass(frozen=True)
class ApiToken:
    """A token as the store knows it (without the secret)."""

    name: str
    grants: tuple[Grant, ...]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    disabled: bool
    expires_at: datetime | None

    @property
    def roles(self) -> list[str]:
        return sorted({g.role.value for g in self.grants})

    def valid_at(self, moment: datetime) -> bool:
        return not self.disabled and (self.expires_at is None or moment < self.expires_at)

    def to_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "name": self.name,
            "roles": self.roles,
            "grants": [g.to_json() for g in self.grants],
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "last_used_at": iso(self.last_used_at),
            "disabled": self.disabled,
            "expires_at": iso(self.expires_at),
        }


def _token(row: sa.Row, grants: tuple[Grant, ...]) -> ApiToken:
    m = row._mapping
    return ApiToken(name=m["name"], grants=grants, created_at=m["created_at"], created_by=m["created_by"],
                    last_used_at=m["last_used_at"], disabled=bool(m["disabled"]), expires_at=m["expires_at"])


class TokenStore:
    def __init__(self, live: LiveStore) -> None:
        self.live = live

    def add(self, name: str, *, grants: Sequence[Grant], created_by: str,
            expires_in: timedelta | None = None) -> IssuedToken:
        """A new token with ``grants``; the returned ``token`` is the only time the secret is seen."""
        check_name(name, "token", TokenError)
        grants = tuple(grants)
        if not grants:
            raise TokenError(f"token {name!r} needs at least one role; give one with --role")
        if expires_in is not None and expires_in <= timedelta(0):
            raise TokenError(f"a token must expire in the future, not in {expires_in}; give a positive number of days")
        secret = PREFIX + secrets.token_urlsafe(32)
        moment = _now()
        taken = TokenError(f"token {name!r} already exists; choose another name (twin tokens list shows them all)")
        try:
            with self.live.write() as conn:
                if conn.execute(sa.select(tokens_table.c.name).where(tokens_table.c.name == name)).first():
                    raise taken
                conn.execute(tokens_table.insert().values(
                    name=name, token_hash=digest(secret), created_at=moment, created_by=created_by[:64],
                    last_used_at=None, disabled=False, expires_at=moment + expires_in if expires_in else None,
                ))
                write_grants(conn, "token", name, grants)
        except sa.exc.IntegrityError:  # another process made the same name just now
            raise taken from None
        return IssuedToken(name, sorted({g.role.value for g in grants}), secret)

    def verify(self, token: str, *, now: datetime | None = None) -> Principal:
        """The principal a token stands for; NotSignedIn (401) when it is unknown, disabled or expired."""
        moment = now or _now()
        if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > 200:
            raise NotSignedIn(INVALID)
        c = tokens_table.c
        with self.live.read() as conn:
            row = conn.execute(sa.select(tokens_table).where(c.token_hash == digest(token))).first()
            grants = read_grants(conn, "token", [row._mapping["name"]]) if row is not None else {}
        if row is None:
            raise NotSignedIn(INVALID)
        found = _token(row, grants.get(row._mapping["name"], ()))
        if not found.valid_at(moment):
            raise NotSignedIn(INVALID)
        if found.last_used_at is None or moment - found.last_used_at >= TOUCH_EVERY:
            with self.live.write() as conn:
                conn.execute(tokens_table.update().where(c.name == found.name).values(last_used_at=moment))
        return Principal(found.name, "token", found.grants)

    def list(self) -> list[ApiToken]:
        with self.live.read() as conn:
            rows = conn.execute(sa.select(tokens_table).order_by(tokens_table.c.name)).all()
            grants = read_grants(conn, "token")
        return [_token(r, grants.get(r._mapping["name"], ())) for r in rows]

    def get(self, name: str) -> ApiToken:
        with self.live.read() as conn:
            row = None
            if isinstance(name, str) and NAME.match(name):
                row = conn.execute(sa.select(tokens_table).where(tokens_table.c.name == name)).first()
            if row is None:
                raise UnknownToken(f"no API token {str(name)[:80]!r}; twin tokens list shows the tokens")
            grants = read_grants(conn, "token", [name]).get(name, ())
        return _token(row, grants)

    def disable(self, name: str) -> None:
        """Refuse the token from now on (its name stays taken, and listed)."""
        self.get(name)
        with self.live.write() as conn:
            conn.execute(tokens_table.update().where(tokens_table.c.name == name).values(disabled=True))
