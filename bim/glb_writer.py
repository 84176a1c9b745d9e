"""One building as one binary glTF (GLB): metres, glTF's axes (+y up, +x east, -z north), origin at the anchor.

Every element is a node of its own, with a mesh of one triangle primitive, and carries in its ``extras``
what a click must name: ``GlobalId``, IFC class, name, storey and its index (the element's number in the
twin's ``bim_elements`` table). Materials are shared by colour; see-through ones (glass, spaces) blend.
No normals are written: the viewer shades flat, as glTF says it must when a primitive has none.
"""

from __future__ import annotations

import json
import struct
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


#: GLB's container: the magic, its version, and the two chunk types (glTF 2.0, section "Binary glTF Layout")
GLB_MAGIC, GLB_VERSION = 0x46546C67, 2
CHUNK_JSON, CHUNK_BIN = 0x4E4F534A, 0x004E4942
FLOAT, UNSIGNED_INT = 5126, 5125  # accessor component types
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963  # buffer view targets


def _padded(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def _glb(document: dict, blob: bytes) -> bytes:
    """The GLB container: a 12-byte header, the JSON chunk (padded with spaces), the binary chunk (zeros)."""
    text = _padded(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), b" ")
    blob = _padded(blob, b"\x00")
    total = 12 + 8 + len(text) + 8 + len(blob)
    return b"".join([struct.pack("<III", GLB_MAGIC, GLB_VERSION, total), struct.pack("<II", len(text), CHUNK_JSON),
                     text, struct.pack("<II", len(blob), CHUNK_BIN), blob])


def write_glb(parts: list[GlbPart], *, building: dict) -> bytes:
    """The GLB bytes of ``parts``; ``building`` goes into the root node's extras.

    The document is written as plain JSON (pygltflib's dataclass serialiser took seconds for a model of
    thousands of elements); :func:`read_glb` reads it back with pygltflib, which the tests do.
    """
    chunks: list[bytes] = []
    offset = 0
    views, accessors, meshes, nodes, materials = [], [], [], [], []
    material_of: dict[tuple[int, int, int, int], int] = {}

    def add(data: bytes, target: int) -> int:
        nonlocal offset
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(data), "target": target})
        chunks.append(_padded(data, b"\x00"))
        offset += len(chunks[-1])
        return len(views) - 1

    for part in parts:
        # east/north/up -> glTF: x east, y up, z south
        pos = np.empty((len(part.enu), 3), dtype=np.float32)
        pos[:, 0], pos[:, 1], pos[:, 2] = part.enu[:, 0], part.enu[:, 2], -part.enu[:, 1]
        idx = np.ascontiguousarray(part.faces, dtype=np.uint32).reshape(-1)
        if not len(pos) or not len(idx):
            continue
        accessors.append({"bufferView": add(pos.tobytes(), ARRAY_BUFFER), "componentType": FLOAT,
                          "count": len(pos), "type": "VEC3", "min": pos.min(axis=0).tolist(),
                          "max": pos.max(axis=0).tolist()})
        accessors.append({"bufferView": add(idx.tobytes(), ELEMENT_ARRAY_BUFFER), "componentType": UNSIGNED_INT,
                          "count": len(idx), "type": "SCALAR"})
        if part.rgba not in material_of:
            r, g, b, a = part.rgba
            material_of[part.rgba] = len(materials)
            materials.append({
                "pbrMetallicRoughness": {"baseColorFactor": [r / 255, g / 255, b / 255, a / 255],
                                         "metallicFactor": 0.0, "roughnessFactor": 0.9},
                "alphaMode": "BLEND" if a < 255 else "OPAQUE", "doubleSided": True})
        meshes.append({"primitives": [{"attributes": {"POSITION": len(accessors) - 2},
                                       "indices": len(accessors) - 1, "material": material_of[part.rgba]}]})
        nodes.append({"mesh": len(meshes) - 1, "name": part.global_id,
                      "extras": {"GlobalId": part.global_id, "class": part.ifc_class, "name": part.name,
                                 "storey": part.storey, "index": part.index}})
    root = {"name": building.get("GlobalId") or "building", "extras": building}
    if nodes:
        root["children"] = list(range(1, len(nodes) + 1))
    document = {"asset": {"version": "2.0", "generator": "city-twin bim ingest"},
                "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [root, *nodes]}
    for key, items in (("meshes", meshes), ("materials", materials), ("accessors", accessors),
                       ("bufferViews", views)):
        if items:  # glTF forbids empty arrays
            document[key] = items
    if offset:
        document["buffers"] = [{"byteLength": offset}]
    return _glb(document, b"".join(chunks))


def read_glb(data: bytes) -> gl.GLTF2:
    """The glTF document of GLB bytes (for tests and tools)."""
    return gl.GLTF2.load_from_bytes(data)
