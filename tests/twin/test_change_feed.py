from __future__ import annotations

import threading

from layers.registry import city_layers
from twin.change_feed import ChangeFeed, sse
from twin.city_store import CityStore
from twin.layer_service import LayerService
from twin.manifest import Source, now


def test_a_listener_gets_each_topic_it_has_not_seen_and_waits_for_the_next(city_dir):
    feed = ChangeFeed(LayerService(CityStore.open(city_dir), city_layers()), None)
    feed.poll()
    seq, fresh = feed.wait(0, 0.1)
    assert list(fresh) == ["layers"] and fresh["layers"]["generation"] == 1
    assert feed.wait(seq, 0.05) == (seq, {})  # nothing new: the wait times out empty
    feed.publish("layers", fresh["layers"])
    assert feed.wait(seq, 0.05) == (seq, {})  # the same payload again is no news


def test_a_write_by_another_writer_reaches_waiting_listeners(city_dir):
    store = CityStore.open(city_dir)
    reacted = []
    feed = ChangeFeed(LayerService(store, city_layers()), None, interval_s=0.05,
                      on_store_change=lambda: reacted.append(1)).start()
    try:
        seq, _ = feed.wait(0, 0.1)
        got = {}

        def listen():
            got["seq"], got["fresh"] = feed.wait(seq, 10)

        listener = threading.Thread(target=listen)
        listener.start()
        water = CityStore(city_dir).read("water").assign(name=["长江", "汉江", "东湖"])
        CityStore(city_dir).write("water", water, writer="someone else",
                                  sources=[Source(file="w", kind="water", rows=3, time=now())])
        listener.join(10)
        assert got["fresh"]["layers"]["generation"] == 2
        assert len(reacted) == 2  # at start and after the write
    finally:
        feed.stop()


def test_an_event_is_one_sse_block():
    assert sse("jobs", {"a": "长江"}) == 'event: jobs\ndata: {"a":"长江"}\n\n'
