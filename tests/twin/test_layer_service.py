from __future__ import annotations

import threading

import numpy as np
import pytest

from layers.registry import city_layers
from layers.wire import decode
from twin.city_store import CityStore
from twin.errors import NotFound
from twin.layer_service import Conflict, LayerService
from twin.manifest import Source, now


@pytest.fixture
def service(city_dir):
    return LayerService(CityStore.open(city_dir), city_layers())


def _rewrite_buildings(store: CityStore, **columns) -> None:
    buildings = store.read("buildings").assign(**columns)
    store.write("buildings", buildings, writer="test",
                sources=[Source(file="b.parquet", kind="buildings", rows=len(buildings), time=now())])


def test_the_listing_names_every_layer_with_its_versions(service):
    listing = service.listing()
    assert [layer["id"] for layer in listing["layers"]] == list(service.registry.ids)
    population = next(layer for layer in listing["layers"] if layer["id"] == "population")
    assert sorted(population["versions"]) == ["r6", "r7", "r8", "r9"]


def test_new_values_on_the_same_shapes_move_the_version_but_not_the_geometry_version(service):
    spec = service.registry.get("buildings")
    before = service.versions(spec, None)
    _rewrite_buildings(service.store, floors=7)
    after = service.versions(spec, None)
    assert after[0] != before[0] and after[1] == before[1]
    streets = service.registry.get("streets")
    assert service.versions(streets, None) == service.versions(streets, None)  # untouched tables, same version


def test_a_message_is_built_once_and_follows_the_store(service):
    first = service.message("buildings")
    assert service.message("buildings") is first
    _rewrite_buildings(service.store, floors=7)
    second = service.message("buildings")
    assert second.version != first.version
    columns, meta = decode(second.plain)
    assert set(columns["floors"].tolist()) == {7} and meta["version"] == second.version


def test_many_requests_at_once_build_a_message_once(service, monkeypatch):
    calls = []
    spec = service.registry.get("water")
    real = spec.build
    monkeypatch.setattr(type(spec), "build", property(lambda self: (lambda t, v: calls.append(1) or real(t, v))),
                        raising=False)
    results = []
    threads = [threading.Thread(target=lambda: results.append(service.message("water"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1 and len(calls) == 1


def test_details_of_a_layer_that_changed_since_it_was_drawn_are_refused(service):
    version = service.message("buildings").version
    assert service.details("buildings", None, 0, version=version).layer == "buildings"
    _rewrite_buildings(service.store, floors=7)
    with pytest.raises(Conflict, match="layer 'buildings' changed since the map drew it"):
        service.details("buildings", None, 0, version=version)


def test_unknown_layers_variants_and_features_are_not_found(service):
    with pytest.raises(NotFound, match="no layer named 'traffic'; layers: land, water, population"):
        service.message("traffic")
    with pytest.raises(NotFound, match="has no variant 'r2'"):
        service.message("population", "r2")
    shown = 300 - len(service.store.read("bim_models"))  # less the buildings the demo's IFC models stand for
    with pytest.raises(NotFound, match=f"layer 'buildings' has features 0 to {shown - 1}, not 300"):
        service.details("buildings", None, 300)
    with pytest.raises(NotFound, match="layer 'buildings' has no feature 'x'"):
        service.find("buildings", None, "x")


def test_two_layers_make_their_shapes_at_the_same_time(service):
    """One layer's shapes must not wait for another's (functools.cached_property would make them)."""
    from layers.geometry import Rings
    from layers.spec import LayerData

    started = {name: threading.Event() for name in ("a", "b")}

    def shapes(me: str, other: str):
        def make() -> Rings:
            started[me].set()
            assert started[other].wait(5), f"{me} waited for {other}: shapes are made one layer at a time"
            return Rings(np.zeros((0, 2)), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return make

    a, b = LayerData(0, shapes("a", "b")), LayerData(0, shapes("b", "a"))
    errors = []
    threads = [threading.Thread(target=lambda d=d: errors.append(None) if d.rings.count == 0 else None)
               for d in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == [None, None]
