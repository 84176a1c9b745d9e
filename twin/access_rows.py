"""What the user and the token stores share: account names, the grants table, and secrets kept as digests.

A grant row for the whole city, or for no department, holds '' (so the unique constraint sees two such
grants as the same); :func:`read_grants` gives back None.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from twin.errors import TwinError
from twin.live_schema import grants as grants_table
from twin.permissions import Grant, Role

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
Kind = Literal["user", "token"]


def check_name(name: str, what: str, error: type[TwinError]) -> str:
    """``name`` when it is 1 to 64 letters, digits, '_', '.' or '-'; ``error`` saying so otherwise."""
    if not isinstance(name, str) or not NAME.match(name):
        raise error(f"{what} name {str(name)[:80]!r} is not valid: use 1 to 64 letters, digits, '_', '.' or '-'")
    return name


def digest(secret: str) -> str:
    """The SHA-256 hex digest kept in place of a token or a session id."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def insert_ignoring_duplicates(conn: sa.Connection, table: sa.Table, values: dict) -> None:
    """INSERT, doing nothing when a row with the same unique key is there already."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(table).values(**values).on_conflict_do_nothing())


def write_grants(conn: sa.Connection, kind: Kind, name: str, grants: Iterable[Grant]) -> None:
    """Add ``grants`` to ``name``'s (a grant it holds already is kept once)."""
    for g in grants:
        insert_ignoring_duplicates(conn, grants_table, {
            "principal_kind": kind, "principal_name": name, "role": g.role.value, "area": g.area or "",
            "department": g.department or "",
        })


def read_grants(conn: sa.Connection, kind: Kind, names: Sequence[str] | None = None) -> dict[str, tuple[Grant, ...]]:
    """Each name's grants (of principals of ``kind``; all of them, or only ``names``), in a stable order."""
    c = grants_table.c
    query = sa.select(grants_table).where(c.principal_kind == kind)
    if names is not None:
        query = query.where(c.principal_name.in_(list(names)))
    out: dict[str, list[Grant]] = {}
    for row in conn.execute(query.order_by(c.principal_name, c.role, c.area, c.department)):
        m = row._mapping
        out.setdefault(m["principal_name"], []).append(
            Grant(Role(m["role"]), area=m["area"] or None, department=m["department"] or None))
    return {name: tuple(gs) for name, gs in out.items()}


def roles_text(grants: Iterable[Grant]) -> str:
    """``admin, handler in 420102 for 城管委``: grants as a person reads them."""
    return ", ".join(g.describe() for g in grants)
