from __future__ import annotations

import numpy as np
import shapely

from layers import scene
from layers.wire import decode


def test_the_buildings_message_carries_every_footprint_counter_clockwise_near_its_place(small_city):
    b = small_city.buildings
    origin = scene.origin_of(small_city.districts)
    arrays, meta = decode(scene.buildings_message(b, origin))
    assert meta["count"] == len(b)
    starts = arrays["starts"].astype(int)
    assert len(starts) == len(b) + 1 and starts[-1] * 2 == len(arrays["positions"])
    assert meta["positions"] == scene.POSITION_ENCODING
    xy = scene.decode_positions(arrays["positions"], starts, origin)
    for i in (0, len(b) // 2, len(b) - 1):
        ring = xy[starts[i] : starts[i + 1]]
        assert shapely.LinearRing(ring).is_ccw
        assert np.abs(ring - shapely.get_coordinates(shapely.orient_polygons(b.geometry.iloc[i]))).max() < 1e-6
    assert arrays["height"].tolist() == b["height_m"].astype("float32").tolist()
    assert arrays["residents"].tolist() == b["residents"].tolist()
    assert [meta["uses"][u] for u in arrays["use"][:50]] == b["use"].tolist()[:50]


def test_positions_survive_the_step_encoding_to_a_centimetre():
    rng = np.random.default_rng(2)
    coords = np.column_stack([114 + rng.random(50), 30 + rng.random(50)])
    starts = np.array([0, 5, 5, 17, 50])  # an empty ring in the middle too
    steps = scene.encode_positions(coords, starts, (114.3, 30.6))
    assert steps.dtype == np.int32
    assert np.abs(scene.decode_positions(steps, starts, (114.3, 30.6)) - coords).max() <= 0.5e-7


def test_the_buildings_message_is_far_smaller_than_the_same_buildings_as_geojson(small_city):
    b = small_city.buildings[["height_m", "floors", "use", "residents", "geometry"]]
    binary = scene.buildings_message(small_city.buildings, scene.origin_of(small_city.districts))
    assert len(binary) * 3 < len(b.to_json().encode())


def test_district_outlines_keep_every_ring_with_the_district_it_belongs_to(small_city):
    d = small_city.districts
    arrays, meta = decode(scene.outlines_message(d, scene.origin_of(d), layer="districts"))
    assert meta["codes"] == d["code"].tolist()
    labels = shapely.points(meta["label_positions"])
    assert shapely.within(labels, d.geometry.to_numpy()).all()  # each name stands inside its district
    rings_per_district = np.bincount(arrays["feature"], minlength=len(d))
    expected = [len(shapely.get_rings(shapely.get_parts(g))) for g in d.geometry]
    assert rings_per_district.tolist() == expected
