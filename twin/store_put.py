"""``twin store put``: write a (Geo)Parquet file that already matches a table kind into the store.

For files that still need reading, reprojecting, coding and checking, use the ingest commands; this is
for tables that are already in the store's own form (a backup, another twin's table, a test's fixture).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa

from cim.tables import SchemaError, kind_of
from twin.city_store import CityStore, _sha256_file
from twin.derived import DERIVATIONS
from twin.manifest import Source, StoreError, TableEntry, now


def put_table(folder: Path, kind: str, file: Path, *, mode: str = "replace") -> TableEntry:
    try:
        spec = kind_of(kind)
    except SchemaError as exc:
        raise StoreError(str(exc)) from None
    for d in DERIVATIONS:
        if d.output == kind:
            raise StoreError(
                f"{kind} is derived from {', '.join(d.inputs)} and rebuilt whenever they change; "
                f"write {' and '.join(d.inputs)} instead"
            )
    store = CityStore.open(folder)
    file = Path(file)
    if not file.is_file():
        raise StoreError(f"{file} is not a file; give the path of a Parquet or GeoParquet file")
    try:
        frame = gpd.read_parquet(file) if spec.geometry else pd.read_parquet(file)
    except (OSError, ValueError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0][:200]
        hint = " (a table with shapes must be GeoParquet)" if spec.geometry else ""
        raise StoreError(f"{file} cannot be read as a {kind} table: {reason}{hint}") from None
    crs = frame.crs.to_string() if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None else None
    source = Source(file=str(file.resolve()), sha256=_sha256_file(file), kind=kind, rows=len(frame), time=now(),
                    crs_in=crs)
    return store.write(kind, frame, sources=[source], writer="twin store put", mode=mode)
