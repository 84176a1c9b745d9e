from __future__ import annotations

import pytest

from cim.levels import Level
from layers.rollup import RollUpError, roll_up


@pytest.mark.parametrize("level", [Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID,
                                   Level.COMPOUND])
def test_rolling_buildings_up_any_level_keeps_every_resident_and_building(small_city, level):
    b = small_city.buildings
    table = roll_up(b, level, {"residents": "sum", "buildings": "count"})
    assert table["residents"].sum() == b["residents"].sum()
    assert table["buildings"].sum() == len(b)
    assert table[level.column].is_unique


def test_district_roll_up_matches_a_hand_count(small_city):
    b = small_city.buildings
    table = roll_up(b, Level.DISTRICT, {"residents": "sum"}).set_index("district_code")
    code = b["district_code"].iloc[0]
    assert table.loc[code, "residents"] == b.loc[b["district_code"] == code, "residents"].sum()


def test_residents_roll_up_by_their_own_codes(small_city):
    r = small_city.residents
    table = roll_up(r, Level.STREET, {"people": "count"})
    by_building = roll_up(small_city.buildings, Level.STREET, {"residents": "sum"})
    merged = by_building.merge(table, on="street_code", how="left").fillna(0)
    assert (merged["people"] == merged["residents"]).all()


def test_records_without_the_level_code_are_refused_with_the_rule():
    import pandas as pd

    with pytest.raises(RollUpError, match="no 'grid_code' column, so they cannot be rolled up to the grid level"):
        roll_up(pd.DataFrame({"x": [1]}), Level.GRID, {"x": "sum"})
