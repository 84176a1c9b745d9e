"""IFC models of demo buildings, written with ifcopenshell's API: what a planner would load, made by our code.

Each model stands on a building of the demo city: its footprint's oriented rectangle, the building's floors
as storeys, and on every storey a floor slab, four outer walls and one inner wall, windows along the walls,
two rooms (IfcSpace with their floor areas) and, at the ground floor, a door; a roof slab on top. The
building's standard address is its IfcPostalAddress, and the model is placed the way surveyed models are:
an IfcMapConversion onto CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547), with the grid's rotation.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from pathlib import Path

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.geometry
import ifcopenshell.api.georeference
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit
import ifcopenshell.guid
import numpy as np
import shapely
from pyproj import Transformer

from bim.errors import BimError

CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E: Wuhan's projected grid
WALL = 0.25
WINDOW_EVERY = 4.0
MAX_STOREYS = 12


@dataclass(frozen=True)
class DemoBuilding:
    """What a demo model is made from: a building of the city (WGS84 footprint) and what it says of itself."""

    name: str
    address_lines: tuple[str, ...]
    footprint: shapely.Polygon
    floors: int
    height_m: float
    use: str = "public"
    key: str = ""  # the city's building code: the same building gets the same GlobalIds in every build

    def global_id(self, part: str) -> str:
        """A GlobalId of this model that stays the same from build to build (random if there is no key)."""
        if not self.key:
            return ifcopenshell.guid.new()
        return ifcopenshell.guid.compress(uuid.uuid5(uuid.NAMESPACE_URL, f"city-twin:{self.key}:{part}").hex)


@dataclass(frozen=True)
class Frame:
    """The model's local frame in EPSG:4547: its origin (a corner), x axis (the long side) and size."""

    easting: float
    northing: float
    x_axis: tuple[float, float]
    length: float
    width: float


def frame_of(footprint: shapely.Polygon) -> Frame:
    """The footprint's oriented rectangle in EPSG:4547, with its long side as the x axis."""
    to_grid = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = to_grid.transform(*np.asarray(footprint.exterior.coords).T)
    box = shapely.minimum_rotated_rectangle(shapely.Polygon(np.column_stack([x, y])))
    corners = np.asarray(box.exterior.coords)[:4]
    if not shapely.Polygon(corners).exterior.is_ccw:
        corners = corners[::-1]
    sides = [np.linalg.norm(corners[(i + 1) % 4] - corners[i]) for i in range(4)]
    start = int(np.argmax(sides[:2]))  # the corner a long side starts from, counter-clockwise
    origin, along, across = corners[start], corners[(start + 1) % 4], corners[(start + 3) % 4]
    length, width = float(np.linalg.norm(along - origin)), float(np.linalg.norm(across - origin))
    if length < 4 or width < 4:
        raise BimError(f"a footprint of {length:.1f} by {width:.1f} m is too small for a demo model")
    axis = (along - origin) / length
    return Frame(float(origin[0]), float(origin[1]), (float(axis[0]), float(axis[1])), length, width)


def _matrix(x: float, y: float, z: float, angle_deg: float = 0.0) -> np.ndarray:
    m = np.eye(4)
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    m[:2, :2] = [[c, -s], [s, c]]
    m[:3, 3] = [x, y, z]
    return m


