"""The benchmarks still run and print one JSON line per comparison (their figures are not asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"bench", "ours", "baseline", "baseline_value", "unit", "ratio"}


def _run(*args: str) -> list[dict]:
    run = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    for line in lines:
        assert KEYS <= set(line), line
        assert line["ratio"] == pytest.approx(line["ours"] / line["baseline_value"], rel=2e-3)
    return lines


def test_bench_layers_prints_a_build_and_a_throughput_comparison():
    lines = _run("bench.layers", "--rows", "20000", "--repeats", "1")
    assert [line["bench"] for line in lines] == ["population_layer_build", "population_layer_throughput"]
    assert lines[0]["rows"] == 20000


@pytest.mark.e2e
def test_bench_app_compares_bytes_first_frame_and_a_live_update(built_city_dir, tmp_path):
    city = tmp_path / "city"
    shutil.copytree(built_city_dir, city)  # the live update writes to the store
    lines = _run("bench.app", "--data", str(city))
    assert [line["bench"] for line in lines] == [
        "app_layer_bytes", "app_layer_bytes_geoparquet", "app_page_bytes", "app_first_frame",
        "live_update_bytes", "live_update_ms"]
    assert all(line["buildings"] == 4000 for line in lines)
    assert "baseline_failed" not in lines[3]
    assert lines[0]["layers"] == ["land", "water", "districts", "streets", "roads", "buildings"]
    assert lines[4]["fetched"] == ["/api/v1/layers/buildings/values"]


def test_bench_districts_checks_the_demo_city_against_real_district_boundaries():
    lines = _run("bench.districts", "--scale", "small", "--buildings", "1500")
    assert [line["bench"] for line in lines] == ["district_agreement"]
    line = lines[0]
    assert line["buildings"] == 1500 and line["in_central7"] > 0
    assert line["ours"] == 1.0  # laid out in the real boundaries, every building's code names its district
    assert line["datav_vs_datav"] == 1.0
    assert line["baseline_value"] < 1.0  # the generator's own districts are not the real ones


def test_bench_bim_compares_the_ingest_and_the_conversion_with_the_bare_iterator():
    lines = _run("bench.bim", "--files", "IfcOpenHouse_IFC4.ifc", "--big-storeys", "2", "--threads", "1")
    assert [(line["bench"], line["file"]) for line in lines] == [
        ("bim_ingest", "IfcOpenHouse_IFC4.ifc"), ("bim_convert", "IfcOpenHouse_IFC4.ifc"),
        ("bim_ingest", "office_block.ifc"), ("bim_convert", "office_block.ifc")]
    assert [line["elements"] for line in lines[:2]] == [34, 34] and all(line["elements"] > 100 for line in lines[2:])
    assert all(line["unit"] == "s" and line["peak_mb"] > 0 and line["glb_mb"] > 0 for line in lines)
    # the whole ingest links the model to the city base: the generated block stands on no demo building here
    assert all("linked" in line for line in lines[::2]) and not any("linked" in line for line in lines[1::2])
