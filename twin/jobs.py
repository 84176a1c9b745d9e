"""Job rows: what background work there is, how far it has got, and how it ended.

The task queue (``twin.job_queue``) carries only a job's id; the row in the live-state store is the
truth about the job. A worker claims a queued job by changing its status in one conditional update,
so a job delivered twice is claimed once. A running job beats its heartbeat; a job whose worker
stopped (its heartbeat went quiet, or its process is gone) is run again while it has attempts left,
and is otherwise marked failed with the reason, never silently lost. Every later write about a running
job names the worker that holds it: a worker that was given up on and comes back finds the job no
longer its own (:class:`JobLost`) and changes nothing.

A job may carry a ``key``: while a job with that key is queued or running, submitting the key again
returns that job instead of a new one. Once it has ended, the key may run again.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from twin.errors import NotFound
from twin.live_schema import jobs as jobs_table
from twin.live_store import LiveStore
from twin.manifest import now

#: A running job whose heartbeat is older than this is taken to have lost its worker.
STALE_AFTER = timedelta(seconds=30)
HEARTBEAT_EVERY_S = 5.0
#: A queued job whose message has not been picked up for this long is enqueued again (the queue may have lost it).
REQUEUE_AFTER = timedelta(minutes=2)


class JobLost(Exception):
    """The job is no longer this worker's: the sweeper gave it to another, or it has ended."""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def worker_id() -> str:
    """This process, as ``host:pid:random`` (the random part tells a reused pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _process_gone(worker: str | None) -> bool:
    """True when ``worker`` ran on this host in a process that no longer exists."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    title: str
    key: str | None
    status: JobStatus
    progress: float
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    max_attempts: int
    created_at: datetime
    enqueued_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    worker: str | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "status": str(self.status),
            "progress": round(self.progress, 4),
            "message": self.message,
            "params": self.params,
            "result": self.result,
            "error": self.error,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "heartbeat_at": iso(self.heartbeat_at),
        }


def _job(row: sa.Row) -> Job:
    m = row._mapping
    return Job(**{k: m[k] for k in Job.__dataclass_fields__} | {"status": JobStatus(m["status"])})


