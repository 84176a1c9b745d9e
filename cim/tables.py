"""Every kind of table a city store holds, with its schema: the one place that says what a table is.

A :class:`TableKind` names its columns, their logical types, which level codes its rows carry, its
geometry, its key, its data class (``public``, ``internal``, ``sensitive``) and a schema version. The
city store checks a table against its kind on every write (:func:`check_frame`: types, nulls, keys,
codes, vocabularies, geometry) and on every load (:func:`check_arrow_schema`: columns and types,
read from the file's footer without reading the data).

>>> KINDS["buildings"].column("use").vocabulary.name
'building use'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from cim.levels import CITY_CODE, Level
from cim.vocabulary import (
    BUILDING_USES,
    ELEMENT_KINDS,
    ORGANISATION_KINDS,
    POI_KINDS,
    ROAD_CLASSES,
    SEXES,
    WATER_KINDS,
    Vocabulary,
)


class Classification(StrEnum):
    """Data classes, from open to closed. A table's class is the most closed of its columns'."""

    PUBLIC = "public"
    INTERNAL = "internal"
    SENSITIVE = "sensitive"

    @property
    def rank(self) -> int:
        """0 for public, 1 for internal, 2 for sensitive."""
        return list(Classification).index(self)

    def covers(self, other: Classification) -> bool:
        """Whether a clearance of this class may read data of class ``other``."""
        return self.rank >= Classification(other).rank


class ColumnType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    UINT64 = "uint64"
    BOOL = "bool"
    CODE = "code"  # a level code (see cim.levels), with its ``level``
    TERM = "term"  # a code of a vocabulary (see cim.vocabulary)


class SchemaError(ValueError):
    """A table that does not match its kind: what is wrong, where, and how to fix it, in one line."""


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    doc: str = ""
    level: Level | None = None
    vocabulary: Vocabulary | None = None
    nullable: bool = False
    #: a column a table may leave out (it is checked when it is there)
    optional: bool = False
    minimum: float | None = None
    classification: Classification | None = None  # None: the table's own class

    def __post_init__(self) -> None:
        if (self.type is ColumnType.CODE) != (self.level is not None):
            raise ValueError(f"column {self.name!r}: a level goes with type 'code' and only with it")
        if (self.type is ColumnType.TERM) != (self.vocabulary is not None):
            raise ValueError(f"column {self.name!r}: a vocabulary goes with type 'term' and only with it")


def _codes_down_to(level: Level, *, known_to: Level | None = None) -> tuple[Column, ...]:
    """The code columns of records that lie at ``level``: its own and every coarser level's.

    ``known_to``: the codes are required down to this level only; finer ones may be missing (a record
    placed by a spatial join that fell in no compound, say).
    """
    known_to = known_to or level
    return tuple(
        Column(lv.column, ColumnType.CODE, f"{lv.label_zh} code", level=lv, nullable=lv > known_to)
        for lv in Level if lv <= level
    )


@dataclass(frozen=True)
class TableKind:
    """What one kind of table holds."""

    name: str
    title_zh: str
    title_en: str
    schema_version: int
    columns: tuple[Column, ...]
    classification: Classification
    #: allowed geometry types of the ``geometry`` column; empty for a table without geometry
    geometry: tuple[str, ...] = ()
    key: str | None = None
    #: rows carry codes at every level down to this one
    level: Level | None = None
    #: the columns that define the shapes drawn from this table (for "values changed, shapes did not")
    shape_columns: tuple[str, ...] = ("geometry",)
    doc: str = ""

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(f"a {self.name} table has no column {name!r}; its columns are {list(self.column_names)}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def class_of(self, column: str) -> Classification:
        """The data class of one column: its own, or the table's."""
        for c in self.columns:
            if c.name == column and c.classification is not None:
                return c.classification
        return self.classification


