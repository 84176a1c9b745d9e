"""Background work on a maintained task queue: Huey, on SQLite in the city folder by default, on Redis
when ``TWIN_QUEUE_URL`` is ``redis://...``.

The queue carries job ids; job rows (``twin.jobs``) carry status, progress and results. ``twin serve``
runs an embedded worker (Huey's consumer on threads inside the server process) unless told the
workers run on their own (``twin worker``, as many processes as you like).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

from twin.city_store import CityStore
from twin.errors import TwinError
from twin.jobs import HEARTBEAT_EVERY_S, Job, JobLost, JobStore, worker_id

log = logging.getLogger(__name__)
QUEUE_DB = "queue.db"
TASK_NAME = "twin.run_job"
SWEEP_EVERY_S = 5.0


class QueueError(TwinError):
    """The task queue cannot be reached or is configured wrongly."""


class Progress:
    """Reports a job's progress to its row, at most every 0.2 s (and always the last word).

    Raises :class:`~twin.jobs.JobLost` when the job is no longer this worker's, which stops the handler.
    """

    def __init__(self, jobs: JobStore, job_id: str, worker: str, *, every_s: float = 0.2) -> None:
        self.jobs, self.job_id, self.worker, self.every_s = jobs, job_id, worker, every_s
        self._last = 0.0
        self.fraction = 0.0
        self.message = ""

    def __call__(self, fraction: float, message: str) -> None:
        self.fraction, self.message = fraction, message
        moment = time.monotonic()
        if fraction >= 1.0 or moment - self._last >= self.every_s:
            self._last = moment
            if not self.jobs.report(self.job_id, self.worker, fraction, message):
                raise JobLost(f"job {self.job_id} is no longer this worker's")


@dataclass(frozen=True)
class JobContext:
    """What a job handler may use."""

    store: CityStore
    jobs: JobStore


#: A job handler: does the work, reports progress, returns a JSON-able result.
Handler = Callable[[JobContext, dict[str, Any], Progress], dict[str, Any]]


class JobRunner:
    """Runs one job from its id: claim, heartbeat, handler, and the ending written to its row."""

    def __init__(self, context: JobContext, handlers: Mapping[str, Handler], *, worker: str | None = None) -> None:
        self.context = context
        self.handlers = dict(handlers)
        self.worker = worker or worker_id()

    def run(self, job_id: str) -> None:
        jobs = self.context.jobs
        job = jobs.claim(job_id, self.worker)
        if job is None:
            return  # another worker has it, or it has ended: a duplicate delivery
        handler = self.handlers.get(job.kind)
        if handler is None:
            known = sorted(self.handlers)
            jobs.fail(job_id, self.worker, f"no handler for jobs of kind {job.kind!r} in this worker; known: {known}")
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, stop), name=f"heartbeat-{job_id[:8]}", daemon=True)
        beat.start()
        progress = Progress(jobs, job_id, self.worker)
        try:
            result = handler(self.context, job.params, progress)
        except JobLost:
            ended = True  # another worker has it now: write nothing more
        except TwinError as exc:
            ended = jobs.fail(job_id, self.worker, str(exc))
        except Exception as exc:  # a bug: keep the job's story in its row and the traceback in the log
            log.error("job %s (%s) failed:\n%s", job_id, job.kind, traceback.format_exc())
            ended = jobs.fail(job_id, self.worker, f"internal error: {type(exc).__name__}: {exc}")
        else:
            ended = jobs.succeed(job_id, self.worker, result, message=progress.message or "done")
        finally:
            stop.set()
            beat.join(timeout=2)
        if not ended:
            log.warning("job %s was given to another worker while this one ran it; its ending is not recorded",
                        job_id)

    def _beat(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_EVERY_S):
            try:
                if not self.context.jobs.heartbeat(job_id, self.worker):
                    return  # no longer ours; the handler learns at its next report
            except Exception:  # a missed beat is retried at the next one
                log.warning("heartbeat of job %s failed", job_id, exc_info=True)


def make_huey(url: str | None, folder: Path, *, name: str = "twin") -> Huey:
    """Huey on SQLite in ``folder`` (the default) or on Redis; ``name`` keeps cities apart on one Redis."""
    if not url or url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///")) if url else Path(folder) / QUEUE_DB
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name=name, filename=str(path), results=False, timeout=30)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name=name, url=url, results=False)
    raise QueueError(
        f"TWIN_QUEUE_URL={url!r} is neither redis://... nor sqlite:///...; fix it, or unset it to queue jobs "
        f"in the city folder"
    )


class JobQueue:
    """Submit jobs; the queue delivers their ids to a worker's :class:`JobRunner`."""

    def __init__(self, huey: Huey, jobs: JobStore, runner: JobRunner) -> None:
        self.huey = huey
        self.jobs = jobs
        self.runner = runner
        self._task = huey.task(name=TASK_NAME)(runner.run)

    def describe(self) -> str:
        """Where the queue lives, for the admin screen (no password)."""
        storage = self.huey.storage
        if isinstance(self.huey, RedisHuey):
            kwargs = storage.conn.connection_pool.connection_kwargs
            return f"Redis {kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        return f"SQLite {getattr(storage, 'filename', '?')}"

    def submit(
        self, kind: str, params: dict[str, Any], *, title: str, key: str | None = None, max_attempts: int = 2
    ) -> Job:
        """Create the job's row and put it on the queue (once: a job with the same ``key`` is returned as is)."""
        if kind not in self.runner.handlers:
            raise QueueError(f"no jobs of kind {kind!r}; known: {sorted(self.runner.handlers)}")
        job, created = self.jobs.create(kind, params, title=title, key=key, max_attempts=max_attempts)
        if created:
            self.enqueue(job.id)
        return job

    def enqueue(self, job_id: str) -> None:
        try:
            self._task(job_id)
        except Exception as exc:  # the row stays queued; the sweeper enqueues it again later
            raise QueueError(
                f"could not put job {job_id} on the queue ({exc}); is the queue's server running?"
            ) from exc

    def sweep(self) -> list[Job]:
        """Recover jobs whose worker stopped, and put the ones to run again back on the queue."""
        again = self.jobs.sweep()
        for job in again:
            self.enqueue(job.id)
        return again


