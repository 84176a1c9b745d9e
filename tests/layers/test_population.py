from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from layers.cells import CellError
from layers.population import PopulationLayer, build_population_layer


def _baseline(lon: np.ndarray, lat: np.ndarray, resolution: int, parent: int | None = None) -> pd.Series:
    cells = [h3.latlng_to_cell(b, a, resolution) for a, b in zip(lon, lat, strict=True)]
    if parent is not None:
        cells = [h3.cell_to_parent(c, parent) for c in cells]
    ints = [h3.str_to_int(c) for c in cells]
    return pd.Series(1, index=pd.Index(ints, dtype="uint64")).groupby(level=0).sum()


def test_the_layer_counts_what_an_h3_loop_and_a_groupby_count(small_city):
    r = small_city.residents.iloc[:20000]
    lon, lat = r["lon"].to_numpy(), r["lat"].to_numpy()
    layer = build_population_layer(lon, lat, resolution=9, coarser=(7,))
    for res in (9, 7):
        ours = layer.at(res).set_index("cell")["residents"]
        expected = _baseline(lon, lat, 9, parent=res)
        assert ours.index.tolist() == expected.index.tolist()
        assert ours.tolist() == expected.tolist()


def test_coarser_resolutions_are_parents_of_the_fine_cells_not_a_new_indexing_of_the_points(small_city):
    """H3 children do not tile their parent exactly: a point's res-7 cell can differ from the res-7
    parent of its res-9 cell. Roll-ups follow the parents, so every total is kept exactly."""
    r = small_city.residents.iloc[:20000]
    lon, lat = r["lon"].to_numpy(), r["lat"].to_numpy()
    ours = build_population_layer(lon, lat, resolution=9, coarser=(7,)).at(7).set_index("cell")["residents"]
    direct = _baseline(lon, lat, 7)
    rolled = _baseline(lon, lat, 9, parent=7)
    assert ours.tolist() == rolled.tolist() and ours.index.tolist() == rolled.index.tolist()
    assert not ours.index.equals(direct.index) or ours.tolist() != direct.tolist()


def test_every_resolution_sums_to_the_number_of_residents(small_city):
    r = small_city.residents
    layer = build_population_layer(r["lon"].to_numpy(), r["lat"].to_numpy())
    assert layer.resolutions == (5, 6, 7, 8, 9)
    totals = layer.table.groupby("resolution")["residents"].sum()
    assert totals.tolist() == [len(r)] * 5
    assert layer.total == len(r)
    # coarser resolutions have fewer, fuller cells
    counts = layer.table.groupby("resolution").size()
    assert counts.is_monotonic_increasing


def test_weighting_places_by_residents_gives_the_layer_of_the_residents(small_city):
    b, r = small_city.buildings, small_city.residents
    by_place = build_population_layer(b["lon"].to_numpy(), b["lat"].to_numpy(), weights=b["residents"].to_numpy())
    by_person = build_population_layer(r["lon"].to_numpy(), r["lat"].to_numpy())
    assert (by_place.table["residents"] > 0).all()  # places where nobody lives are not cells of the layer
    assert by_place.table.equals(by_person.table)


def test_a_resolution_named_twice_is_rolled_up_once():
    layer = build_population_layer(np.array([114.3, 114.4]), np.array([30.5, 30.6]), coarser=(8, 8, 7))
    assert layer.table.groupby("resolution")["residents"].sum().tolist() == [2, 2, 2]


@pytest.mark.parametrize(("weights", "bad"), [([0.4, 1], "0.4"), ([2, -1], "-1"), ([1, np.nan], "nan")])
def test_weights_must_be_whole_numbers_from_zero_up(weights, bad):
    with pytest.raises(CellError, match=f"must be whole numbers from 0 up; weight [01] is .*{bad}"):
        build_population_layer(np.array([114.3, 114.4]), np.array([30.5, 30.6]), weights=np.array(weights))


def test_an_empty_layer_has_no_residents():
    layer = build_population_layer(np.array([114.3]), np.array([30.5]), weights=np.array([0]))
    assert layer.total == 0
    assert layer.resolutions == ()


def test_one_weight_per_point_is_required():
    with pytest.raises(CellError, match="got 1 weights for 2 points; give one weight per point"):
        build_population_layer(np.array([114.3, 114.4]), np.array([30.5, 30.6]), weights=np.array([3]))


def test_many_points_are_indexed_in_parallel_chunks_with_the_same_cells():
    from layers.cells import PARALLEL_FROM, points_to_cells

    rng = np.random.default_rng(5)
    n = PARALLEL_FROM + 1234
    lon, lat = 114 + rng.random(n), 30 + rng.random(n)
    cells = points_to_cells(lon, lat, 9)
    sample = rng.choice(n, 300, replace=False)
    assert cells[sample].tolist() == [h3.str_to_int(h3.latlng_to_cell(lat[i], lon[i], 9)) for i in sample]


def test_roll_ups_must_be_coarser_than_the_layer():
    with pytest.raises(CellError, match=r"roll-up resolutions \[9, 10\] are not coarser than the layer's resolution 9"):
        build_population_layer(np.array([114.3]), np.array([30.5]), resolution=9, coarser=(9, 10))


def test_asking_for_a_resolution_the_layer_lacks_names_those_it_has():
    layer = build_population_layer(np.array([114.3]), np.array([30.5]), resolution=9, coarser=(8,))
    with pytest.raises(CellError, match=r"has no resolution 6; it has \[8, 9\]"):
        layer.at(6)


def test_a_table_without_the_layer_columns_is_refused():
    with pytest.raises(CellError, match=r"needs the columns \['residents'\]"):
        PopulationLayer(pd.DataFrame({"resolution": [9], "cell": [1]}))
