"""An IFC file to placed buildings: geometry, georeference, GLB, footprint, storeys, spaces and elements.

One pass of ``ifcopenshell.geom.iterator`` tessellates every element; the model is placed
(:mod:`bim.georeference`), each building gets one GLB in metres around its anchor
(:mod:`bim.glb_writer`), its footprint in WGS84 (:mod:`bim.footprint`), its storeys with their
elevations, its spaces with names and areas, and its elements with their property sets. Nothing here
touches the city store: :mod:`twin.bim_ingest` links the result to the city base and writes it.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from bim.errors import BimError
from bim.footprint import NOT_FOOTPRINT, floor_area, footprint
from bim.georeference import Anchor, Placement, enu_to_lonlat, locate
from bim.glb_writer import GlbPart, write_glb
from bim.ifc_file import IfcSource, open_ifc
from bim.model_facts import BuildingFacts, ModelFacts, PostalAddress, property_sets, read_facts
from bim.tessellate import ElementMesh, element_meshes
from cim.vocabulary import ELEMENT_KINDS, element_kind


@dataclass(frozen=True)
class ElementRow:
    index: int
    global_id: str
    ifc_class: str
    kind: str
    name: str | None
    storey: str | None
    psets: str  # JSON


@dataclass(frozen=True)
class SpaceRow:
    global_id: str
    name: str
    long_name: str | None
    storey: str | None
    area_m2: float
    area_source: str  # "quantities" (the file's) or "geometry" (measured from its floor)


@dataclass
class BuildingModel:
    """One IfcBuilding, placed and converted."""

    global_id: str
    name: str | None
    placement: Placement
    storeys: list[tuple[str, float]]
    spaces: list[SpaceRow]
    elements: list[ElementRow]
    counts: dict[str, int]
    height_m: float
    footprint: shapely.Geometry  # WGS84
    glb: bytes
    address: PostalAddress | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ConvertedFile:
    path: Path
    sha256: str
    schema: str
    size: int
    buildings: list[BuildingModel]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _rgba(mesh: ElementMesh) -> tuple[int, int, int, int]:
    kind = element_kind(mesh.ifc_class)
    if kind == "space":
        r, g, b = ELEMENT_KINDS.term("space").colour
        return (r, g, b, 90)
    if mesh.colour is not None:
        r, g, b, a = (min(255, max(0, round(255 * c))) for c in mesh.colour)
        if kind == "window":
            a = min(a, 150)
        return (r, g, b, max(a, 40))
    r, g, b = ELEMENT_KINDS.term(kind).colour
    return (r, g, b, 150 if kind == "window" else 255)


def _extent(meshes: list[ElementMesh]) -> np.ndarray:
    if not meshes:
        return np.zeros((0, 3))
    lo = np.min([m.vertices.min(axis=0) for m in meshes], axis=0)
    hi = np.max([m.vertices.max(axis=0) for m in meshes], axis=0)
    return np.array([lo, hi])


def convert_file(path: Path, *, anchor: Anchor | None = None, crs: str | None = None,
                 num_threads: int | None = None, progress: Callable[[str, float], None] | None = None,
                 source: IfcSource | None = None) -> ConvertedFile:
    """Read, tessellate, place and convert every building of the IFC file at ``path``."""
    say = progress or (lambda _text, _share: None)
    source = source or open_ifc(path)
    where = str(path)
    model = source.model
    say("reading the spatial structure", 0.02)
    facts = read_facts(model)
    say("tessellating the elements", 0.05)
    total = max(1, len(model.by_type("IfcProduct")))
    meshes = list(element_meshes(model, where=where, num_threads=num_threads,
                                 progress=lambda n: say("tessellating the elements", 0.05 + 0.7 * min(1.0, n / total))))
    if not meshes:
        raise BimError(f"{where}: no element of the model has geometry to draw; check the file in an IFC viewer")
    say("placing the model", 0.78)
    placement = locate(model, _extent(meshes), where=where, anchor=anchor, crs=crs)
    buildings = []
    for b in facts.buildings:
        own = [m for m in meshes if (facts.building_of(m.step_id) or facts.buildings[0].step_id) == b.step_id]
        if not own:
            continue
        buildings.append(_building(model, b, own, facts, placement, where))
        say(f"converted {b.name or b.global_id}", 0.78 + 0.2 * len(buildings) / len(facts.buildings))
    if not buildings:
        raise BimError(f"{where}: no IfcBuilding holds an element with geometry; check the file's spatial structure")
    return ConvertedFile(path=Path(path), sha256=sha256_of(path), schema=source.schema, size=source.size,
                         buildings=buildings)


def _building(model, facts: BuildingFacts, meshes: list[ElementMesh], all_facts: ModelFacts,
              placement: Placement, where: str) -> BuildingModel:
    # one projection for all vertices of the building
    sizes = [len(m.vertices) for m in meshes]
    enu_all = placement.enu(np.concatenate([m.vertices for m in meshes]))
    enu_parts = np.split(enu_all, np.cumsum(sizes)[:-1])
    parts, rows, shell = [], [], []
    space_area: dict[str, float] = {}
    for i, (mesh, enu) in enumerate(zip(meshes, enu_parts, strict=True)):
        storey = all_facts.storey_of(mesh.step_id)
        kind = element_kind(mesh.ifc_class)
        parts.append(GlbPart(index=i, global_id=mesh.global_id, ifc_class=mesh.ifc_class, name=mesh.name,
                             storey=storey, enu=enu, faces=mesh.faces, rgba=_rgba(mesh)))
        rows.append(ElementRow(index=i, global_id=mesh.global_id, ifc_class=mesh.ifc_class, kind=kind,
                               name=mesh.name, storey=storey, psets=property_sets(model, mesh.step_id)))
        if mesh.ifc_class == "IfcSpace":
            space_area[mesh.global_id] = floor_area(enu, mesh.faces)
        elif mesh.ifc_class not in NOT_FOOTPRINT:
            shell.append((enu, mesh.faces))
    shape = footprint(shell or [(e, m.faces) for e, m in zip(enu_parts, meshes, strict=True)])
    if shape is None:
        raise BimError(f"{where}: building {facts.name or facts.global_id} has no footprint (its elements are all "
                       f"edge-on from above); check the model's geometry")
    ring_lonlat = shapely.transform(shape, lambda xy: enu_to_lonlat(xy, placement.lon, placement.lat))
    z = np.concatenate([e[:, 2] for e, _ in shell]) if shell else enu_all[:, 2]
    base = float(z.min())
    if facts.storeys:
        base = max(base, min(s.elevation for s in facts.storeys) - placement.origin[2])
    height = max(0.0, float(z.max()) - base)
    spaces = []
    for sp in facts.spaces:
        measured = space_area.get(sp.global_id)
        if sp.declared_area is not None:
            spaces.append(SpaceRow(sp.global_id, sp.name, sp.long_name, sp.storey, sp.declared_area, "quantities"))
        else:
            spaces.append(SpaceRow(sp.global_id, sp.name, sp.long_name, sp.storey,
                                   measured if measured is not None else 0.0, "geometry"))
    counts = dict(sorted(Counter(r.ifc_class for r in rows if r.ifc_class != "IfcSpace").items()))
    building_extras = {"GlobalId": facts.global_id, "name": facts.name, "lon": placement.lon, "lat": placement.lat,
                       "storeys": [s.name for s in facts.storeys]}
    warnings = list(placement.warnings)
    if math.isclose(height, 0.0):
        warnings.append(f"{where}: building {facts.name or facts.global_id} has no height; check its geometry")
    return BuildingModel(
        global_id=facts.global_id, name=facts.name, placement=placement,
        storeys=[(s.name, round(s.elevation, 3)) for s in facts.storeys], spaces=spaces, elements=rows,
        counts=counts, height_m=round(height, 3), footprint=ring_lonlat, glb=write_glb(parts, building=building_extras),
        address=facts.address, warnings=warnings,
    )
