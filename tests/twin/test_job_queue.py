"""Jobs through the real task queue: Huey on SQLite (the default) and on the machine's Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from twin.city_store import CityStore
from twin.errors import TwinError
from twin.job_queue import JobContext, JobQueue, JobRunner, QueueError, Worker, make_huey
from twin.jobs import JobStatus, JobStore
from twin.live_store import LiveStore


def _wait(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("gave up waiting")


def _count(ctx, params, progress):
    for i in range(4):
        progress(i / 4, f"step {i + 1} of 4")
    return {"counted": params["n"]}


def _refuse(ctx, params, progress):
    raise TwinError("the residents table is empty; write residents first")


def _crash(ctx, params, progress):
    raise ZeroDivisionError("division by zero")


HANDLERS = {"count": _count, "refuse": _refuse, "crash": _crash}


@pytest.fixture
def parts(tmp_path, request):
    store = CityStore.open(tmp_path / "city", create=True)
    live = LiveStore.open(None, store.folder)
    jobs = JobStore(live)
    yield store, jobs
    live.dispose()


def _queue(store, jobs, url=None, handlers=HANDLERS):
    runner = JobRunner(JobContext(store=store, jobs=jobs), handlers)
    return JobQueue(make_huey(url, store.folder, name=f"test-{uuid.uuid4().hex[:8]}"), jobs, runner)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_submitted_job_runs_on_a_worker_and_reports_its_result(parts, backend, request):
    store, jobs = parts
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    queue = _queue(store, jobs, url)
    worker = Worker(queue, threads=2)
    worker.start()
    try:
        job = queue.submit("count", {"n": 7}, title="count to seven")
        _wait(lambda: jobs.get(job.id).status is JobStatus.SUCCEEDED)
    finally:
        worker.stop()
        queue.huey.flush()
    done = jobs.get(job.id)
    assert done.result == {"counted": 7} and done.progress == 1.0 and done.message == "step 4 of 4"
    assert done.attempts == 1 and done.worker == queue.runner.worker


def test_errors_for_users_and_bugs_end_the_job_differently(parts):
    store, jobs = parts
    runner = JobRunner(JobContext(store=store, jobs=jobs), HANDLERS)
    refused, _ = jobs.create("refuse", {}, title="r")
    crashed, _ = jobs.create("crash", {}, title="c")
    runner.run(refused.id)
    runner.run(crashed.id)
    assert jobs.get(refused.id).error == "the residents table is empty; write residents first"
    assert jobs.get(crashed.id).error == "internal error: ZeroDivisionError: division by zero"
    assert {jobs.get(refused.id).status, jobs.get(crashed.id).status} == {JobStatus.FAILED}


def test_a_job_delivered_twice_runs_once(parts):
    store, jobs = parts
    calls = []
    runner = JobRunner(JobContext(store=store, jobs=jobs), {"count": lambda c, p, g: calls.append(1) or {}})
    job, _ = jobs.create("count", {}, title="t")
    runner.run(job.id)
    runner.run(job.id)
    assert calls == [1]


def test_progress_can_be_read_while_the_job_runs(parts):
    store, jobs = parts
    halfway, finish = threading.Event(), threading.Event()

    def slow(ctx, params, progress):
        progress(0.5, "half of the residents indexed")
        halfway.set()
        finish.wait(10)
        return {}

    runner = JobRunner(JobContext(store=store, jobs=jobs), {"slow": slow})
    job, _ = jobs.create("slow", {}, title="t")
    thread = threading.Thread(target=runner.run, args=(job.id,))
    thread.start()
    assert halfway.wait(10)
    running = jobs.get(job.id)
    assert (running.status, running.progress, running.message) == (
        JobStatus.RUNNING, 0.5, "half of the residents indexed")
    finish.set()
    thread.join()
    assert jobs.get(job.id).status is JobStatus.SUCCEEDED


def test_submitting_a_kind_nobody_handles_is_refused(parts):
    store, jobs = parts
    with pytest.raises(QueueError, match=r"no jobs of kind 'paint'; known: \['count', 'crash', 'refuse'\]"):
        _queue(store, jobs).submit("paint", {}, title="t")


def test_an_unknown_queue_url_is_refused(tmp_path):
    with pytest.raises(QueueError, match=r"TWIN_QUEUE_URL='amqp://x' is neither redis://\.\.\. nor sqlite:///\.\.\."):
        make_huey("amqp://x", tmp_path)


WORKER_SCRIPT = textwrap.dedent("""
    import sys, time
    from twin.city_store import CityStore
    from twin.job_queue import JobContext, JobRunner
    from twin.jobs import JobStore
    from twin.live_store import LiveStore

    def slow(ctx, params, progress):
        progress(0.25, "a quarter done")
        time.sleep(120)
        return {}

    store = CityStore.open(sys.argv[1])
    jobs = JobStore(LiveStore.open(None, store.folder))
    JobRunner(JobContext(store=store, jobs=jobs), {"slow": slow}).run(sys.argv[2])
""")


def test_a_job_whose_worker_was_killed_runs_again_after_the_restart(parts, tmp_path):
    store, jobs = parts
    queue = _queue(store, jobs, handlers={"slow": lambda c, p, g: {"finished": True}})
    job, _ = jobs.create("slow", {}, title="slow job", max_attempts=2)
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script), str(store.folder), job.id])
    try:
        _wait(lambda: jobs.get(job.id).progress == 0.25)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert jobs.get(job.id).status is JobStatus.RUNNING  # what a killed worker leaves behind
    worker = Worker(queue, threads=1)
    worker.start()  # a new worker sweeps first: the dead process's job goes back on the queue
    try:
        _wait(lambda: jobs.get(job.id).status is JobStatus.SUCCEEDED)
    finally:
        worker.stop()
    done = jobs.get(job.id)
    assert done.attempts == 2 and done.result == {"finished": True}
