"""Controlled vocabularies of the city base: their codes, Chinese and English labels, and map colours.

Every table, generator and screen takes these from here, so a building use is spelled, labelled and
coloured the same everywhere (the demo generator, the schema check, the map, its legend).

>>> BUILDING_USES.label_zh("commercial")
'商业办公'
>>> BUILDING_USES.index_of(["public", "residential"]).tolist()
[3, 0]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary."""

    code: str
    label_zh: str
    label_en: str
    colour: tuple[int, int, int]

    def __post_init__(self) -> None:
        if not (self.code.isascii() and self.code.replace("_", "").isalnum()):
            raise ValueError(f"vocabulary code {self.code!r} must be ASCII letters, digits and underscores")
        if len(self.colour) != 3 or not all(0 <= c <= 255 for c in self.colour):
            raise ValueError(f"the colour of {self.code!r} must be three 0-255 values, got {self.colour!r}")


class UnknownTermError(ValueError):
    """A value that is not in its vocabulary."""


@dataclass(frozen=True)
class Vocabulary:
    """An ordered list of terms; a term's position is its index on the wire and in generators."""

    name: str
    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        codes = [t.code for t in self.terms]
        if len(set(codes)) != len(codes):
            raise ValueError(f"vocabulary {self.name!r} repeats a code: {codes}")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.terms)

    def term(self, code: str) -> Term:
        for t in self.terms:
            if t.code == code:
                return t
        raise UnknownTermError(f"{code!r} is not a {self.name}; known: {', '.join(self.codes)}")

    def label_zh(self, code: str) -> str:
        return self.term(code).label_zh

    def index_of(self, values: Iterable[str] | np.ndarray) -> np.ndarray:
        """The index of each value (uint8), or :class:`UnknownTermError` naming the unknown values."""
        values = np.asarray(list(values) if not isinstance(values, np.ndarray) else values).astype(str)
        codes = np.asarray(self.codes)
        order = np.argsort(codes)
        pos = np.searchsorted(codes[order], values)
        pos = np.minimum(pos, len(codes) - 1)
        found = codes[order][pos] == values
        if not found.all():
            unknown = sorted(set(values[~found].tolist()))[:5]
            raise UnknownTermError(
                f"{int((~found).sum())} values are not a known {self.name}, e.g. {unknown}; "
                f"use one of: {', '.join(self.codes)}"
            )
        return order[pos].astype(np.uint8)

    def unknown(self, values: Sequence[str] | np.ndarray) -> list[str]:
        """The distinct values that are not in this vocabulary."""
        return sorted(set(np.asarray(values).astype(str).tolist()) - set(self.codes))


BUILDING_USES = Vocabulary(
    "building use",
    (
        Term("residential", "住宅", "residential", (242, 183, 92)),
        Term("commercial", "商业办公", "commercial and offices", (79, 156, 235)),
        Term("industrial", "工业仓储", "industry and warehouses", (168, 132, 214)),
        Term("public", "公共服务", "public services", (92, 201, 142)),
        Term("unknown", "用途不明", "use not known", (150, 160, 172)),
    ),
)

WATER_KINDS = Vocabulary(
    "water kind",
    (
        Term("river", "河流", "river", (38, 92, 150)),
        Term("lake", "湖泊", "lake", (38, 92, 150)),
    ),
)

SEXES = Vocabulary(
    "sex",
    (
        Term("F", "女", "female", (231, 120, 160)),
        Term("M", "男", "male", (90, 140, 220)),
    ),
)

ORGANISATION_KINDS = Vocabulary(
    "organisation kind",
    (
        Term("school", "学校", "school", (255, 214, 102)),
        Term("hospital", "医院", "hospital", (239, 83, 80)),
        Term("clinic", "诊所", "clinic", (244, 143, 177)),
        Term("elder_care", "养老机构", "elder-care home", (186, 104, 200)),
        Term("company", "企业", "company", (100, 181, 246)),
        Term("shop", "商店", "shop", (129, 199, 132)),
        Term("government", "机关", "government office", (255, 167, 38)),
        Term("other", "其他单位", "other organisation", (176, 190, 197)),
    ),
)

