"""Alembic's entry point for the live-state store. ``twin.live_store`` runs it with a connection."""

from __future__ import annotations

from alembic import context

from twin.live_schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit(
        "run migrations through twin (twin serve, twin worker or twin.live_store.LiveStore.open), "
        "which passes the connection; alembic alone has no database to talk to"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
