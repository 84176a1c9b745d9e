from __future__ import annotations

import numpy as np
import pytest

from cim.levels import CITY_CODE, CodeError, Level, code_at, codes_for, level_of

BUILDING = "42010600301204007002"


@pytest.mark.parametrize(
    ("code", "level"),
    [("420100", Level.CITY), ("420106", Level.DISTRICT), ("420106003", Level.STREET),
     ("420106003012", Level.COMMUNITY), ("42010600301204", Level.GRID), ("42010600301204007", Level.COMPOUND),
     (BUILDING, Level.BUILDING)],
)
def test_a_code_s_length_names_its_level(code, level):
    assert level_of(code) is level


@pytest.mark.parametrize(
    ("code", "message"),
    [("4201x6", "characters other than the digits 0-9"), ("４２０１０６", r"\(full-width digits too\)"),
     ("4201061", "has 7 digits; a level code has one of")],
)
def test_malformed_codes_are_refused_with_what_is_wrong(code, message):
    with pytest.raises(CodeError, match=message):
        level_of(code)


def test_a_building_code_holds_the_codes_of_every_level_above_it():
    assert codes_for(BUILDING) == {
        "city_code": CITY_CODE,
        "district_code": "420106",
        "street_code": "420106003",
        "community_code": "420106003012",
        "grid_code": "42010600301204",
        "compound_code": "42010600301204007",
        "building_code": BUILDING,
    }


def test_level_columns_match_codes_for_every_code():
    from cim.levels import level_columns

    codes = [BUILDING, "42011700100305001001"]
    columns = level_columns(np.array(codes), Level.BUILDING)
    for i, code in enumerate(codes):
        assert {name: str(values[i]) for name, values in columns.items()} == codes_for(code)


def test_asking_a_coarse_code_for_a_finer_level_is_refused():
    with pytest.raises(CodeError, match="is a street code; it has no grid code"):
        code_at("420106003", Level.GRID)
