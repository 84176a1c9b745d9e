"""Build the demo city into a data folder: base tables as GeoParquet, residents, the population layer.

The folder is written under a temporary name and renamed when complete, so an interrupted build
never leaves a half-written city where a good one was.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cim.synthetic import DemoCity, Scale, generate_city
from layers.population import build_population_layer
from twin.errors import TwinError

FORMAT = "city-twin/demo-city/1"
BOUNDARY_TABLES = ("districts", "streets", "communities", "grids", "compounds", "buildings", "water")
MANIFEST = "manifest.json"


def build_demo(
    out: Path,
    *,
    seed: int = 0,
    scale: Scale | str = Scale.SMALL,
    buildings: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Generate the demo city and write it to ``out``; returns the manifest."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TwinError(f"{out} is a file, not a folder; choose a folder for the city with --out")
    if out.exists() and not (out / MANIFEST).exists() and any(out.iterdir()):
        raise TwinError(
            f"{out} exists and is not a demo city folder (it has no {MANIFEST}); "
            f"choose an empty or new folder with --out"
        )
    started = time.perf_counter()
    progress(f"generating the {scale} demo city (seed {seed})")
    try:
        city = generate_city(seed, scale, buildings=buildings)
    except ValueError as exc:  # a city that cannot be made from these options: say why, no traceback
        raise TwinError(f"cannot build the demo city: {exc}") from None
    progress(f"indexing {len(city.residents):,} residents on H3, once per building")
    b = city.buildings
    population = build_population_layer(b["lon"].to_numpy(), b["lat"].to_numpy(), weights=b["residents"].to_numpy())

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        progress(f"writing to {out}")
        _write_tables(city, tmp)
        pq.write_table(pa.Table.from_pandas(population.table, preserve_index=False), tmp / "population_h3.parquet")
        manifest = _manifest(city, population.resolutions, time.perf_counter() - started)
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _write_tables(city: DemoCity, folder: Path) -> None:
    for name in BOUNDARY_TABLES:
        getattr(city, name).to_parquet(folder / f"{name}.parquet", index=False)
    table = pa.Table.from_pandas(city.residents, preserve_index=False)
    pq.write_table(table, folder / "residents.parquet", row_group_size=1_000_000)


def _manifest(city: DemoCity, resolutions: tuple[int, ...], seconds: float) -> dict:
    return {
        "format": FORMAT,
        "seed": city.seed,
        "buildings": len(city.buildings),
        "residents": len(city.residents),
        "counts": {name: len(getattr(city, name)) for name in BOUNDARY_TABLES},
        "population_resolutions": list(resolutions),
        "crs": "EPSG:4326",
        "build_seconds": round(seconds, 2),
    }


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` with ``tmp``: the old folder stays until the new one is in place."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old.exists():
            old.rename(out)  # put the previous city back
        raise
    shutil.rmtree(old, ignore_errors=True)
