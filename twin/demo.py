"""Build the demo city into a city store: base tables, residents, the population layer and IFC buildings.

The demo generator is one writer among others: it adds its tables to the store in one batch (they go
live together, or not at all) and leaves every other table, and the live state, as they are. A store
that already holds a city is kept unless ``force`` asks for a rebuild.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from cim.demo_scale import DemoCityError
from cim.synthetic import Scale, generate_city
from layers.population import build_population_layer
from twin.city_store import CityStore
from twin.errors import TwinError
from twin.manifest import Source, now

#: What the demo build writes, in the order it writes it.
DEMO_TABLES = ("districts", "streets", "communities", "grids", "compounds", "buildings", "water", "residents",
               "addresses", "dwellings", "organisations", "pois", "roads")
WRITER = "twin demo build"


def real_districts(store: CityStore) -> gpd.GeoDataFrame | None:
    """District boundaries that were ingested (not generated), for the demo city to be laid out in."""
    entry = store.entry("districts")
    if entry is None or all(s.file == "generated" for s in entry.sources):
        return None
    return store.read("districts")


@dataclass(frozen=True)
class DemoResult:
    built: bool
    store: Path
    buildings: int
    residents: int
    seconds: float
    models: int = 0  # IFC buildings (twin.demo_bim)
    made_with: str | None = None  # a kept city made with other options than asked: the options it was made with

    def summary(self) -> str:
        if not self.built:
            other = (f"; it was made with {self.made_with}, not the options asked for"
                     if self.made_with else "")
            rebuild = f"twin demo build --force --store {self.store}"
            return (f"kept the city already in {self.store} ({self.buildings:,} buildings, "
                    f"{self.residents:,} residents{other}); rebuild it with: {rebuild}"
                    + (" and the options you want" if self.made_with else ""))
        models = f", {self.models} IFC models" if self.models else ""
        return (f"built {self.buildings:,} buildings{models} and {self.residents:,} residents in {self.seconds:.1f} s "
                f"into {self.store}")


@dataclass(frozen=True)
class DemoOptions:
    """How the demo city in a store was made (read back from its tables' sources)."""

    seed: int
    scale: str
    buildings: int | None


def _note(options: DemoOptions) -> str:
    return (f"{WRITER} --scale {options.scale} --seed {options.seed}"
            + (f" --buildings {options.buildings}" if options.buildings else ""))


def demo_options(store: CityStore) -> DemoOptions | None:
    """The options the store's buildings were generated with; None when they are not the demo city's."""
    entry = store.entry("buildings")
    if entry is None or not entry.sources or any(s.file != "generated" for s in entry.sources):
        return None
    found = re.fullmatch(rf"{WRITER} --scale (\w+) --seed (\d+)(?: --buildings (\d+))?", entry.sources[0].note or "")
    if found is None:
        return None
    return DemoOptions(int(found[2]), found[1], int(found[3]) if found[3] else None)


def build_demo(
    out: Path,
    *,
    seed: int = 0,
    scale: Scale | str = Scale.SMALL,
    buildings: int | None = None,
    force: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """Generate the demo city into the store at ``out`` (created if need be)."""
    out = Path(out)
    started = time.perf_counter()
    store = CityStore.open(out) if CityStore.exists_at(out) else None
    existing = store.entry("buildings") if store is not None else None
    if existing is not None and not force:
        residents = store.entry("residents")
        made = demo_options(store)
        asked = DemoOptions(seed, str(scale), buildings)
        made_with = None
        if made is None:
            made_with = "ingested buildings"
        elif made != asked:
            made_with = _note(made).removeprefix(WRITER).strip()
        return DemoResult(False, out, existing.rows, residents.rows if residents else 0, 0.0, made_with=made_with)
    if store is None:
        CityStore.check_creatable(out)  # refuse a bad place before the work, and create nothing on failure
    real = real_districts(store) if store is not None else None
    where = f"inside the {len(real)} districts in the store" if real is not None else "in generated districts"
    progress(f"generating the {scale} demo city (seed {seed}) {where}")
    try:
        city = generate_city(seed, scale, buildings=buildings, districts=real)
    except DemoCityError as exc:  # a city that cannot be made from these options: say why, no traceback
        raise TwinError(f"cannot build the demo city: {exc}") from None
    progress(f"indexing {len(city.residents):,} residents on H3, once per building")
    b = city.buildings
    population = build_population_layer(b["lon"].to_numpy(), b["lat"].to_numpy(), weights=b["residents"].to_numpy())

    note = _note(DemoOptions(seed, str(scale), buildings))
    moment = now()

    def generated(kind: str, rows: int) -> list[Source]:
        return [Source(file="generated", kind=kind, rows=rows, time=moment, note=note)]

    from twin.bim_ingest import write_models  # it reads DEMO_TABLES (through twin.city_ingest)
    from twin.demo_bim import convert_demo_models

    models, base = convert_demo_models(city, progress=progress)  # the same path as a planner's IFC file
    progress(f"writing the tables to {out}")
    store = store or CityStore.open(out, create=True)
    with store.batch(WRITER) as batch:
        for kind in DEMO_TABLES:
            if kind == "districts" and real is not None:
                continue  # the real districts stay; the city was laid out in them
            frame = getattr(city, kind)
            if kind == "residents":
                frame = frame.drop(columns=["building_index"])
            entry = batch.write(kind, frame, sources=generated(kind, len(frame)))
            if kind == "residents":
                table = population.table
                batch.write("population_h3", table, sources=generated("population_h3", len(table)),
                            derived_from={"residents": entry.content_hash})
        reports = write_models(batch, store, models, base)
    return DemoResult(True, out, len(city.buildings), len(city.residents), time.perf_counter() - started,
                      models=len(reports))
