"""People who sign in: their names, password hashes, roles, and the brakes on guessing passwords.

Passwords are kept only as argon2id hashes. A sign-in that fails says the same thing whatever was wrong
(an unknown name, a wrong password, a disabled account) and takes as long, since an unknown name is checked
against a stand-in hash. Guessing is slowed three ways: each failure in a row asks the caller to wait longer
(:attr:`SigninFailed.delay_s`, which the web side sleeps; the store never sleeps), an account is locked for
:data:`LOCK_FOR` after :data:`LOCK_AFTER` failures in a row, and an address that fails
:data:`IP_LOCK_AFTER` times within :data:`IP_WINDOW` is locked as long. A locked account stays locked to its
right password too; once the lock ends, the next failure locks it again, and only a success (or an admin
enabling it, or setting its password) starts the count over.

>>> users = UserStore(live)                                    # doctest: +SKIP
>>> users.add("chen", password="a long passphrase", grants=[Grant(Role.ANALYST)])   # doctest: +SKIP
>>> users.verify("chen", "a long passphrase", ip="10.0.0.7").roles                 # doctest: +SKIP
frozenset({<Role.ANALYST: 'analyst'>})
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from twin.access_rows import NAME, check_name, digest, insert_ignoring_duplicates, read_grants, write_grants
from twin.errors import NotFound, TwinError
from twin.live_schema import sessions as sessions_table
from twin.live_schema import signin_failures as failures_table
from twin.live_schema import users as users_table
from twin.live_store import LiveStore
from twin.manifest import now as _now
from twin.permissions import Grant, NotSignedIn, Principal

#: An account is locked after this many failed sign-ins in a row...
LOCK_AFTER = 5
#: ...for this long; an address that fails too often is locked as long.
LOCK_FOR = timedelta(minutes=15)
#: An address is locked after this many failed sign-ins within IP_WINDOW, whatever names they tried.
IP_LOCK_AFTER = 20
IP_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_DISPLAY_NAME = 64
MAX_DELAY_S = 4.0
RESERVED_NAMES = frozenset({"guest"})  # the visitor who has not signed in


class UserError(TwinError):
    """A user that cannot be made or changed as asked: a bad name, a taken one, a weak password."""

    status = 400


class UnknownUser(NotFound):
    status = 404


class SigninFailed(TwinError):
    """Wrong name or password (or a disabled account: the message does not say which).

    ``delay_s`` is how long the caller should wait before answering; it doubles with each failure in a row.
    """

    status = 401

    def __init__(self, message: str, *, delay_s: float = 0.0) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class SigninLocked(TwinError):
    """Too many failed sign-ins, for the account or from the address."""

    status = 429


def failure_delay(failures: int) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: 0.25, 0.5, 1, 2, 4, 4, ..."""
    return min(2 ** (max(failures, 1) - 1) * 0.25, MAX_DELAY_S)


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    disabled: bool
    grants: tuple[Grant, ...]
    created_at: datetime
    last_signin_at: datetime | None
    locked_until: datetime | None
    #: the password was given to the user (one-time): they choose their own before anything else
    must_change_password: bool = False

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role.value for g in self.grants)

    def to_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "name": self.name,
            "display_name": self.display_name,
            "disabled": self.disabled,
            "roles": sorted(self.roles),
            "grants": [g.to_json() for g in self.grants],
            "created_at": iso(self.created_at),
            "last_signin_at": iso(self.last_signin_at),
            "locked_until": iso(self.locked_until),
            "one_time": self.must_change_password,  # the secret it holds was given to it, to be replaced
        }


def _user(row: sa.Row, grants: tuple[Grant, ...]) -> User:
    m = row._mapping
    return User(name=m["name"], display_name=m["display_name"], disabled=bool(m["disabled"]), grants=grants,
                created_at=m["created_at"], last_signin_at=m["last_signin_at"], locked_until=m["locked_until"],
                must_change_password=bool(m["must_change_password"]))


