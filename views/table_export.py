"""Exports: a store table as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese), streamed batch by
batch, each column above the caller's clearance masked the same way the app masks it. A caller whose
``export`` grants reach only some units gets only the rows whose level codes lie within them (a table whose
rows carry no level codes is refused to them). Every export is audited. ``GET /api/v1/tables/<kind>.csv``,
for roles that may ``export``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import flask
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from cim.levels import level_of
from cim.tables import Classification, SchemaError, TableKind, kind_of
from twin.errors import NotFound
from twin.permissions import AccessDenied, Action, Principal
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


AreaTest = list[tuple[str, str]]  # (level column, code): a row passes when one of its columns holds its code


def area_test(spec: TableKind, columns: list[str], areas: frozenset[str], who: Principal) -> AreaTest:
    """How to tell the rows within ``areas``: each area's level column with its code. An area finer than the
    codes the table's rows carry holds none of them; AccessDenied when no area can be told at all."""
    tests = []
    for area in sorted(areas):
        column = level_of(area).column
        if column in columns:
            tests.append((column, area))
    if not tests:
        raise AccessDenied(f"{who.name} may export only within {', '.join(sorted(areas))}, and the rows of the "
                           f"{spec.name} table carry no codes of those levels to tell which lie there; "
                           f"ask an admin for an export grant for the whole city")
    return tests


def _within(batch: pa.RecordBatch, tests: AreaTest) -> pa.RecordBatch:
    keep = None
    for column, code in tests:
        here = pc.fill_null(pc.equal(batch.column(column).cast(pa.string()), code), False)
        keep = here if keep is None else pc.or_(keep, here)
    return batch.filter(keep)


def _rows_within(services: Services, kind: str, tests: AreaTest) -> int:
    codes = services.store.read(kind, columns=sorted({c for c, _ in tests}))
    inside = pd.Series(False, index=codes.index)
    for column, code in tests:
        inside |= codes[column].astype("string").eq(code).fillna(False)
    return int(inside.sum())


def export_csv(services: Services, kind: str, who: Principal) -> tuple[Iterator[bytes], int, list[str]]:
    """The table as CSV chunks (only the rows within ``who``'s export areas), its row count and the columns
    masked for ``who``."""
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
    areas = who.areas(Action.EXPORT)
    tests = area_test(spec, columns, areas, who) if areas is not None else None
    rows, batches = services.store.batches(kind, columns)
    if tests is not None:
        rows = _rows_within(services, kind, tests)

    def chunks() -> Iterator[bytes]:
        first = True
        for whole in batches:
            batch = whole if tests is None else _within(whole, tests)
            if tests is not None and batch.num_rows == 0:
                continue
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
            detail={"rows": rows, "masked": masked, "areas": sorted(who.areas(Action.EXPORT) or ()) or None,
                    "sensitive": who.sees(Classification.SENSITIVE) and kind_of(kind).classification
                    is Classification.SENSITIVE},
        )
        response = flask.Response(chunks, mimetype=MEDIA_TYPE)
        response.headers["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
        response.headers["X-Masked-Columns"] = ",".join(masked)
        response.headers["Cache-Control"] = "no-store"
        return response
