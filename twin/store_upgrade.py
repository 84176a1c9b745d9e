"""``twin store upgrade``: bring a city folder of an older format up to the current store format.

Format 1 (``city-twin/demo-city/1``, written by the walking skeleton) was one build's output: flat
Parquet files and a manifest of counts. The upgrade reads its tables, checks them against their
kinds, writes them into a new store beside the old folder, and swaps the two only when the new
store is complete; if anything fails the old folder is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from twin.city_store import MANIFEST, CityStore
from twin.manifest import FORMAT, Source, StoreError, now

OLD_FORMAT = "city-twin/demo-city/1"
_OLD_GEO = ("districts", "streets", "communities", "grids", "compounds", "buildings", "water")


@dataclass(frozen=True)
class UpgradeResult:
    folder: Path
    from_format: str
    tables: int

    def summary(self) -> str:
        if self.from_format == FORMAT:
            return f"{self.folder} is already in the current format {FORMAT!r}; nothing to do"
        return f"upgraded {self.folder} from {self.from_format!r} to {FORMAT!r} ({self.tables} tables)"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def upgrade_store(folder: Path, *, progress: Callable[[str], None] = lambda _: None) -> UpgradeResult:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists():
        raise StoreError(f"no city at {folder} (no {MANIFEST}); there is nothing to upgrade")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path} is not valid JSON ({exc.msg}); it cannot be upgraded, rebuild the city") from None
    found = raw.get("format") if isinstance(raw, dict) else None
    if found == FORMAT:
        CityStore.open(folder)  # checks the manifest
        return UpgradeResult(folder, FORMAT, 0)
    if found != OLD_FORMAT:
        raise StoreError(
            f"{folder} holds format {found!r}; this version upgrades only {OLD_FORMAT!r}; rebuild the city with: "
            f"twin demo build --force --store NEW_FOLDER"
        )
    return _upgrade_from_1(folder, raw, progress)


def _upgrade_from_1(folder: Path, raw: dict, progress: Callable[[str], None]) -> UpgradeResult:
    tmp = folder.parent / f".{folder.name}.upgrade-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    moment = now()
    note = f"upgraded from {OLD_FORMAT} (seed {raw.get('seed')})"
    try:
        store = CityStore.open(tmp, create=True)
        with store.batch("twin store upgrade") as batch:
            for kind in _OLD_GEO:
                file = folder / f"{kind}.parquet"
                progress(f"reading {file}")
                frame = _read(file, geo=True).drop(columns=["level"], errors="ignore")  # the kind says the level
                batch.write(kind, frame, sources=[_source(file, kind, len(frame), moment, note)])
            file = folder / "residents.parquet"
            progress(f"reading {file}")
            residents = _read(file, geo=False).drop(columns=["building_index"], errors="ignore")
            entry = batch.write("residents", residents,
                                sources=[_source(file, "residents", len(residents), moment, note)])
            file = folder / "population_h3.parquet"
            population = _read(file, geo=False)
            batch.write("population_h3", population, derived_from={"residents": entry.content_hash},
                        sources=[_source(file, "population_h3", len(population), moment, note)])
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        folder.rename(old)
        try:
            tmp.rename(folder)
        except OSError:
            old.rename(folder)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return UpgradeResult(folder, OLD_FORMAT, len(_OLD_GEO) + 2)


def _source(file: Path, kind: str, rows: int, moment, note: str) -> Source:
    return Source(file=str(file), sha256=_sha256(file), kind=kind, rows=rows, time=moment, note=note)


def _read(file: Path, *, geo: bool) -> pd.DataFrame:
    if not file.exists():
        raise StoreError(f"{file} is missing, so the old city cannot be upgraded; rebuild it with twin demo build")
    try:
        return gpd.read_parquet(file) if geo else pd.read_parquet(file)
    except (OSError, ValueError) as exc:
        raise StoreError(f"{file} cannot be read ({exc}); the old city cannot be upgraded, rebuild it") from None
