"""One building as one binary glTF (GLB): metres, glTF's axes (+y up, +x east, -z north), origin at the anchor.

Every element is a node of its own, with a mesh of one triangle primitive, and carries in its ``extras``
what a click must name: ``GlobalId``, IFC class, name, storey and its index (the element's number in the
twin's ``bim_elements`` table). Materials are shared by colour; see-through ones (glass, spaces) blend.
No normals are written: the viewer shades flat, as glTF says it must when a primitive has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygltflib as gl


@dataclass(frozen=True)
class GlbPart:
    """An element's triangles in east/north/up metres around the anchor, and what names it."""

    index: int
    global_id: str
    ifc_class: str
    name: str | None
    storey: str | None
    enu: np.ndarray  # (n, 3) float64
    faces: np.ndarray  # (m, 3) uint32
    rgba: tuple[int, int, int, int]


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def write_glb(parts: list[GlbPart], *, building: dict) -> bytes:
    """The GLB bytes of ``parts``; ``building`` goes into the root node's extras."""
    blob = bytearray()
    views, accessors, meshes, nodes, materials = [], [], [], [], []
    material_of: dict[tuple[int, int, int, int], int] = {}
    for part in parts:
        # east/north/up -> glTF: x east, y up, z south
        pos = np.column_stack([part.enu[:, 0], part.enu[:, 2], -part.enu[:, 1]]).astype(np.float32)
        idx = np.ascontiguousarray(part.faces, dtype=np.uint32).reshape(-1)
        if not len(pos) or not len(idx):
            continue
        views.append(gl.BufferView(buffer=0, byteOffset=len(blob), byteLength=pos.nbytes, target=gl.ARRAY_BUFFER))
        blob += _pad(pos.tobytes())
        accessors.append(gl.Accessor(bufferView=len(views) - 1, componentType=gl.FLOAT, count=len(pos),
                                     type=gl.VEC3, min=pos.min(axis=0).tolist(), max=pos.max(axis=0).tolist()))
        views.append(gl.BufferView(buffer=0, byteOffset=len(blob), byteLength=idx.nbytes,
                                   target=gl.ELEMENT_ARRAY_BUFFER))
        blob += _pad(idx.tobytes())
        accessors.append(gl.Accessor(bufferView=len(views) - 1, componentType=gl.UNSIGNED_INT, count=len(idx),
                                     type=gl.SCALAR))
        if part.rgba not in material_of:
            r, g, b, a = part.rgba
            material_of[part.rgba] = len(materials)
            materials.append(gl.Material(
                pbrMetallicRoughness=gl.PbrMetallicRoughness(baseColorFactor=[r / 255, g / 255, b / 255, a / 255],
                                                             metallicFactor=0.0, roughnessFactor=0.9),
                alphaMode=gl.BLEND if a < 255 else gl.OPAQUE, doubleSided=True))
        meshes.append(gl.Mesh(primitives=[gl.Primitive(attributes=gl.Attributes(POSITION=len(accessors) - 2),
                                                       indices=len(accessors) - 1,
                                                       material=material_of[part.rgba])]))
        nodes.append(gl.Node(mesh=len(meshes) - 1, name=part.global_id,
                             extras={"GlobalId": part.global_id, "class": part.ifc_class, "name": part.name,
                                     "storey": part.storey, "index": part.index}))
    root = gl.Node(name=building.get("GlobalId") or "building", children=list(range(1, len(nodes) + 1)),
                   extras=building)
    doc = gl.GLTF2(
        asset=gl.Asset(version="2.0", generator="city-twin bim ingest"),
        scene=0, scenes=[gl.Scene(nodes=[0])], nodes=[root, *nodes], meshes=meshes, materials=materials,
        accessors=accessors, bufferViews=views, buffers=[gl.Buffer(byteLength=len(blob))],
    )
    doc.set_binary_blob(bytes(blob))
    out = doc.save_to_bytes()
    return b"".join(out) if isinstance(out, list | tuple) else bytes(out)


def read_glb(data: bytes) -> gl.GLTF2:
    """The glTF document of GLB bytes (for tests and tools)."""
    return gl.GLTF2.load_from_bytes(data)
