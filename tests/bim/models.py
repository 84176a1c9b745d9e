"""Small IFC models for the georeference tests, written with ifcopenshell.api: a site, its buildings (or a bridge,
or nothing), one block per building, and the georeference a test asks for.

A building's block is a box ``size`` (length along x, width along y, height) whose corner stands at ``site_at``
in the engineering frame, the k-th building's ``2 * length`` further along x. The tests compute where the
file says that box stands themselves (pyproj, pyproj.Geod) from the numbers they pass here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.geometry
import ifcopenshell.api.georeference
import ifcopenshell.api.project
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit
import numpy as np

#: CGCS2000 / 3-degree Gauss-Kruger CM 114E, the demo city's grid
CRS = "EPSG:4547"
#: eastings and northings (m) of a point in Wuhan on that grid, 30 km east of its central meridian
WUHAN_EN = (530_000.0, 3_385_000.0)


@dataclass(frozen=True)
class Conversion:
    """An IfcMapConversion onto :data:`CRS`; with ``factors``, an IfcMapConversionScaled (IFC4X3 only)."""

    eastings: float
    northings: float
    height: float = 0.0
    #: the model's x axis on the grid (XAxisAbscissa, XAxisOrdinate)
    x_axis: tuple[float, float] = (1.0, 0.0)
    #: FactorX, FactorY, FactorZ
    factors: tuple[float, float, float] | None = None

    def attributes(self) -> dict[str, float]:
        values = {"Eastings": self.eastings, "Northings": self.northings, "OrthogonalHeight": self.height,
                  "XAxisAbscissa": self.x_axis[0], "XAxisOrdinate": self.x_axis[1]}
        if self.factors is not None:
            values.update(zip(("FactorX", "FactorY", "FactorZ"), self.factors, strict=True))
        return values


def compound_angle(degrees: float) -> list[int]:
    """Degrees as an IfcCompoundPlaneAngleMeasure: degrees, minutes, seconds, millionths, all of one sign."""
    sign = -1 if degrees < 0 else 1
    millionths = round(abs(degrees) * 3_600_000_000)
    d, rest = divmod(millionths, 3_600_000_000)
    m, rest = divmod(rest, 60_000_000)
    s, u = divmod(rest, 1_000_000)
    return [sign * d, sign * m, sign * s, sign * u]


def _place(f: ifcopenshell.file, product, xyz: tuple[float, float, float]) -> None:
    matrix = np.eye(4)
    matrix[:3, 3] = xyz
    ifcopenshell.api.geometry.edit_object_placement(f, product=product, matrix=matrix)


def write_model(path: Path, *, schema: str = "IFC4", conversion: Conversion | None = None,
                site_ref: tuple[float, float] | None = None, site_at: tuple[float, float, float] = (0.0, 0.0, 0.0),
                size: tuple[float, float, float] = (30.0, 12.0, 9.0), buildings: int = 1,
                holder: str | None = "IfcBuilding", storey: str | None = None) -> Path:
    """Write the model at ``path``: in metres, ``buildings`` times ``holder`` (None: the blocks stand in the site).

    ``site_ref`` is the IfcSite's RefLongitude, RefLatitude in degrees; ``site_at`` the site's placement. With
    ``storey``, each building's block stands in a storey of that name at the building's foot.
    """
    f = ifcopenshell.api.project.create_file(version=schema)
    project = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="test")
    ifcopenshell.api.unit.assign_unit(f, units=[ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT")])
    model = ifcopenshell.api.context.add_context(f, context_type="Model")
    body = ifcopenshell.api.context.add_context(f, context_type="Model", context_identifier="Body",
                                                target_view="MODEL_VIEW", parent=model)
    if conversion is not None:
        kind = "IfcMapConversion" if conversion.factors is None else "IfcMapConversionScaled"
        ifcopenshell.api.georeference.add_georeferencing(f, ifc_class=kind, name=CRS)
        ifcopenshell.api.georeference.edit_georeferencing(f, projected_crs={"Name": CRS},
                                                          coordinate_operation=conversion.attributes())
    site = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSite", name="Site")
    _place(f, site, site_at)
    ifcopenshell.api.aggregate.assign_object(f, products=[site], relating_object=project)
    if site_ref is not None:
        site.RefLongitude, site.RefLatitude = (compound_angle(v) for v in site_ref)
    length, width, height = size
    for k in range(buildings):
        corner = (site_at[0] + 2 * k * length, site_at[1], site_at[2])
        container = site
        if holder is not None:
            container = ifcopenshell.api.root.create_entity(f, ifc_class=holder, name=f"Building {k + 1}")
            _place(f, container, corner)
            ifcopenshell.api.aggregate.assign_object(f, products=[container], relating_object=site)
        if holder is not None and storey is not None:
            level = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name=storey)
            level.Elevation = corner[2]
            _place(f, level, corner)
            ifcopenshell.api.aggregate.assign_object(f, products=[level], relating_object=container)
            container = level
        block = ifcopenshell.api.root.create_entity(f, ifc_class="IfcWall", name=f"block {k + 1}")
        _place(f, block, corner)
        shape = ifcopenshell.api.geometry.add_slab_representation(
            f, context=body, depth=height, polyline=[(0, 0), (length, 0), (length, width), (0, width)])
        ifcopenshell.api.geometry.assign_representation(f, product=block, representation=shape)
        ifcopenshell.api.spatial.assign_container(f, products=[block], relating_structure=container)
    path = Path(path)
    f.write(str(path))
    return path
