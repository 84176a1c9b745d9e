from __future__ import annotations

import pytest

from cim.vocabulary import BUILDING_USES, Term, UnknownTermError, Vocabulary


def test_indices_follow_the_order_of_the_terms():
    assert BUILDING_USES.index_of(["industrial", "residential", "public"]).tolist() == [2, 0, 3]


def test_an_unknown_value_is_named_with_the_known_ones():
    with pytest.raises(UnknownTermError, match=r"1 values are not a known building use, e.g. \['farm'\]; "
                                               r"use one of: residential, commercial, industrial, public"):
        BUILDING_USES.index_of(["residential", "farm"])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Term("住宅", "住宅", "home", (1, 2, 3)), "must be ASCII letters"),
        (lambda: Term("home", "住宅", "home", (1, 2, 300)), "must be three 0-255 values"),
        (lambda: Vocabulary("x", (Term("a", "a", "a", (0, 0, 0)), Term("a", "b", "b", (0, 0, 0)))), "repeats a code"),
    ],
)
def test_a_vocabulary_checks_itself(make, message):
    with pytest.raises(ValueError, match=message):
        make()
