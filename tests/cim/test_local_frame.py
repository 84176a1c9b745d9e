from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cim.local_frame import to_local, to_wgs84


@settings(deadline=None)
@given(lon=st.floats(113.6, 115.1), lat=st.floats(29.9, 31.4))
def test_wuhan_points_go_to_the_local_frame_and_back_to_a_millimetre(lon, lat):
    x, y = to_local(np.array([lon]), np.array([lat]))
    back_lon, back_lat = to_wgs84(x, y)
    assert abs(back_lon[0] - lon) < 1e-8 and abs(back_lat[0] - lat) < 1e-8


def test_the_local_frame_is_gauss_kruger_on_114_east():
    x, y = to_local(np.array([114.0]), np.array([30.0]))
    assert round(float(x[0]), 3) == 500000.0  # the false easting on the central meridian
    assert 3_300_000 < y[0] < 3_330_000