class _ThreadConsumer(Consumer):
    """Huey's consumer, run on threads inside another program: the program keeps its own signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass


class Worker:
    """Huey's consumer plus a sweeper (stale jobs) and a hook that runs every few seconds.

    ``embedded=True`` runs inside another program (``twin serve``); otherwise :meth:`run` takes the
    process's main thread and its signals (``twin worker``).
    """

    def __init__(
        self,
        queue: JobQueue,
        *,
        threads: int = 2,
        every: Callable[[], None] | None = None,
        embedded: bool = True,
    ) -> None:
        self.queue = queue
        cls = _ThreadConsumer if embedded else Consumer
        # max_delay: an idle SQLite queue is polled at least every 0.5 s, so a new job starts at once
        self.consumer = cls(queue.huey, workers=threads, worker_type="thread", periodic=False,
                            initial_delay=0.05, backoff=1.5, max_delay=0.5, check_worker_health=True)
        self.every = every
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the consumer and the sweeper on background threads."""
        self.queue.sweep()
        self.consumer.start()
        sweeper = threading.Thread(target=self._sweep_loop, name="job-sweeper", daemon=True)
        sweeper.start()
        self._threads.append(sweeper)

    def run(self) -> None:
        """Run in the foreground until interrupted (``twin worker``)."""
        self.queue.sweep()
        sweeper = threading.Thread(target=self._sweep_loop, name="job-sweeper", daemon=True)
        sweeper.start()
        try:
            self.consumer.run()
        finally:
            self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        self.consumer.stop(graceful=False)
        for t in self._threads:
            t.join(timeout=2)

    def _sweep_loop(self) -> None:
        while not self._stop.wait(SWEEP_EVERY_S):
            try:
                self.queue.sweep()
                if self.every is not None:
                    self.every()
            except Exception:
                log.warning("the job sweeper failed; trying again in %s s", SWEEP_EVERY_S, exc_info=True)
