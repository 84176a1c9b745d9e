"""The running twin's parts, built once from the settings and passed to whoever needs them.

``twin serve``, ``twin worker`` and the tests all assemble the same :class:`Services`: the city store,
the live-state store, jobs and their queue, the map's layers and the change feed. Nothing lives in a
module global.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from cim.tables import Classification
from layers.registry import city_layers
from layers.spec import LayerRegistry
from twin.address_search import AddressSearch
from twin.api_tokens import TokenStore
from twin.audit import AuditLog
from twin.bim_jobs import JOB_KIND as BIM_INGEST
from twin.bim_jobs import run_bim_ingest
from twin.change_feed import ChangeFeed
from twin.city_store import CityStore
from twin.derived import JOB_KIND as DERIVE
from twin.derived import run_derivation, schedule_stale
from twin.drill_down import DrillDown
from twin.job_queue import Handler, JobContext, JobQueue, JobRunner, Worker, make_huey
from twin.jobs import JobStore
from twin.layer_service import ClearedLayers, LayerService
from twin.live_store import LiveStore
from twin.sessions import SessionStore
from twin.settings import Settings
from twin.users import UserStore

log = logging.getLogger(__name__)
WARM_JOIN_S = 120.0  # longest wait on shutdown for the layers being built ahead of time

#: Every kind of background job, and its handler.
JOB_HANDLERS: dict[str, Handler] = {DERIVE: run_derivation, BIM_INGEST: run_bim_ingest}


@dataclass
class Services:
    settings: Settings
    store: CityStore
    live: LiveStore
    jobs: JobStore
    queue: JobQueue
    layers: LayerService
    feed: ChangeFeed
    drill: DrillDown
    search: AddressSearch
    cleared: ClearedLayers  # the layers as each clearance sees them; ``layers`` is the whole of them
    users: UserStore
    tokens: TokenStore
    sessions: SessionStore
    audit: AuditLog
    worker: Worker | None = None
    warming: threading.Thread | None = None

    def schedule_derived(self) -> None:
        """Submit rebuilds of derived tables whose inputs changed (once per change)."""
        schedule_stale(self.store, self.queue)

    def _warm(self) -> None:
        """Build the first view's layers before a browser asks for them."""
        try:
            for clearance in (Classification.PUBLIC, Classification.INTERNAL):  # a guest first, then staff
                layers = self.cleared[clearance]
                layers.warm([s.id for s in layers.registry if s.visible and s.min_zoom is None])
        except Exception:  # a layer that cannot be built says so when a browser asks for it
            log.warning("could not build the layers ahead of time", exc_info=True)
        for part in (self.drill, self.search):  # the side panel's counts and the address search box
            try:
                part.warm()
            except Exception:  # the panel says what is wrong when it is asked
                log.warning("could not prepare %s ahead of time", type(part).__name__, exc_info=True)

    def start(self, *, embedded_worker: bool) -> Services:
        """Start watching the store; with ``embedded_worker``, run the jobs in this process too."""
        if embedded_worker:
            self.worker = Worker(self.queue, threads=self.settings.worker_threads, embedded=True)
            self.worker.start()
        self.feed.start()
        self.warming = threading.Thread(target=self._warm, name="warm-layers", daemon=True)
        self.warming.start()
        return self

    def close(self) -> None:
        if self.warming is not None:  # a thread left inside pyarrow at exit aborts the process
            self.warming.join(timeout=WARM_JOIN_S)
        self.feed.stop()
        if self.worker is not None:
            self.worker.stop()
        self.live.dispose()


def open_services(settings: Settings, *, folder: Path | None = None, registry: LayerRegistry | None = None) -> Services:
    """Open the store at ``folder`` (default: the settings' data folder) and everything that works on it."""
    store = CityStore.open(folder or settings.data)
    live = LiveStore.open(settings.database_url, store.folder)
    jobs = JobStore(live)
    runner = JobRunner(JobContext(store=store, jobs=jobs), JOB_HANDLERS)
    huey = make_huey(settings.queue_url, store.folder, name=f"twin-{store.manifest().id[:12]}")
    queue = JobQueue(huey, jobs, runner)
    cleared = ClearedLayers(store, registry or city_layers())
    streams = settings.max_streams or max(1, settings.server_threads // 2)
    services = Services(settings, store, live, jobs, queue, cleared.whole,
                        ChangeFeed(cleared, jobs, max_streams=streams), DrillDown(store), AddressSearch(store),
                        cleared, UserStore(live), TokenStore(live), SessionStore(live), AuditLog(live))
    services.feed.on_store_change = services.schedule_derived
    return services
