from __future__ import annotations

import numpy as np
import shapely

from layers.geometry import decode_positions, encode_positions, exteriors_of, origin_of, rings_of


def test_positions_survive_the_step_encoding_to_a_centimetre():
    rng = np.random.default_rng(2)
    coords = np.column_stack([114 + rng.random(50), 30 + rng.random(50)])
    starts = np.array([0, 5, 5, 17, 50])  # an empty ring in the middle too
    steps = encode_positions(coords, starts, (114.3, 30.6))
    assert steps.dtype == np.int32
    assert np.abs(decode_positions(steps, starts, (114.3, 30.6)) - coords).max() <= 0.5e-7


def test_exteriors_are_counter_clockwise_and_keep_their_feature(small_city):
    b = small_city.buildings
    rings = exteriors_of(b.geometry.to_numpy())
    assert rings.count == len(b) and (rings.feature == np.arange(len(b))).all()
    for i in (0, len(b) // 2, len(b) - 1):
        ring = rings.coords[rings.starts[i] : rings.starts[i + 1]]
        assert shapely.LinearRing(ring).is_ccw
        assert np.abs(ring - shapely.get_coordinates(shapely.orient_polygons(b.geometry.iloc[i]))).max() < 1e-12


def test_outlines_keep_every_ring_with_the_unit_it_belongs_to(small_city):
    d = small_city.districts
    rings = rings_of(d.geometry.to_numpy())
    expected = [len(shapely.get_rings(shapely.get_parts(g))) for g in d.geometry]
    assert np.bincount(rings.feature, minlength=len(d)).tolist() == expected


def test_the_origin_is_round_and_in_the_middle():
    assert origin_of((114.0, 30.0, 114.6, 30.9)) == (114.3, 30.45)
