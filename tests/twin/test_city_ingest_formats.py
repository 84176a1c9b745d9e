"""The less common formats a city's files come in, ingested into a store: what lands in the table, shape by shape."""

from __future__ import annotations

import itertools
import json

import pytest
import shapely

from cim.ingest import IngestRequest
from twin.city_ingest import ingest_file
from twin.city_store import CityStore

DATAV = "wuhan_420100_datav_districts_array.json"


@pytest.fixture()
def store(tmp_path, shared_data) -> CityStore:
    """A store holding Wuhan's real districts only."""
    store = CityStore.open(tmp_path / "city", create=True)
    ingest_file(store, IngestRequest(kind="boundaries", crs="gcj02", path=shared_data / "geo" / DATAV))
    return store


@pytest.fixture(scope="module")
def roads(shared_data) -> list[dict]:
    """Three named roads of Optics Valley (洪山区): 珞喻路 trunk, 民族大道 primary, 光谷街 tertiary."""
    doc = json.loads((shared_data / "geo" / "wuhan_optics_valley_osm_roads.geojson").read_text(encoding="utf-8"))
    first = {}
    for feature in doc["features"]:
        if feature["geometry"]["type"] == "LineString":
            first.setdefault(feature["properties"].get("name"), feature)
    return [first[name] for name in ("珞喻路", "民族大道", "光谷街")]


def _stored_roads(store: CityStore) -> dict[str, tuple]:
    rows = CityStore.open(store.folder).read("roads")
    return {r.name: (r.road_id, r.road_class, r.district_code, r.geometry) for r in rows.itertuples()}


# --- TopoJSON -----------------------------------------------------------------------------------------------


def _quantized_topology(features: list[dict], *, steps: int = 1_000_000) -> dict:
    """A TopoJSON of LineStrings as GIS tools write it: one arc each, quantized and delta-encoded."""
    xs = [x for f in features for x, _ in f["geometry"]["coordinates"]]
    ys = [y for f in features for _, y in f["geometry"]["coordinates"]]
    scale = [(max(xs) - min(xs)) / (steps - 1), (max(ys) - min(ys)) / (steps - 1)]
    translate = [min(xs), min(ys)]
    arcs, geometries = [], []
    for i, feature in enumerate(features):
        grid = [(round((x - translate[0]) / scale[0]), round((y - translate[1]) / scale[1]))
                for x, y in feature["geometry"]["coordinates"]]
        arcs.append([list(grid[0])] + [[b[0] - a[0], b[1] - a[1]] for a, b in itertools.pairwise(grid)])
        geometries.append({"type": "LineString", "arcs": [i], "properties": feature["properties"]})
    return {"type": "Topology", "transform": {"scale": scale, "translate": translate}, "arcs": arcs,
            "objects": {"roads": {"type": "GeometryCollection", "geometries": geometries}}}


def test_roads_from_a_quantized_topojson_land_with_their_names_classes_and_lines(store, tmp_path, roads):
    path = tmp_path / "roads.topojson"
    path.write_text(json.dumps(_quantized_topology(roads), ensure_ascii=False), encoding="utf-8")
    report = ingest_file(store, IngestRequest(kind="roads", path=path))
    assert (report.table, report.features, report.crs_in) == ("roads", 3, "EPSG:4326")
    stored = _stored_roads(store)
    assert {name: row[:3] for name, row in stored.items()} == {
        "珞喻路": (f"road-{roads[0]['properties']['id']}", "trunk", "420111"),
        "民族大道": (f"road-{roads[1]['properties']['id']}", "primary", "420111"),
        "光谷街": (f"road-{roads[2]['properties']['id']}", "tertiary", "420111"),
    }
    for feature in roads:  # every vertex back where it was, to the quantization's step (well under a metre)
        line = stored[feature["properties"]["name"]][3]
        assert line.equals_exact(shapely.geometry.shape(feature["geometry"]), tolerance=1e-6)
    [source] = CityStore.open(store.folder).require("roads").sources
    assert (source.file, source.rows, source.note) == (str(path), 3, "TopoJSON, utf-8")


def test_buildings_sharing_an_edge_in_a_topojson_land_as_the_two_footprints(store, tmp_path):
    # two 0.0005° squares side by side near 114.40°E 30.50°N (洪山区); arc 0 is their common wall, drawn once
    # and walked backwards (~0, i.e. -1) by the second
    x0, x1, x2, y0, y1 = 114.4000, 114.4005, 114.4010, 30.5000, 30.5005
    topology = {"type": "Topology", "arcs": [
        [[x1, y0], [x1, y1]],
        [[x1, y1], [x0, y1], [x0, y0], [x1, y0]],
        [[x1, y1], [x2, y1], [x2, y0], [x1, y0]],
    ], "objects": {"buildings": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "arcs": [[1, 0]], "properties": {"id": "w1", "height": 24}},
        {"type": "Polygon", "arcs": [[2, -1]], "properties": {"id": "w2", "height": "15米"}},
    ]}}}
    path = tmp_path / "buildings.json"
    path.write_text(json.dumps(topology), encoding="utf-8")
    report = ingest_file(store, IngestRequest(kind="buildings", path=path))
    assert (report.table, report.features) == ("buildings", 2)
    stored = CityStore.open(store.folder).read("buildings").sort_values("height_m").reset_index(drop=True)
    assert stored["height_m"].tolist() == [15.0, 24.0]
    assert stored["district_code"].astype(str).tolist() == ["420111", "420111"]
    # the same shapes (GDAL keeps the joint of the arc walked backwards twice: a repeated vertex, still valid)
    assert stored.geometry[1].equals(shapely.box(x0, y0, x1, y1))
    assert stored.geometry[0].equals(shapely.box(x1, y0, x2, y1))
    assert shapely.is_valid(stored.geometry).all()
    assert stored.geometry[0].intersection(stored.geometry[1]).length == pytest.approx(y1 - y0)  # the shared wall


# --- CSV with a WKT column ----------------------------------------------------------------------------------


def test_roads_from_a_csv_with_a_wkt_column_land_with_their_exact_lines(store, tmp_path, roads):
    lines = "".join(f"{f['properties']['id']},{f['properties']['name']},{f['properties']['kind_detail']},"
                    f"\"{shapely.to_wkt(shapely.geometry.shape(f['geometry']), rounding_precision=-1)}\"\n"
                    for f in roads)
    path = tmp_path / "道路.csv"
    path.write_text("编号,名称,道路等级,wkt\n" + lines, encoding="utf-8")
    report = ingest_file(store, IngestRequest(kind="roads", path=path))
    assert (report.table, report.features, report.crs_in) == ("roads", 3, "EPSG:4326")
    stored = _stored_roads(store)
    assert {name: row[:3] for name, row in stored.items()} == {
        "珞喻路": (f"road-{roads[0]['properties']['id']}", "trunk", "420111"),
        "民族大道": (f"road-{roads[1]['properties']['id']}", "primary", "420111"),
        "光谷街": (f"road-{roads[2]['properties']['id']}", "tertiary", "420111"),
    }
    for feature in roads:
        line = stored[feature["properties"]["name"]][3]
        assert line.equals_exact(shapely.geometry.shape(feature["geometry"]), tolerance=1e-9)
    [source] = CityStore.open(store.folder).require("roads").sources
    assert source.note == "CSV, utf-8"