def check_password(name: str, password: str) -> None:
    """Nothing when ``password`` may be ``name``'s; a UserError naming the rule it breaks otherwise."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password must have at least {MIN_PASSWORD} characters; choose a longer one")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"a password must have at most {MAX_PASSWORD} characters; choose a shorter one")
    if password.casefold() == name.casefold():
        raise UserError("a password must not be the user's name; choose another")


def _ghost_key(name: str) -> str:
    """The failures row of a name no user has (kept beside the addresses', under a key no address can be)."""
    return "name:" + digest(str(name))[:48]


def _count_in_window(conn: sa.Connection, key: str, moment: datetime, *, window: timedelta, lock_after: int) -> int:
    """One more failure for ``key`` (an address, or an unknown name): the run so far, locked at ``lock_after``."""
    f = failures_table.c
    insert_ignoring_duplicates(conn, failures_table, {"ip": key, "failures": 0, "first_at": moment,
                                                      "last_at": moment, "locked_until": None})
    source = conn.execute(sa.select(failures_table).where(f.ip == key).with_for_update()).one()._mapping
    if source["first_at"] <= moment - window:  # the last run of failures is over: a new one starts
        failures, first = 1, moment
    else:
        failures, first = source["failures"] + 1, source["first_at"]
    conn.execute(failures_table.update().where(f.ip == key).values(
        failures=failures, first_at=first, last_at=moment,
        locked_until=moment + LOCK_FOR if failures >= lock_after else None,
    ))
    return failures


def _locked(until: datetime, moment: datetime) -> SigninLocked:
    minutes = max(1, math.ceil((until - moment).total_seconds() / 60))
    return SigninLocked(f"too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}")


class UserStore:
    """The users of one live store. ``hasher`` is argon2's defaults unless given (tests pass a cheaper one)."""

    def __init__(self, live: LiveStore, *, hasher: PasswordHasher | None = None) -> None:
        self.live = live
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _stand_in_hash(self) -> str:
        """What an unknown name's password is checked against, so that it takes as long as a known one's."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    # --- accounts ------------------------------------------------------------------------------------------

    def add(self, name: str, *, password: str, grants: Sequence[Grant], display_name: str | None = None,
            one_time: bool = False) -> User:
        """A new enabled user with ``grants``; the password is kept only as its hash. A ``one_time`` password
        (given to the user by someone else) must be replaced by the user's own at their first sign-in."""
        check_name(name, "user", UserError)
        if name in RESERVED_NAMES:
            raise UserError(f"the name {name!r} stands for visitors who have not signed in; choose another")
        grants = tuple(grants)
        if not grants:
            raise UserError(f"user {name!r} needs at least one role; give one with --role")
        display = (display_name or "").strip() or name
        if len(display) > MAX_DISPLAY_NAME:
            raise UserError(f"a display name has at most {MAX_DISPLAY_NAME} characters, not {len(display)}")
        check_password(name, password)
        hashed = self.hasher.hash(password)
        moment = _now()
        taken = UserError(f"user {name!r} already exists; choose another name (twin users list shows them all)")
        try:
            with self.live.write() as conn:
                if conn.execute(sa.select(users_table.c.name).where(users_table.c.name == name)).first():
                    raise taken
                conn.execute(users_table.insert().values(
                    name=name, display_name=display, password_hash=hashed, disabled=False, created_at=moment,
                    password_changed_at=moment, failed_signins=0, locked_until=None, last_signin_at=None,
                    must_change_password=one_time,
                ))
                write_grants(conn, "user", name, grants)
        except sa.exc.IntegrityError:  # another process added the same name just now
            raise taken from None
        return self.get(name)

    def add_grant(self, name: str, grant: Grant) -> User:
        """Give ``name`` one more grant (one it holds already is kept once)."""
        with self.live.write() as conn:
            self._require(conn, name)
            write_grants(conn, "user", name, [grant])
        return self.get(name)

    def list(self) -> list[User]:
        with self.live.read() as conn:
            rows = conn.execute(sa.select(users_table).order_by(users_table.c.name)).all()
            grants = read_grants(conn, "user")
        return [_user(r, grants.get(r._mapping["name"], ())) for r in rows]

    def get(self, name: str) -> User:
        with self.live.read() as conn:
            row = self._require(conn, name)
            grants = read_grants(conn, "user", [name]).get(name, ())
        return _user(row, grants)

    def is_empty(self) -> bool:
        """Whether there are no users at all (then the first one must be an admin: see ``twin users add``)."""
        with self.live.read() as conn:
            return conn.execute(sa.select(users_table.c.name).limit(1)).first() is None

    def principal(self, name: str) -> Principal:
        """The enabled user ``name`` as a principal with their grants."""
        user = self.get(name)
        if user.disabled:
            raise NotSignedIn(f"user {name!r} is disabled; ask an admin to enable it")
        return Principal(user.name, "user", user.grants)

    def disable(self, name: str) -> None:
        """Refuse ``name``'s sign-ins from now on and end their sessions (in the same transaction)."""
        moment = _now()
        with self.live.write() as conn:
            self._require(conn, name)
            conn.execute(users_table.update().where(users_table.c.name == name).values(disabled=True))
            s = sessions_table.c
            conn.execute(sessions_table.update().where((s.user_name == name) & s.revoked_at.is_(None))
                         .values(revoked_at=moment))

    def enable(self, name: str) -> None:
        """Let ``name`` sign in again; this lifts a lock after failed sign-ins too."""
        with self.live.write() as conn:
            self._require(conn, name)
            conn.execute(users_table.update().where(users_table.c.name == name)
                         .values(disabled=False, failed_signins=0, locked_until=None))

    def set_password(self, name: str, password: str, *, one_time: bool = False) -> None:
        """Give ``name`` a new password; their sessions end and a sign-in lock lifts. A ``one_time`` password
        must be replaced by the user's own at their next sign-in."""
        check_password(name, password)
        hashed = self.hasher.hash(password)
        moment = _now()
        with self.live.write() as conn:
            self._require(conn, name)
            conn.execute(users_table.update().where(users_table.c.name == name).values(
                password_hash=hashed, password_changed_at=moment, failed_signins=0, locked_until=None,
                must_change_password=one_time))
            s = sessions_table.c
            conn.execute(sessions_table.update().where((s.user_name == name) & s.revoked_at.is_(None))
                         .values(revoked_at=moment))

    def _require(self, conn: sa.Connection, name: str) -> sa.Row:
        row = None
        if isinstance(name, str) and NAME.match(name):
            row = conn.execute(sa.select(users_table).where(users_table.c.name == name)).first()
        if row is None:
            raise UnknownUser(f"no user {str(name)[:80]!r}; twin users list shows the users")
        return row

    # --- signing in ----------------------------------------------------------------------------------------

    def verify(self, name: str, password: str, *, ip: str, now: datetime | None = None) -> Principal:
        """The user ``name`` as a principal, if ``password`` is theirs and neither they nor ``ip`` are locked.

        Raises SigninLocked (429) while the account or the address is locked, and SigninFailed (401, the same
        message whatever was wrong) otherwise; each failure is counted against both.
        """
        moment = now or _now()
        ip = (ip or "")[:64]
        u, f = users_table.c, failures_table.c
        with self.live.read() as conn:
            row = None
            if isinstance(name, str) and NAME.match(name):
                row = conn.execute(sa.select(users_table).where(u.name == name)).first()
            source = conn.execute(sa.select(failures_table).where(f.ip == ip)).first()
            # a name no user has is counted and locked like an account, so a lock does not tell it apart
            ghost = None if row is not None else conn.execute(
                sa.select(failures_table).where(f.ip == _ghost_key(name))).first()
        for lock in (source, row, ghost):
            until = lock._mapping["locked_until"] if lock is not None else None
            if until is not None and until > moment:
                raise _locked(until, moment)
        stored = row._mapping["password_hash"] if row is not None else self._stand_in_hash
        good = self._matches(stored, password)
        if good and row is not None and not row._mapping["disabled"]:
            values: dict[str, Any] = {"failed_signins": 0, "locked_until": None, "last_signin_at": moment}
            if self.hasher.check_needs_rehash(stored):  # hashed with weaker settings than today's
                values["password_hash"] = self.hasher.hash(password)
            with self.live.write() as conn:
                conn.execute(users_table.update().where(u.name == name).values(**values))
                grants = read_grants(conn, "user", [name]).get(name, ())
            return Principal(name, "user", grants)
        failures = self._count_failure(name if row is not None else None, ip, moment,
                                       ghost=None if row is not None else _ghost_key(name))
        raise SigninFailed("wrong name or password", delay_s=failure_delay(failures))

    def change_password(self, name: str, current: str, new: str, *, ip: str) -> Principal:
        """The user's own new password in place of ``current`` (checked, and counted on failure, as a sign-in
        is); a one-time password is then spent. The user's other sessions end."""
        principal = self.verify(name, current, ip=ip)
        if new == current:
            raise UserError("the new password must differ from the one you were given; choose another")
        self.set_password(name, new)
        return principal

    def _matches(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _count_failure(self, name: str | None, ip: str, moment: datetime, *, ghost: str | None = None) -> int:
        """Count a failure against the account (when there is one, else against the unknown name, ``ghost``)
        and the address; the longer run of the two."""
        u = users_table.c
        in_a_row = 0
        with self.live.write() as conn:
            if name is not None:
                conn.execute(users_table.update().where(u.name == name).values(failed_signins=u.failed_signins + 1))
                in_a_row = conn.execute(sa.select(u.failed_signins).where(u.name == name)).scalar_one()
                if in_a_row >= LOCK_AFTER:
                    conn.execute(users_table.update().where(u.name == name).values(locked_until=moment + LOCK_FOR))
            elif ghost is not None:
                in_a_row = _count_in_window(conn, ghost, moment, window=LOCK_FOR, lock_after=LOCK_AFTER)
            failures = _count_in_window(conn, ip, moment, window=IP_WINDOW, lock_after=IP_LOCK_AFTER)
        return max(in_a_row, failures)