class JobStore:
    def __init__(self, live: LiveStore) -> None:
        self.live = live

    def create(
        self, kind: str, params: dict[str, Any], *, title: str, key: str | None = None, max_attempts: int = 2
    ) -> tuple[Job, bool]:
        """A new queued job, or the queued or running job with the same ``key`` (and False)."""
        if key is not None:
            existing = self.by_key(key)
            if existing is not None and existing.active:
                return existing, False
        moment = now()
        row = {
            "id": uuid.uuid4().hex, "kind": kind, "title": title, "key": key, "status": JobStatus.QUEUED.value,
            "progress": 0.0, "message": "waiting for a worker", "params": params, "result": None, "error": None,
            "attempts": 0, "max_attempts": max_attempts, "created_at": moment, "enqueued_at": moment,
            "started_at": None, "heartbeat_at": None, "finished_at": None, "worker": None,
        }
        try:
            with self.live.write() as conn:
                conn.execute(jobs_table.insert().values(**row))
        except sa.exc.IntegrityError:  # another process created the same key's job just now
            existing = self.by_key(key) if key is not None else None
            if existing is None or not existing.active:
                raise
            return existing, False
        return self.get(row["id"]), True

    def get(self, job_id: str) -> Job:
        with self.live.read() as conn:
            row = conn.execute(sa.select(jobs_table).where(jobs_table.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no job {job_id!r}; the recent jobs are listed at /api/v1/jobs")
        return _job(row)

    def by_key(self, key: str) -> Job | None:
        """The latest job with ``key`` (the active one, if there is one)."""
        c = jobs_table.c
        with self.live.read() as conn:
            row = conn.execute(
                sa.select(jobs_table).where(c.key == key)
                .order_by(c.status.in_([s.value for s in ACTIVE]).desc(), c.created_at.desc()).limit(1)
            ).first()
        return _job(row) if row is not None else None

    def recent(self, limit: int = 50) -> list[Job]:
        with self.live.read() as conn:
            rows = conn.execute(
                sa.select(jobs_table).order_by(jobs_table.c.created_at.desc(), jobs_table.c.id).limit(limit)
            ).all()
        return [_job(r) for r in rows]

    def active(self) -> list[Job]:
        with self.live.read() as conn:
            rows = conn.execute(
                sa.select(jobs_table).where(jobs_table.c.status.in_([s.value for s in ACTIVE]))
                .order_by(jobs_table.c.created_at)
            ).all()
        return [_job(r) for r in rows]

    def changed_since(self, moment: datetime) -> list[Job]:
        """Jobs that are active or ended after ``moment``."""
        c = jobs_table.c
        with self.live.read() as conn:
            rows = conn.execute(
                sa.select(jobs_table)
                .where(c.status.in_([s.value for s in ACTIVE]) | (c.finished_at >= moment))
                .order_by(c.created_at)
            ).all()
        return [_job(r) for r in rows]

    # --- a worker's moves ----------------------------------------------------------------------------------

    def claim(self, job_id: str, worker: str) -> Job | None:
        """Start a queued job; None when it is not queued (another worker has it, or it ended)."""
        moment = now()
        c = jobs_table.c
        with self.live.write() as conn:
            done = conn.execute(
                jobs_table.update()
                .where((c.id == job_id) & (c.status == JobStatus.QUEUED.value))
                .values(status=JobStatus.RUNNING.value, attempts=c.attempts + 1, started_at=moment,
                        heartbeat_at=moment, worker=worker, message="started", progress=0.0)
            )
        return self.get(job_id) if done.rowcount == 1 else None

    def report(self, job_id: str, worker: str, progress: float, message: str) -> bool:
        """Record progress; False when the job is no longer ``worker``'s (see :class:`JobLost`)."""
        return self._update_running(job_id, worker, progress=min(1.0, max(0.0, float(progress))),
                                    message=message[:2000], heartbeat_at=now())

    def heartbeat(self, job_id: str, worker: str) -> bool:
        return self._update_running(job_id, worker, heartbeat_at=now())

    def succeed(self, job_id: str, worker: str, result: dict[str, Any], message: str = "done") -> bool:
        return self._update_running(job_id, worker, status=JobStatus.SUCCEEDED.value, progress=1.0, message=message,
                                    result=result, finished_at=now())

    def fail(self, job_id: str, worker: str, error: str) -> bool:
        return self._update_running(job_id, worker, status=JobStatus.FAILED.value, message="failed",
                                    error=error[:2000], finished_at=now())

    def _update_running(self, job_id: str, worker: str, **values: Any) -> bool:
        c = jobs_table.c
        with self.live.write() as conn:
            done = conn.execute(
                jobs_table.update()
                .where((c.id == job_id) & (c.status == JobStatus.RUNNING.value) & (c.worker == worker))
                .values(**values)
            )
        return done.rowcount == 1

    # --- recovery ------------------------------------------------------------------------------------------

    def sweep(self) -> list[Job]:
        """Recover jobs whose worker stopped; returns the jobs to put on the queue again.

        A running job whose heartbeat went quiet, or whose process on this host is gone, goes back to
        the queue while it has attempts left and fails with the reason otherwise. A queued job that
        no worker has picked up for a while is enqueued again (a duplicate message is harmless: only
        one claim succeeds).
        """
        moment = now()
        c = jobs_table.c
        again: list[Job] = []
        with self.live.write() as conn:
            running = conn.execute(sa.select(jobs_table).where(c.status == JobStatus.RUNNING.value)).all()
            for row in running:
                job = _job(row)
                quiet = job.heartbeat_at is None or moment - job.heartbeat_at > STALE_AFTER
                if not (quiet or _process_gone(job.worker)):
                    continue
                if job.attempts < job.max_attempts:
                    conn.execute(
                        jobs_table.update().where((c.id == job.id) & (c.status == JobStatus.RUNNING.value)).values(
                            status=JobStatus.QUEUED.value, enqueued_at=moment, worker=None,
                            message=f"its worker stopped during attempt {job.attempts}; waiting to run it again",
                        )
                    )
                    again.append(job)
                else:
                    conn.execute(
                        jobs_table.update().where((c.id == job.id) & (c.status == JobStatus.RUNNING.value)).values(
                            status=JobStatus.FAILED.value, finished_at=moment, message="failed",
                            error=(f"interrupted: its worker stopped while running it, {job.attempts} time(s) of "
                                   f"{job.max_attempts}; submit it again"),
                        )
                    )
            lost = conn.execute(
                sa.select(jobs_table).where((c.status == JobStatus.QUEUED.value)
                                            & (c.enqueued_at < moment - REQUEUE_AFTER))
            ).all()
            for row in lost:
                conn.execute(jobs_table.update().where(c.id == row._mapping["id"]).values(enqueued_at=moment))
                again.append(_job(row))
        return again
