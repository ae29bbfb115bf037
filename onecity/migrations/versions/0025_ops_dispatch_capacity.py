"""ops: units' crews and shifts (capacity-aware dispatch), cases' early warning and re-dispatch count

Revision ID: 0025_ops_dispatch_capacity
Revises: 0024_password_must_change
Create Date: 2026-12-05 06:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0025_ops_dispatch_capacity"
down_revision: str | Sequence[str] | None = "0024_password_must_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ops_units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crews", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("shift", sa.String(length=16), nullable=False, server_default="round_the_clock"))
    with op.batch_alter_table("ops_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warned_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("redispatches", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ops_cases", schema=None) as batch_op:
        batch_op.drop_column("redispatches")
        batch_op.drop_column("warned_at")
    with op.batch_alter_table("ops_units", schema=None) as batch_op:
        batch_op.drop_column("shift")
        batch_op.drop_column("crews")
