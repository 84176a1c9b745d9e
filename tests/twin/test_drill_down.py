"""Drill-down through the seven levels: trails, counts from the tables themselves, the units below."""

from __future__ import annotations

import pandas as pd
import pytest

from cim.ingest import IngestRequest
from cim.levels import CITY_CODE, Level
from tests.cim.test_privacy import with_check
from twin.city_ingest import ingest_file
from twin.city_store import CityStore
from twin.drill_down import DrillDown, UnknownUnit
from twin.unit_counts import value_counts


@pytest.fixture(scope="module")
def store(built_city_dir) -> CityStore:
    return CityStore.open(built_city_dir)


@pytest.fixture(scope="module")
def drill(store) -> DrillDown:
    return DrillDown(store)


def test_the_city_lists_its_districts_and_their_counts_add_up(drill, store):
    view = drill.view(CITY_CODE)
    assert [u.name for u in view.trail] == ["武汉市"]
    districts = store.read("districts", columns=["code", "name"])
    assert [c.code for c in view.children] == sorted(districts["code"].astype(str))
    assert view.child_level is Level.DISTRICT and all(c.layer == "districts" for c in view.children)
    for field in ("buildings", "residents", "dwellings", "organisations"):
        assert sum(getattr(c.counts, field) for c in view.children) == getattr(view.unit.counts, field)
    assert view.unit.counts.buildings == store.require("buildings").rows
    assert view.unit.counts.residents == store.require("residents").rows


def test_each_level_counts_what_its_tables_hold(drill, store):
    residents = store.read("residents", columns=[lv.column for lv in Level])
    dwellings = store.read("dwellings", columns=["building_code", "street_code"])
    organisations = store.read("organisations", columns=["community_code"])
    buildings = store.read("buildings", columns=["code", "grid_code"])
    street = residents["street_code"].astype(str).value_counts().index[0]
    community = organisations["community_code"].astype(str).value_counts().index[0]
    grid = buildings["grid_code"].astype(str).value_counts().index[0]
    assert drill.view(street).unit.counts.residents == int((residents["street_code"].astype(str) == street).sum())
    assert drill.view(street).unit.counts.dwellings == int((dwellings["street_code"].astype(str) == street).sum())
    assert drill.view(community).unit.counts.organisations == int(
        (organisations["community_code"].astype(str) == community).sum())
    assert drill.view(grid).unit.counts.buildings == int((buildings["grid_code"].astype(str) == grid).sum())


def test_a_buildings_trail_names_all_seven_levels_from_the_boundary_tables(drill, store):
    building = store.read("buildings", columns=["code", "compound_name", "building_no", "street_code"]).iloc[7]
    view = drill.view(str(building["code"]))
    assert [u.level for u in view.trail] == list(Level)
    assert [u.code for u in view.trail] == [CITY_CODE] + [str(building["code"])[: lv.digits] for lv in Level
                                                          if lv is not Level.CITY]
    streets = store.read("streets", columns=["code", "name"]).set_index("code")["name"]
    assert view.trail[2].name == streets[str(building["street_code"])]
    assert view.unit.name == f"{building['compound_name']}{int(building['building_no'])}栋"
    assert view.children == () and view.child_level is None
    w, s, e, n = view.unit.bbox
    assert 0 < e - w < 0.01 and 0 < n - s < 0.01  # a building's box, not the city's
    # the units below a compound are its buildings, with their own counts
    compound = drill.view(view.trail[5].code)
    assert str(building["code"]) in [c.code for c in compound.children]
    assert all(c.code.startswith(compound.unit.code) and c.level is Level.BUILDING for c in compound.children)


def test_codes_the_city_does_not_have_are_refused_in_one_line(drill):
    with pytest.raises(UnknownUnit, match=r"^the city has no street with code 420103999; drill down from the city"):
        drill.view("420103999")
    with pytest.raises(UnknownUnit, match=r"level code '4201x' has characters other than the digits"):
        drill.view("4201x")


def test_an_ingest_of_residents_shows_in_the_counts_at_once(city_dir, tmp_path):
    store = CityStore.open(city_dir)
    drill = DrillDown(store)
    plate = store.read("addresses").dropna(subset=["building_code"]).iloc[0]
    code = str(plate["building_code"])
    before = drill.view(code).unit.counts.residents
    district_before = drill.view(code[:6]).unit.counts.residents
    path = tmp_path / "new.csv"
    pd.DataFrame({"身份证号": [with_check(f"42010219851212{i:03d}") for i in range(3)],
                  "地址": [plate["text"]] * 3}).to_csv(path, index=False)
    ingest_file(store, IngestRequest(kind="residents", path=path, mode="append"), salt_file=tmp_path / "salt")
    assert drill.view(code).unit.counts.residents == before + 3
    assert drill.view(code[:6]).unit.counts.residents == district_before + 3


def test_value_counts_reads_a_column_in_batches(store):
    counted = value_counts(store, "residents", "district_code")
    expected = store.read("residents", columns=["district_code"])["district_code"].astype(str).value_counts()
    assert counted.sort_index().to_dict() == expected.sort_index().to_dict()
