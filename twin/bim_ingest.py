"""An IFC file into the city store: converted, placed, linked to the city base, and written in one commit.

Each IfcBuilding of the file becomes one row of ``bim_models`` (its footprint, placement, counts and the
path of its GLB), its elements rows of ``bim_elements`` (with property sets) and its spaces rows of
``bim_spaces``. The link to the city base:

- the footprint's H3 cells (resolution 12) and the cell of its centre (resolution 9, the population's);
- the seven level codes of the unit it stands in, by the same spatial join the city-base ingest uses;
- the standard address from the file's ``IfcPostalAddress`` (matched to the city's standard addresses),
  else from the city-base building its footprint overlaps most. That building's extruded block then gives
  way to the model on the map.

A model that lands outside the city is refused: it was placed by its own georeference somewhere else, and
``--anchor`` puts it where it belongs. Re-ingesting a building (same GlobalId) replaces it. The GLBs and
the three tables go live together, or not at all.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from bim.convert import BuildingModel, ConvertedFile, convert_file
from bim.errors import BimError
from bim.georeference import Anchor, distance_m, where_text
from cim.crs_check import WUHAN, CityBox
from cim.level_join import Units, assign_codes
from cim.levels import CITY_CODE, LEVEL_COLUMNS, Level
from twin.address_search import AddressSearch, SearchError
from twin.city_ingest import into_store, units_of
from twin.city_store import CityStore, StoreError
from twin.manifest import Source, now

WRITER = "twin bim ingest"
CELL_RES = 12
CENTRE_RES = 9
#: an IfcPostalAddress matched to a building further than this from the footprint is not believed
ADDRESS_NEAR_M = 300.0
#: a city-base building is the model's when they overlap by this share of the smaller of the two
OVERLAP_SHARE = 0.3


@dataclass(frozen=True)
class Linked:
    codes: dict[str, str | None]
    building_code: str | None
    address: str | None
    address_source: str | None
    warnings: tuple[str, ...]


def _cells(footprint: shapely.Geometry) -> list[str]:
    cells = set(h3.geo_to_cells(shapely.geometry.mapping(footprint), CELL_RES))
    if not cells:
        c = footprint.representative_point()
        cells = {h3.latlng_to_cell(c.y, c.x, CELL_RES)}
    return sorted(cells)


def _check_in_city(model: BuildingModel, path: Path, city: CityBox) -> None:
    c = model.footprint.centroid
    if city.contains(np.array([c.x]), np.array([c.y]))[0]:
        return
    far = distance_m(city.centre[0], city.centre[1], c.x, c.y) / 1000
    how = {"site_reference": "IfcSite RefLatitude/RefLongitude", "map_conversion": "its IfcMapConversion",
           "anchor": "--anchor"}[model.placement.method]
    raise BimError(
        f"{path}: building {model.name or model.global_id} is placed by {how} at {where_text(c.x, c.y)}, "
        f"{far:,.0f} km from {city.name}; pass --anchor LON,LAT to place it in the city"
    )


def _overlapping(buildings: gpd.GeoDataFrame | None, footprint: shapely.Geometry) -> pd.Series | None:
    if buildings is None or not len(buildings):
        return None
    hits = buildings.sindex.query(footprint, predicate="intersects")
    if not len(hits):
        return None
    cand = buildings.iloc[hits]
    shared = shapely.area(shapely.intersection(cand.geometry.to_numpy(), footprint))
    smaller = np.minimum(shapely.area(cand.geometry.to_numpy()), footprint.area)
    share = shared / np.where(smaller > 0, smaller, 1)
    best = int(np.argmax(share))
    return cand.iloc[best] if share[best] >= OVERLAP_SHARE else None


def link(store: CityStore, model: BuildingModel, *, search: AddressSearch | None,
         buildings: gpd.GeoDataFrame | None, units) -> Linked:
    """The codes, the city-base building and the standard address of a placed model."""
    warnings: list[str] = []
    point = model.footprint.representative_point()
    joined = assign_codes(np.array([point], dtype=object), units, finest=Level.COMPOUND)
    codes: dict[str, str | None] = {c: None for c in LEVEL_COLUMNS}
    codes[Level.CITY.column] = CITY_CODE
    for col in LEVEL_COLUMNS:
        if col in joined.columns and col != Level.BUILDING.column:
            v = joined[col].iloc[0]
            if v is not None and not pd.isna(v):
                codes[col] = str(v)
    base = _overlapping(buildings, model.footprint)
    by_address = None
    if model.address is not None and search is not None:
        text = model.address.text
        try:
            found = search.search(text)
        except SearchError as exc:
            found = None
            warnings.append(f"the IfcPostalAddress {text!r} was not matched: {exc}")
        if found is not None and found.match is not None:
            gap = distance_m(found.match.lon, found.match.lat, point.x, point.y)
            if gap <= ADDRESS_NEAR_M:
                by_address = found.match
            else:
                warnings.append(f"the IfcPostalAddress {text!r} names {found.match.text}, {gap:,.0f} m from the "
                                f"model; the address was taken from the footprint instead")
        elif found is not None:
            warnings.append(f"the IfcPostalAddress {text!r} matches no standard address well enough ({found.reason})")
    building_code, address, source = None, None, None
    if by_address is not None:
        building_code, address, source = by_address.building_code, by_address.text, "ifc"
    elif base is not None:
        building_code, address, source = str(base["code"]), base.get("address"), "footprint"
        address = None if address is None or pd.isna(address) else str(address)
    elif model.address is not None:
        address, source = model.address.text, "ifc"
    if building_code is not None and buildings is not None:
        row = buildings[buildings["code"] == building_code]
        if len(row):
            for col in LEVEL_COLUMNS:
                if col in row.columns:
                    codes[col] = str(row[col].iloc[0])
            codes[Level.BUILDING.column] = building_code
    return Linked(codes=codes, building_code=building_code, address=address, address_source=source,
                  warnings=tuple(warnings))


def _json_of(model: BuildingModel, linked: Linked, cells: list[str], glb: str, schema: str) -> dict:
    p = model.placement
    return {
        "building_id": model.global_id,
        "name": model.name,
        "schema": schema,
        "georeference": {"method": p.method, "crs": p.crs, "lon": round(p.lon, 8), "lat": round(p.lat, 8),
                         "elevation": round(p.elevation, 3), "rotation": round(p.rotation, 4),
                         "warnings": list(p.warnings)},
        "storeys": [{"name": n, "elevation": e} for n, e in model.storeys],
        "spaces": len(model.spaces),
        "elements": len(model.elements),
        "element_counts": model.counts,
        "height_m": model.height_m,
        "footprint": shapely.geometry.mapping(shapely.set_precision(model.footprint, 1e-8)),
        "glb": glb,
        "h3_cells": cells,
        "codes": linked.codes,
        "city_building": linked.building_code,
        "address": linked.address,
        "warnings": [w for w in model.warnings if w not in p.warnings] + list(linked.warnings),
    }


def _replace_rows(store: CityStore, kind: str, frame: pd.DataFrame,
                  model_ids: set[str]) -> tuple[pd.DataFrame, str | None]:
    entry = store.entry(kind)
    if entry is None:
        return frame, None
    old = store.read(kind)
    kept = old[~old["model_id"].isin(model_ids)]
    return pd.concat([kept, frame], ignore_index=True), entry.content_hash


@dataclass(frozen=True)
class CityBase:
    """What a model is linked to: the boundaries, the buildings and the address search of the city."""

    units: object
    buildings: gpd.GeoDataFrame | None
    search: AddressSearch | None

    @classmethod
    def of_store(cls, store: CityStore) -> CityBase:
        if not CityStore.exists_at(store.folder):  # a folder that holds no city yet: nothing to link to
            return cls(Units(), None, None)
        buildings = store.read("buildings", columns=["code", "address", *LEVEL_COLUMNS, "geometry"]) \
            if store.has("buildings") else None
        return cls(units_of(store), buildings, AddressSearch(store) if store.has("addresses") else None)


def ingest_ifc(store: CityStore, path: Path, *, anchor: Anchor | None = None, crs: str | None = None,
               num_threads: int | None = None, progress: Callable[[str, float], None] | None = None,
               city: CityBox = WUHAN, converted: ConvertedFile | None = None, name: str | None = None) -> list[dict]:
    """Ingest one IFC file; one JSON-ready report per building. Raises :class:`BimError` and writes nothing
    if the file is refused. ``name`` is the file's name as its owner knows it (an upload is kept under another).

    ``store`` may name a folder that holds no city yet (``CityStore(folder)``): the model is then linked to an
    empty city, and the store is made only to write it, so a refused file leaves no folder behind."""
    say = progress or (lambda _t, _s: None)
    path = Path(path)
    try:
        new = CityStore.is_new_at(store.folder)  # a bad place is refused before the file is read
    except StoreError as exc:
        raise BimError(f"{exc}; nothing was written") from None
    converted = converted or convert_file(path, anchor=anchor, crs=crs, num_threads=num_threads, progress=say)
    if name:
        converted = dataclasses.replace(converted, path=converted.path.with_name(name))
    check_in_city(converted, city)
    say("linking to the city base", 0.96)
    base = CityBase.of_store(store)
    try:
        with into_store(store, new=new) as store, store.batch(WRITER) as batch:
            reports = write_models(batch, store, [converted], base)
    except StoreError as exc:
        raise BimError(f"{path}: {exc}") from None
    say("done", 1.0)
    return reports


def check_in_city(converted: ConvertedFile, city: CityBox = WUHAN) -> None:
    """Refuse a file any of whose buildings its georeference puts outside the city."""
    for model in converted.buildings:
        _check_in_city(model, converted.path, city)


def write_models(batch, store: CityStore, files: list[ConvertedFile], base: CityBase) -> list[dict]:
    """Write the buildings of converted files into ``batch`` (rows of the same models replaced); their reports.

    ``store`` is read for the rows already there; ``base`` is what the models are linked to (the demo build
    passes the city it is writing in the same batch)."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    models, elements, spaces, reports, sources = [], [], [], [], []
    for converted in files:
        path = converted.path
        first = len(reports)
        for model in converted.buildings:
            linked = link(store, model, search=base.search, buildings=base.buildings, units=base.units)
            cells = _cells(model.footprint)
            glb = batch.write_blob(model.glb, folder="models", suffix=".glb")
            c = model.footprint.representative_point()
            report = _json_of(model, linked, cells, glb, converted.schema)
            reports.append(report)
            models.append({
                "model_id": model.global_id, "name": model.name, **linked.codes,
                "address": linked.address, "address_source": linked.address_source,
                "file": path.name, "sha256": converted.sha256, "schema": converted.schema,
                "georef_method": model.placement.method, "georef_crs": model.placement.crs,
                "lon": model.placement.lon, "lat": model.placement.lat, "elevation": model.placement.elevation,
                "rotation": model.placement.rotation, "height_m": model.height_m, "storeys": len(model.storeys),
                "storey_list": json.dumps(report["storeys"], ensure_ascii=False),
                "spaces": len(model.spaces), "elements": len(model.elements),
                "element_counts": json.dumps(model.counts), "h3_cells": ",".join(cells),
                "h3_cell": np.uint64(h3.str_to_int(h3.latlng_to_cell(c.y, c.x, CENTRE_RES))),
                "glb": glb, "glb_bytes": len(model.glb),
                "warnings": json.dumps(report["georeference"]["warnings"] + report["warnings"], ensure_ascii=False),
                "ingested_at": stamp, "geometry": model.footprint,
            })
            elements.extend({"model_id": model.global_id, "index": e.index, "global_id": e.global_id,
                             "ifc_class": e.ifc_class, "kind": e.kind, "name": e.name, "storey": e.storey,
                             "psets": e.psets} for e in model.elements)
            spaces.extend({"model_id": model.global_id, "global_id": s.global_id, "name": s.name,
                           "long_name": s.long_name, "storey": s.storey, "area_m2": float(s.area_m2),
                           "area_source": s.area_source} for s in model.spaces)
        here = reports[first]["georeference"]
        sources.append(Source(file=path.name, sha256=converted.sha256, kind="bim_models",
                              rows=len(converted.buildings), time=now(), crs_in=here["crs"],
                              note=f"{converted.schema}, placed by {here['method']}"))
    ids = {m["model_id"] for m in models}
    frame = gpd.GeoDataFrame(pd.DataFrame(models), geometry="geometry", crs="EPSG:4326")
    for col in LEVEL_COLUMNS:
        frame[col] = frame[col].astype(object)
    frame["h3_cell"] = frame["h3_cell"].astype(np.uint64)
    batch.write("bim_models", frame, sources=sources, mode="update")
    for kind, rows, columns in (("bim_elements", elements, ELEMENT_COLUMNS), ("bim_spaces", spaces, SPACE_COLUMNS)):
        table, old = _replace_rows(store, kind, _frame(rows, columns), ids)
        batch.write(kind, table, sources=[src.model_copy(update={"kind": kind, "rows": len(rows)}) for src in sources],
                    expect={kind: old})
    return reports


ELEMENT_COLUMNS = ("model_id", "index", "global_id", "ifc_class", "kind", "name", "storey", "psets")
SPACE_COLUMNS = ("model_id", "global_id", "name", "long_name", "storey", "area_m2", "area_source")


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for col in ("name", "storey", "long_name"):
        if col in frame.columns:
            frame[col] = frame[col].astype(object)
    if "index" in frame.columns:
        frame["index"] = frame["index"].astype(np.int64)
    if "area_m2" in frame.columns:
        frame["area_m2"] = frame["area_m2"].astype(np.float64)
    if frame.empty:  # a model with no IfcSpace: an empty column of objects has no type, so its text is said
        frame = frame.astype({c: "string" for c in columns if c not in ("index", "area_m2")})
    return frame
