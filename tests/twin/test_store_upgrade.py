"""A city folder of the walking skeleton's format upgrades in place, or stays exactly as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layers.population import build_population_layer
from twin.city_store import CityStore
from twin.manifest import FORMAT, StoreError
from twin.store_upgrade import OLD_FORMAT, upgrade_store

TWIN = Path(sys.executable).parent / "twin"


def _old_city(small_city, folder: Path) -> Path:
    """A folder as `twin demo build` wrote it before the store: flat files and a manifest of counts."""
    folder.mkdir()
    for name in ("districts", "streets", "communities", "grids", "compounds", "buildings", "water"):
        frame = getattr(small_city, name)
        if name != "water":
            frame = frame.assign(level=name.removesuffix("s").replace("communitie", "community"))  # as format 1 had
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    pq.write_table(pa.Table.from_pandas(small_city.residents, preserve_index=False), folder / "residents.parquet")
    b = small_city.buildings
    layer = build_population_layer(b["lon"].to_numpy(), b["lat"].to_numpy(), weights=b["residents"].to_numpy())
    pq.write_table(pa.Table.from_pandas(layer.table, preserve_index=False), folder / "population_h3.parquet")
    (folder / "manifest.json").write_text(json.dumps({"format": OLD_FORMAT, "seed": 3, "buildings": len(b)}))
    return folder


def test_serving_an_old_folder_names_the_upgrade_command(small_city, tmp_path):
    old = _old_city(small_city, tmp_path / "old")
    with pytest.raises(StoreError, match=f"older format '{OLD_FORMAT}'.*twin store upgrade --store {old}"):
        CityStore.open(old)


def test_the_upgrade_keeps_every_table_and_its_rows(small_city, tmp_path):
    old = _old_city(small_city, tmp_path / "old")
    run = subprocess.run([str(TWIN), "store", "upgrade", "--store", str(old)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"upgraded {old} from '{OLD_FORMAT}' to '{FORMAT}' (9 tables)"
    store = CityStore.open(old)
    assert store.require("buildings").rows == len(small_city.buildings)
    assert store.require("residents").rows == len(small_city.residents)
    assert "building_index" not in store.read("residents").columns
    assert store.require("buildings").sources[0].note == "upgraded from city-twin/demo-city/1 (seed 3)"
    population = store.require("population_h3")
    assert population.derived_from == {"residents": store.require("residents").content_hash}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]  # no temporary folder left
    again = upgrade_store(old)
    assert again.summary() == f"{old} is already in the current format '{FORMAT}'; nothing to do"


def test_a_failed_upgrade_leaves_the_old_folder_as_it_was(small_city, tmp_path):
    old = _old_city(small_city, tmp_path / "old")
    (old / "water.parquet").write_bytes(b"broken")
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    with pytest.raises(StoreError, match=r"water\.parquet cannot be read"):
        upgrade_store(old)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]