def _unit_kind(name: str, title_zh: str, title_en: str, level: Level, *extra: Column) -> TableKind:
    return TableKind(
        name=name,
        title_zh=title_zh,
        title_en=title_en,
        schema_version=1,
        columns=(
            Column("code", ColumnType.CODE, "the unit's own code", level=level),
            Column("name", ColumnType.STR, "the unit's name"),
            *_codes_down_to(level),
            *extra,
        ),
        classification=Classification.PUBLIC,
        geometry=("Polygon", "MultiPolygon"),
        key="code",
        level=level,
        doc=f"boundaries of the {level.name.lower()} level",
    )


KINDS: dict[str, TableKind] = {
    k.name: k
    for k in (
        _unit_kind("districts", "区", "districts", Level.DISTRICT,
                   Column("name_en", ColumnType.STR, "English name", nullable=True)),
        _unit_kind("streets", "街道(乡镇)", "streets and townships", Level.STREET),
        _unit_kind("communities", "社区", "communities", Level.COMMUNITY),
        _unit_kind("grids", "网格", "grids", Level.GRID),
        _unit_kind(
            "compounds", "小区", "compounds", Level.COMPOUND,
            Column("use", ColumnType.TERM, "main use", vocabulary=BUILDING_USES, nullable=True),
            Column("road", ColumnType.STR, "road the compound fronts", nullable=True),
            Column("number", ColumnType.INT, "door number on that road", minimum=1, nullable=True),
        ),
        TableKind(
            name="buildings",
            title_zh="楼栋",
            title_en="buildings",
            schema_version=1,
            columns=(
                Column("code", ColumnType.CODE, "building code", level=Level.BUILDING),
                *_codes_down_to(Level.BUILDING),
                Column("address", ColumnType.STR, "standard address (标准地址)", nullable=True),
                Column("district_name", ColumnType.STR, nullable=True),
                Column("street_name", ColumnType.STR, nullable=True),
                Column("community_name", ColumnType.STR, nullable=True),
                Column("compound_name", ColumnType.STR, nullable=True),
                Column("road", ColumnType.STR, nullable=True),
                Column("number", ColumnType.INT, minimum=1, nullable=True),
                Column("building_no", ColumnType.INT, "the building's number in its compound (栋)", minimum=1,
                       nullable=True),
                Column("use", ColumnType.TERM, vocabulary=BUILDING_USES),
                Column("floors", ColumnType.INT, minimum=1),
                Column("height_m", ColumnType.FLOAT, minimum=0),
                Column("height_estimated", ColumnType.BOOL, "height (or floors) estimated, not surveyed"),
                Column("footprint_m2", ColumnType.FLOAT, minimum=0),
                Column("dwellings", ColumnType.INT, "dwellings (实有房屋)", minimum=0),
                Column("residents", ColumnType.INT, "residents (实有人口) counted here", minimum=0,
                       classification=Classification.INTERNAL),
                Column("lon", ColumnType.FLOAT, "centre longitude, WGS84"),
                Column("lat", ColumnType.FLOAT, "centre latitude, WGS84"),
            ),
            classification=Classification.PUBLIC,
            geometry=("Polygon", "MultiPolygon"),
            key="code",
            level=Level.BUILDING,
            doc="building footprints with their standard addresses",
        ),
        TableKind(
            name="water",
            title_zh="水系",
            title_en="water",
            schema_version=1,
            columns=(
                Column("name", ColumnType.STR),
                Column("name_en", ColumnType.STR, nullable=True),
                Column("kind", ColumnType.TERM, vocabulary=WATER_KINDS),
            ),
            classification=Classification.PUBLIC,
            geometry=("Polygon", "MultiPolygon"),
            doc="rivers and lakes",
        ),
        TableKind(
            name="residents",
            title_zh="实有人口",
            title_en="residents",
            schema_version=1,
            columns=(
                Column("person_id", ColumnType.INT, "a number with no meaning outside this table", minimum=1),
                *_codes_down_to(Level.BUILDING),
                Column("age", ColumnType.INT, minimum=0, nullable=True),
                Column("sex", ColumnType.TERM, vocabulary=SEXES, nullable=True),
                Column("lon", ColumnType.FLOAT, "where the resident lives, WGS84"),
                Column("lat", ColumnType.FLOAT, "where the resident lives, WGS84"),
                Column("phone_masked", ColumnType.STR, "phone number with its middle digits hidden (138****5678)",
                       nullable=True, optional=True),
            ),
            classification=Classification.SENSITIVE,
            key="person_id",
            level=Level.BUILDING,
            shape_columns=(),
            doc="one row per resident (实有人口), no names",
        ),
        TableKind(
            name="addresses",
            title_zh="标准地址",
            title_en="standard addresses",
            schema_version=1,
            columns=(
                Column("address_id", ColumnType.STR, "the address's own id (for a building's door plate: its code)"),
                Column("text", ColumnType.STR, "the standard address, written out"),
                *_codes_down_to(Level.BUILDING, known_to=Level.STREET),
                Column("district_name", ColumnType.STR, nullable=True),
                Column("street_name", ColumnType.STR, nullable=True),
                Column("road", ColumnType.STR, nullable=True),
                Column("number", ColumnType.INT, "door number on the road (号)", minimum=1, nullable=True),
                Column("compound_name", ColumnType.STR, nullable=True),
                Column("building_no", ColumnType.INT, "栋", minimum=1, nullable=True),
                Column("lon", ColumnType.FLOAT, "the door plate's longitude, WGS84"),
                Column("lat", ColumnType.FLOAT, "the door plate's latitude, WGS84"),
            ),
            classification=Classification.PUBLIC,
            key="address_id",
            level=Level.BUILDING,
            shape_columns=("lon", "lat"),
            doc="standard addresses (标准地址) down to the building (door plate); dwellings add unit and room",
        ),
        TableKind(
            name="dwellings",
            title_zh="实有房屋",
            title_en="dwellings",
            schema_version=1,
            columns=(
                Column("dwelling_id", ColumnType.STR, "building code + unit (2 digits) + room (4 digits)"),
                *_codes_down_to(Level.BUILDING),
                Column("unit", ColumnType.INT, "单元", minimum=1),
                Column("floor", ColumnType.INT, minimum=-5),
                Column("room", ColumnType.STR, "室, as on the door (e.g. 1203)"),
                Column("area_m2", ColumnType.FLOAT, "floor area", minimum=0),
            ),
            classification=Classification.INTERNAL,
            key="dwelling_id",
            level=Level.BUILDING,
            shape_columns=(),
            doc="dwellings (实有房屋), each in a building; its address is the building's plus unit and room",
        ),
        TableKind(
            name="organisations",
            title_zh="实有单位",
            title_en="organisations",
            schema_version=1,
            columns=(
                Column("org_id", ColumnType.STR),
                Column("name", ColumnType.STR),
                Column("kind", ColumnType.TERM, vocabulary=ORGANISATION_KINDS),
                Column("address", ColumnType.STR, "its standard address"),
                *_codes_down_to(Level.BUILDING, known_to=Level.STREET),
                Column("staff", ColumnType.INT, "people working there", minimum=0, nullable=True,
                       classification=Classification.INTERNAL),
            ),
            classification=Classification.PUBLIC,
            geometry=("Point",),
            key="org_id",
            level=Level.BUILDING,
            doc="organisations (实有单位): schools, hospitals, clinics, elder-care homes, companies, shops",
        ),
        TableKind(
            name="pois",
            title_zh="兴趣点",
            title_en="points of interest",
            schema_version=1,
            columns=(
                Column("poi_id", ColumnType.STR),
                Column("name", ColumnType.STR, nullable=True),
                Column("kind", ColumnType.TERM, vocabulary=POI_KINDS),
                *_codes_down_to(Level.BUILDING, known_to=Level.DISTRICT),
            ),
            classification=Classification.PUBLIC,
            geometry=("Point",),
            key="poi_id",
            level=Level.BUILDING,
            doc="points of interest: what a map names (organisations' entrances, shops, stops, parks ...)",
        ),
        TableKind(
            name="roads",
            title_zh="道路",
            title_en="roads",
            schema_version=1,
            columns=(
                Column("road_id", ColumnType.STR),
                Column("name", ColumnType.STR, nullable=True),
                Column("road_class", ColumnType.TERM, vocabulary=ROAD_CLASSES),
                *_codes_down_to(Level.STREET, known_to=Level.DISTRICT),
            ),
            classification=Classification.PUBLIC,
            geometry=("LineString", "MultiLineString"),
            key="road_id",
            level=Level.STREET,
            doc="road centre lines; their codes are those of the street their middle lies in",
        ),
        TableKind(
            name="register",
            title_zh="区划名录",
            title_en="register of units",
            schema_version=1,
            columns=(
                Column("code", ColumnType.STR, "the unit's code (6 to 17 digits, by level)"),
                Column("name", ColumnType.STR),
                Column("level", ColumnType.STR, "district, street, community, grid or compound"),
                Column("parent_code", ColumnType.STR, "the code of the unit that holds it", nullable=True),
            ),
            classification=Classification.PUBLIC,
            key="code",
            shape_columns=(),
            doc="official names and codes of units without their shapes (e.g. the street and township list)",
        ),
        TableKind(
            name="population_h3",
            title_zh="人口网格",
            title_en="population on H3 cells",
            schema_version=1,
            columns=(
                Column("resolution", ColumnType.INT, "H3 resolution", minimum=0),
                Column("cell", ColumnType.UINT64, "H3 cell index"),
                Column("residents", ColumnType.INT, minimum=0),
            ),
            classification=Classification.PUBLIC,
            shape_columns=("resolution", "cell"),
            doc="residents per H3 cell at resolution 9 and rolled up to 8-5; derived from residents",
        ),
        TableKind(
            name="bim_models",
            title_zh="建筑信息模型",
            title_en="BIM building models",
            schema_version=1,
            columns=(
                Column("model_id", ColumnType.STR, "the IfcBuilding's GlobalId"),
                Column("name", ColumnType.STR, "the IfcBuilding's name", nullable=True),
                *_codes_down_to(Level.BUILDING, known_to=Level.CITY),
                Column("address", ColumnType.STR, "standard address (标准地址)", nullable=True),
                Column("address_source", ColumnType.STR,
                       "where the address came from: ifc (IfcPostalAddress) or footprint (the building it covers)",
                       nullable=True),
                Column("file", ColumnType.STR, "the IFC file's name"),
                Column("sha256", ColumnType.STR, "sha256 of the IFC file"),
                Column("schema", ColumnType.STR, "IFC schema, e.g. IFC4"),
                Column("georef_method", ColumnType.STR, "anchor, map_conversion or site_reference"),
                Column("georef_crs", ColumnType.STR, "the CRS the placement came through", nullable=True),
                Column("lon", ColumnType.FLOAT, "the model's anchor (its GLB origin), WGS84"),
                Column("lat", ColumnType.FLOAT, "the model's anchor (its GLB origin), WGS84"),
                Column("elevation", ColumnType.FLOAT, "metres above the datum of the anchor"),
                Column("rotation", ColumnType.FLOAT, "degrees anticlockwise from east to the model's x axis"),
                Column("height_m", ColumnType.FLOAT, minimum=0),
                Column("storeys", ColumnType.INT, minimum=0),
                Column("storey_list", ColumnType.STR, "JSON: [{name, elevation}] from the lowest up"),
                Column("spaces", ColumnType.INT, "IfcSpace count", minimum=0),
                Column("elements", ColumnType.INT, "elements drawn", minimum=0),
                Column("element_counts", ColumnType.STR, "JSON: {IFC class: count}"),
                Column("h3_cells", ColumnType.STR, "H3 cells (resolution 12) the footprint covers, comma separated"),
                Column("h3_cell", ColumnType.UINT64, "the H3 cell (resolution 9) of the footprint's centre"),
                Column("glb", ColumnType.STR, "the model's GLB, relative to the store folder"),
                Column("glb_bytes", ColumnType.INT, minimum=0),
                Column("warnings", ColumnType.STR, "JSON list of what the ingest reported"),
                Column("ingested_at", ColumnType.STR, "ISO 8601 time of the ingest"),
            ),
            classification=Classification.PUBLIC,
            geometry=("Polygon", "MultiPolygon"),
            key="model_id",
            level=Level.BUILDING,
            shape_columns=("geometry", "glb", "lon", "lat", "rotation"),
            doc="IFC buildings placed in the city: footprint, placement, GLB and counts (twin bim ingest)",
        ),
        TableKind(
            name="bim_elements",
            title_zh="构件",
            title_en="BIM elements",
            schema_version=1,
            columns=(
                Column("model_id", ColumnType.STR, "the model (bim_models) the element belongs to"),
                Column("index", ColumnType.INT, "the element's number in its model's GLB", minimum=0),
                Column("global_id", ColumnType.STR, "IFC GlobalId"),
                Column("ifc_class", ColumnType.STR, "IFC class, e.g. IfcWallStandardCase"),
                Column("kind", ColumnType.TERM, "what it is, grouped", vocabulary=ELEMENT_KINDS),
                Column("name", ColumnType.STR, nullable=True),
                Column("storey", ColumnType.STR, "the storey that holds it", nullable=True),
                Column("psets", ColumnType.STR, "JSON: {property set: {property: value}}"),
            ),
            classification=Classification.PUBLIC,
            shape_columns=(),
            doc="every element of the BIM models, with its property sets",
        ),
        TableKind(
            name="bim_spaces",
            title_zh="房间",
            title_en="BIM spaces",
            schema_version=1,
            columns=(
                Column("model_id", ColumnType.STR),
                Column("global_id", ColumnType.STR, "IFC GlobalId"),
                Column("name", ColumnType.STR),
                Column("long_name", ColumnType.STR, nullable=True),
                Column("storey", ColumnType.STR, nullable=True),
                Column("area_m2", ColumnType.FLOAT, minimum=0),
                Column("area_source", ColumnType.STR, "quantities (the file's) or geometry (measured)"),
            ),
            classification=Classification.PUBLIC,
            shape_columns=(),
            doc="the IfcSpaces (rooms) of the BIM models, with their areas",
        ),
    )
}


