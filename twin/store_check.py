"""``twin store check``: read every table of a store and check it against its kind and its hash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cim.tables import SchemaError, check_frame, kind_of
from twin.city_store import CityStore, _sha256_file
from twin.errors import TwinError


def check_store(folder: Path, *, progress: Callable[[str], None] = lambda _: None) -> list[str]:
    """The problems found, one line each; an empty list when every table is whole and matches its kind."""
    store = CityStore.open(folder)
    problems = []
    for kind, entry in sorted(store.manifest().tables.items()):
        progress(f"checking {kind} ({entry.rows:,} rows)")
        path = store.path_of(entry)
        if not path.exists():
            problems.append(f"{kind}: its file {entry.file} is missing")
            continue
        if _sha256_file(path) != entry.content_hash:
            problems.append(f"{kind}: {entry.file} has changed since it was written (its hash differs)")
            continue
        try:
            frame = store.read(kind)
            check_frame(kind_of(kind), frame, where=f"the {kind} table")
        except (SchemaError, TwinError) as exc:
            problems.append(f"{kind}: {exc}")
            continue
        if len(frame) != entry.rows:
            problems.append(f"{kind}: the manifest counts {entry.rows:,} rows, the file holds {len(frame):,}")
    return problems
