from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layers.wire import DTYPES, WireError, decode, encode

arrays = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.sampled_from(sorted(DTYPES)).flatmap(
        lambda dt: hnp.arrays(np.dtype(dt), st.integers(0, 40), elements={"allow_nan": False}
                              if dt.startswith("float") else None)
    ),
    max_size=5,
)


@settings(deadline=None)  # CI machines are slow and noisy; the property, not the time, is under test
@given(arrays=arrays, meta=st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6), max_size=4))
def test_decode_gives_back_what_encode_took(arrays, meta):
    message = encode(arrays, meta)
    back, back_meta = decode(message)
    assert back_meta == meta
    assert list(back) == list(arrays)
    for name, array in arrays.items():
        assert back[name].dtype.name == array.dtype.name
        assert np.array_equal(back[name], array)


def test_every_array_starts_on_an_8_byte_boundary_so_the_browser_can_view_it_without_copying():
    message = encode({"a": np.arange(3, dtype=np.uint8), "b": np.arange(3, dtype=np.float64)}, {"x": "长江"})
    size = int.from_bytes(message[4:8], "little")
    assert (8 + size) % 8 == 0
    back, _ = decode(message)
    assert back["b"].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("array", "message"),
    [(np.arange(3, dtype=np.int64), "has dtype int64; the browser takes only"),
     (np.zeros((2, 2), dtype=np.float32), "has 2 dimensions; flatten it first")],
)
def test_arrays_the_browser_cannot_take_are_refused(array, message):
    with pytest.raises(WireError, match=message):
        encode({"x": array})


def test_a_message_of_another_kind_is_refused():
    with pytest.raises(WireError, match="not a city-twin layer message: it starts with b'PK"):
        decode(b"PK\x03\x04 zip file")
