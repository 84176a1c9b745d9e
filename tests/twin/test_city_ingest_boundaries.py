"""Boundaries of a finer level ingested into a city that has the coarser ones: each must lie in the parent its
code names, and name a parent the city has; a unit that does not is refused in one line and writes nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cim.ingest import IngestRequest
from twin.city_ingest import ingest_file
from twin.city_store import CityStore
from twin.cli import main

DATAV = "wuhan_420100_datav_districts_array.json"


def _square(lon: float, lat: float, size: float = 0.005) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def _boundaries(tmp_path, name: str, units: list[tuple[str, str, list]]):
    """A GeoJSON file of units, each (name, code, ring)."""
    features = [{"type": "Feature", "properties": {"name": unit, "code": code},
                 "geometry": {"type": "Polygon", "coordinates": [ring]}} for unit, code, ring in units]
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


@pytest.fixture()
def store(tmp_path, shared_data) -> CityStore:
    """Wuhan's real districts and one street of 洪山区 (420111) around 114.40°E 30.50°N."""
    store = CityStore.open(tmp_path / "city", create=True)
    ingest_file(store, IngestRequest(kind="boundaries", crs="gcj02", path=shared_data / "geo" / DATAV))
    street = _boundaries(tmp_path, "street.geojson", [("关山街道", "420111009", _square(114.40, 30.50, 0.02))])
    ingest_file(store, IngestRequest(kind="boundaries", path=street))
    return store


def _ingest(store: CityStore, path) -> object:
    return CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(path), "--store", str(store.folder)])


@pytest.mark.parametrize(
    ("units", "message"),
    [
        # 114.40°E 30.50°N is in 洪山区 (420111), not in 江岸区 (420102), which the codes name
        ([("错位街道", "420102099", _square(114.40, 30.50)), ("又一街道", "420102098", _square(114.41, 30.51))],
         "error: outside.geojson: 错位街道 (420102099) lies outside its district 420102 (and 1 more); fix the codes "
         "or the shapes; nothing was written"),
        # inside 关山街道, but its code names street 420111099, which the city does not have
        ([("无主社区", "420111099001", _square(114.405, 30.505))],
         "error: outside.geojson: 无主社区 (420111099001) names street 420111099, which the city does not have; fix "
         "the codes or the shapes; nothing was written"),
    ],
)
def test_a_unit_outside_its_parent_or_naming_a_parent_the_city_lacks_is_refused_and_the_city_is_unchanged(
        store, tmp_path, units, message):
    before = (store.folder / "manifest.json").read_bytes()
    streets = store.read("streets")
    run = _ingest(store, _boundaries(tmp_path, "outside.geojson", units))
    assert (run.exit_code, run.stdout, run.stderr.splitlines()) == (2, "", [message])
    assert (store.folder / "manifest.json").read_bytes() == before
    assert not CityStore.open(store.folder).has("communities")
    assert CityStore.open(store.folder).read("streets").equals(streets)


def test_a_community_inside_the_street_its_code_names_is_ingested(store, tmp_path):
    run = _ingest(store, _boundaries(tmp_path, "community.geojson",
                                     [("关山社区", "420111009001", _square(114.405, 30.505))]))
    assert run.exit_code == 0, run.output
    communities = CityStore.open(store.folder).read("communities")
    assert communities[["code", "name", "district_code", "street_code"]].values.tolist() == [
        ["420111009001", "关山社区", "420111", "420111009"]]
