"""The less common formats a city's files come in, ingested into a store: what lands in the table, shape by shape."""

from __future__ import annotations

import itertools
import json

import pandas as pd
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


def _ingest_the_three_roads(store, path, roads) -> dict:
    """Ingest ``path`` as roads; the three Optics Valley roads must land with their ids, classes and district."""
    report = ingest_file(store, IngestRequest(kind="roads", path=path))
    assert (report.table, report.features, report.crs_in) == ("roads", 3, "EPSG:4326")
    stored = _stored_roads(store)
    assert {name: row[:3] for name, row in stored.items()} == {
        "珞喻路": (f"road-{roads[0]['properties']['id']}", "trunk", "420111"),
        "民族大道": (f"road-{roads[1]['properties']['id']}", "primary", "420111"),
        "光谷街": (f"road-{roads[2]['properties']['id']}", "tertiary", "420111"),
    }
    return stored


def test_roads_from_a_quantized_topojson_land_with_their_names_classes_and_lines(store, tmp_path, roads):
    path = tmp_path / "roads.topojson"
    path.write_text(json.dumps(_quantized_topology(roads), ensure_ascii=False), encoding="utf-8")
    stored = _ingest_the_three_roads(store, path, roads)
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
    stored = _ingest_the_three_roads(store, path, roads)
    for feature in roads:
        line = stored[feature["properties"]["name"]][3]
        assert line.equals_exact(shapely.geometry.shape(feature["geometry"]), tolerance=1e-9)
    [source] = CityStore.open(store.folder).require("roads").sources
    assert source.note == "CSV, utf-8"


# --- OSM PBF ------------------------------------------------------------------------------------------------

#: A few blocks of Optics Valley (洪山区, around 114.40°E 30.50°N), written as an OSM extract is: nodes, ways,
#: one multipolygon relation.
B1 = (114.4000, 30.5000, 114.4004, 30.5004)  # building=yes, height=20; the café stands in it
B2 = (114.4010, 30.5000, 114.4014, 30.5004)  # building=apartments, building:levels=6
B3 = (114.4020, 30.5000, 114.4030, 30.5010)  # a school around a courtyard: a multipolygon relation
YARD = (114.4023, 30.5003, 114.4027, 30.5007)
GRASS = (114.4040, 30.5000, 114.4044, 30.5004)  # landuse=grass: no building
ROAD = [(114.4000, 30.4995), (114.4015, 30.4995), (114.4030, 30.4995)]


@pytest.fixture(scope="module")
def optics_valley_pbf(tmp_path_factory) -> object:
    import osmium  # in the dev extras: written here, read by GDAL's OSM driver as the ingest does
    from osmium.osm.mutable import Node, Relation, Way

    path = tmp_path_factory.mktemp("osm") / "optics_valley.osm.pbf"
    nodes: list = []

    def node(lon: float, lat: float, tags: dict | None = None) -> int:
        nodes.append(Node(id=len(nodes) + 1, location=(lon, lat), tags=tags or {}))
        return len(nodes)

    def ring(box: tuple) -> list[int]:
        x0, y0, x1, y1 = box
        corners = [node(x0, y0), node(x1, y0), node(x1, y1), node(x0, y1)]
        return [*corners, corners[0]]

    rings = {name: ring(box) for name, box in (("b1", B1), ("b2", B2), ("b3", B3), ("yard", YARD), ("grass", GRASS))}
    road = [node(x, y) for x, y in ROAD]
    node(114.4002, 30.5002, {"amenity": "cafe", "name": "光谷咖啡"})
    node(114.4050, 30.4990, {"shop": "convenience", "name": "便利店"})
    node(114.4008, 30.4996, {"highway": "street_lamp"})  # a tagged point that is no place of interest
    ways = [Way(id=101, nodes=rings["b1"], tags={"building": "yes", "height": "20"}),
            Way(id=102, nodes=rings["b2"], tags={"building": "apartments", "building:levels": "6"}),
            Way(id=103, nodes=rings["b3"], tags={}), Way(id=104, nodes=rings["yard"], tags={}),
            Way(id=105, nodes=rings["grass"], tags={"landuse": "grass"}),
            Way(id=106, nodes=road, tags={"highway": "residential", "name": "测试路"})]
    school = Relation(id=201, members=[("w", 103, "outer"), ("w", 104, "inner")],
                      tags={"type": "multipolygon", "building": "school", "name": "光谷小学"})
    writer = osmium.SimpleWriter(str(path))
    try:
        for n in nodes:
            writer.add_node(n)
        for w in ways:
            writer.add_way(w)
        writer.add_relation(school)
    finally:
        writer.close()
    return path


def _at_osm_precision(got: shapely.Geometry, drawn: shapely.Geometry) -> bool:
    """The same shape, every vertex within OSM's 1e-7° of where it was drawn (holes too)."""
    return got.hausdorff_distance(drawn) < 2e-7 and got.area == pytest.approx(drawn.area, rel=1e-4)


def test_buildings_roads_and_pois_of_an_osm_extract_of_wuhan_land_in_the_store(store, optics_valley_pbf):
    reports = {kind: ingest_file(store, IngestRequest(kind=kind, path=optics_valley_pbf))
               for kind in ("buildings", "roads", "pois")}
    assert {kind: (r.table, r.features, r.crs_in) for kind, r in reports.items()} == {
        "buildings": ("buildings", 3, "EPSG:4326"), "roads": ("roads", 1, "EPSG:4326"),
        "pois": ("pois", 2, "EPSG:4326")}
    city = CityStore.open(store.folder)

    buildings = city.read("buildings").sort_values("lon").reset_index(drop=True)  # B1, B2, B3 from the west
    assert buildings[["use", "height_m", "floors", "height_estimated"]].values.tolist() == [
        ["unknown", 20.0, 7, False], ["residential", 18.0, 6, True], ["public", 3.0, 1, True]]
    assert buildings["district_code"].astype(str).tolist() == ["420111"] * 3
    assert buildings["code"].str.len().eq(20).all() and buildings["code"].is_unique
    school = shapely.box(*B3).difference(shapely.box(*YARD))  # the courtyard kept open
    for got, drawn in zip(buildings.geometry, [shapely.box(*B1), shapely.box(*B2), school], strict=True):
        assert _at_osm_precision(got, drawn)

    [road] = city.read("roads").itertuples()
    assert (road.road_id, road.name, road.road_class, road.district_code) == ("road-106", "测试路", "residential",
                                                                              "420111")
    assert _at_osm_precision(road.geometry, shapely.LineString(ROAD))

    pois = city.read("pois").sort_values("name").reset_index(drop=True)
    assert pois[["name", "kind"]].values.tolist() == [["便利店", "shop"], ["光谷咖啡", "cafe"]]
    assert pd.isna(pois["building_code"][0]) and pois["building_code"][1] == buildings["code"][0]  # in B1
    assert _at_osm_precision(pois.geometry[1], shapely.Point(114.4002, 30.5002))
    assert [s.note for s in city.require("pois").sources] == ["OSM PBF"]
