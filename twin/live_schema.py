"""The tables of the live state (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Migrations in ``twin/migrations`` create and change them; a test checks that the migrations and this
module describe the same schema.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A moment in UTC: stored timezone-aware where the database can, always read back aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()
ACTIVE_JOB = sa.text("status IN ('queued', 'running')")

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("key", sa.String(200), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("enqueued_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("worker", sa.String(200), nullable=True),
    sa.Index("ix_jobs_status_created", "status", "created_at"),
    # one active job per key: a key may run again once its last job has ended
    sa.Index("ux_jobs_active_key", "key", unique=True, sqlite_where=ACTIVE_JOB, postgresql_where=ACTIVE_JOB),
    sa.Index("ix_jobs_key", "key"),
)

# --- access: users, their grants, API tokens, sessions, sign-in throttling, the audit log -------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("password_changed_at", UTCDateTime, nullable=False),
    sa.Column("failed_signins", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("last_signin_at", UTCDateTime, nullable=True),
    # a password given to the user (the demo's, an admin's reset): they choose their own at the next sign-in
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
)

#: A role held by a user or an API token. No area (the whole city) and no department are stored as ''
#: so that the unique constraint treats them as equal; the stores read '' back as None.
grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("principal_kind", sa.String(8), nullable=False),
    sa.Column("principal_name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("area", sa.String(20), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.UniqueConstraint("principal_kind", "principal_name", "role", "area", "department", name="uq_grants"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("user_agent", sa.String(300), nullable=False),
    sa.Index("ix_sessions_user_name", "user_name"),
    sa.Index("ix_sessions_expires_at", "expires_at"),
)

signin_failures = sa.Table(
    "signin_failures",
    metadata,
    sa.Column("ip", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
)

#: Append-only: the migration installs triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE).
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("actor_kind", sa.String(16), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Index("ix_audit_at", "at"),
    sa.Index("ix_audit_actor", "actor"),
)
