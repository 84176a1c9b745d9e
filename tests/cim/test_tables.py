"""Table kinds check what is written into the store: every bad input beside the message it gets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cim.tables import KINDS, Classification, SchemaError, check_frame, kind_of


@pytest.fixture(scope="module")
def buildings(small_city):
    return small_city.buildings.head(20).reset_index(drop=True)


def test_the_demo_city_matches_every_kind(small_city):
    for name in ("districts", "streets", "communities", "grids", "compounds", "buildings", "water"):
        check_frame(KINDS[name], getattr(small_city, name), where=name)
    check_frame(KINDS["residents"], small_city.residents.drop(columns=["building_index"]), where="residents")


def _set(column, row, value):
    def change(frame):
        frame = frame.copy()
        if frame[column].dtype.kind in "iuf" and not isinstance(value, (int, float)):
            frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["floors"]), r"needs the columns \['floors'\], which are missing"),
        (lambda f: f.assign(floors=f["floors"].astype(float)), "column 'floors' of a buildings table must hold whole"),
        (_set("floors", 3, 0), "column 'floors' is 0 in row 3; it must be at least 1"),
        (lambda f: f.assign(floors=pd.array([None, *f["floors"][1:]], dtype="Int16")),
         "column 'floors' is empty in row 0"),
        (_set("use", 2, "farm"), r"column 'use' holds \['farm'\], not a building use; use one of: residential"),
        (lambda f: pd.concat([f, f.head(1)], ignore_index=True), "code '.*' appears twice \\(again in row 20\\)"),
        (_set("district_code", 0, "4201O6"), "column 'district_code' holds '4201O6', which is not a district code"),
        (_set("street_code", 0, "420199001"), "street_code '420199001' is not inside district_code"),
        (_set("height_m", 1, np.inf), "column 'height_m' is infinite in row 1"),
        (_set("lon", 4, 1140.0), "row 4 lies at lon 1140, lat .*outside WGS84 degrees"),
    ],
)
def test_a_bad_building_table_is_refused_naming_the_column_and_row(buildings, change, message):
    with pytest.raises(SchemaError, match=message):
        check_frame(KINDS["buildings"], change(buildings), where="the buildings table")


def test_a_table_without_shapes_where_shapes_belong_is_refused(buildings):
    with pytest.raises(SchemaError, match="must be a GeoDataFrame with a 'geometry' column"):
        check_frame(KINDS["buildings"], pd.DataFrame(buildings), where="b")


def test_classes_follow_the_columns():
    b = KINDS["buildings"]
    assert b.classification is Classification.PUBLIC
    assert b.class_of("residents") is Classification.INTERNAL
    assert b.class_of("address") is Classification.PUBLIC
    assert KINDS["residents"].classification is Classification.SENSITIVE


def test_an_unknown_kind_lists_the_kinds():
    with pytest.raises(SchemaError, match="no table kind 'rivers'; the kinds are: districts, streets"):
        kind_of("rivers")


def test_columns_a_kind_does_not_declare_are_refused_so_nothing_unclassified_is_stored(small_city):
    residents = small_city.residents.drop(columns=["building_index"]).head(5).assign(name="张三", id_card="4201")
    with pytest.raises(SchemaError, match=r"columns \['id_card', 'name'\] are not part of a residents table, so "
                                          r"they have no data class"):
        check_frame(KINDS["residents"], residents, where="the residents table")
