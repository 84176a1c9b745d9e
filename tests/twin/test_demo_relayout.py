"""Real districts ingested into a store holding the demo city lay the demo city out again inside them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from cim.ingest import IngestRequest
from cim.level_join import representative_points
from tests.conftest import DEMO_SEED
from twin.city_ingest import ingest_file
from twin.city_store import CityStore
from twin.demo import DemoOptions, demo_options


def _agreement(store: CityStore) -> float:
    b = store.read("buildings", columns=["district_code", "geometry"])
    points = gpd.GeoDataFrame({"claimed": b["district_code"].astype(str).to_numpy()},
                              geometry=representative_points(b.geometry.to_numpy()), crs="EPSG:4326")
    districts = store.read("districts", columns=["code", "geometry"])
    joined = gpd.sjoin(points, districts, predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    return float(np.mean(joined["claimed"].to_numpy() == joined["code"].astype(str).to_numpy()))


def test_the_store_remembers_how_its_demo_city_was_made(city_dir):
    assert demo_options(CityStore.open(city_dir)) == DemoOptions(seed=DEMO_SEED, scale="small", buildings=300)


def test_real_districts_lay_the_demo_city_out_again_inside_them(city_dir, shared_data):
    store = CityStore.open(city_dir)
    datav = shared_data / "geo" / "wuhan_420100_datav_districts_array.json"
    report = ingest_file(store, IngestRequest(kind="boundaries", path=datav, crs="gcj02"))
    assert any("was laid out again inside these districts" in w for w in report.warnings), report.warnings
    assert store.require("buildings").rows == 300
    assert store.require("districts").sources[0].file.endswith("wuhan_420100_datav_districts_array.json")
    assert _agreement(store) == 1.0  # every building stands in the district its code names
    assert demo_options(store) == DemoOptions(seed=DEMO_SEED, scale="small", buildings=300)


def test_ingested_data_is_never_replaced_by_a_new_layout(city_dir, shared_data, tmp_path):
    store = CityStore.open(city_dir)
    plates = store.read("addresses")
    path = tmp_path / "orgs.csv"
    school = {"名称": "武汉市第一测试学校", "类别": "school", "地址": plates["text"][0]}
    pd.DataFrame([school]).to_csv(path, index=False)
    ingest_file(store, IngestRequest(kind="organisations", path=path, mode="append"))
    buildings = store.require("buildings").content_hash
    central7 = shared_data / "geo" / "wuhan_central7_districts_gdp_CRS84.geojson"
    report = ingest_file(store, IngestRequest(kind="boundaries", path=central7))
    assert any("keeps its old layout" in w and "organisations" in w for w in report.warnings), report.warnings
    assert store.require("buildings").content_hash == buildings
    assert "武汉市第一测试学校" in store.read("organisations")["name"].tolist()


def test_the_new_layout_is_the_one_a_demo_build_makes_in_those_districts(city_dir, shared_data):
    from twin.demo import build_demo

    store = CityStore.open(city_dir)
    ingest_file(store, IngestRequest(kind="boundaries", crs="gcj02",
                                     path=shared_data / "geo" / "wuhan_420100_datav_districts_array.json"))
    laid_out = {kind: store.require(kind).content_hash for kind in ("buildings", "residents", "population_h3")}
    build_demo(city_dir, seed=DEMO_SEED, buildings=300, force=True)
    assert {kind: store.require(kind).content_hash for kind in laid_out} == laid_out


def _hashes(store: CityStore) -> dict[str, str]:
    return {e.kind: e.content_hash for e in store.manifest().tables.values()}


def test_a_layout_that_fails_to_write_leaves_the_old_districts_and_layout(city_dir, shared_data, monkeypatch):
    from twin.city_ingest import IngestFailed
    from twin.city_store import StoreBatch
    from twin.manifest import StoreError

    store = CityStore.open(city_dir)
    before = _hashes(store)
    write = StoreBatch.write

    def failing(self, kind, *args, **kwargs):
        if kind == "residents":  # halfway through the demo tables, after the districts and the buildings
            raise StoreError("the disk is full")
        return write(self, kind, *args, **kwargs)

    monkeypatch.setattr(StoreBatch, "write", failing)
    with pytest.raises(IngestFailed, match=r"wuhan_420100_datav_districts_array.json: the disk is full; nothing was "
                                           r"written$"):
        ingest_file(store, IngestRequest(kind="boundaries", crs="gcj02",
                                         path=shared_data / "geo" / "wuhan_420100_datav_districts_array.json"))
    assert _hashes(CityStore.open(city_dir)) == before
    named = {e.file for e in CityStore.open(city_dir).manifest().tables.values()}
    assert {p.relative_to(city_dir).as_posix() for p in (city_dir / "tables").rglob("*.parquet")} == named


def test_districts_the_demo_city_cannot_be_laid_out_in_are_refused_whole(city_dir, shared_data, monkeypatch):
    import twin.city_ingest
    from cim.demo_scale import DemoCityError
    from twin.city_ingest import IngestFailed

    def too_small(*args, **kwargs):
        raise DemoCityError("the districts hold room for 120 of the 300 buildings")

    monkeypatch.setattr(twin.city_ingest, "generate_city", too_small)
    store = CityStore.open(city_dir)
    before = _hashes(store)
    with pytest.raises(IngestFailed, match=r"the demo city in .* cannot be laid out again inside these districts \(the "
                                           r"districts hold room for 120 of the 300 buildings\); build it smaller "
                                           r"first \(twin demo build --force --buildings N --store .*\); nothing was "
                                           r"written$"):
        ingest_file(store, IngestRequest(kind="boundaries", crs="gcj02",
                                         path=shared_data / "geo" / "wuhan_420100_datav_districts_array.json"))
    assert _hashes(CityStore.open(city_dir)) == before
