from __future__ import annotations

import gzip
import re

import pytest

from app import create_app
from layers.wire import decode


@pytest.fixture(scope="module")
def client(city_data):
    return create_app(city_data).server.test_client()


def test_the_buildings_layer_is_served_as_binary_and_gzipped_when_asked(client, city_data):
    plain = client.get("/api/layers/buildings.bin")
    assert plain.status_code == 200
    assert plain.mimetype == "application/vnd.city-twin.layer"
    _, meta = decode(plain.data)
    assert meta["count"] == len(city_data.buildings)
    packed = client.get("/api/layers/buildings.bin", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data)
    refused = client.get("/api/layers/buildings.bin", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


@pytest.mark.parametrize("name", ["districts", "land", "water", "population-r9", "population-r5"])
def test_every_published_layer_decodes(client, name):
    response = client.get(f"/api/layers/{name}.bin")
    assert response.status_code == 200
    arrays, _ = decode(response.data)
    assert len(arrays["positions"]) == 2 * int(arrays["starts"][-1])


def test_an_unknown_layer_is_a_404_naming_the_layers_there_are(client):
    response = client.get("/api/layers/traffic.bin")
    assert response.status_code == 404
    assert response.json["error"].startswith("no layer named 'traffic'; layers: buildings, districts, land")


def test_the_deck_gl_bundle_is_served_by_our_own_server(client):
    page = client.get("/").data.decode()
    src = re.search(r'<script src="(/vendor/deckgl/[^"]+/index.js)"', page)
    assert src, "the page does not load deck.gl from our own server"
    bundle = client.get(src.group(1))
    assert bundle.status_code == 200
    assert b"SolidPolygonLayer" in bundle.data
    assert re.search(rb'"9\.\d+\.\d+"', bundle.data), "the bundle is not a deck.gl 9.x build"
    assert client.get("/vendor/deckgl/0.0.0/index.js").status_code == 404


def test_the_page_names_no_outside_host(client):
    page = client.get("/").data.decode()
    assert re.findall(r'(?:src|href)="(https?://[^"]+)"', page) == []
