"""``twin cim ingest`` as a user runs it: what it prints (text and ``--json``), and what a refused file leaves."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cim.ingest import IngestRequest
from twin.city_ingest import IngestFailed, ingest_file
from twin.city_store import CityStore
from twin.cli import main

TWIN = Path(sys.executable).parent / "twin"
DATAV = "wuhan_420100_datav_districts_array.json"
TRUNCATED = ("error: broken.geojson is not valid JSON: Expecting property name enclosed in double quotes at line 1, "
             "column 2; the file looks cut short (truncated); nothing was written")


def _twin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TWIN), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.geojson"
    path.write_text("{not json", encoding="utf-8")
    return path


def test_a_refused_ingest_into_a_new_folder_creates_no_folder(tmp_path, broken):
    new = tmp_path / "new"
    run = _twin("cim", "ingest", "boundaries", str(broken), "--store", str(new))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [TRUNCATED]
    assert run.stdout == ""
    assert not new.exists()


def test_a_refused_ingest_into_new_nested_folders_creates_none_of_them(tmp_path, broken):
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(tmp_path / "a" / "b")])
    assert (run.exit_code, run.stderr.splitlines()) == (2, [TRUNCATED])
    assert not (tmp_path / "a").exists()


def test_a_refused_ingest_into_an_empty_folder_leaves_it_empty(tmp_path, broken):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(empty)])
    assert (run.exit_code, run.stderr.splitlines()) == (2, [TRUNCATED])
    assert list(empty.iterdir()) == []


def test_an_ingest_onto_a_file_is_refused_before_the_file_is_read(tmp_path, broken):
    target = tmp_path / "city.txt"
    target.write_text("keep me")
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(target)])
    assert (run.exit_code, run.stderr.splitlines()) == (
        2, [f"error: {target} is a file, not a city folder; choose a folder with --store; nothing was written"])
    assert target.read_text() == "keep me"


def test_a_good_file_into_a_new_folder_makes_the_store(tmp_path, shared_data):
    new = tmp_path / "new" / "city"
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(shared_data / "geo" / DATAV), "--crs", "gcj02",
                                    "--store", str(new)])
    assert run.exit_code == 0, run.output
    assert run.stdout == f"ingested 13 districts from {DATAV} (CRS gcj02)\n"
    store = CityStore.open(new)
    assert len(store.read("districts")) == 13
    assert [(s.file, s.crs_in, s.rows) for s in store.require("districts").sources] == [
        (str(shared_data / "geo" / DATAV), "gcj02", 13)]


def test_a_write_that_fails_in_a_new_folder_takes_the_new_store_back(tmp_path, shared_data, monkeypatch):
    from twin.city_store import StoreBatch
    from twin.manifest import StoreError

    def failing(self, kind, *args, **kwargs):
        raise StoreError("the disk is full")

    monkeypatch.setattr(StoreBatch, "write", failing)
    new = tmp_path / "new" / "city"
    with pytest.raises(IngestFailed, match=rf"^{shared_data / 'geo' / DATAV}: the disk is full; nothing was written$"):
        ingest_file(CityStore(new), IngestRequest(kind="boundaries", crs="gcj02", path=shared_data / "geo" / DATAV))
    assert not (tmp_path / "new").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestFailed, match="the disk is full"):
        ingest_file(CityStore(empty), IngestRequest(kind="boundaries", crs="gcj02", path=shared_data / "geo" / DATAV))
    assert list(empty.iterdir()) == []


# --- --json ---------------------------------------------------------------------------------------------------


def test_json_prints_one_object_with_the_report_of_the_ingest(tmp_path, shared_data):
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(shared_data / "geo" / DATAV), "--crs", "gcj02",
                                    "--store", str(tmp_path / "city"), "--json"])
    assert run.exit_code == 0, run.output
    assert run.stderr == ""  # no progress, no warnings outside the object
    lines = run.stdout.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert list(report) == ["kind", "table", "features", "crs_in", "bbox", "level", "warnings"]
    assert {k: report[k] for k in ("kind", "table", "features", "crs_in", "level")} == {
        "kind": "boundaries", "table": "districts", "features": 13, "crs_in": "gcj02", "level": "district"}
    bbox = report["bbox"]
    assert isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, float) for v in bbox)
    assert bbox == pytest.approx([113.6965, 29.9718, 115.0768, 31.3633], abs=1e-3)  # WGS84, Wuhan's 13 districts
    assert isinstance(report["warnings"], list) and all(isinstance(w, str) for w in report["warnings"])
    assert report["warnings"][0] == f"{DATAV} is a bare JSON array of 13 features, read as a FeatureCollection"


def test_json_of_points_names_the_finest_level_they_were_placed_at(city_dir, shared_data):
    cafes = shared_data / "geo" / "wuhan_cafes_awesome-cn-cafe.geojson"
    run = CliRunner().invoke(main, ["cim", "ingest", "pois", str(cafes), "--mode", "append", "--store", str(city_dir),
                                    "--json"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    assert (report["kind"], report["table"], report["features"], report["crs_in"], report["level"]) == (
        "pois", "pois", 5, "EPSG:4326", "building")
    assert report["bbox"] == [114.392807, 30.4425, 114.42, 30.509323]  # the five cafés, given in WGS84


def test_json_of_a_refused_file_is_one_error_line_and_no_object(tmp_path, broken):
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(tmp_path / "city"),
                                    "--json"])
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [TRUNCATED]
    assert not (tmp_path / "city").exists()


# --- OSM PBF ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["buildings", "roads", "pois"])
def test_an_osm_extract_of_another_city_is_read_and_refused_in_one_line(tmp_path, shared_data, kind):
    monaco = shared_data / "geo" / "monaco-latest.osm.pbf"
    run = CliRunner().invoke(main, ["cim", "ingest", kind, str(monaco), "--store", str(tmp_path / "city")])
    assert run.exit_code == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert re.fullmatch(
        r"error: monaco-latest.osm.pbf: read with its declared CRS EPSG:4326, its coordinates \(e.g. 7.4\d*, 43.7\d*\) "
        r"fall outside Wuhan, and no CRS in use around Wuhan puts them there: they lie around 7.42°E 43.7[34]°N, "
        r"8,931 km north-west of Wuhan; it looks like a file of another place: ingest one that covers Wuhan \(or, if "
        r"its numbers are not EPSG:4326, pass their CRS with --crs\); nothing was written", line), line
    assert not (tmp_path / "city").exists()


def test_an_osm_extract_of_another_city_leaves_a_city_as_it_was(city_dir, shared_data):
    before = (city_dir / "manifest.json").read_bytes()
    run = CliRunner().invoke(main, ["cim", "ingest", "buildings", str(shared_data / "geo" / "monaco-latest.osm.pbf"),
                                    "--store", str(city_dir), "--json"])
    assert (run.exit_code, run.stdout) == (2, "")
    assert "8,931 km north-west of Wuhan" in run.stderr and len(run.stderr.splitlines()) == 1
    assert (city_dir / "manifest.json").read_bytes() == before


def test_an_osm_file_is_refused_for_kinds_it_does_not_give(tmp_path, shared_data):
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(shared_data / "geo" / "monaco-latest.osm.pbf"),
                                    "--store", str(tmp_path / "city")])
    assert (run.exit_code, run.stderr.splitlines()) == (2, [
        "error: monaco-latest.osm.pbf: an OSM file gives buildings, roads, pois, not boundaries; nothing was written"])


# --- files missing what their kind needs ------------------------------------------------------------------------


@pytest.fixture
def city(built_city_dir, tmp_path, monkeypatch) -> Path:
    """A copy of the session's demo city to ingest into (a refused file must leave it as it was)."""
    import shutil

    monkeypatch.setenv("TWIN_SALT_FILE", str(tmp_path / "salt"))  # residents read the salt: none made in ~
    return Path(shutil.copytree(built_city_dir, tmp_path / "city"))