class _Writer:
    def __init__(self, name: str) -> None:
        f = ifcopenshell.api.project.create_file(version="IFC4")
        self.f = f
        self.project = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name=name)
        metre = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT")
        area = ifcopenshell.api.unit.add_si_unit(f, unit_type="AREAUNIT")
        ifcopenshell.api.unit.assign_unit(f, units=[metre, area])
        model = ifcopenshell.api.context.add_context(f, context_type="Model")
        self.body = ifcopenshell.api.context.add_context(f, context_type="Model", context_identifier="Body",
                                                         target_view="MODEL_VIEW", parent=model)

    def product(self, ifc_class: str, name: str, container, matrix: np.ndarray, representation=None,
                psets: dict[str, dict] | None = None, **attributes):
        f = self.f
        entity = ifcopenshell.api.root.create_entity(f, ifc_class=ifc_class, name=name)
        for key, value in attributes.items():
            setattr(entity, key, value)
        ifcopenshell.api.geometry.edit_object_placement(f, product=entity, matrix=matrix)
        if representation is not None:
            ifcopenshell.api.geometry.assign_representation(f, product=entity, representation=representation)
        if ifc_class == "IfcSpace":
            ifcopenshell.api.aggregate.assign_object(f, products=[entity], relating_object=container)
        else:
            ifcopenshell.api.spatial.assign_container(f, products=[entity], relating_structure=container)
        for pset_name, props in (psets or {}).items():
            if pset_name.startswith("Qto_"):
                qto = ifcopenshell.api.pset.add_qto(f, product=entity, name=pset_name)
                ifcopenshell.api.pset.edit_qto(f, qto=qto, properties=props)
            else:
                pset = ifcopenshell.api.pset.add_pset(f, product=entity, name=pset_name)
                ifcopenshell.api.pset.edit_pset(f, pset=pset, properties=props)
        return entity

    def box(self, length: float, thickness: float, height: float):
        return ifcopenshell.api.geometry.add_wall_representation(self.f, context=self.body, length=length,
                                                                 height=height, thickness=thickness)

    def plate(self, corners: list[tuple[float, float]], depth: float):
        return ifcopenshell.api.geometry.add_slab_representation(self.f, context=self.body, depth=depth,
                                                                 polyline=corners)


