"""The typed manifest of a city store: its format, and one entry per table.

The manifest is the store's table of contents. A table is in the store when, and only when, the
manifest names it; writers add the table's file first and the manifest entry last, so a reader
never finds an entry whose file is half-written.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cim.tables import Classification
from twin.errors import TwinError

FORMAT = "city-twin/store/2"
#: Formats this version can upgrade with ``twin store upgrade``.
UPGRADABLE = ("city-twin/demo-city/1",)


def now() -> datetime:
    return datetime.now(UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """Where a table's rows came from: a file (with its hash and CRS) or a generator."""

    file: str = Field(description="the file read, or 'generated' for the demo generator")
    kind: str
    rows: int = Field(ge=0)
    time: datetime
    sha256: str | None = None
    crs_in: str | None = Field(None, description="the CRS the source declared or was given")
    note: str = ""


class TableEntry(_Frozen):
    """One table of the store."""

    kind: str
    file: str = Field(description="path of the Parquet file, relative to the store folder")
    schema_version: int = Field(ge=1)
    classification: Classification
    rows: int = Field(ge=0)
    content_hash: str = Field(description="sha256 of the file's bytes")
    shape_hash: str | None = Field(None, description="sha256 of the columns that define shapes")
    bbox: tuple[float, float, float, float] | None = None
    sources: tuple[Source, ...] = ()
    derived_from: dict[str, str] = Field(default_factory=dict, description="input kind -> its content hash")
    written_at: datetime
    writer: str


class Manifest(_Frozen):
    format: Literal["city-twin/store/2"] = FORMAT
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="tells this city apart on shared servers")
    generation: int = Field(0, ge=0, description="goes up by one with every commit")
    created_at: datetime = Field(default_factory=now)
    tables: dict[str, TableEntry] = Field(default_factory=dict)
    #: files no longer in the manifest, and when they left it; removed after a grace period so a
    #: reader that has just read the old manifest can still open them
    retired: dict[str, datetime] = Field(default_factory=dict)


class StoreError(TwinError):
    """A store that cannot be opened or written as asked, with the advice that fits the case."""


def parse_manifest(text: str, *, folder: str) -> Manifest:
    """A manifest from its JSON text; errors say what to do for each way it can be wrong."""
    where = f"{folder}/manifest.json"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}); restore it from a backup, or "
            f"rebuild the city with: twin demo build --force --store {folder}"
        ) from None
    if not isinstance(raw, dict):
        raise StoreError(
            f"{where} holds a {type(raw).__name__}, not a manifest; restore it from a backup, or "
            f"rebuild the city with: twin demo build --force --store {folder}"
        )
    found = raw.get("format")
    if found in UPGRADABLE:
        raise StoreError(
            f"{folder} holds a city of the older format {found!r}; this version reads {FORMAT!r}. "
            f"Upgrade it in place with: twin store upgrade --store {folder}"
        )
    if isinstance(found, str) and found.startswith("city-twin/store/") and found != FORMAT:
        raise StoreError(
            f"{folder} was written in format {found!r} by another version of city-twin; this version reads "
            f"{FORMAT!r}. Use the city-twin that wrote it, or rebuild with: twin demo build --force --store {folder}"
        )
    if found != FORMAT:
        raise StoreError(
            f"{where} names format {found!r}, not a city store's; point --store at a city folder, or "
            f"build one with: twin demo build --store {folder}"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        raise StoreError(
            f"{where} is damaged at {at} ({first['msg']}); restore it from a backup, or rebuild with: "
            f"twin demo build --force --store {folder}"
        ) from None