def _collection(*geometries: dict) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"甲{i}", "height": 12}, "geometry": g}
        for i, g in enumerate(geometries)]})


FOOTPRINT = {"type": "Polygon", "coordinates": [[[114.40, 30.50], [114.4004, 30.50], [114.4004, 30.5004],
                                                 [114.40, 30.5004], [114.40, 30.50]]]}


MISSING = [
    # empty shapes (an empty coordinates list, not null)
    ("buildings", "empty.geojson", _collection(FOOTPRINT, {"type": "Polygon", "coordinates": []}),
     "empty.geojson: feature 1 has no geometry (1 features in all); drop them or give them a shape"),
    ("roads", "empty_line.geojson", _collection({"type": "LineString", "coordinates": []}),
     "empty_line.geojson: feature 0 has no geometry (1 features in all); drop them or give them a shape"),
    # CSVs without the columns that place their rows
    ("pois", "pois.csv", "名称,类别\n光谷咖啡,cafe\n",
     "pois.csv: points of interest need coordinates (lon/lat columns or shapes)"),
    ("roads", "roads.csv", "名称,道路等级\n珞喻路,trunk\n",
     "roads.csv: roads need their lines; the file has no shapes (a CSV gives them in a WKT column: wkt, "
     "geometry, geom, the_geom ...)"),
    ("addresses", "门牌.csv", "地址\n湖北省武汉市洪山区珞喻路1号\n",
     "门牌.csv: standard addresses need their door plates' coordinates (lon/lat columns)"),
    ("addresses", "points.csv", "名称,lon,lat\n某处,114.40,30.50\n",
     "points.csv: standard addresses need an address column (one of address, 地址, 标准地址 ...)"),
    ("organisations", "单位.csv", "单位名称,职工人数\n某公司,3\n",
     "单位.csv: organisations need coordinates (lon/lat columns or shapes) or an address column (one of "
     "address, 地址, 标准地址 ...)"),
    # people files without a building code, address or coordinates (one column, or several)
    ("residents", "人口.csv", "姓名,电话\n张三,13812345678\n",
     "人口.csv: rows are placed by a building code, an address or coordinates, and it has none of them (its "
     "columns are ['姓名', '电话']); add a 楼栋编码, 地址 or lon/lat column"),
    ("residents", "names.csv", "姓名\n张三\n李四\n",
     "names.csv: rows are placed by a building code, an address or coordinates, and it has none of them (its "
     "columns are ['姓名']); add a 楼栋编码, 地址 or lon/lat column"),
]