def kind_of(name: str) -> TableKind:
    """The kind called ``name``, or a :class:`SchemaError` listing the kinds there are."""
    try:
        return KINDS[name]
    except KeyError:
        raise SchemaError(f"no table kind {name!r}; the kinds are: {', '.join(KINDS)}") from None


# --- types -----------------------------------------------------------------------------------------------


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _type_fits(ctype: ColumnType, t: pa.DataType) -> bool:
    v = _value_type(t)
    if ctype in (ColumnType.STR, ColumnType.CODE, ColumnType.TERM):
        return pa.types.is_string(v) or pa.types.is_large_string(v) or pa.types.is_string_view(v)
    if ctype is ColumnType.INT:
        return pa.types.is_integer(v)
    if ctype is ColumnType.FLOAT:
        return pa.types.is_floating(v)
    if ctype is ColumnType.UINT64:
        return pa.types.is_uint64(v)
    if ctype is ColumnType.BOOL:
        return pa.types.is_boolean(v)
    raise AssertionError(ctype)


_TYPE_ADVICE = {
    ColumnType.STR: "text",
    ColumnType.CODE: "text of ASCII digits (a level code)",
    ColumnType.TERM: "text (a vocabulary code)",
    ColumnType.INT: "whole numbers",
    ColumnType.FLOAT: "floating-point numbers",
    ColumnType.UINT64: "unsigned 64-bit integers",
    ColumnType.BOOL: "true/false",
}


