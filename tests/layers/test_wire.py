from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layers.wire import NUMBERS, WireError, decode, encode

numbers = st.sampled_from(sorted(NUMBERS)).flatmap(
    lambda dt: hnp.arrays(np.dtype(dt), st.integers(0, 40),
                          elements={"allow_nan": False} if dt.startswith("float") else None)
)
text = st.lists(st.text(max_size=6) | st.none(), max_size=30).map(
    lambda values: pd.Categorical(values))
nullable_ints = st.lists(st.integers(-(2**62), 2**62) | st.none(), max_size=30).map(
    lambda values: pd.array(values, dtype="Int64"))
timestamps = st.lists(st.integers(0, 2**41) | st.none(), max_size=30).map(
    lambda ms: np.array([np.datetime64(v, "ms") if v is not None else np.datetime64("NaT") for v in ms],
                        dtype="datetime64[ms]"))
columns = st.dictionaries(st.text(min_size=1, max_size=8), numbers | text | nullable_ints | timestamps, max_size=5)


def _same(a, b) -> bool:
    if isinstance(a, pd.Categorical):
        def plain(c):
            return [None if pd.isna(v) else v for v in c.astype(object)]

        return isinstance(b, pd.Categorical) and plain(a) == plain(b)
    if isinstance(a, pd.api.extensions.ExtensionArray):
        return a.dtype == b.dtype and a.equals(b)
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "M")


@settings(deadline=None)  # CI machines are slow and noisy; the property, not the time, is under test
@given(columns=columns, meta=st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6), max_size=4))
def test_decode_gives_back_what_encode_took(columns, meta):
    back, back_meta = decode(encode(columns, meta))
    assert back_meta == meta
    assert list(back) == list(columns)
    for name, values in columns.items():
        assert _same(values, back[name]), name


def test_h3_cells_travel_as_unsigned_64_bit_integers():
    cells = np.array([0x8940D1A1A0BFFFF, 0x8928308280FFFFF], dtype=np.uint64)
    back, _ = decode(encode({"cell": cells}))
    assert back["cell"].dtype == np.uint64 and back["cell"].tolist() == cells.tolist()


def test_text_travels_once_per_distinct_value():
    names = ["江岸区"] * 1000 + ["武昌区"] * 1000
    message = encode({"name": names})
    assert len(message) < 2000 + 400  # a byte per row and two names (the names alone would be 18,000 bytes)
    back, _ = decode(message)
    assert list(back["name"].categories) == ["武昌区", "江岸区"]
    assert back["name"][0] == "江岸区"


def test_every_buffer_starts_on_an_8_byte_boundary_so_the_browser_can_view_it_without_copying():
    message = encode({"a": np.arange(3, dtype=np.uint8), "b": np.arange(3, dtype=np.int64), "c": ["长江"] * 3},
                     {"x": "长江"})
    size = int.from_bytes(message[4:8], "little")
    assert (8 + size) % 8 == 0
    import json

    header = json.loads(message[8 : 8 + size])
    offsets = [spec["offset"] for spec in header["columns"].values()]
    offsets += [header["columns"]["c"]["dictionary"][k] for k in ("offsets", "data")]
    assert all(o % 8 == 0 for o in offsets)


@pytest.mark.parametrize(
    ("values", "message"),
    [(np.array([1 + 2j]), "has dtype complex128; the wire carries numbers"),
     (np.zeros((2, 2), dtype=np.float32), "has 2 dimensions; flatten it first"),
     (pd.array(["1 days"], dtype="timedelta64[ns]"), "has type timedelta64\\[ns\\], which the wire cannot carry")],
)
def test_columns_the_browser_cannot_take_are_refused(values, message):
    with pytest.raises(WireError, match=message):
        encode({"x": values})


def test_a_message_of_another_kind_is_refused():
    with pytest.raises(WireError, match="not a city-twin layer message: it starts with b'PK"):
        decode(b"PK\x03\x04 zip file")