@pytest.mark.parametrize(("kind", "name", "content", "message"), MISSING, ids=[f"{k}-{n}" for k, n, *_ in MISSING])
def test_a_file_missing_what_its_kind_needs_is_refused_in_one_line_and_writes_nothing(city, tmp_path, kind, name,
                                                                                       content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    before = (city / "manifest.json").read_bytes()
    run = CliRunner().invoke(main, ["cim", "ingest", kind, str(path), "--mode", "append", "--store", str(city)])
    assert (run.exit_code, run.stdout, run.stderr.splitlines()) == (2, "", [f"error: {message}; nothing was written"])
    assert (city / "manifest.json").read_bytes() == before
    assert not (city / "review").exists()


def test_dwellings_without_a_room_column_are_refused_in_one_line_and_write_nothing(city, tmp_path):
    code = CityStore.open(city).read("buildings")["code"].iloc[0]
    path = tmp_path / "房屋.csv"
    path.write_bytes(f"楼栋编码,单元,面积\n{code},1,88.5\n".encode("gbk"))
    before = (city / "manifest.json").read_bytes()
    run = CliRunner().invoke(main, ["cim", "ingest", "dwellings", str(path), "--mode", "append", "--store", str(city)])
    assert (run.exit_code, run.stdout, run.stderr.splitlines()) == (
        2, "", ["error: 房屋.csv: dwellings need a room column (one of room, 室, 房号 ...); nothing was written"])
    assert (city / "manifest.json").read_bytes() == before