def check_arrow_schema(kind: TableKind, schema: pa.Schema, *, where: str) -> None:
    """Columns present with fitting types; ``where`` names the file or frame in the message."""
    names = set(schema.names)
    missing = [c.name for c in kind.columns if c.name not in names and not c.optional]
    if missing:
        raise SchemaError(
            f"{where}: a {kind.name} table needs the columns {missing}, which are missing "
            f"(it has {sorted(names - {'geometry'})}); add them"
        )
    for c in kind.columns:
        if c.name not in names:
            continue
        t = schema.field(c.name).type
        if pa.types.is_null(t):  # every value is missing
            if c.nullable:
                continue
            raise SchemaError(
                f"{where}: column {c.name!r} is empty in every row; a {kind.name} table needs values there"
            )
        if not _type_fits(c.type, t):
            raise SchemaError(
                f"{where}: column {c.name!r} of a {kind.name} table must hold {_TYPE_ADVICE[c.type]}, "
                f"found {t}; convert it"
            )
    if kind.geometry and "geometry" not in names:
        raise SchemaError(f"{where}: a {kind.name} table needs a 'geometry' column of {'/'.join(kind.geometry)}")


# --- values ----------------------------------------------------------------------------------------------


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _strings(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values (as str) and, per row, the index of its value; nulls map to -1."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.categories.to_numpy().astype(str), series.cat.codes.to_numpy()
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(uniques).astype(str), codes


def _check_codes(kind: TableKind, frame: pd.DataFrame, where: str) -> None:
    code_columns = [c for c in kind.columns if c.type is ColumnType.CODE]
    for c in code_columns:
        values, _ = _strings(frame[c.name])
        assert c.level is not None
        if c.level is Level.CITY:
            bad = values != CITY_CODE
            expected = f"the city code {CITY_CODE}"
        else:
            ok = np.char.isdigit(values) & (np.char.str_len(values) == c.level.digits)
            ok &= np.array([v.isascii() for v in values], dtype=bool) if len(values) else ok
            bad = ~ok
            expected = f"{c.level.digits} ASCII digits"
        if bad.any():
            raise SchemaError(
                f"{where}: column {c.name!r} holds {str(values[_first(bad)])!r}, which is not a "
                f"{c.level.name.lower()} code ({expected}); fix the codes"
            )
    # each code starts with the code of the level above it (children lie inside their parents), and a
    # record known down to a level is known at every level above it
    chain = sorted((c for c in code_columns if c.level is not Level.CITY), key=lambda c: c.level)
    if not chain:
        return
    combos = frame[[c.name for c in chain]].drop_duplicates()
    for coarse, fine in pairwise(chain):
        has_coarse = combos[coarse.name].notna().to_numpy()
        has_fine = combos[fine.name].notna().to_numpy()
        gap = has_fine & ~has_coarse
        if gap.any():
            raise SchemaError(
                f"{where}: a row has {fine.name} {str(combos[fine.name].iloc[_first(gap)])!r} but no {coarse.name}; "
                f"give every level above the finest one known"
            )
        both = has_fine & has_coarse
        deep = combos[fine.name].to_numpy()[both].astype(str)
        shallow = combos[coarse.name].to_numpy()[both].astype(str)
        bad = ~np.char.startswith(deep, shallow)
        if bad.any():
            i = _first(bad)
            raise SchemaError(
                f"{where}: {fine.name} {str(deep[i])!r} is not inside {coarse.name} {str(shallow[i])!r} "
                f"(a code starts with the codes of the units that hold it); fix the codes"
            )


def check_frame(kind: TableKind, frame: pd.DataFrame, *, where: str) -> None:
    """Check a table's types and values against its kind; a :class:`SchemaError` names the first problem."""
    plain = frame.drop(columns=["geometry"]) if "geometry" in frame.columns else frame
    schema = pa.Schema.from_pandas(plain, preserve_index=False)
    if "geometry" in frame.columns:
        schema = schema.append(pa.field("geometry", pa.binary()))
    check_arrow_schema(kind, schema, where=where)
    undeclared = sorted(set(frame.columns) - set(kind.column_names) - ({"geometry"} if kind.geometry else set()))
    if undeclared:
        raise SchemaError(
            f"{where}: columns {undeclared} are not part of a {kind.name} table, so they have no data class and "
            f"would be kept unchecked; drop them, or declare them (with their class) in cim/tables.py"
        )
    if len(frame) == 0:
        return
    for c in kind.columns:
        if c.name not in frame.columns:
            continue
        col = frame[c.name]
        null = col.isna().to_numpy()
        if not c.nullable and null.any():
            raise SchemaError(
                f"{where}: column {c.name!r} is empty in row {_first(null)} ({int(null.sum())} rows in all); "
                f"a {kind.name} table needs a value there"
            )
        if c.minimum is not None:
            values = col.to_numpy(dtype=float, na_value=np.nan)
            low = values < c.minimum
            if low.any():
                i = _first(low)
                raise SchemaError(
                    f"{where}: column {c.name!r} is {values[i]:g} in row {i}; it must be at least {c.minimum:g}"
                )
        if c.type is ColumnType.FLOAT:
            values = col.to_numpy(dtype=float, na_value=np.nan)
            inf = np.isinf(values)
            if inf.any():
                raise SchemaError(f"{where}: column {c.name!r} is infinite in row {_first(inf)}; give a finite value")
        if c.vocabulary is not None:
            values, _ = _strings(col.dropna())
            unknown = c.vocabulary.unknown(values)
            if unknown:
                raise SchemaError(
                    f"{where}: column {c.name!r} holds {unknown[:3]}, not a {c.vocabulary.name}; "
                    f"use one of: {', '.join(c.vocabulary.codes)}"
                )
    if kind.key is not None:
        dup = frame[kind.key].duplicated().to_numpy()
        if dup.any():
            i = _first(dup)
            raise SchemaError(
                f"{where}: {kind.key} {frame[kind.key].iloc[i]!r} appears twice (again in row {i}); "
                f"each {kind.name[:-1] if kind.name.endswith('s') else kind.name} needs its own"
            )
    _check_codes(kind, frame, where)
    if kind.geometry:
        _check_geometry(kind, frame, where)
    if "lon" in frame.columns and "lat" in frame.columns:
        _check_degrees(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), where)


