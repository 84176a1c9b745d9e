from __future__ import annotations

import gzip
import json
import re

import pytest

from layers.wire import decode
from tests.conftest import viewer_client
from twin.services import open_services
from twin.settings import load_settings


@pytest.fixture(scope="module")
def client(services):
    return viewer_client(services)


def test_the_layer_list_names_every_layer_with_versions_and_answers_304_when_unchanged(client, services):
    first = client.get("/api/v1/layers")
    assert first.status_code == 200
    ids = [layer["id"] for layer in first.json["layers"]]
    assert ids == list(services.layers.registry.ids)
    again = client.get("/api/v1/layers", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert first.headers["Cache-Control"] == again.headers["Cache-Control"] == "no-cache"


def test_answers_for_one_caller_are_never_kept_by_a_cache(client, services):
    code = str(services.store.read("buildings", columns=["code"])["code"].iloc[0])
    for url in ("/api/v1/me", f"/api/v1/units/{code}", "/api/v1/layers/buildings/features/0",
                f"/api/v1/layers/buildings/features?key={code}", "/api/v1/addresses/search?q=江汉区",
                "/api/v1/jobs", "/api/v1/store", "/api/v1/units/x"):
        answer = client.get(url)
        assert answer.mimetype == "application/json", url
        assert answer.headers["Cache-Control"] == "no-store", url


def test_a_layer_is_binary_gzipped_when_asked_and_304_with_its_version(client, services):
    plain = client.get("/api/v1/layers/buildings/data")
    assert plain.status_code == 200 and plain.mimetype == "application/vnd.city-twin.layer"
    _columns, meta = decode(plain.data)
    modelled = services.store.read("bim_models")["building_code"].nunique()  # drawn by their IFC models
    assert meta["count"] == services.store.require("buildings").rows - modelled and modelled == 3
    packed = client.get("/api/v1/layers/buildings/data", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] == f'"{meta["version"]}.gz"' and plain.headers["ETag"] == f'"{meta["version"]}"'
    cached = client.get("/api/v1/layers/buildings/data",
                        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert cached.status_code == 304 and cached.data == b""
    refused = client.get("/api/v1/layers/buildings/data", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


def test_a_values_message_is_a_fraction_of_the_whole_layer_and_revalidates_too(client):
    whole = client.get("/api/v1/layers/buildings/data")
    values = client.get("/api/v1/layers/buildings/values")
    _, meta = decode(values.data)
    assert meta["part"] == "values" and "origin" not in meta
    assert len(values.data) < len(whole.data) / 2
    again = client.get("/api/v1/layers/buildings/values", headers={"If-None-Match": values.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("variant", ["r6", "r7", "r8", "r9"])
def test_every_population_resolution_decodes_with_its_h3_cells(client, variant):
    columns, meta = decode(client.get(f"/api/v1/layers/population/data?variant={variant}").data)
    assert meta["resolution"] == int(variant[1:])
    assert columns["cell"].dtype.name == "uint64"
    assert len(columns["positions"]) == 2 * int(columns["starts"][-1])


def test_a_picked_feature_and_the_same_feature_by_its_key(client):
    version = decode(client.get("/api/v1/layers/buildings/data").data)[1]["version"]
    picked = client.get(f"/api/v1/layers/buildings/features/5?version={version}")
    assert picked.status_code == 200
    body = picked.json
    assert body["index"] == 5 and body["title"].endswith("栋") and len(body["codes"]) == 7
    found = client.get(f"/api/v1/layers/buildings/features?key={body['key']}")
    assert found.json == body
    stale = client.get("/api/v1/layers/buildings/features/5?version=0123456789abcdef")
    assert stale.status_code == 409 and "changed since the map drew it" in stale.json["error"]


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        ("/api/v1/layers/traffic/data", 404, "no layer named 'traffic'; layers: land, water"),
        ("/api/v1/layers/population/data?variant=r99", 404, "has no variant 'r99'"),
        ("/api/v1/layers/buildings/features/999999", 404, "has features 0 to 3996, not 999999"),
        ("/api/v1/layers/buildings/features", 400, "give the feature's key"),
        ("/api/v1/layers/water/features/0", 400, "layer 'water' has nothing to pick"),
        ("/api/v1/layers/buildings/data?variant=" + "x" * 200, 400, "longer than 100 characters"),
        ("/api/v1/jobs?limit=0", 400, "must be from 1 to 500, got 0"),
        ("/api/v1/jobs?limit=many", 400, "must be a whole number, got 'many'"),
        ("/api/v1/jobs/" + "f" * 32, 404, "no job 'ffff"),
        ("/api/v1/layers/population/features?key=ffffffffffffffffffff", 404, "has no feature 'ffffffffffff"),
        ("/api/v1/layers/population/features?key=-1", 404, "layer 'population' has no feature '-1'"),
    ],
)
def test_bad_requests_get_a_one_line_error_not_a_500(client, url, status, error):
    response = client.get(url)
    assert response.status_code == status
    assert error in response.json["error"] and "\n" not in response.json["error"]


def test_the_store_and_the_jobs_are_listed(client, services):
    store = client.get("/api/v1/store").json
    assert store["tables"]["buildings"]["rows"] == 4000
    assert client.get("/api/v1/jobs").json == {"jobs": [j.to_json() for j in services.jobs.recent(50)]}


def test_the_stream_starts_with_the_layers_as_they_are(city_dir):
    services = open_services(load_settings(data=city_dir))
    try:
        services.feed.poll()
        response = viewer_client(services).get("/api/v1/stream")
        assert response.mimetype == "text/event-stream"
        chunks = iter(response.response)
        assert next(chunks) in ("retry: 1000\n\n", b"retry: 1000\n\n")
        event = next(chunks)
        event = event.decode() if isinstance(event, bytes) else event
        topic, data = re.match(r"event: (\w+)\ndata: (.*)\n\n", event).groups()
        assert topic == "layers" and json.loads(data)["generation"] == 1
        response.close()
    finally:
        services.close()


def test_the_deck_gl_bundle_is_served_by_our_own_server_from_the_npm_install(client):
    page = client.get("/").data.decode()
    src = re.search(r'<script src="(/vendor/deckgl/npm-9\.[^"]+/dist.min.js)"', page)
    assert src, "the page does not load npm's deck.gl 9 from our own server (make setup installs it)"
    bundle = client.get(src.group(1), headers={"Accept-Encoding": "gzip"})
    assert bundle.status_code == 200 and bundle.headers["Content-Encoding"] == "gzip"
    assert b"SolidPolygonLayer" in gzip.decompress(bundle.data)
    assert client.get("/vendor/deckgl/npm-0.0.0/dist.min.js").status_code == 404


def test_without_the_npm_install_the_pydeck_copy_of_deck_gl_is_served(tmp_path):
    from views.vendor import deck_bundle

    bundle = deck_bundle(npm=tmp_path)
    assert bundle.source == "pydeck" and bundle.url.endswith("/index.js")
    assert b"SolidPolygonLayer" in bundle.path.read_bytes()


def test_the_page_names_no_outside_host(client):
    page = client.get("/").data.decode()
    assert re.findall(r'(?:src|href)="(https?://[^"]+)"', page) == []


def test_live_streams_are_capped_and_the_one_past_the_cap_is_told_to_poll(city_dir):
    services = open_services(load_settings(data=city_dir, max_streams=1))
    try:
        client = viewer_client(services)
        first = client.get("/api/v1/stream")
        assert first.status_code == 200
        second = client.get("/api/v1/stream")
        assert second.status_code == 503 and second.headers["Retry-After"] == "30"
        assert second.json["error"] == ("all 1 live streams are taken; poll /api/v1/layers instead, or close other "
                                        "tabs")
        next(iter(first.response))
        first.close()  # the stream gives its place back
        third = client.get("/api/v1/stream")
        assert third.status_code == 200
        third.close()
    finally:
        services.close()


def test_a_layer_the_store_cannot_make_is_a_one_line_error_and_an_empty_one_is_empty(city_dir):
    from twin.manifest import Source, now

    services = open_services(load_settings(data=city_dir))
    try:
        client = viewer_client(services)
        residents = services.store.read("residents").iloc[:0]
        services.store.write("residents", residents, writer="test",
                             sources=[Source(file="none", kind="residents", rows=0, time=now())])
        from twin.derived import DERIVATIONS

        population = DERIVATIONS[0].build(services.store, lambda *_: None)
        services.store.write("population_h3", population, writer="test", sources=[],
                             derived_from={"residents": services.store.require("residents").content_hash})
        empty = client.get("/api/v1/layers/population/data?variant=r8")
        assert empty.status_code == 200 and decode(empty.data)[1]["count"] == 0
    finally:
        services.close()


def test_a_unit_answers_with_its_trail_counts_and_the_units_below(client, services):
    code = str(services.store.read("streets", columns=["code"])["code"].iloc[0])
    answer = client.get(f"/api/v1/units/{code}")
    assert answer.status_code == 200
    body = answer.json
    assert [u["level"] for u in body["trail"]] == ["city", "district", "street"]
    assert body["unit"]["code"] == code and body["child_level"] == "community"
    assert all(c["code"].startswith(code) for c in body["children"])
    assert body["unit"]["counts"]["buildings"] == sum(c["counts"]["buildings"] for c in body["children"])
    missing = client.get("/api/v1/units/420103999")
    assert missing.status_code == 404
    assert missing.json["error"].startswith("the city has no street with code 420103999")
    assert client.get("/api/v1/units/" + "1" * 21).status_code == 400


def test_the_address_search_answers_a_match_or_candidates(client, services):
    plate = services.store.read("addresses").dropna(subset=["building_code"]).iloc[0]
    found = client.get("/api/v1/addresses/search", query_string={"q": plate["text"]})
    assert found.status_code == 200 and found.json["match"]["building_code"] == plate["building_code"]
    offered = client.get("/api/v1/addresses/search", query_string={"q": plate["compound_name"]})
    assert offered.json["match"] is None and offered.json["candidates"]
    empty = client.get("/api/v1/addresses/search?q=")
    assert empty.status_code == 400 and empty.json["error"].startswith("type an address to search for")
