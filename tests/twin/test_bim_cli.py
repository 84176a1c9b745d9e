"""twin bim ingest from the command line: its JSON report, and a refusal that writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SHARED_DATA
from twin.city_store import CityStore

TWIN = str(Path(sys.executable).parent / "twin")
KEYS = ["building_id", "name", "schema", "georeference", "storeys", "spaces", "elements", "element_counts",
        "height_m", "footprint", "glb", "h3_cells", "codes", "city_building", "address", "warnings"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TWIN, "bim", "ingest", *args], capture_output=True, text=True, timeout=300)


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
