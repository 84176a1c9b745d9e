from __future__ import annotations

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.cells import CellError, cells_resolution, cells_to_parents, cells_to_rings, points_to_cells


def _points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 113.7 + rng.random(n) * 1.4, 29.97 + rng.random(n) * 1.4


def test_points_go_to_the_same_cells_as_the_h3_library():
    lon, lat = _points(2000)
    ours = points_to_cells(lon, lat, 9)
    theirs = [h3.str_to_int(h3.latlng_to_cell(a, b, 9)) for a, b in zip(lat, lon, strict=True)]
    assert ours.dtype == np.uint64
    assert ours.tolist() == theirs


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-85, 85), lon=st.floats(-179.9, 179.9), fine=st.integers(1, 15), data=st.data(),
)
def test_parents_by_bit_operations_match_the_h3_library(lat, lon, fine, data):
    coarse = data.draw(st.integers(0, fine))
    cell = h3.latlng_to_cell(lat, lon, fine)
    ours = cells_to_parents(np.array([h3.str_to_int(cell)], dtype=np.uint64), coarse)
    assert ours.tolist() == [h3.str_to_int(h3.cell_to_parent(cell, coarse))]
    assert cells_resolution(ours).tolist() == [coarse]


def test_rings_are_closed_hexagons_matching_the_h3_boundary():
    lon, lat = _points(5)
    cells = points_to_cells(lon, lat, 8)
    coords, starts = cells_to_rings(cells)
    assert starts.tolist() == [0, 7, 14, 21, 28, 35]
    for i, cell in enumerate(cells):
        ring = coords[starts[i] : starts[i + 1]]
        assert (ring[0] == ring[-1]).all()
        boundary = np.array(h3.cell_to_boundary(h3.int_to_str(int(cell))))[:, ::-1]  # (lat, lng) -> (lon, lat)
        assert {tuple(np.round(p, 9)) for p in ring[:-1]} == {tuple(np.round(p, 9)) for p in boundary}


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        ([114.3, np.nan], [30.5, 30.6], "1 points have no valid lon/lat, the first at position 1: lon=nan"),
        ([114.3, 114.3, 200.0], [30.5, 30.6, 30.6], "the first at position 2: lon=200.0"),
        ([114.3], [30.5, 30.6], "must be 1-D arrays of one length"),
    ],
)
def test_bad_points_are_refused_naming_the_first_bad_position(lon, lat, message):
    with pytest.raises(CellError, match=message):
        points_to_cells(np.array(lon), np.array(lat), 9)


@pytest.mark.parametrize("resolution", [-1, 16, 9.5])
def test_resolutions_outside_0_to_15_are_refused(resolution):
    with pytest.raises(CellError, match="H3 resolution must be a whole number from 0 to 15"):
        points_to_cells(np.array([114.3]), np.array([30.5]), resolution)


def test_parents_finer_than_the_cells_are_refused():
    cells = points_to_cells(np.array([114.3]), np.array([30.5]), 7)
    with pytest.raises(CellError, match="cannot take parents at resolution 9 of cells as coarse as resolution 7"):
        cells_to_parents(cells, 9)