def write_demo_model(path: Path, building: DemoBuilding) -> Path:
    """Write ``building`` as an IFC4 file at ``path``."""
    frame = frame_of(building.footprint)
    floors = max(1, min(int(building.floors), MAX_STOREYS))
    storey_h = max(2.8, min(float(building.height_m) / max(int(building.floors), 1), 6.0))
    L, W = frame.length, frame.width
    w = _Writer(building.name)
    f = w.f
    ifcopenshell.api.georeference.add_georeferencing(f, ifc_class="IfcMapConversion", name=CRS)
    ifcopenshell.api.georeference.edit_georeferencing(
        f, projected_crs={"Name": CRS, "Description": "CGCS2000 / 3-degree Gauss-Kruger CM 114E",
                          "GeodeticDatum": "CGCS2000"},
        coordinate_operation={"Eastings": frame.easting, "Northings": frame.northing, "OrthogonalHeight": 0.0,
                              "XAxisAbscissa": frame.x_axis[0], "XAxisOrdinate": frame.x_axis[1], "Scale": 1.0})
    site = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSite", name="Site")
    ifcopenshell.api.geometry.edit_object_placement(f, product=site, matrix=_matrix(0, 0, 0))
    ifcopenshell.api.aggregate.assign_object(f, products=[site], relating_object=w.project)
    bldg = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuilding", name=building.name)
    bldg.GlobalId = building.global_id("building")
    ifcopenshell.api.geometry.edit_object_placement(f, product=bldg, matrix=_matrix(0, 0, 0))
    ifcopenshell.api.aggregate.assign_object(f, products=[bldg], relating_object=site)
    bldg.BuildingAddress = f.createIfcPostalAddress(Purpose="OFFICE", AddressLines=list(building.address_lines),
                                                    Town="武汉市", Region="湖北省", Country="中国")
    pset = ifcopenshell.api.pset.add_pset(f, product=bldg, name="Pset_BuildingCommon")
    ifcopenshell.api.pset.edit_pset(f, pset=pset, properties={"NumberOfStoreys": floors,
                                                              "OccupancyType": building.use})
    sides = ((0.0, 0.0, L, 0.0), (L, 0.0, W, 90.0), (L, W, L, 180.0), (0.0, W, W, 270.0))
    for k in range(floors):
        z = k * storey_h
        label = f"{k + 1}F"
        storey = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name=label)
        storey.Elevation = z
        ifcopenshell.api.geometry.edit_object_placement(f, product=storey, matrix=_matrix(0, 0, z))
        ifcopenshell.api.aggregate.assign_object(f, products=[storey], relating_object=bldg)
        w.product("IfcSlab", f"{label} floor slab 楼板", storey, _matrix(0, 0, z),
                  w.plate([(0, 0), (L, 0), (L, W), (0, W)], 0.2), PredefinedType="FLOOR",
                  psets={"Pset_SlabCommon": {"IsExternal": False, "LoadBearing": True, "FireRating": "1.5h"}})
        wall_h = storey_h - 0.2
        for n, (x0, y0, length, angle) in enumerate(sides):
            w.product("IfcWall", f"{label} outer wall {n + 1} 外墙", storey, _matrix(x0, y0, z + 0.2, angle),
                      w.box(length, WALL, wall_h), PredefinedType="STANDARD",
                      psets={"Pset_WallCommon": {"IsExternal": True, "LoadBearing": True, "FireRating": "2h",
                                                 "ThermalTransmittance": 0.45}})
            count = int(length // WINDOW_EVERY)
            c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            for i in range(count):
                if k == 0 and n == 0 and i == count // 2:
                    continue  # the door's place
                along = (i + 0.5) * length / count - 0.75
                x = x0 + c * along + s * 0.06  # 6 cm proud of the wall's face
                y = y0 + s * along - c * 0.06
                w.product("IfcWindow", f"{label} window {n + 1}-{i + 1} 窗", storey,
                          _matrix(x, y, z + 1.1, angle), w.box(1.5, 0.1, 1.5), OverallHeight=1.5, OverallWidth=1.5,
                          psets={"Pset_WindowCommon": {"IsExternal": True, "ThermalTransmittance": 2.2,
                                                       "GlazingAreaFraction": 0.8}})
        w.product("IfcWall", f"{label} inner wall 内墙", storey, _matrix(WALL, W / 2, z + 0.2),
                  w.box(L - 2 * WALL, 0.15, wall_h), PredefinedType="PARTITIONING",
                  psets={"Pset_WallCommon": {"IsExternal": False, "LoadBearing": False}})
        for r, (y0, y1, long_name) in enumerate(((WALL, W / 2, "办公室 Office"), (W / 2 + 0.15, W - WALL,
                                                                                   "会议室 Meeting room"))):
            corners = [(WALL, y0), (L - WALL, y0), (L - WALL, y1), (WALL, y1)]
            area = round((L - 2 * WALL) * (y1 - y0), 2)
            w.product("IfcSpace", f"{label}-{r + 1:02d}", storey, _matrix(0, 0, z + 0.2),
                      w.plate(corners, wall_h - 0.05), LongName=long_name,
                      psets={"Qto_SpaceBaseQuantities": {"NetFloorArea": area, "Height": wall_h}})
        if k == 0:
            w.product("IfcDoor", "main entrance 主入口", storey, _matrix(L / 2 - 0.9, -0.06, z + 0.2),
                      w.box(1.8, 0.12, 2.4), OverallHeight=2.4, OverallWidth=1.8,
                      psets={"Pset_DoorCommon": {"IsExternal": True, "FireRating": "1h"}})
    top = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name="Roof 屋面")
    top.Elevation = floors * storey_h
    ifcopenshell.api.geometry.edit_object_placement(f, product=top, matrix=_matrix(0, 0, floors * storey_h))
    ifcopenshell.api.aggregate.assign_object(f, products=[top], relating_object=bldg)
    w.product("IfcRoof", "roof 屋顶", top, _matrix(0, 0, floors * storey_h),
              w.plate([(0, 0), (L, 0), (L, W), (0, W)], 0.3), PredefinedType="FLAT_ROOF",
              psets={"Pset_RoofCommon": {"IsExternal": True, "FireRating": "1h"}})
    if building.key:  # every other rooted entity (storeys, elements, psets, relations) by its place in the file
        for n, entity in enumerate(sorted(f.by_type("IfcRoot"), key=lambda e: e.id())):
            if entity != bldg:
                entity.GlobalId = building.global_id(f"root-{n}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    f.write(str(path))
    return path
