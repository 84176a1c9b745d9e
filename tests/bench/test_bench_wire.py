"""bench.wire still runs against Arrow IPC in Chromium and prints its four comparisons (figures not asserted).

It needs apache-arrow, which `make setup` installs from the npm registry (package-lock.json): without it
the run, and so this test, fails with a message saying so (it is not skipped).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"bench", "ours", "baseline", "baseline_value", "unit", "ratio"}


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file() and p.name != ".lock"}


@pytest.mark.e2e
def test_bench_wire_compares_bytes_and_decode_time_with_arrow_ipc(built_city_dir):
    before = _files(built_city_dir)
    run = subprocess.run([sys.executable, "-m", "bench.wire", "--data", str(built_city_dir), "--timeout", "300"],
                         capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert run.returncode == 0, f"bench.wire failed (make setup installs apache-arrow):\n{run.stderr[-3000:]}"
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [line["bench"] for line in lines] == [
        "wire_bytes_buildings", "wire_bytes_population", "wire_decode_buildings", "wire_decode_population"]
    for line in lines:
        assert KEYS <= set(line), line
        assert line["ours"] > 0 and line["baseline_value"] > 0, line
        assert line["ratio"] == pytest.approx(line["ours"] / line["baseline_value"], rel=2e-3)
        assert line["baseline"] == f"Arrow IPC stream (apache-arrow JS {line['arrow_js']})"
    bytes_buildings, bytes_population, decode_buildings, decode_population = lines
    assert bytes_buildings["unit"] == "bytes" and decode_buildings["unit"] == "ms"
    assert bytes_buildings["rows"] == decode_buildings["rows"] == 3997  # 4,000 less the 3 drawn by their IFC models
    assert bytes_population["rows"] == decode_population["rows"] > 0
    assert bytes_population["columns"] == ["positions", "residents", "cell", "colour.residents"]
    for line in (bytes_buildings, bytes_population):
        assert line["ours_raw"] > line["ours"] and line["baseline_raw"] > line["baseline_value"]
    assert decode_buildings["arrays"]["height"] == 3997
    assert decode_population["arrays"]["cell"] == bytes_population["rows"]
    assert _files(built_city_dir) == before  # read only
