"""A built city loaded for serving: the tables the screens need, read once and passed around."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from cim.levels import LEVEL_COLUMNS
from layers.population import PopulationLayer
from twin.demo import FORMAT, MANIFEST
from twin.errors import NotFound, TwinError


@dataclass(frozen=True)
class BuildingDetails:
    """What the side panel shows of one building."""

    index: int
    code: str
    address: str
    use: str
    floors: int
    height_m: float
    residents: int
    dwellings: int
    codes: dict[str, str]
    names: dict[str, str]


@dataclass(frozen=True)
class CityData:
    manifest: dict[str, Any]
    districts: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    population: PopulationLayer

    def building(self, index: int) -> BuildingDetails:
        """The details of building number ``index`` (its row in the buildings table)."""
        if not (0 <= index < len(self.buildings)):
            raise NotFound(f"no building number {index}; this city has buildings 0 to {len(self.buildings) - 1}")
        row = self.buildings.iloc[index]
        return BuildingDetails(
            index=index,
            code=str(row["code"]),
            address=str(row["address"]),
            use=str(row["use"]),
            floors=int(row["floors"]),
            height_m=float(row["height_m"]),
            residents=int(row["residents"]),
            dwellings=int(row["dwellings"]),
            codes={col: str(row[col]) for col in LEVEL_COLUMNS},
            names={
                "district": str(row["district_name"]),
                "street": str(row["street_name"]),
                "community": str(row["community_name"]),
                "compound": str(row["compound_name"]),
            },
        )


def load_city(folder: Path) -> CityData:
    """Read a city built by ``twin demo build``; a clear error if the folder is not one."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise TwinError(f"no built city at {folder} (no {MANIFEST}); build one with: twin demo build --out {folder}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise TwinError(
            f"{manifest_path} is not valid JSON ({exc}); rebuild with: twin demo build --out {folder}"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise TwinError(
            f"{folder} holds format {found!r}, this version reads {FORMAT!r}; "
            f"rebuild with: twin demo build --out {folder}"
        )
    try:
        districts = gpd.read_parquet(folder / "districts.parquet")
        water = gpd.read_parquet(folder / "water.parquet")
        buildings = gpd.read_parquet(folder / "buildings.parquet")
        population = PopulationLayer(pd.read_parquet(folder / "population_h3.parquet"))
    except (OSError, ValueError) as exc:
        raise TwinError(
            f"the city at {folder} is incomplete or damaged ({exc}); rebuild it with twin demo build"
        ) from None
    return CityData(manifest, districts, water, buildings, population)
