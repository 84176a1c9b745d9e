"""What changed, for everyone watching: the store's layers and the jobs, pushed to server-sent event
streams (``/api/v1/stream``).

One watcher thread per server looks at the manifest four times a second (a ``stat`` when nothing
changed) and at the jobs twice a second. When the layers' versions or the jobs change it publishes a
new payload under a topic; each open stream waits on a condition and sends only topics it has not
seen. Other writers (a worker process, ``twin store put``, an ingest) need no channel to the server:
the manifest on disk is the news.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cim.tables import Classification
from twin.jobs import JobStore
from twin.layer_service import ClearedLayers, LayerService
from twin.manifest import now

log = logging.getLogger(__name__)
RECENT_JOBS = timedelta(minutes=2)


class ChangeFeed:
    def __init__(
        self,
        layers: LayerService | ClearedLayers,
        jobs: JobStore | None,
        *,
        interval_s: float = 0.25,
        on_store_change: Callable[[], None] | None = None,
        max_streams: int = 16,
    ) -> None:
        # one listing per clearance (topics layers.public, layers.internal, ...), or one for all (layers)
        if isinstance(layers, ClearedLayers):
            self.store = layers.whole.store
            self._listings = {f"layers.{c}": service for c, service in layers.items()}
        else:
            self.store = layers.store
            self._listings = {"layers": layers}
        self.jobs = jobs
        self.interval_s = interval_s
        self.on_store_change = on_store_change
        self._cond = threading.Condition()
        self._seq = 0
        self._topics: dict[str, tuple[int, Any]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._generation: int | None = None
        self._last_jobs_check = 0.0
        self._streams = threading.BoundedSemaphore(max_streams)
        self.max_streams = max_streams

    # --- publishing ----------------------------------------------------------------------------------------

    def publish(self, topic: str, payload: Any) -> None:
        with self._cond:
            old = self._topics.get(topic)
            if old is not None and old[1] == payload:
                return
            self._seq += 1
            self._topics[topic] = (self._seq, payload)
            self._cond.notify_all()

    def poll(self) -> None:
        """Look once at the store and the jobs, and publish what changed."""
        manifest = self.store.manifest()
        if manifest.generation != self._generation:
            for topic, service in self._listings.items():
                self.publish(topic, service.listing())
            self._generation = manifest.generation
            if self.on_store_change is not None:
                try:
                    self.on_store_change()
                except Exception:
                    log.warning("reacting to a store change failed", exc_info=True)
        moment = time.monotonic()
        if self.jobs is not None and moment - self._last_jobs_check >= 0.5:
            self._last_jobs_check = moment
            recent = self.jobs.changed_since(now() - RECENT_JOBS)
            self.publish("jobs", {"jobs": [j.to_json() for j in recent]})

    def events_for(self, clearance: Classification) -> dict[str, str]:
        """The topics a viewer cleared for ``clearance`` may follow, each with the event name it gets."""
        events = {f"layers.{clearance}": "layers"} if f"layers.{clearance}" in self._listings else {"layers": "layers"}
        if clearance.covers(Classification.INTERNAL):  # jobs name files and tables
            events["jobs"] = "jobs"
        return events

    def start(self) -> ChangeFeed:
        self.poll()
        self._thread = threading.Thread(target=self._run, name="change-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except Exception:
                log.warning("the change feed could not read the store; trying again", exc_info=True)

    # --- listening -----------------------------------------------------------------------------------------

    def open_stream(self) -> bool:
        """Take one of the live streams there may be at once; False when all are taken."""
        return self._streams.acquire(blocking=False)

    def close_stream(self) -> None:
        self._streams.release()

    def wait(self, seen: int, timeout_s: float) -> tuple[int, dict[str, Any]]:
        """Topics published after ``seen`` (waiting up to ``timeout_s`` for one), and the newest sequence."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seen or self._stop.is_set(), timeout=timeout_s)
            fresh = {topic: payload for topic, (seq, payload) in self._topics.items() if seq > seen}
            return self._seq, fresh

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


def sse(topic: str, payload: Any) -> str:
    """One server-sent event."""
    return f"event: {topic}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"
