"""A register of standard addresses made from a buildings table that has its address parts (the demo city's):
one address per building, then the dwellings of the residential ones. Tests and ``bench/addresses.py`` match
against it at any size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cim.address_match import REGISTER_COLUMNS, AddressMatchError, group_ranks
from cim.levels import LEVEL_COLUMNS


def register_from_buildings(buildings: pd.DataFrame, *, units_per_building: int = 4, rooms_per_floor: int = 2,
                            limit: int | None = None) -> pd.DataFrame:
    """A register of standard addresses: one per building, then the dwellings of the residential buildings.

    A residential building with ``dwellings`` D on ``floors`` F has ``p = ceil(D / F)`` dwellings a floor, split
    among ``k = min(units_per_building, ceil(p / rooms_per_floor))`` units (单元); dwelling ``i`` (from 0) is on
    floor ``i // p + 1``, in unit ``(i % p) // r + 1``, room ``floor * 100 + (i % p) % r + 1`` where
    ``r = ceil(p / k)``: 2单元1203室. With ``limit``, every building keeps its own address and the dwellings
    left in the budget are shared among the buildings in proportion to their dwellings, spread evenly over
    each building's floors and units (deterministic: no random draw).
    """
    needed = ["building_code", *LEVEL_COLUMNS, "district_name", "street_name", "road", "number", "compound_name",
              "building_no", "use", "floors", "dwellings", "lon", "lat"]
    missing = [c for c in dict.fromkeys(needed) if c not in buildings.columns]
    if missing:
        raise AddressMatchError(f"the buildings table has no column {missing[0]!r}; it needs {needed}")
    if units_per_building < 1 or rooms_per_floor < 1:
        raise AddressMatchError(f"units_per_building and rooms_per_floor must be at least 1, got "
                                f"{units_per_building} and {rooms_per_floor}")
    b = pd.DataFrame(buildings).reset_index(drop=True)
    if limit is not None:
        if limit < 0:
            raise AddressMatchError(f"limit must be at least 0, got {limit}")
        b = b.iloc[: min(limit, len(b))]
    n = len(b)
    budget = None if limit is None else limit - n

    floors = np.maximum(b["floors"].to_numpy(dtype=np.int64), 1)
    dwellings = np.where(b["use"].to_numpy() == "residential", b["dwellings"].to_numpy(dtype=np.int64), 0)
    dwellings = np.maximum(dwellings, 0)
    take = dwellings if budget is None else _apportion(dwellings, budget)

    owner = np.repeat(np.arange(n), take)
    k = group_ranks(take)
    # the k-th of `take` dwellings picked evenly among the building's D
    d = dwellings[owner]
    i = (2 * k + 1) * d // (2 * np.maximum(take[owner], 1))
    per_floor = -(-d // floors[owner])
    units = np.minimum(units_per_building, -(-per_floor // rooms_per_floor))
    per_unit = -(-per_floor // units)
    floor = i // per_floor + 1
    within = i % per_floor
    unit = within // per_unit + 1
    room = floor * 100 + within % per_unit + 1

    every = pa.array(np.concatenate([np.arange(n), owner]))

    def text(column: str) -> pa.Array:
        return pc.cast(pa.array(b[column].to_numpy()), pa.string())

    code = text("building_code")
    building_text = pc.binary_join_element_wise(
        "湖北省武汉市", text("district_name"), text("street_name"), text("road"), text("number"), "号",
        text("compound_name"), text("building_no"), "栋", "")
    unit_text, room_text = pc.cast(pa.array(unit), pa.string()), pc.cast(pa.array(room), pa.string())
    columns = {
        "address_id": pa.concat_arrays([code, pc.binary_join_element_wise(code.take(owner), unit_text, room_text,
                                                                          "-")]),
        **{column: text(column).take(every) for column in LEVEL_COLUMNS},
        "text": pa.concat_arrays([building_text, pc.binary_join_element_wise(
            building_text.take(owner), unit_text, "单元", room_text, "室", "")]),
        **{column: text(column).take(every) for column in ("district_name", "street_name", "road")},
        "number": pa.array(b["number"].to_numpy(dtype=np.int32)).take(every),
        "compound_name": text("compound_name").take(every),
        "building_no": pa.array(b["building_no"].to_numpy(dtype=np.int32)).take(every),
        "unit": pa.concat_arrays([pa.nulls(n, pa.int32()), pa.array(unit, pa.int32())]),
        "room": pa.concat_arrays([pa.nulls(n, pa.int32()), pa.array(room, pa.int32())]),
        "lon": pa.array(b["lon"].to_numpy(dtype=np.float64)).take(every),
        "lat": pa.array(b["lat"].to_numpy(dtype=np.float64)).take(every),
    }
    register = pa.table(columns).to_pandas()
    for column in ("unit", "room"):
        register[column] = pd.array(columns[column].to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get),
                                    dtype="Int32")
    assert tuple(register.columns) == REGISTER_COLUMNS
    return register


def _apportion(weights: np.ndarray, budget: int) -> np.ndarray:
    """Whole shares of ``budget`` in proportion to ``weights``, each at most its weight (largest remainders)."""
    total = int(weights.sum())
    if budget <= 0 or total == 0:
        return np.zeros(len(weights), dtype=np.int64)
    if budget >= total:
        return weights.astype(np.int64)
    exact = weights * (budget / total)
    share = np.floor(exact).astype(np.int64)
    left = budget - int(share.sum())
    if left > 0:
        order = np.lexsort((np.arange(len(weights)), -(exact - share)))
        share[order[:left]] += 1
    return np.minimum(share, weights)
