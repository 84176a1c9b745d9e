"""The demo city's dwellings (实有房屋): each residential building's dwellings, unit by unit, floor by floor.

A building of ``floors`` floors with ``dwellings`` dwellings gets as many units (单元, stairwells) as
its size suggests, and each unit the same number of rooms per floor; a room is numbered floor * 100 + n
(1203 is the third room of the twelfth floor), as door plates in Chinese cities are. Vectorised over
all dwellings: no loop per dwelling or building.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cim.levels import Level

ROOMS_PER_LANDING = 4  # the most rooms one stairwell serves on a floor


def expand_dwellings(buildings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per dwelling of every building with dwellings: id, level codes, unit, floor, room, area."""
    count = buildings["dwellings"].to_numpy().astype(np.int64)
    floors = np.maximum(1, buildings["floors"].to_numpy().astype(np.int64))
    per_floor = np.ceil(count / floors).astype(np.int64)
    units = np.clip(np.ceil(per_floor / ROOMS_PER_LANDING), 1, 99).astype(np.int64)
    rooms = np.maximum(1, np.ceil(per_floor / units)).astype(np.int64)  # rooms per floor in each unit
    has = count > 0
    building = np.repeat(np.flatnonzero(has), count[has])
    first = np.concatenate([[0], np.cumsum(count[has])])[:-1]
    k = np.arange(len(building)) - np.repeat(first, count[has])  # the dwelling's number in its building
    per_unit = floors[building] * rooms[building]
    unit = k // per_unit + 1
    in_unit = k % per_unit
    floor = in_unit // rooms[building] + 1
    room = floor * 100 + in_unit % rooms[building] + 1
    area = buildings["footprint_m2"].to_numpy()[building] * floors[building] / count[building]
    area = np.round(area * rng.uniform(0.85, 1.15, len(building)), 1)
    code = buildings[Level.BUILDING.column].to_numpy().astype(str)[building]
    dwelling_id = (pd.Series(code, dtype="string") + pd.Series(unit, dtype="string").str.zfill(2)
                   + pd.Series(room, dtype="string").str.zfill(4))
    frame = pd.DataFrame({
        "dwelling_id": dwelling_id.to_numpy(),
        "unit": unit.astype(np.int16),
        "floor": floor.astype(np.int16),
        "room": pd.Series(room, dtype="string").to_numpy(),
        "area_m2": area.astype(np.float32),
    })
    for level in Level:
        column = buildings[level.column].to_numpy().astype(str)
        categories, codes = np.unique(column, return_inverse=True)
        frame[level.column] = pd.Categorical.from_codes(codes[building], categories=categories)
    return frame
