"""The city's register of standard addresses, from the store: each building's door plate (``addresses``)
and each dwelling's (``dwellings``: the building's address with its unit and room), ready for matching.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cim.address_match import REGISTER_COLUMNS, AddressIndex
from cim.levels import LEVEL_COLUMNS
from twin.city_store import CityStore
from twin.errors import TwinError


def register_of(store: CityStore, *, dwellings: bool = True) -> pd.DataFrame:
    """One row per standard address the store knows (building door plates, then dwellings)."""
    if not store.has("addresses"):
        raise TwinError(f"the city at {store.folder} has no standard addresses to match against; build the demo "
                        f"city or ingest them (twin cim ingest addresses FILE)")
    plates = store.read("addresses")
    plates = plates[plates["building_code"].notna()].reset_index(drop=True)
    frame = pd.DataFrame({c: plates[c] for c in REGISTER_COLUMNS if c in plates.columns})
    frame["unit"] = pd.array([pd.NA] * len(frame), dtype="Int16")
    frame["room"] = pd.array([pd.NA] * len(frame), dtype="string")
    if dwellings and store.has("dwellings"):
        d = store.read("dwellings", columns=["dwelling_id", "building_code", "unit", "room"])
        d["building_code"] = d["building_code"].astype(str)
        at = plates.assign(building_code=plates["building_code"].astype(str)).set_index("building_code")
        known = d["building_code"].isin(at.index).to_numpy()
        d = d[known]
        base = at.loc[d["building_code"].to_numpy()]
        rooms = pd.DataFrame({c: base[c].to_numpy() for c in REGISTER_COLUMNS
                              if c in base.columns and c not in ("address_id", "text", "unit", "room")})
        rooms["building_code"] = d["building_code"].to_numpy()
        rooms["address_id"] = d["dwelling_id"].astype(str).to_numpy()
        rooms["unit"] = pd.array(d["unit"].to_numpy(), dtype="Int16")
        rooms["room"] = pd.array(d["room"].astype(str).to_numpy(), dtype="string")
        rooms["text"] = (base["text"].astype(str).to_numpy() + d["unit"].astype(str).to_numpy()
                         + "单元" + d["room"].astype(str).to_numpy() + "室")
        frame = pd.concat([frame, rooms[frame.columns]], ignore_index=True)
    for column in LEVEL_COLUMNS:
        frame[column] = frame[column].astype(str)
    frame["lon"] = frame["lon"].astype(np.float64)
    frame["lat"] = frame["lat"].astype(np.float64)
    return frame


def address_index(store: CityStore, *, dwellings: bool = True) -> AddressIndex:
    return AddressIndex.build(register_of(store, dwellings=dwellings))
