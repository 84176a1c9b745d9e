"""One-time passwords: a user whose password was given to them (the demo's, an admin's reset) chooses their
own at the first sign-in.

Revision ID: 0003_one_time_passwords
Revises: 0002_access
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_one_time_passwords"
down_revision = "0002_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
