"""twin bim ingest from the command line: its JSON report, and a refusal that writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyproj import Transformer

from tests.bim.models import CRS, WUHAN_EN, Conversion, write_model
from tests.conftest import SHARED_DATA
from twin.city_store import CityStore

TWIN = str(Path(sys.executable).parent / "twin")
ROOT = Path(__file__).resolve().parents[2]
KEYS = ["building_id", "name", "schema", "georeference", "storeys", "spaces", "elements", "element_counts",
        "height_m", "footprint", "glb", "h3_cells", "codes", "city_building", "address", "warnings"]
#: the object issue 8 asks --json to print
ISSUE_KEYS = ["building_id", "schema", "georeference", "storeys", "spaces", "elements", "height_m", "footprint", "glb",
              "h3_cells", "warnings"]
ISSUE_GEOREFERENCE = ["method", "crs", "lon", "lat", "elevation", "warnings"]


def _run(*args: str) -> subprocess.CompletedProcess:
    # this checkout's code, whichever checkout the environment's editable install points at
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([TWIN, "bim", "ingest", *args], capture_output=True, text=True, timeout=300, env=env)


def test_json_names_the_building_where_it_stands_and_what_it_holds(city_dir):
    done = _run(str(SHARED_DATA / "ifc" / "Duplex_Architecture_IFC2x3.ifc"), "--anchor", "114.30,30.58",
                "--rotation", "15", "--store", str(city_dir), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == KEYS
    g = report["georeference"]
    assert g["method"] == "anchor" and (g["lon"], g["lat"], g["rotation"]) == (114.3, 30.58, 15.0)
    assert [s["name"] for s in report["storeys"]] == ["T/FDN", "Level 1", "Level 2", "Roof"]
    assert report["spaces"] == 21 and report["elements"] == 236 and report["footprint"]["type"] == "Polygon"
    assert report["codes"]["city_code"] == "420100" and report["h3_cells"]
    assert CityStore.open(city_dir).blob(report["glb"]).stat().st_size > 100_000


def test_a_model_placed_outside_the_city_is_refused_and_nothing_is_written(city_dir):
    before = CityStore.open(city_dir).manifest()
    blobs = sorted(p.name for p in (city_dir / "blobs").rglob("*.glb"))
    done = _run(str(SHARED_DATA / "ifc" / "geographic-referencing-gk.ifc"), "--store", str(city_dir), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: {SHARED_DATA / 'ifc' / 'geographic-referencing-gk.ifc'}: building Building is placed by its "
        f"IfcMapConversion at 49.09554 N, 8.43368 E, 8,525 km from Wuhan; pass --anchor LON,LAT to place it in "
        f"the city"]
    after = CityStore.open(city_dir).manifest()
    assert after.generation == before.generation and after.tables == before.tables
    assert sorted(p.name for p in (city_dir / "blobs").rglob("*.glb")) == blobs


def _bridge(folder: Path) -> tuple[Path, str]:
    path = write_model(folder / "bridge.ifc", schema="IFC4X3", holder="IfcBridge", site_ref=(114.30, 30.58))
    return path, (f"error: {path}: the model has no IfcBuilding (it holds IfcBridge); the twin places buildings, so "
                  f"infrastructure-only models are not ingested")


def _elsewhere(_folder: Path) -> tuple[Path, str]:
    path = SHARED_DATA / "ifc" / "geographic-referencing-gk.ifc"
    return path, (f"error: {path}: building Building is placed by its IfcMapConversion at 49.09554 N, 8.43368 E, "
                  f"8,525 km from Wuhan; pass --anchor LON,LAT to place it in the city")


@pytest.mark.parametrize("refused", [_bridge, _elsewhere], ids=["no IfcBuilding", "outside the city"])
@pytest.mark.parametrize("exists", [False, True], ids=["no folder", "empty folder"])
def test_a_refused_file_into_a_folder_with_no_city_leaves_nothing_behind(tmp_path, refused, exists):
    (tmp_path / "in").mkdir()
    path, error = refused(tmp_path / "in")
    folder = tmp_path / "out" / "city"
    if exists:
        folder.mkdir(parents=True)
    done = _run(str(path), "--store", str(folder), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [error]
    if exists:
        assert list(folder.iterdir()) == []  # no manifest, lock or live database
    else:
        assert not (tmp_path / "out").exists()


def test_json_for_one_building_is_the_object_the_issue_names(tmp_path):
    path = write_model(tmp_path / "one.ifc", conversion=Conversion(*WUHAN_EN, height=21.5), storey="1F")
    folder = tmp_path / "city"  # no city yet: the ingest makes one to write the model into
    done = _run(str(path), "--store", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == KEYS and set(ISSUE_KEYS) <= set(report) and "buildings" not in report
    g = report["georeference"]
    assert set(ISSUE_GEOREFERENCE) <= set(g)
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(*WUHAN_EN)
    assert (g["method"], g["crs"], g["elevation"], g["warnings"]) == ("map_conversion", CRS, 21.5, [])
    assert abs(g["lon"] - lon) < 1e-7 and abs(g["lat"] - lat) < 1e-7
    assert report["schema"] == "IFC4" and report["storeys"] == [{"name": "1F", "elevation": 0.0}]
    assert (report["spaces"], report["elements"], report["height_m"]) == (0, 1, 9.0)
    assert report["footprint"]["type"] == "Polygon" and len(report["footprint"]["coordinates"][0]) == 5
    assert report["h3_cells"] and all(isinstance(c, str) for c in report["h3_cells"])
    assert report["warnings"] == []
    city = CityStore.open(folder)
    assert city.read("bim_models")["model_id"].tolist() == [report["building_id"]]
    assert city.blob(report["glb"]).stat().st_size > 0


def test_json_for_several_buildings_is_the_first_one_with_every_one_under_buildings(tmp_path):
    path = write_model(tmp_path / "two.ifc", conversion=Conversion(*WUHAN_EN), buildings=2)
    done = _run(str(path), "--store", str(tmp_path / "city"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == [*KEYS, "buildings"]
    first, second = report["buildings"]
    assert list(first) == list(second) == KEYS and first == {k: report[k] for k in KEYS}
    assert first["building_id"] != second["building_id"] and first["glb"] != second["glb"]
    assert first["footprint"] != second["footprint"]
