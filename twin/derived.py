"""Tables made from other tables, rebuilt as background jobs when their inputs change.

A :class:`Derivation` names its output kind, its input kinds and how to build it. The output's manifest
entry records the content hash of each input it was built from (``derived_from``); when it differs from
the inputs' hashes now, the output is stale and :func:`schedule_stale` submits a job to rebuild it. The
job's key carries the input hashes, so however many processes notice, one job at a time runs for the
same inputs; a job that failed is tried again after :data:`RETRY_FAILED_AFTER`. The rebuilt table is
committed only if its inputs are still the ones it was built from, so a slow job can never put an old
result over a newer one.

The population layer is the first: when the residents table changes, the residents are indexed on
H3 again, batch by batch with progress, while the app keeps serving the old layer until the new one
is committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from layers.population import PopulationCounter
from twin.city_store import CityStore, StoreConflict
from twin.errors import TwinError
from twin.job_queue import JobContext, JobQueue, Progress
from twin.jobs import Job, JobStatus
from twin.manifest import Source, now

JOB_KIND = "derive"
#: A rebuild that failed is submitted again after this long (not at once: it would likely fail again).
RETRY_FAILED_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Derivation:
    output: str
    inputs: tuple[str, ...]
    title: str
    build: Callable[[CityStore, Progress], pd.DataFrame]


def build_population(store: CityStore, progress: Progress) -> pd.DataFrame:
    """Residents per H3 cell at resolution 9, rolled up to 8-5, from the residents table in batches."""
    rows, batches = store.batches("residents", ["lon", "lat"])
    counter = PopulationCounter()
    done = 0
    progress(0.0, f"indexing {rows:,} residents on H3")
    for batch in batches:
        lon = batch.column("lon").to_numpy(zero_copy_only=False)
        lat = batch.column("lat").to_numpy(zero_copy_only=False)
        counter.add(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        done += len(lon)
        progress(0.9 * done / max(rows, 1), f"indexed {done:,} of {rows:,} residents on H3")
    progress(0.92, "rolling the cells up to resolutions 8 to 5")
    return counter.layer().table


DERIVATIONS: tuple[Derivation, ...] = (
    Derivation("population_h3", ("residents",), "rebuild the population layer from the residents", build_population),
)


def derivation(output: str) -> Derivation:
    for d in DERIVATIONS:
        if d.output == output:
            return d
    raise TwinError(f"no derived table {output!r}; derived tables: {', '.join(d.output for d in DERIVATIONS)}")


def input_hashes(store: CityStore, d: Derivation) -> dict[str, str] | None:
    """The current content hash of each input, or None while an input is missing."""
    manifest = store.manifest()
    hashes = {}
    for kind in d.inputs:
        entry = manifest.tables.get(kind)
        if entry is None:
            return None
        hashes[kind] = entry.content_hash
    return hashes


def is_stale(store: CityStore, d: Derivation) -> bool:
    inputs = input_hashes(store, d)
    if inputs is None:
        return False
    entry = store.entry(d.output)
    return entry is None or entry.derived_from != inputs


def job_key(d: Derivation, inputs: dict[str, str]) -> str:
    digest = hashlib.sha256("|".join(f"{k}:{v}" for k, v in sorted(inputs.items())).encode()).hexdigest()
    return f"derive:{d.output}:{digest[:20]}"


def schedule_stale(store: CityStore, queue: JobQueue) -> list[Job]:
    """Submit a rebuild for every stale derived table; returns the jobs that are (now) on their way."""
    submitted = []
    for d in DERIVATIONS:
        if not is_stale(store, d):
            continue
        inputs = input_hashes(store, d)
        assert inputs is not None
        key = job_key(d, inputs)
        last = queue.jobs.by_key(key)
        if last is not None and last.status is JobStatus.FAILED and last.finished_at is not None and (
                now() - last.finished_at < RETRY_FAILED_AFTER):
            continue  # it failed just now; its error is on the admin screen, and it is tried again later
        submitted.append(queue.submit(JOB_KIND, {"output": d.output, "inputs": inputs}, title=d.title, key=key))
    return submitted


def run_derivation(context: JobContext, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The job handler: rebuild one derived table, unless its inputs have moved on since the job was made."""
    d = derivation(str(params.get("output")))
    store = context.store
    wanted = params.get("inputs") or {}
    current = input_hashes(store, d)
    if current != wanted:
        progress(1.0, "skipped: the inputs changed again; a newer job rebuilds the table")
        return {"skipped": True, "reason": "superseded by newer inputs"}
    frame = d.build(store, progress)
    progress(0.96, f"writing the {d.output} table")
    sources = [Source(file=f"derived from {', '.join(d.inputs)}", kind=d.output, rows=len(frame), time=now(),
                      note=d.title)]
    try:
        entry = store.write(d.output, frame, sources=sources, writer=f"job {JOB_KIND}", derived_from=current,
                            expect=current)
    except StoreConflict:
        progress(1.0, "not written: the inputs changed while it was built; a newer job rebuilds the table")
        return {"skipped": True, "reason": "superseded by newer inputs"}
    progress(1.0, f"wrote {entry.rows:,} rows of {d.output}")
    return {"output": d.output, "rows": entry.rows, "content_hash": entry.content_hash}
