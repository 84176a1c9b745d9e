"""Build the population layer for N residents: ours against an h3 loop plus a pandas groupby.

    python -m bench.layers --rows 13700000

Residents are N points around Wuhan, clustered like a city (a dense core and towns), made in the
same run for both sides. Ours: h3ronpy over whole arrays, one sort, parents by bit operations.
Baseline: ``h3.latlng_to_cell`` (int API, the fastest Python loop) per resident, a pandas groupby,
then ``h3.cell_to_parent`` per occupied cell and a groupby for each coarser resolution. Both must
give the same table, or the run fails.
"""

from __future__ import annotations

import argparse

import h3.api.basic_int as h3i
import numpy as np
import pandas as pd

from bench.common import best_of, report
from layers.population import DEFAULT_COARSER, DEFAULT_RESOLUTION, build_population_layer


def residents(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` resident locations: 70 % in a 6 km core around 龙王庙, 30 % in towns up to 40 km out."""
    rng = np.random.default_rng(seed)
    core = rng.random(n) < 0.7
    towns = rng.normal([114.30, 30.58], 0.12, size=(24, 2))
    centre = np.where(core[:, None], np.array([114.29, 30.58]), towns[rng.integers(0, 24, n)])
    spread = np.where(core, 0.06, 0.02)[:, None]
    xy = centre + rng.normal(0, 1, size=(n, 2)) * spread
    return xy[:, 0], xy[:, 1]


def baseline_layer(lon: np.ndarray, lat: np.ndarray, resolution: int, coarser: tuple[int, ...]) -> pd.DataFrame:
    cells = [h3i.latlng_to_cell(y, x, resolution) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]
    fine = pd.Series(cells, dtype="uint64").value_counts().sort_index()
    parts = [pd.DataFrame({"resolution": resolution, "cell": fine.index, "residents": fine.to_numpy()})]
    for res in sorted(coarser, reverse=True):
        parents = [h3i.cell_to_parent(int(c), res) for c in fine.index]
        rolled = pd.Series(fine.to_numpy()).groupby(pd.Series(parents, dtype="uint64")).sum()
        parts.append(pd.DataFrame({"resolution": res, "cell": rolled.index, "residents": rolled.to_numpy()}))
    table = pd.concat(parts, ignore_index=True)
    return table.astype({"resolution": "int8", "cell": "uint64", "residents": "int64"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="residents to index (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours; the best counts (default 3)")
    args = parser.parse_args(argv)

    lon, lat = residents(args.rows)
    ours_s, layer = best_of(args.repeats, lambda: build_population_layer(lon, lat))
    base_s, base = best_of(1, lambda: baseline_layer(lon, lat, DEFAULT_RESOLUTION, DEFAULT_COARSER))
    ours_table = layer.table.sort_values(["resolution", "cell"]).reset_index(drop=True)
    base_table = base.sort_values(["resolution", "cell"]).reset_index(drop=True)
    if not ours_table.equals(base_table):
        raise SystemExit("the two population layers differ; the benchmark is void")
    report("population_layer_build", ours_s, "h3 int-API loop + pandas groupby", base_s, "s",
           rows=args.rows, cells_res9=int((ours_table["resolution"] == 9).sum()))
    report("population_layer_throughput", args.rows / ours_s / 1e6, "h3 int-API loop + pandas groupby",
           args.rows / base_s / 1e6, "M residents/s", rows=args.rows)


if __name__ == "__main__":
    main()
