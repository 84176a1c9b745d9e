"""What an IFC model says about its buildings, apart from geometry: storeys, spaces, where each element sits,
property sets, and the postal address.

The spatial structure is read once into parent maps (site → building → storey → space, and each element
to the structure that contains it), so that finding an element's storey is a dictionary walk, not a query
per element. Furniture is often contained in a space, and a stair flight is part of a stair: both are
walked up to their storey.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import ifcopenshell
import ifcopenshell.util.element

from bim.georeference import project_unit_m


@dataclass(frozen=True)
class Storey:
    step_id: int
    global_id: str
    name: str
    elevation: float  # metres, in the model's frame


@dataclass(frozen=True)
class Space:
    step_id: int
    global_id: str
    name: str
    long_name: str | None
    storey: str | None
    #: floor area (m²) from the file's quantities, if it gives them
    declared_area: float | None


@dataclass(frozen=True)
class PostalAddress:
    lines: tuple[str, ...]
    town: str | None
    region: str | None
    postal_code: str | None
    country: str | None

    @property
    def text(self) -> str:
        """The address written out, largest part first, as Chinese addresses are."""
        parts = [p for p in (self.region, self.town, *self.lines) if p]
        out: list[str] = []
        for p in parts:  # a town repeated inside a line is written once
            if not any(p in q for q in out):
                out.append(p)
        return "".join(out) if any("\u4e00" <= ch <= "\u9fff" for ch in "".join(out)) else ", ".join(out)


@dataclass
class BuildingFacts:
    step_id: int
    global_id: str
    name: str | None
    storeys: list[Storey] = field(default_factory=list)
    spaces: list[Space] = field(default_factory=list)
    address: PostalAddress | None = None


@dataclass
class ModelFacts:
    buildings: list[BuildingFacts]
    #: element step id -> (building step id, storey name or None)
    placed: dict[int, tuple[int | None, str | None]]

    def building_of(self, step_id: int) -> int | None:
        got = self.placed.get(step_id)
        return got[0] if got else None

    def storey_of(self, step_id: int) -> str | None:
        got = self.placed.get(step_id)
        return got[1] if got else None


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _address(entity) -> PostalAddress | None:
    if entity is None or not entity.is_a("IfcPostalAddress"):
        return None
    lines = tuple(t for t in (_text(x) for x in (entity.AddressLines or ())) if t)
    got = PostalAddress(lines=lines, town=_text(entity.Town), region=_text(entity.Region),
                        postal_code=_text(entity.PostalCode), country=_text(entity.Country))
    return got if (got.lines or got.town) else None


def _area_of(psets: dict) -> float | None:
    for wanted in ("NetFloorArea", "GrossFloorArea", "Area"):
        for props in psets.values():
            value = props.get(wanted)
            if isinstance(value, int | float) and math.isfinite(value) and value > 0:
                return float(value)
    return None


def read_facts(model: ifcopenshell.file) -> ModelFacts:
    unit = project_unit_m(model)
    parent: dict[int, int] = {}  # structure or element -> the structure (or whole) it belongs to
    for rel in model.by_type("IfcRelAggregates"):
        for part in rel.RelatedObjects or ():
            parent[part.id()] = rel.RelatingObject.id()
    for rel in model.by_type("IfcRelContainedInSpatialStructure"):
        for element in rel.RelatedElements or ():
            parent[element.id()] = rel.RelatingStructure.id()
    by_id = {}
    for cls in ("IfcBuilding", "IfcBuildingStorey", "IfcSpace"):
        for e in model.by_type(cls):
            by_id[e.id()] = e
    storey_name: dict[int, str] = {}
    buildings = []
    for b in model.by_type("IfcBuilding"):
        buildings.append(BuildingFacts(step_id=b.id(), global_id=b.GlobalId, name=_text(b.Name),
                                       address=_address(getattr(b, "BuildingAddress", None))))
    if buildings and buildings[0].address is None:
        for site in model.by_type("IfcSite"):
            got = _address(getattr(site, "SiteAddress", None))
            if got is not None:
                buildings[0].address = got
                break
    facts = {b.step_id: b for b in buildings}

    def up(step: int, cls: str) -> int | None:
        seen = 0
        while step is not None and seen < 64:
            e = by_id.get(step)
            if e is not None and e.is_a(cls):
                return step
            step = parent.get(step)
            seen += 1
        return None

    for s in model.by_type("IfcBuildingStorey"):
        b = up(s.id(), "IfcBuilding")
        name = _text(s.Name) or _text(s.LongName) or f"storey #{s.id()}"
        storey_name[s.id()] = name
        if b in facts:
            facts[b].storeys.append(Storey(step_id=s.id(), global_id=s.GlobalId, name=name,
                                           elevation=float(s.Elevation or 0.0) * unit))
    for b in buildings:
        b.storeys.sort(key=lambda s: (s.elevation, s.name))
    for sp in model.by_type("IfcSpace"):
        b = up(sp.id(), "IfcBuilding")
        if b not in facts:
            continue
        st = up(sp.id(), "IfcBuildingStorey")
        psets = ifcopenshell.util.element.get_psets(sp)
        facts[b].spaces.append(Space(step_id=sp.id(), global_id=sp.GlobalId,
                                     name=_text(sp.Name) or f"space #{sp.id()}", long_name=_text(sp.LongName),
                                     storey=storey_name.get(st) if st else None, declared_area=_area_of(psets)))
    placed: dict[int, tuple[int | None, str | None]] = {}
    only = buildings[0].step_id if len(buildings) == 1 else None
    for e in model.by_type("IfcProduct"):
        if e.is_a("IfcSpatialStructureElement") and not e.is_a("IfcSpace"):
            continue
        st = up(parent.get(e.id()), "IfcBuildingStorey") if e.id() in parent else None
        b = up(e.id(), "IfcBuilding") or only
        placed[e.id()] = (b, storey_name.get(st) if st else None)
    return ModelFacts(buildings=buildings, placed=placed)


def property_sets(model: ifcopenshell.file, step_id: int) -> str:
    """The element's property and quantity sets (its type's too) as JSON: {set: {property: value}}."""
    psets = ifcopenshell.util.element.get_psets(model.by_id(step_id))
    clean = {}
    for name, props in psets.items():
        clean[name] = {k: (v if isinstance(v, str | int | float | bool) or v is None else str(v))
                       for k, v in props.items() if k != "id"}
    return json.dumps(clean, ensure_ascii=False, sort_keys=True)
