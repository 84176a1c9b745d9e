"""Exports: a store table as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese), streamed batch by
batch, each column above the caller's clearance masked the same way the app masks it. Every export is
audited. ``GET /api/v1/tables/<kind>.csv``, for roles that may ``export``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import flask
import pandas as pd
import pyarrow as pa
import shapely

from cim.tables import Classification, SchemaError, kind_of
from twin.errors import NotFound
from twin.permissions import Principal
from twin.services import Services
from views.access_gate import client_address, principal

MEDIA_TYPE = "text/csv; charset=utf-8"


def mask_column(values: pd.Series) -> pd.Series:
    """The masked form of every value (as ``twin.permissions.mask`` gives it), for a whole column at once:
    7 characters or more keep their first 3 and last 2, shorter ones are all stars; missing stays missing."""
    text = values.astype("string")
    stars = text.str.replace(r"(?s).", "*", regex=True)
    long = text.str.len() >= 7
    kept = text.str[:3] + text.str[3:-2].str.replace(r"(?s).", "*", regex=True) + text.str[-2:]
    return kept.where(long, stars)


def _frame(batch: pa.RecordBatch, masked: set[str]) -> pd.DataFrame:
    frame = batch.to_pandas()
    if "geometry" in frame.columns:
        frame["geometry"] = shapely.to_wkt(shapely.from_wkb(frame["geometry"].to_numpy()), rounding_precision=7)
    for column in masked:
        frame[column] = mask_column(frame[column])
    return frame


def export_csv(services: Services, kind: str, who: Principal) -> tuple[Iterator[bytes], int, list[str]]:
    """The table as CSV chunks, its row count and the columns masked for ``who``."""
    try:
        spec = kind_of(kind)
    except SchemaError:
        raise NotFound(f"there is no table kind {kind!r} to export; GET /api/v1/store lists the tables") from None
    if not services.store.has(kind):
        raise NotFound(f"the city has no {kind} table yet; ingest one with twin cim ingest {kind} FILE")
    columns = list(services.store.columns(kind))
    masked = {c for c in columns if c != "geometry" and not who.sees(spec.class_of(c))}
    if "geometry" in columns and not who.sees(spec.classification):
        masked.add("geometry")  # where someone lives is as personal as who they are
    rows, batches = services.store.batches(kind, columns)

    def chunks() -> Iterator[bytes]:
        first = True
        for batch in batches:
            sink = io.StringIO()
            frame = _frame(batch, masked - {"geometry"})
            if "geometry" in masked:
                frame["geometry"] = None
            frame.to_csv(sink, index=False, header=first)
            yield (("\ufeff" if first else "") + sink.getvalue()).encode("utf-8")
            first = False
        if first:  # an empty table still has its header
            yield ("\ufeff" + ",".join(columns) + "\n").encode("utf-8")

    return chunks(), rows, sorted(masked)


def register(server: flask.Flask, services: Services) -> None:
    @server.get("/api/v1/tables/<kind>.csv")
    def export_table(kind: str) -> flask.Response:
        who = principal()
        if len(kind) > 40:
            raise NotFound("a table kind has at most 40 characters")
        chunks, rows, masked = export_csv(services, kind, who)
        services.audit.record(
            actor=who.name, actor_kind=who.kind, action="export", target=f"{kind}.csv", ip=client_address(),
            detail={"rows": rows, "masked": masked,
                    "sensitive": who.sees(Classification.SENSITIVE) and kind_of(kind).classification
                    is Classification.SENSITIVE},
        )
        response = flask.Response(chunks, mimetype=MEDIA_TYPE)
        response.headers["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
        response.headers["X-Masked-Columns"] = ",".join(masked)
        response.headers["Cache-Control"] = "no-store"
        return response
