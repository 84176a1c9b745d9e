from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import DEMO_SEED
from twin import demo
from twin.city_store import CityStore
from twin.demo import DEMO_TABLES, build_demo
from twin.errors import TwinError
from twin.manifest import Source, StoreError, now


def test_the_demo_city_writes_every_table_with_its_sources(city_store):
    manifest = city_store.manifest()
    models = ["bim_models", "bim_elements", "bim_spaces"]  # the demo's IFC buildings
    assert sorted(manifest.tables) == sorted([*DEMO_TABLES, "population_h3", *models])
    assert manifest.tables["buildings"].rows == 4000
    residents = manifest.tables["residents"]
    assert residents.rows == len(city_store.read("residents", columns=["person_id"]))
    assert residents.sources[0].file == "generated"
    assert residents.sources[0].note == "twin demo build --scale small --seed 3"
    assert residents.classification == "sensitive"
    assert manifest.tables["population_h3"].derived_from == {"residents": residents.content_hash}


def test_residents_keep_their_codes_as_dictionary_columns(city_store):
    schema = pq.read_schema(city_store.path_of(city_store.require("residents")))
    assert str(schema.field("district_code").type).startswith("dictionary")
    assert "building_index" not in schema.names  # a row number of another table is not a key


def test_the_population_layer_counts_every_resident(city_store):
    population = city_store.read("population_h3")
    totals = population.groupby("resolution")["residents"].sum()
    assert (totals == city_store.require("residents").rows).all()


def test_building_again_keeps_the_city_and_what_was_written_into_it(city_dir):
    store = CityStore.open(city_dir)
    residents = store.read("residents").iloc[:100]
    ingested = store.write("residents", residents, writer="an ingest",
                           sources=[Source(file="people.csv", kind="residents", rows=100, time=now())])
    result = build_demo(city_dir, seed=9, buildings=300)
    assert not result.built
    assert "kept the city already in" in result.summary() and "--force" in result.summary()
    assert store.require("residents") == ingested


def test_building_again_with_other_options_says_which_options_the_kept_city_was_made_with(city_dir):
    same = build_demo(city_dir, seed=DEMO_SEED, buildings=300)
    assert not same.built and same.made_with is None and "made with" not in same.summary()
    other = build_demo(city_dir, seed=DEMO_SEED + 1, buildings=300)
    assert not other.built
    assert other.made_with == f"--scale small --seed {DEMO_SEED} --buildings 300"
    assert f"it was made with --scale small --seed {DEMO_SEED} --buildings 300, not the options asked for" \
        in other.summary()
    assert CityStore.open(city_dir).require("buildings").rows == 300


def test_force_rebuilds_the_demo_tables_and_keeps_the_others_apart(city_dir):
    store = CityStore.open(city_dir)
    before = store.require("buildings")
    result = build_demo(city_dir, seed=9, buildings=250, force=True)
    assert result.built and result.buildings == 250
    assert store.require("buildings").content_hash != before.content_hash
    assert store.manifest().generation == 2


def test_a_failed_build_leaves_the_previous_city_untouched(city_dir, monkeypatch):
    store = CityStore.open(city_dir)
    before = store.manifest()
    files_before = sorted(p.relative_to(city_dir) for p in city_dir.rglob("*.parquet"))
    real_write = demo.CityStore.batch

    def failing_batch(self, writer):
        batch = real_write(self, writer)

        class Failing:
            def __enter__(self_inner):
                inner = batch.__enter__()
                original = inner.write

                def write(kind, *args, **kwargs):
                    if kind == "residents":
                        raise OSError("disk full")
                    return original(kind, *args, **kwargs)

                inner.write = write
                return inner

            def __exit__(self_inner, *exc):
                return batch.__exit__(*exc)

        return Failing()

    monkeypatch.setattr(demo.CityStore, "batch", failing_batch)
    with pytest.raises(OSError, match="disk full"):
        build_demo(city_dir, seed=2, buildings=300, force=True)
    assert store.manifest() == before
    assert sorted(p.relative_to(city_dir) for p in city_dir.rglob("*.parquet")) == files_before
    assert not [p for p in city_dir.rglob("*.tmp")]


def test_an_impossible_city_is_a_one_line_error(tmp_path):
    with pytest.raises(TwinError, match="cannot build the demo city: the city has room for"):
        build_demo(tmp_path / "c", buildings=10_000_000)


def test_building_into_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match=r"exists and is not a city store .* choose an empty or new folder"):
        build_demo(tmp_path, buildings=10)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_demo_residents_live_in_residential_buildings(city_store):
    residents = city_store.read("residents", columns=["building_code"])
    buildings = city_store.read("buildings", columns=["code", "use", "residents"])
    counted = residents["building_code"].astype(str).value_counts()
    merged = buildings.set_index("code")["residents"]
    assert (merged[counted.index] == counted).all()
    homes = set(buildings.loc[buildings["use"] == "residential", "code"])
    assert set(counted.index) <= homes
    assert isinstance(residents, pd.DataFrame)
