"""The demo city's IFC buildings: a few of its public buildings written as IFC models and ingested.

They go through the same path as a planner's file (``twin bim ingest``): written by
:mod:`bim.demo_models`, converted, placed by their IfcMapConversion and linked to the building they
stand on, whose extruded box the map then leaves out for the model. The same seed picks the same
buildings, and their GlobalIds follow from the building codes, so a rebuild replaces them.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bim.convert import ConvertedFile, convert_file
from bim.demo_models import DemoBuilding, write_demo_model
from cim.level_join import UNIT_LEVELS, Units
from cim.levels import LEVEL_COLUMNS
from twin.bim_ingest import CityBase, check_in_city
from twin.city_ingest import TABLE_OF_LEVEL

#: Where the map opens (views/map_state.INITIAL_VIEW): the models are the public buildings nearest to it.
CENTRE = (114.30, 30.575)
MODELS = 3
FLOORS = (3, 9)


def demo_buildings(buildings: pd.DataFrame, count: int = MODELS) -> list[DemoBuilding]:
    """The public buildings of a few storeys nearest the map's centre, as demo models."""
    low, high = FLOORS
    pick = buildings[(buildings["use"] == "public") & buildings["floors"].between(low, high)]
    if not len(pick):
        pick = buildings[buildings["floors"].between(low, high)]
    far = ((pick["lon"] - CENTRE[0]) * math.cos(math.radians(CENTRE[1]))) ** 2 + (pick["lat"] - CENTRE[1]) ** 2
    chosen = pick.loc[far.sort_values(kind="stable").index[:count]]
    out = []
    for _, row in chosen.iterrows():
        address = str(row["address"])
        local = address.removeprefix("湖北省").removeprefix("武汉市")
        name = f"{row['compound_name']}{row['building_no']}栋" if row.get("compound_name") else str(row["code"])
        out.append(DemoBuilding(name=name, address_lines=(local,), footprint=row.geometry, floors=int(row["floors"]),
                                height_m=float(row["height_m"]), use=str(row["use"]), key=str(row["code"])))
    return out


def convert_demo_models(city, *, count: int = MODELS,
                        progress: Callable[[str], None] = lambda _: None) -> tuple[list[ConvertedFile], CityBase]:
    """Write and convert ``count`` demo IFC buildings of ``city`` (a generated DemoCity, not yet stored), and
    what they link to; :func:`twin.bim_ingest.write_models` then writes them in the city's own batch."""
    buildings = city.buildings
    files = []
    with tempfile.TemporaryDirectory(prefix="twin-demo-ifc-") as folder:
        for building in demo_buildings(buildings, count):
            path = write_demo_model(Path(folder) / f"{building.key}.ifc", building)
            progress(f"IFC model of {building.name} ({building.floors} storeys): converting and placing it")
            converted = convert_file(path)
            check_in_city(converted)
            files.append(converted)
    units = Units({level: getattr(city, TABLE_OF_LEVEL[level])[["code", "name", "geometry"]]
                   for level in UNIT_LEVELS if getattr(city, TABLE_OF_LEVEL[level], None) is not None})
    base = CityBase(units=units, buildings=buildings[["code", "address", *LEVEL_COLUMNS, "geometry"]], search=None)
    return files, base
