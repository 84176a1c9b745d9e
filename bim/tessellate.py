"""Triangles of every element of an IFC model, through ``ifcopenshell.geom.iterator``, one thread per core.

Coordinates come in metres in the model's engineering frame (``use-world-coords``), as float64. Openings
(``IfcOpeningElement``: the holes walls are cut with), the site's terrain and virtual elements are left out:
they are not part of what a building looks like. Spaces are kept (their floors give their areas, and the
browser can show them) but are flagged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import ifcopenshell
import ifcopenshell.geom
import numpy as np

from bim.errors import BimError

LEFT_OUT = ("IfcOpeningElement", "IfcSite", "IfcVirtualElement", "IfcAnnotation", "IfcGrid")


@dataclass(frozen=True)
class ElementMesh:
    """One element's triangles: vertices (n, 3) metres float64, faces (m, 3) uint32, normals (n, 3) float32."""

    step_id: int
    global_id: str
    ifc_class: str
    name: str | None
    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    #: RGBA 0-1 of the element's first style, if it has one
    colour: tuple[float, float, float, float] | None


def settings() -> ifcopenshell.geom.settings:
    s = ifcopenshell.geom.settings()
    s.set("use-world-coords", True)
    return s


def threads() -> int:
    return max(1, os.cpu_count() or 1)


def _left_out(model: ifcopenshell.file) -> list:
    out = []
    for cls in LEFT_OUT:
        try:
            out.extend(model.by_type(cls))
        except RuntimeError:  # a class this schema does not have
            continue
    return out


def bare_pass(model: ifcopenshell.file, *, num_threads: int | None = None) -> tuple[int, int]:
    """Only the iterator, reading each shape's buffers: the baseline ``bench.bim`` measures against."""
    it = ifcopenshell.geom.iterator(settings(), model, num_threads or threads(), exclude=_left_out(model))
    shapes = vertices = 0
    if it.initialize():
        while True:
            g = it.get().geometry
            vertices += len(np.frombuffer(g.verts_buffer, dtype=np.float64)) // 3
            np.frombuffer(g.faces_buffer, dtype=np.int32)
            shapes += 1
            if not it.next():
                break
    return shapes, vertices


def element_meshes(model: ifcopenshell.file, *, where: str, num_threads: int | None = None,
                   progress: Callable[[int], None] | None = None) -> Iterator[ElementMesh]:
    """Each element with geometry, as the iterator yields them (order is not the file's)."""
    try:
        it = ifcopenshell.geom.iterator(settings(), model, num_threads or threads(), exclude=_left_out(model))
        started = it.initialize()
    except RuntimeError as exc:
        raise BimError(f"{where}: its geometry cannot be tessellated ({exc}); check the file in an IFC viewer") \
            from None
    if not started:
        return
    done = 0
    while True:
        shape = it.get()
        g = shape.geometry
        verts = np.frombuffer(g.verts_buffer, dtype=np.float64).reshape(-1, 3)
        faces = np.frombuffer(g.faces_buffer, dtype=np.int32).reshape(-1, 3)
        normals = np.frombuffer(g.normals_buffer, dtype=np.float64).reshape(-1, 3)
        colour = None
        materials = g.materials
        if len(materials):
            m = materials[0]
            d = m.diffuse
            rgb = (float(d.r()), float(d.g()), float(d.b())) if hasattr(d, "r") else tuple(float(v) for v in d)[:3]
            transparency = float(m.transparency) if m.transparency == m.transparency else 0.0
            colour = (*rgb, 1.0 - min(max(transparency, 0.0), 1.0))
        if len(faces) and len(verts):
            yield ElementMesh(step_id=int(shape.id), global_id=str(shape.guid), ifc_class=str(shape.type),
                              name=(str(shape.name) if shape.name else None), vertices=verts.copy(),
                              faces=faces.astype(np.uint32), normals=normals.astype(np.float32), colour=colour)
        done += 1
        if progress is not None:
            progress(done)
        if not it.next():
            break
