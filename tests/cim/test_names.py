from __future__ import annotations

import numpy as np

from cim.names import COMPOUND_SUFFIXES, STREET_SUFFIX, unique_names


def test_names_are_unique_even_when_the_stems_run_out():
    names = unique_names(np.random.default_rng(0), 3000, (STREET_SUFFIX,))
    assert len(set(names)) == 3000
    assert all(n.endswith("街道") for n in names)
    assert any("期" in n for n in names)  # more names than two-character stems: phases are numbered


def test_the_same_seed_gives_the_same_names():
    a = unique_names(np.random.default_rng(4), 50, COMPOUND_SUFFIXES)
    b = unique_names(np.random.default_rng(4), 50, COMPOUND_SUFFIXES)
    assert a == b
