"""Open an IFC file (STEP text, or a ``.ifczip`` holding one) and refuse, in one line, what cannot be read.

ifcopenshell reads IFC2X3, IFC4 and IFC4X3 (ADD2); other schemas (IFC4X1, IFC4X3_RC4 and the like) are
named with the ones it reads. A file with no IfcBuilding (a bridge or a road only) is refused: the
twin places buildings.

>>> open_ifc(Path("../shared/data/ifc/IfcOpenHouse_IFC4.ifc")).schema   # doctest: +SKIP
'IFC4'
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import ifcopenshell

from bim.errors import BimError

SUPPORTED = ("IFC2X3", "IFC4", "IFC4X3_ADD2")
_SCHEMA = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)


@dataclass(frozen=True)
class IfcSource:
    """An opened model and where it came from."""

    path: Path
    model: ifcopenshell.file
    schema: str  # as the file names it, e.g. IFC4X3_ADD2
    size: int


def _declared_schema(head: bytes) -> str | None:
    m = _SCHEMA.search(head)
    return m.group(1).decode("ascii", "replace").strip().upper() if m else None


def _step_bytes_of_zip(path: Path) -> tuple[str, bytes]:
    try:
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.namelist() if m.lower().endswith(".ifc")]
            if len(members) != 1:
                raise BimError(
                    f"{path}: an .ifczip must hold exactly one .ifc file, this one holds {len(members)}; "
                    f"unzip it and ingest the .ifc you mean"
                )
            return members[0], z.read(members[0])
    except zipfile.BadZipFile:
        raise BimError(f"{path}: not a zip archive, though it is named .ifczip; check the file or rename it") from None


def open_ifc(path: Path) -> IfcSource:
    """The model in ``path``; a :class:`BimError` naming the file and the fix if it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise BimError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise BimError(f"{path} is a folder; give an .ifc or .ifczip file")
    size = path.stat().st_size
    if size == 0:
        raise BimError(f"{path}: the file is empty (0 bytes); export the model again")
    if path.suffix.lower() == ".ifczip":
        member, data = _step_bytes_of_zip(path)
        with tempfile.TemporaryDirectory(prefix="twin-ifczip-") as tmp:
            inner = Path(tmp) / Path(member).name
            inner.write_bytes(data)
            opened = _open_step(inner, shown=f"{path} ({member})", size=size)
        return IfcSource(path=path, model=opened[0], schema=opened[1], size=size)
    model, schema = _open_step(path, shown=str(path), size=size)
    return IfcSource(path=path, model=model, schema=schema, size=size)


def _open_step(path: Path, *, shown: str, size: int) -> tuple[ifcopenshell.file, str]:
    with path.open("rb") as fh:
        head = fh.read(4096)
        fh.seek(max(0, path.stat().st_size - 512))
        tail = fh.read()
    if not head.lstrip().startswith(b"ISO-10303-21"):
        raise BimError(f"{shown}: not an IFC file (STEP files begin with ISO-10303-21;); give an .ifc or .ifczip")
    declared = _declared_schema(head)
    if declared is None:
        raise BimError(f"{shown}: the header names no FILE_SCHEMA; export the model again")
    if declared not in SUPPORTED and declared != "IFC4X3":
        raise BimError(
            f"{shown}: schema {declared} cannot be read; this version reads {', '.join(SUPPORTED)} "
            f"(export the model as IFC4 or IFC4X3_ADD2)"
        )
    if b"END-ISO-10303-21" not in tail:
        raise BimError(f"{shown}: the file is cut short (no END-ISO-10303-21; at its end); copy or export it again")
    try:
        model = ifcopenshell.open(str(path))
    except ifcopenshell.SchemaError as exc:
        raise BimError(f"{shown}: {exc}; this version reads {', '.join(SUPPORTED)}") from None
    except (OSError, RuntimeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BimError(f"{shown}: ifcopenshell cannot parse it ({first}); check the file or export it again") from None
    if len(model.by_type("IfcProject")) == 0:
        raise BimError(f"{shown}: the model has no IfcProject, so it has no units or placement; export it again")
    if len(model.by_type("IfcBuilding")) == 0:
        what = sorted({e.is_a() for e in model.by_type("IfcFacility")}) if declared.startswith("IFC4X3") else []
        held = f" (it holds {', '.join(what)})" if what else ""
        raise BimError(
            f"{shown}: the model has no IfcBuilding{held}; the twin places buildings, so infrastructure-only "
            f"models are not ingested"
        )
    return model, declared
