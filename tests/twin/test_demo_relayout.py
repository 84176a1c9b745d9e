"""Real districts ingested into a store holding the demo city lay the demo city out again inside them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

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
