"""Derived tables: the population layer is rebuilt as a job when the residents change."""

from __future__ import annotations

from twin.city_store import CityStore
from twin.derived import DERIVATIONS, is_stale, run_derivation, schedule_stale
from twin.job_queue import JobContext, JobQueue, JobRunner, Progress, make_huey
from twin.jobs import JobStatus, JobStore
from twin.live_store import LiveStore
from twin.manifest import Source, now
from twin.services import JOB_HANDLERS

POPULATION = DERIVATIONS[0]


def _fewer_residents(store: CityStore, keep: int) -> None:
    residents = store.read("residents").iloc[:keep]
    store.write("residents", residents, writer="test",
                sources=[Source(file="census.parquet", kind="residents", rows=keep, time=now())])


def test_a_fresh_demo_city_has_nothing_stale(city_dir):
    assert not is_stale(CityStore.open(city_dir), POPULATION)


def test_new_residents_rebuild_the_population_layer_once_as_a_job(city_dir):
    store = CityStore.open(city_dir)
    live = LiveStore.open(None, city_dir)
    try:
        jobs = JobStore(live)
        runner = JobRunner(JobContext(store=store, jobs=jobs), JOB_HANDLERS)
        queue = JobQueue(make_huey(None, city_dir, name="test-derived"), jobs, runner)
        _fewer_residents(store, 1000)
        assert is_stale(store, POPULATION)
        submitted = schedule_stale(store, queue)
        assert len(submitted) == 1 and submitted[0].title == "rebuild the population layer from the residents"
        assert [j.id for j in schedule_stale(store, queue)] == [submitted[0].id]  # noticed twice, one job
        runner.run(submitted[0].id)
        job = jobs.get(submitted[0].id)
        assert job.status is JobStatus.SUCCEEDED, job.error
        assert job.message.startswith("wrote ") and job.progress == 1.0
        population = store.read("population_h3")
        assert (population.groupby("resolution")["residents"].sum() == 1000).all()
        assert store.require("population_h3").derived_from == {"residents": store.require("residents").content_hash}
        assert not is_stale(store, POPULATION)
        assert schedule_stale(store, queue) == []
    finally:
        live.dispose()


def test_a_job_for_residents_that_changed_again_steps_aside(city_dir):
    store = CityStore.open(city_dir)
    live = LiveStore.open(None, city_dir)
    try:
        jobs = JobStore(live)
        job, _ = jobs.create("derive", {}, title="t")
        jobs.claim(job.id, "w")
        before = store.require("population_h3")
        result = run_derivation(JobContext(store, jobs), {"output": "population_h3", "inputs": {"residents": "old"}},
                                Progress(jobs, job.id, "w"))
        assert result == {"skipped": True, "reason": "superseded by newer inputs"}
        assert store.require("population_h3") == before
    finally:
        live.dispose()


def _parts(city_dir):
    store = CityStore.open(city_dir)
    live = LiveStore.open(None, city_dir)
    jobs = JobStore(live)
    runner = JobRunner(JobContext(store=store, jobs=jobs), JOB_HANDLERS)
    return store, live, jobs, runner, JobQueue(make_huey(None, city_dir, name="test-derived"), jobs, runner)


def test_going_back_to_earlier_residents_rebuilds_the_layer_again(city_dir):
    store, live, _jobs, runner, queue = _parts(city_dir)
    try:
        original = store.read("residents")
        for keep in (1000, 500):
            _fewer_residents(store, keep)
            runner.run(schedule_stale(store, queue)[0].id)
        store.write("residents", original.iloc[:1000], writer="test",
                    sources=[Source(file="census.parquet", kind="residents", rows=1000, time=now())])
        again = schedule_stale(store, queue)
        assert len(again) == 1  # the same inputs as the first job, which ended long ago: it runs again
        runner.run(again[0].id)
        assert (store.read("population_h3").groupby("resolution")["residents"].sum() == 1000).all()
        assert not is_stale(store, POPULATION)
    finally:
        live.dispose()


def test_a_failed_rebuild_is_not_resubmitted_at_once_but_later(city_dir, monkeypatch):
    from datetime import timedelta

    from twin import derived

    store, live, jobs, _runner, queue = _parts(city_dir)
    try:
        _fewer_residents(store, 800)
        job = schedule_stale(store, queue)[0]
        jobs.claim(job.id, "w")
        jobs.fail(job.id, "w", "out of memory")
        assert schedule_stale(store, queue) == []
        monkeypatch.setattr(derived, "RETRY_FAILED_AFTER", timedelta(0))
        retry = schedule_stale(store, queue)
        assert len(retry) == 1 and retry[0].id != job.id
    finally:
        live.dispose()


def test_a_rebuild_whose_inputs_change_while_it_runs_writes_nothing(city_dir, monkeypatch):
    from twin import derived

    store, live, jobs, runner, queue = _parts(city_dir)
    try:
        _fewer_residents(store, 700)
        job = schedule_stale(store, queue)[0]
        real = POPULATION.build

        def build_while_someone_writes(s, progress):
            table = real(s, progress)
            _fewer_residents(store, 600)  # new residents land while this job is still building
            return table

        monkeypatch.setattr(derived, "DERIVATIONS", (derived.Derivation(
            POPULATION.output, POPULATION.inputs, POPULATION.title, build_while_someone_writes),))
        before = store.require("population_h3")
        runner.run(job.id)
        assert jobs.get(job.id).result == {"skipped": True, "reason": "superseded by newer inputs"}
        assert store.require("population_h3") == before
    finally:
        live.dispose()
