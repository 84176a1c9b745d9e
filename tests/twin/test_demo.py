from __future__ import annotations

import json

import pandas as pd
import pytest

from twin import demo
from twin.city_data import load_city
from twin.demo import MANIFEST, build_demo
from twin.errors import NotFound, TwinError


def test_a_built_city_folder_holds_every_table_and_a_manifest(built_city_dir):
    names = sorted(p.name for p in built_city_dir.iterdir())
    assert names == sorted(
        [f"{t}.parquet" for t in demo.BOUNDARY_TABLES] + ["residents.parquet", "population_h3.parquet", MANIFEST]
    )
    manifest = json.loads((built_city_dir / MANIFEST).read_text())
    assert manifest["buildings"] == 4000
    assert manifest["residents"] == len(pd.read_parquet(built_city_dir / "residents.parquet", columns=["person_id"]))


def test_residents_keep_their_codes_as_dictionary_columns(built_city_dir):
    import pyarrow.parquet as pq

    schema = pq.read_schema(built_city_dir / "residents.parquet")
    assert str(schema.field("district_code").type).startswith("dictionary")


def test_loading_a_city_gives_buildings_with_details(city_data):
    details = city_data.building(0)
    assert details.address.startswith("湖北省武汉市")
    assert details.codes["building_code"] == details.code
    assert details.codes["district_code"] == details.code[:6]
    assert city_data.population.total == city_data.manifest["residents"]


def test_asking_for_a_building_that_does_not_exist_says_which_exist(city_data):
    with pytest.raises(NotFound, match="no building number 4000; this city has buildings 0 to 3999"):
        city_data.building(4000)


def test_loading_a_folder_that_is_not_a_city_says_how_to_build_one(tmp_path):
    with pytest.raises(TwinError, match=f"no built city at {tmp_path} .*twin demo build --out {tmp_path}"):
        load_city(tmp_path)


def test_a_failed_build_leaves_the_previous_city_untouched(tmp_path, monkeypatch):
    out = tmp_path / "city"
    build_demo(out, seed=1, buildings=300)
    before = (out / MANIFEST).read_text()

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(demo, "_write_tables", broken)
    with pytest.raises(OSError, match="disk full"):
        build_demo(out, seed=2, buildings=300)
    assert (out / MANIFEST).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city"]  # no temporary folder left behind


def test_a_manifest_that_is_not_an_object_is_refused(tmp_path):
    (tmp_path / MANIFEST).write_text("[1]")
    with pytest.raises(TwinError, match="holds format 'list', this version reads"):
        load_city(tmp_path)


def test_building_into_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(TwinError, match="exists and is not a demo city folder"):
        build_demo(tmp_path, buildings=10)
    assert (tmp_path / "notes.txt").read_text() == "mine"
