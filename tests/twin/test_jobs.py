"""Job rows on both backends: creation, one claim per job, progress, endings, and recovery."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from twin.errors import NotFound
from twin.jobs import STALE_AFTER, JobStatus, JobStore
from twin.live_schema import jobs as jobs_table
from twin.live_store import LiveStore
from twin.manifest import now


@pytest.fixture
def jobs(database_url, tmp_path):
    live = LiveStore.open(database_url, tmp_path)
    yield JobStore(live)
    live.dispose()


def test_a_new_job_is_queued_with_its_params(jobs):
    job, created = jobs.create("derive", {"output": "population_h3"}, title="rebuild")
    assert created and job.status is JobStatus.QUEUED and job.progress == 0.0
    assert jobs.get(job.id) == job
    assert job.to_json()["params"] == {"output": "population_h3"}


def test_a_key_has_one_active_job_and_may_run_again_once_it_ended(jobs):
    first, created = jobs.create("derive", {}, title="a", key="derive:x:1")
    again, created_again = jobs.create("derive", {}, title="b", key="derive:x:1")
    assert created and not created_again and again.id == first.id
    jobs.claim(first.id, "w")
    jobs.fail(first.id, "w", "the disk was full")
    retry, created_retry = jobs.create("derive", {}, title="c", key="derive:x:1")
    assert created_retry and retry.id != first.id
    assert jobs.by_key("derive:x:1").id == retry.id


def test_only_one_worker_claims_a_job(jobs):
    job, _ = jobs.create("derive", {}, title="t")
    first = jobs.claim(job.id, "host:1:a")
    second = jobs.claim(job.id, "host:2:b")
    assert first is not None and first.status is JobStatus.RUNNING and first.attempts == 1
    assert second is None


def test_progress_and_the_ending_are_kept(jobs):
    job, _ = jobs.create("derive", {}, title="t")
    jobs.claim(job.id, "w")
    assert jobs.report(job.id, "w", 1.7, "almost")
    assert jobs.get(job.id).progress == 1.0  # clamped
    assert jobs.succeed(job.id, "w", {"rows": 3}, "wrote 3 rows")
    done = jobs.get(job.id)
    assert (done.status, done.result, done.message) == (JobStatus.SUCCEEDED, {"rows": 3}, "wrote 3 rows")
    assert not jobs.report(job.id, "w", 0.1, "late")  # a report after the end changes nothing
    assert jobs.get(job.id).message == "wrote 3 rows"


def test_a_worker_that_was_given_up_on_cannot_end_the_job_of_the_worker_that_took_over(jobs):
    job, _ = jobs.create("derive", {}, title="t", max_attempts=3)
    jobs.claim(job.id, "slow:1:a")
    _age_heartbeat(jobs, job.id, STALE_AFTER * 2)
    assert [j.id for j in jobs.sweep()] == [job.id]
    jobs.claim(job.id, "fresh:2:b")
    assert not jobs.succeed(job.id, "slow:1:a", {"rows": 1})  # the old worker comes back: nothing changes
    assert not jobs.heartbeat(job.id, "slow:1:a")
    running = jobs.get(job.id)
    assert (running.status, running.worker, running.attempts) == (JobStatus.RUNNING, "fresh:2:b", 2)
    assert jobs.fail(job.id, "fresh:2:b", "broken")
    assert jobs.get(job.id).error == "broken"


def test_asking_for_an_unknown_job_says_where_the_jobs_are(jobs):
    with pytest.raises(NotFound, match="no job 'nope'; the recent jobs are listed at /api/v1/jobs"):
        jobs.get("nope")


def _age_heartbeat(jobs: JobStore, job_id: str, by: timedelta) -> None:
    with jobs.live.write() as conn:
        conn.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(heartbeat_at=now() - by))


def test_a_running_job_whose_heartbeat_went_quiet_runs_again(jobs):
    job, _ = jobs.create("derive", {}, title="t", max_attempts=2)
    jobs.claim(job.id, "elsewhere:1:x")
    _age_heartbeat(jobs, job.id, STALE_AFTER * 2)
    again = jobs.sweep()
    assert [j.id for j in again] == [job.id]
    requeued = jobs.get(job.id)
    assert requeued.status is JobStatus.QUEUED
    assert requeued.message == "its worker stopped during attempt 1; waiting to run it again"


def test_a_job_out_of_attempts_fails_with_the_reason(jobs):
    job, _ = jobs.create("derive", {}, title="t", max_attempts=1)
    jobs.claim(job.id, "elsewhere:1:x")
    _age_heartbeat(jobs, job.id, STALE_AFTER * 2)
    assert jobs.sweep() == []
    failed = jobs.get(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == "interrupted: its worker stopped while running it, 1 time(s) of 1; submit it again"


def test_a_job_whose_process_on_this_host_is_gone_is_recovered_at_once(jobs):
    import socket

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{ended.stdout.strip()}:abcdef"
    job, _ = jobs.create("derive", {}, title="t")
    jobs.claim(job.id, dead)
    assert [j.id for j in jobs.sweep()] == [job.id]


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(jobs):
    job, _ = jobs.create("derive", {}, title="t")
    jobs.claim(job.id, "elsewhere:1:x")
    assert jobs.sweep() == []
    assert jobs.get(job.id).status is JobStatus.RUNNING


def test_a_queued_job_nobody_picked_up_is_enqueued_again(jobs):
    job, _ = jobs.create("derive", {}, title="t")
    with jobs.live.write() as conn:
        conn.execute(jobs_table.update().values(enqueued_at=now() - timedelta(hours=1)))
    assert [j.id for j in jobs.sweep()] == [job.id]
    assert jobs.sweep() == []  # not again until it has waited once more


def test_recent_and_active_jobs(jobs):
    a, _ = jobs.create("derive", {}, title="a")
    b, _ = jobs.create("derive", {}, title="b")
    jobs.claim(b.id, "w")
    jobs.fail(b.id, "w", "broken")
    assert {j.id for j in jobs.active()} == {a.id}
    assert {j.id for j in jobs.recent(10)} == {a.id, b.id}
    assert {j.id for j in jobs.changed_since(now() - timedelta(minutes=1))} == {a.id, b.id}
    with jobs.live.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs_table)).scalar() == 2
