"""bench.addresses still runs and prints its comparison with the exact dictionary (figures not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.addresses import KINDS

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"bench", "ours", "baseline", "baseline_value", "unit", "ratio"}


def test_bench_addresses_compares_matching_with_an_exact_dictionary():
    run = subprocess.run([sys.executable, "-m", "bench.addresses", "--scale", "small", "--queries", "2000"],
                         capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [line["bench"] for line in lines] == ["address_matching"]
    line = lines[0]
    assert KEYS <= set(line), line
    assert line["ratio"] == pytest.approx(line["ours"] / line["baseline_value"], rel=2e-3)
    assert line["unit"] == "addresses/s"
    assert (line["queries"], line["register"], line["scale"]) == (2000, 100_000, "small")
    for key in ("match_rate", "precision", "baseline_match_rate", "baseline_precision"):
        assert 0 <= line[key] <= 1, key
    assert set(line["kinds"]) == set(KINDS)
    assert sum(kind["share"] for kind in line["kinds"].values()) == pytest.approx(1, abs=1e-3)
    assert line["review"] == pytest.approx(2000 * (1 - line["match_rate"]), abs=1)  # every text ends somewhere
