"""Exports mask a whole column the way the app masks one value."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cim.tables import Classification
from twin.permissions import Principal, mask
from views.table_export import mask_column


@given(st.lists(st.one_of(st.none(), st.text(max_size=24), st.integers(-10**9, 10**12))))
def test_a_masked_column_is_masked_as_each_of_its_values_would_be(values):
    guest = Principal.guest()
    expected = [None if v is None else mask(str(v), Classification.SENSITIVE, guest) for v in values]
    got = mask_column(pd.Series(values, dtype=object)).tolist()
    assert [None if pd.isna(g) else g for g in got] == expected


def test_a_phone_number_keeps_its_ends():
    assert mask_column(pd.Series(["138****5678", "27", None])).tolist()[:2] == ["138******78", "**"]
