"""The audit log: who did what to what, from where, and how it ended. Append-only.

Every sign-in, every account and token change, every export and every view of sensitive data is one
record. The database itself refuses to change or delete a record (triggers installed by the migration
``0002_access``), so not even a bug here can rewrite the past. Records are bounded: a target is cut to
300 characters and a detail to 4 KB of JSON. What a client can repeat at will (a refused request) goes
through an :class:`AuditThrottle`: one record per minute for the same who, where and what, which counts
the ones held back.

>>> log = AuditLog(live)                                                   # doctest: +SKIP
>>> log.record(actor="chen", actor_kind="user", action="export", target="residents.csv")  # doctest: +SKIP
>>> [r.action for r in log.query(user="chen", since=since_of("2h"))]      # doctest: +SKIP
['export']
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from twin.errors import TwinError
from twin.live_schema import audit as audit_table
from twin.live_store import LiveStore
from twin.manifest import now as _now

OUTCOMES = ("ok", "denied", "failed")
MAX_TARGET = 300
MAX_DETAIL_BYTES = 4096
MAX_LIMIT = 100_000
TRUNCATED = "…[truncated]"
_DURATION = re.compile(r"^(\d{1,5})([mhd])$")


class AuditError(TwinError):
    status = 400


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str
    outcome: str
    ip: str
    detail: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "actor_kind": self.actor_kind,
                "action": self.action, "target": self.target, "outcome": self.outcome, "ip": self.ip,
                "detail": self.detail}


def bounded_detail(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``detail`` as plain JSON (what JSON cannot hold becomes its text), at most 4 KB serialised: a larger
    one is kept as the start of its text under ``"truncated"``."""
    if detail is None:
        return None
    text = json.dumps(dict(detail), ensure_ascii=False, default=str, sort_keys=True)
    if len(text.encode("utf-8")) <= MAX_DETAIL_BYTES:
        return json.loads(text)
    head = text.encode("utf-8")[: MAX_DETAIL_BYTES - 200].decode("utf-8", errors="ignore")
    return {"truncated": head + TRUNCATED, "bytes": len(text.encode("utf-8"))}


def since_of(text: str, *, now: datetime | None = None) -> datetime:
    """A moment from ``30m``, ``2h``, ``7d`` (that long ago) or an ISO date or time (UTC when it names no zone)."""
    found = _DURATION.match(text.strip())
    if found:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[found[2]]
        return (now or _now()) - timedelta(**{unit: int(found[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AuditError(f"since {text[:40]!r} is neither a duration like 30m, 2h or 7d nor an ISO date like "
                         f"2026-11-29") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_now().tzinfo)
    try:
        return moment.astimezone(UTC)  # what the log holds; a zone past the first or last day cannot be
    except OverflowError:
        raise AuditError(f"since {text[:40]!r} lies outside the dates the audit log can hold; give a date from "
                         f"0001-01-02 to 9999-12-30, or a duration like 30m, 2h or 7d") from None


def _record(row: sa.Row) -> AuditRecord:
    m = row._mapping
    return AuditRecord(**{k: m[k] for k in AuditRecord.__dataclass_fields__})


class AuditLog:
    def __init__(self, live: LiveStore) -> None:
        self.live = live

    def record(self, *, actor: str, actor_kind: str, action: str, target: str = "", outcome: str = "ok",
               ip: str = "", detail: Mapping[str, Any] | None = None, at: datetime | None = None) -> None:
        """Append one record. ``outcome`` is ok, denied (not allowed) or failed (allowed, but it went wrong)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"an audit outcome is one of {', '.join(OUTCOMES)}, not {outcome!r}")
        if len(target) > MAX_TARGET:
            target = target[: MAX_TARGET - len(TRUNCATED)] + TRUNCATED
        with self.live.write() as conn:
            conn.execute(audit_table.insert().values(
                at=at or _now(), actor=actor[:64], actor_kind=actor_kind[:16], action=action[:64], target=target,
                outcome=outcome, ip=(ip or "")[:64], detail=bounded_detail(detail),
            ))

    def query(self, *, user: str | None = None, since: datetime | None = None, action: str | None = None,
              limit: int = 1000) -> list[AuditRecord]:
        """Records newest first: by one actor, since a moment, of one action (each optional)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise AuditError(f"limit must be from 1 to {MAX_LIMIT:,}, not {limit}")
        c = audit_table.c
        query = sa.select(audit_table)
        if user is not None:
            query = query.where(c.actor == user)
        if since is not None:
            query = query.where(c.at >= since)
        if action is not None:
            query = query.where(c.action == action)
        with self.live.read() as conn:
            rows = conn.execute(query.order_by(c.at.desc(), c.id.desc()).limit(limit)).all()
        return [_record(r) for r in rows]


class AuditThrottle:
    """At most one record per ``key`` in each ``window``: the records held back within it are counted, and
    the next record written for that key says how many in its detail (``"suppressed": n``).

    Kept in memory, per process: each server process writes its own record per window. At most ``max_keys``
    keys are remembered; past that the quiet ones (whose window has passed) are forgotten first, then the
    oldest, whose held-back count is then lost.

    >>> throttle = AuditThrottle(log)                                        # doctest: +SKIP
    >>> throttle.record(("chen", "/api/v1/users"), actor="chen", actor_kind="user", action="access.denied",
    ...                 target="/api/v1/users", outcome="denied")            # doctest: +SKIP
    True
    """

    def __init__(self, log: AuditLog, *, window: timedelta = timedelta(minutes=1), max_keys: int = 10_000,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.log = log
        self.window = window
        self.max_keys = max_keys
        self._clock = clock or (lambda: _now())
        self._seen: dict[tuple[str, ...], tuple[datetime, int]] = {}  # key: when last written, held back since
        self._lock = threading.Lock()

    def record(self, key: tuple[str, ...], *, detail: Mapping[str, Any] | None = None, **fields: Any) -> bool:
        """Write the record (``fields`` as :meth:`AuditLog.record` takes them) unless one with the same ``key``
        was written within the window; whether it was written."""
        at = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and at - seen[0] < self.window:
                self._seen[key] = (seen[0], seen[1] + 1)
                return False
            self._seen[key] = (at, 0)
            if len(self._seen) > self.max_keys:
                self._forget(at)
        held_back = seen[1] if seen is not None else 0
        if held_back:
            detail = {**(detail or {}), "suppressed": held_back}
        self.log.record(at=at, detail=detail, **fields)
        return True

    def _forget(self, at: datetime) -> None:
        quiet = [k for k, (when, held) in self._seen.items() if held == 0 and at - when >= self.window]
        for k in quiet:
            del self._seen[k]
        excess = len(self._seen) - self.max_keys
        if excess > 0:
            for k in sorted(self._seen, key=lambda k: self._seen[k][0])[:excess]:
                del self._seen[k]