def _check_degrees(lon: np.ndarray, lat: np.ndarray, where: str) -> None:
    bad = ~((np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        i = _first(bad)
        raise SchemaError(
            f"{where}: row {i} lies at lon {lon[i]:g}, lat {lat[i]:g}, outside WGS84 degrees; "
            f"the store holds lon/lat in EPSG:4326, so convert the coordinates first"
        )


def _check_geometry(kind: TableKind, frame: pd.DataFrame, where: str) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SchemaError(f"{where}: a {kind.name} table must be a GeoDataFrame with a 'geometry' column")
    crs = frame.crs
    if crs is None or crs.to_epsg() != 4326:
        raise SchemaError(
            f"{where}: the geometry is in {crs.to_string() if crs else 'no declared CRS'}; "
            f"the store holds EPSG:4326 lon/lat, so reproject with .to_crs(4326)"
        )
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise SchemaError(f"{where}: row {_first(missing)} has no geometry; drop the row or give it a shape")
    types = shapely.get_type_id(geoms)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                      "MultiPolygon", "GeometryCollection"])[types]
    wrong = ~np.isin(names, kind.geometry)
    if wrong.any():
        i = _first(wrong)
        raise SchemaError(
            f"{where}: row {i} is a {names[i]}; a {kind.name} table holds {' or '.join(kind.geometry)} shapes"
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        i = _first(invalid)
        raise SchemaError(
            f"{where}: the shape in row {i} is invalid ({shapely.is_valid_reason(geoms[i])}); "
            f"repair it (shapely.make_valid) before writing"
        )
    xmin, ymin, xmax, ymax = frame.total_bounds
    _check_degrees(np.array([xmin, xmax]), np.array([ymin, ymax]), where)
