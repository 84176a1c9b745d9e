"""The layers of the city map: the one place that lists them.

Each :class:`~layers.spec.LayerSpec` below declares a layer whole; the server's routes, the side panel,
the tooltip, picking, the legend and the benchmarks all read :func:`city_layers`. To add a layer, add
a spec here; the browser draws it with the renderer it names.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import h3
import numpy as np
import pandas as pd
import shapely

from cim.levels import Level
from cim.tables import Classification
from cim.vocabulary import BUILDING_USES, ORGANISATION_KINDS, POI_KINDS, ROAD_CLASSES, Vocabulary
from layers.bim_models import BIM_MODELS
from layers.cells import cell_to_string, cells_to_rings
from layers.colours import categorical, sequential
from layers.geometry import Rings, exteriors_of, lines_of, points_of, rings_of
from layers.population import PopulationLayer
from layers.rollup import roll_up
from layers.spec import (
    Colouring,
    Details,
    Labels,
    LayerData,
    LayerRegistry,
    LayerSpec,
    Pick,
    Renderer,
    Tables,
    Variant,
    level_codes,
)

# --- buildings -------------------------------------------------------------------------------------------


def _standing(tables: Tables) -> pd.DataFrame:
    """The buildings drawn as blocks: all but those whose place an IFC model (bim_models) has taken."""
    b = tables["buildings"]
    models = tables.get("bim_models")
    if models is None or not len(models):
        return b
    replaced = models["building_code"].dropna().astype(str).to_numpy()
    keep = ~b["code"].astype(str).isin(replaced).to_numpy()
    return b if keep.all() else b[keep].reset_index(drop=True)


def _buildings(tables: Tables, _variant: Variant | None) -> LayerData:
    b = _standing(tables)

    def footprints() -> Rings:  # a building of several parts draws each, and a click on any picks the building
        return exteriors_of(b.geometry.to_numpy())

    use = pd.Categorical(b["use"].to_numpy().astype(str), categories=list(BUILDING_USES.codes))
    label = pd.Categorical.from_codes(use.codes, categories=[f"{t.label_zh} {t.code}" for t in BUILDING_USES.terms])
    return LayerData(
        count=len(b),
        shapes=footprints,
        values={
            "height": b["height_m"].to_numpy(dtype=np.float32),
            "floors": b["floors"].to_numpy(dtype=np.uint16),
            "residents": b["residents"].to_numpy(dtype=np.uint32),
            "use": use,
            "use_label": label,
        },
    )


def _by_use(data: LayerData):
    return categorical(np.asarray(data.values["use"].codes), BUILDING_USES, title="Building use 楼栋用途")


def _by_residents(data: LayerData):
    return sequential(data.values["residents"], title="Residents per building 楼栋人口",
                      none_label="nobody lives here 无人居住")


def _public_buildings(tables: Tables, variant: Variant | None) -> LayerData:
    data = _buildings(tables, variant)
    values = {k: v for k, v in data.values.items() if k != "residents"}
    return LayerData(count=data.count, shapes=data.shapes, values=values)


def _building_details(tables: Tables, _variant: Variant | None, index: int, *, residents: bool = True) -> Details:
    b = _standing(tables)
    row = b.iloc[index]
    facts = (
        ("Address 地址", str(row["address"])),
        ("Use 用途", f"{BUILDING_USES.label_zh(str(row['use']))} ({row['use']})"),
        ("Floors 层数", str(int(row["floors"]))),
        ("Height 高度", f"{float(row['height_m']):.1f} m"),
        *((("Residents 实有人口", f"{int(row['residents']):,}"),) if residents else ()),
        ("Dwellings 房屋", f"{int(row['dwellings']):,}"),
    )
    codes = level_codes(row)
    return Details(layer="buildings", key=str(row["code"]), title=f"{row['compound_name']} {int(row['building_no'])}栋",
                   subtitle=str(row["address"]), facts=facts, codes=codes)


def _find_by_code(table: str):
    def find(tables: Tables, _variant: Variant | None, key: str) -> int | None:
        frame = _standing(tables) if table == "buildings" else tables[table]
        hits = np.flatnonzero(frame["code"].to_numpy().astype(str) == key)
        return int(hits[0]) if len(hits) else None

    return find


# what a viewer without internal clearance sees: the buildings without their residents
PUBLIC_BUILDINGS = LayerSpec(
    id="buildings",
    title_zh="楼栋",
    title_en="Buildings",
    renderer=Renderer.EXTRUDED,
    tables=("buildings",),
    optional_tables=("bim_models",),
    build=_public_buildings,
    classification=Classification.PUBLIC,
    colourings=(Colouring("use", "用途", "Use", _by_use),),
    tooltip="{use_label} · {floors} floors 层 · {height:.0f} m",
    pick=Pick(details=partial(_building_details, residents=False), find=_find_by_code("buildings")),
    bindings={"elevation": "height"},
    style={"highlight": [255, 64, 64, 255]},
)

BUILDINGS = replace(
    PUBLIC_BUILDINGS,
    build=_buildings,
    classification=Classification.INTERNAL,  # residents per building
    colourings=(*PUBLIC_BUILDINGS.colourings, Colouring("residents", "人口", "Residents", _by_residents)),
    tooltip="{use_label} · {floors} floors 层 · {height:.0f} m · {residents:,} residents 人",
    pick=Pick(details=_building_details, find=_find_by_code("buildings")),
    redacted=PUBLIC_BUILDINGS,
)

# --- population on H3 ------------------------------------------------------------------------------------


def _population(tables: Tables, variant: Variant | None) -> LayerData:
    assert variant is not None
    cells = PopulationLayer(tables["population_h3"]).at(int(variant.value))
    n = len(cells)

    def hexagons() -> Rings:
        coords, starts = cells_to_rings(cells["cell"].to_numpy())
        return Rings(coords, starts, np.arange(n))

    return LayerData(
        count=n,
        shapes=hexagons,
        values={"residents": cells["residents"].to_numpy(dtype=np.uint32),
                "cell": cells["cell"].to_numpy(dtype=np.uint64)},
        meta={"resolution": int(variant.value), "total": int(cells["residents"].sum())},
    )


def _population_colours(data: LayerData):
    return sequential(data.values["residents"], title="Residents per H3 cell 每格人口", alpha=150)


def _population_details(tables: Tables, variant: Variant | None, index: int) -> Details:
    assert variant is not None
    res = int(variant.value)
    cells = PopulationLayer(tables["population_h3"]).at(res)
    cell = int(cells["cell"].iloc[index])
    residents = int(cells["residents"].iloc[index])
    area = h3.cell_area(cell_to_string(cell), unit="km^2")
    facts = [
        ("Residents 人口", f"{residents:,}"),
        ("Area 面积", f"{area:.3f} km²"),
        ("Density 密度", f"{residents / area:,.0f} per km²"),
        ("Resolution 分辨率", str(res)),
    ]
    if res > 0:
        facts.append(("Parent cell 上级网格", h3.cell_to_parent(cell_to_string(cell), res - 1)))
    return Details(layer="population", key=cell_to_string(cell), title=f"H3 {cell_to_string(cell)}",
                   subtitle=f"population cell at resolution {res}", facts=tuple(facts))


def _find_cell(tables: Tables, variant: Variant | None, key: str) -> int | None:
    assert variant is not None
    if not (len(key) == 15 and all(c in "0123456789abcdefABCDEF" for c in key)):
        return None  # an H3 cell is 15 hexadecimal digits
    try:
        cell = np.uint64(h3.str_to_int(key))
    except (ValueError, TypeError, OverflowError, h3.H3BaseException):
        return None
    cells = PopulationLayer(tables["population_h3"]).at(int(variant.value))["cell"].to_numpy()
    hits = np.flatnonzero(cells == cell)
    return int(hits[0]) if len(hits) else None


POPULATION = LayerSpec(
    id="population",
    title_zh="人口网格",
    title_en="Population (H3)",
    renderer=Renderer.AREAS,
    tables=("population_h3",),
    build=_population,
    colourings=(Colouring("residents", "人口", "Residents", _population_colours),),
    tooltip="{residents:,} residents 人 · H3 {cell:h3}",
    pick=Pick(details=_population_details, find=_find_cell),
    variants=tuple(Variant(f"r{r}", f"res {r}", r) for r in (6, 7, 8, 9)),
    default_variant="r8",
    visible=False,
    style={"depthWrite": False},
)

# --- boundaries of the levels ----------------------------------------------------------------------------


def _outlines(table: str, labels: bool):
    def build(tables: Tables, _variant: Variant | None) -> LayerData:
        units = tables[table]
        geoms = units.geometry.to_numpy()
        text = None
        if labels:
            at = shapely.get_coordinates(shapely.point_on_surface(geoms))
            text = Labels(at[:, 0], at[:, 1], units["name"].to_numpy().astype(str))
        return LayerData(
            count=len(units),
            shapes=lambda: rings_of(geoms),
            values={"name": pd.Categorical(units["name"].to_numpy().astype(str)),
                    "code": pd.Categorical(units["code"].to_numpy().astype(str))},
            labels=text,
        )

    return build


def _unit_details(table: str, level: Level):
    def details(tables: Tables, _variant: Variant | None, index: int) -> Details:
        unit = tables[table].iloc[index]
        code = str(unit["code"])
        buildings = tables["buildings"]
        inside = buildings[buildings[level.column].to_numpy().astype(str) == code]
        totals = roll_up(inside, level, {"buildings": "count", "residents": "sum", "dwellings": "sum"})
        row = totals.iloc[0] if len(totals) else None

        def total(name: str) -> str:
            return f"{int(row[name]):,}" if row is not None else "0"

        facts = (
            ("Level 层级", f"{level.label_zh} {level.name.lower()}"),
            ("Buildings 楼栋", total("buildings")),
            ("Residents 实有人口", total("residents")),
            ("Dwellings 房屋", total("dwellings")),
        )
        codes = level_codes(unit, upto=level)
        return Details(layer=table, key=code, title=str(unit["name"]), subtitle=f"{level.label_zh} {code}",
                       facts=facts, codes=codes)

    return details


def _units(table: str, title_zh: str, title_en: str, level: Level, *, min_zoom: float | None, width: float,
           colour: tuple[int, int, int, int], labels: bool = False) -> LayerSpec:
    return LayerSpec(
        id=table,
        title_zh=title_zh,
        title_en=title_en,
        renderer=Renderer.OUTLINES,
        tables=(table,),
        build=_outlines(table, labels),
        colour=colour,
        tooltip=None if labels else "{name} · {code}",
        pick=Pick(details=_unit_details(table, level), find=_find_by_code(table), tables=("buildings",)),
        min_zoom=min_zoom,
        style={"width": width, "labels": labels, "labelSize": 20, "hoverFill": not labels},
    )


DISTRICTS = _units("districts", "区界", "Districts", Level.DISTRICT, min_zoom=None, width=2.5,
                   colour=(235, 240, 255, 210), labels=True)
STREETS = _units("streets", "街道", "Streets (街道)", Level.STREET, min_zoom=11.5, width=1.6,
                 colour=(190, 210, 235, 170))
COMMUNITIES = _units("communities", "社区", "Communities", Level.COMMUNITY, min_zoom=13.0, width=1.2,
                     colour=(120, 220, 200, 180))
GRIDS = _units("grids", "网格", "Grids", Level.GRID, min_zoom=14.5, width=1.0, colour=(200, 160, 255, 170))
COMPOUNDS = _units("compounds", "小区", "Compounds", Level.COMPOUND, min_zoom=15.5, width=1.0,
                   colour=(255, 170, 120, 170))

# --- roads, organisations and points of interest -----------------------------------------------------------


def _terms(values: pd.Series, vocabulary: Vocabulary) -> tuple[pd.Categorical, pd.Categorical]:
    """A column of vocabulary codes as (codes, "中文 english" labels), both dictionary-coded."""
    codes = pd.Categorical(values.to_numpy().astype(str), categories=list(vocabulary.codes))
    labels = pd.Categorical.from_codes(codes.codes, categories=[f"{t.label_zh} {t.label_en}" for t in vocabulary.terms])
    return codes, labels


def _by_term(column: str, vocabulary: Vocabulary, title: str):
    def colour(data: LayerData):
        return categorical(np.asarray(data.values[column].codes), vocabulary, title=title)

    return colour


def _roads(tables: Tables, _variant: Variant | None) -> LayerData:
    r = tables["roads"]
    road_class, label = _terms(r["road_class"], ROAD_CLASSES)
    geoms = r.geometry.to_numpy()
    return LayerData(count=len(r), shapes=lambda: lines_of(geoms), values={
        "name": pd.Categorical(r["name"].fillna("").to_numpy().astype(str)),
        "road_class": road_class, "class_label": label})


def _points(table: str, vocabulary: Vocabulary):
    def build(tables: Tables, _variant: Variant | None) -> LayerData:
        p = tables[table]
        kind, label = _terms(p["kind"], vocabulary)
        geoms = p.geometry.to_numpy()
        return LayerData(count=len(p), shapes=lambda: points_of(geoms), values={
            "name": pd.Categorical(p["name"].fillna("").to_numpy().astype(str)), "kind": kind, "kind_label": label})

    return build


def _place_details(table: str, key: str, vocabulary: Vocabulary):
    def details(tables: Tables, _variant: Variant | None, index: int) -> Details:
        row = tables[table].iloc[index]
        facts = [("Kind 类别", f"{vocabulary.label_zh(str(row['kind']))} ({row['kind']})")]
        if "address" in row and isinstance(row["address"], str) and row["address"]:
            facts.append(("Address 地址", row["address"]))
        codes = level_codes(row)
        return Details(layer=table, key=str(row[key]), title=str(row["name"]) if isinstance(row["name"], str) else "–",
                       subtitle=vocabulary.label_zh(str(row["kind"])), facts=tuple(facts), codes=codes)

    return details


def _find_by(table: str, column: str):
    def find(tables: Tables, _variant: Variant | None, key: str) -> int | None:
        hits = np.flatnonzero(tables[table][column].to_numpy().astype(str) == key)
        return int(hits[0]) if len(hits) else None

    return find


ROADS = LayerSpec(
    id="roads",
    title_zh="道路",
    title_en="Roads",
    renderer=Renderer.LINES,
    tables=("roads",),
    build=_roads,
    colourings=(Colouring("class", "等级", "Class", _by_term("road_class", ROAD_CLASSES, "Road class 道路等级")),),
    tooltip="{name} · {class_label}",
    min_zoom=12.0,
    style={"width": 2},
)

ORGANISATIONS = LayerSpec(
    id="organisations",
    title_zh="实有单位",
    title_en="Organisations",
    renderer=Renderer.POINTS,
    tables=("organisations",),
    build=_points("organisations", ORGANISATION_KINDS),
    colourings=(Colouring("kind", "类别", "Kind", _by_term("kind", ORGANISATION_KINDS, "Organisations 实有单位")),),
    tooltip="{name} · {kind_label}",
    pick=Pick(details=_place_details("organisations", "org_id", ORGANISATION_KINDS),
              find=_find_by("organisations", "org_id")),
    min_zoom=14.0,
    style={"radius": 5},
)

POIS = LayerSpec(
    id="pois",
    title_zh="兴趣点",
    title_en="Points of interest",
    renderer=Renderer.POINTS,
    tables=("pois",),
    build=_points("pois", POI_KINDS),
    colourings=(Colouring("kind", "类别", "Kind", _by_term("kind", POI_KINDS, "Points of interest 兴趣点")),),
    tooltip="{name} · {kind_label}",
    pick=Pick(details=_place_details("pois", "poi_id", POI_KINDS), find=_find_by("pois", "poi_id")),
    min_zoom=15.0,
    visible=False,
    style={"radius": 4},
)

# --- land and water --------------------------------------------------------------------------------------


def _areas(table: str, *, names: bool):
    def build(tables: Tables, _variant: Variant | None) -> LayerData:
        frame = tables[table]
        values = {"name": pd.Categorical(frame["name"].to_numpy().astype(str))} if names else {}
        geoms = frame.geometry.to_numpy()
        return LayerData(count=len(frame), shapes=lambda: exteriors_of(geoms), values=values)

    return build


LAND = LayerSpec(
    id="land",
    title_zh="陆地",
    title_en="Land",
    renderer=Renderer.AREAS,
    tables=("districts",),
    build=_areas("districts", names=False),
    colour=(28, 38, 52, 255),
    toggle=False,
)

WATER = LayerSpec(
    id="water",
    title_zh="水系",
    title_en="Water",
    renderer=Renderer.AREAS,
    tables=("water",),
    build=_areas("water", names=True),
    colour=(38, 92, 150, 255),
    tooltip="{name}",
)


def city_layers() -> LayerRegistry:
    """Every layer of the city map, in drawing order."""
    return LayerRegistry((LAND, WATER, POPULATION, DISTRICTS, STREETS, COMMUNITIES, GRIDS, COMPOUNDS, ROADS,
                          BUILDINGS, BIM_MODELS, ORGANISATIONS, POIS))
