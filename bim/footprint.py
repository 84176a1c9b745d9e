"""A building's footprint from its triangles: the union of everything it stands on, seen from above.

Walls, slabs, roofs and the like are projected onto the ground plane (east/north metres); each triangle
that is not edge-on becomes a small polygon, and the union of them all (one shapely call over the whole
array) is the footprint. Spaces, furniture and the like are left out: they lie inside the building.
Areas of spaces come from the same projection of their floor triangles.
"""

from __future__ import annotations

import numpy as np
import shapely

#: classes whose outline is not the building's
#: gaps narrower than twice this (metres) between the parts of a building are closed
CLOSE_M = 0.3
NOT_FOOTPRINT = ("IfcSpace", "IfcFurnishingElement", "IfcFurniture", "IfcSystemFurnitureElement",
                 "IfcFlowTerminal", "IfcDistributionElement", "IfcOpeningElement")


def _triangles(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    return vertices[faces.astype(np.int64)][:, :, :2]  # (m, 3, 2)


def _signed_areas(tri: np.ndarray) -> np.ndarray:
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))


def footprint(parts: list[tuple[np.ndarray, np.ndarray]], *, min_area: float = 1e-4) -> shapely.Geometry | None:
    """The union of the triangles (east/north metres) of ``parts`` (each: vertices (n, 3), faces (m, 3))."""
    tris = [t for t in (_triangles(v, f) for v, f in parts if len(f)) if len(t)]
    if not tris:
        return None
    tri = np.concatenate(tris)
    keep = np.abs(_signed_areas(tri)) > min_area
    tri = tri[keep]
    if not len(tri):
        return None
    # round to a centimetre: triangles of neighbouring elements then meet exactly, and the union is fast
    tri = np.round(tri, 2)
    # the same triangle seen from above again (a tower's storeys share one plan) adds nothing to the union:
    # keep each once, its corners in one order, before the union (a fiftyfold cut for a repeated storey)
    corners = np.lexsort((tri[:, :, 1], tri[:, :, 0]), axis=1)
    rows = np.take_along_axis(tri, corners[:, :, None], axis=1).reshape(-1, 6)
    rows = rows[np.lexsort(rows.T[::-1])]
    tri = rows[np.r_[True, (rows[1:] != rows[:-1]).any(axis=1)]].reshape(-1, 3, 2)
    rings = np.concatenate([tri, tri[:, :1]], axis=1)
    polys = shapely.polygons(rings)
    merged = shapely.union_all(polys, grid_size=0.01)
    # close the gaps between elements that touch nowhere (a wall standing on no slab), then keep the outer
    # outlines: a building's footprint is what it covers, its rooms included
    closed = merged.buffer(CLOSE_M, join_style="mitre").buffer(-CLOSE_M, join_style="mitre")
    polygons = [shapely.Polygon(g.exterior) for g in getattr(closed, "geoms", [closed])
                if g.geom_type == "Polygon" and g.area > 0.5]
    if not polygons:
        return None
    out = shapely.simplify(shapely.union_all(polygons), 0.02)
    return out if not out.is_empty else None


def floor_area(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Plan area (m²) of a space: its upward-facing triangles, the floor seen from above."""
    if not len(faces):
        return 0.0
    tri3 = vertices[faces.astype(np.int64)]
    n = np.cross(tri3[:, 1] - tri3[:, 0], tri3[:, 2] - tri3[:, 0])
    length = np.linalg.norm(n, axis=1)
    up = (length > 0) & (n[:, 2] > 0.9 * length)
    if not up.any():
        return 0.0
    # the top and the bottom of a slab-like space both face up or down: take the top faces only, once
    return float(np.abs(_signed_areas(tri3[up][:, :, :2])).sum())