POI_KINDS = Vocabulary(
    "POI kind",
    (
        *ORGANISATION_KINDS.terms[:-1],
        Term("restaurant", "餐饮", "restaurant", (255, 138, 101)),
        Term("cafe", "咖啡馆", "café", (161, 136, 127)),
        Term("transit", "公交地铁站", "transit stop", (77, 208, 225)),
        Term("park", "公园", "park", (102, 187, 106)),
        Term("entrance", "出入口", "entrance", (224, 224, 224)),
        Term("other", "其他", "other", (176, 190, 197)),
    ),
)

ROAD_CLASSES = Vocabulary(
    "road class",
    (
        Term("motorway", "高速公路", "motorway", (255, 112, 67)),
        Term("trunk", "快速路", "trunk road", (255, 167, 38)),
        Term("primary", "主干道", "primary road", (255, 202, 40)),
        Term("secondary", "次干道", "secondary road", (255, 238, 88)),
        Term("tertiary", "支路", "tertiary road", (220, 231, 117)),
        Term("residential", "小区道路", "residential road", (189, 189, 189)),
        Term("service", "辅路", "service road", (158, 158, 158)),
        Term("path", "步行道", "path", (141, 110, 99)),
        Term("other", "其他道路", "other road", (120, 144, 156)),
    ),
)

#: What the elements of an IFC building model are, grouped for the map: each IFC class falls in one group
#: (:func:`element_kind`), which gives its colour when the file gives none, and its label in the legend.
ELEMENT_KINDS = Vocabulary(
    "BIM element kind",
    (
        Term("wall", "墙", "walls", (214, 208, 196)),
        Term("slab", "楼板", "slabs and floors", (168, 162, 150)),
        Term("roof", "屋顶", "roofs", (150, 84, 66)),
        Term("window", "窗", "windows and curtain walls", (120, 180, 220)),
        Term("door", "门", "doors", (140, 100, 70)),
        Term("column", "柱梁", "columns, beams and members", (190, 190, 200)),
        Term("stair", "楼梯", "stairs, ramps and railings", (176, 150, 120)),
        Term("space", "空间", "spaces (rooms)", (90, 200, 160)),
        Term("furniture", "家具", "furniture and fittings", (200, 170, 110)),
        Term("services", "设备", "building services", (230, 140, 60)),
        Term("other", "其他", "other elements", (180, 180, 180)),
    ),
)

_ELEMENT_KIND_OF = {
    "IfcWall": "wall", "IfcWallStandardCase": "wall", "IfcWallElementedCase": "wall", "IfcPlate": "window",
    "IfcSlab": "slab", "IfcCovering": "slab", "IfcFooting": "slab", "IfcPile": "slab",
    "IfcRoof": "roof", "IfcWindow": "window", "IfcCurtainWall": "window", "IfcDoor": "door",
    "IfcColumn": "column", "IfcBeam": "column", "IfcMember": "column",
    "IfcStair": "stair", "IfcStairFlight": "stair", "IfcRamp": "stair", "IfcRampFlight": "stair",
    "IfcRailing": "stair", "IfcSpace": "space",
    "IfcFurnishingElement": "furniture", "IfcFurniture": "furniture", "IfcSystemFurnitureElement": "furniture",
}


def element_kind(ifc_class: str) -> str:
    """The group of an IFC class (``IfcWallStandardCase`` → ``wall``); services and the rest by their family."""
    kind = _ELEMENT_KIND_OF.get(ifc_class)
    if kind:
        return kind
    if ifc_class.startswith(("IfcFlow", "IfcDistribution", "IfcEnergyConversion", "IfcPipe", "IfcDuct")):
        return "services"
    return "other"
