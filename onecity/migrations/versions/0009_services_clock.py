"""services: the day a case's 80 % warning falls due, and indexes for the clock updates

Revision ID: 0009_services_clock
Revises: 0006_services
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_services_clock"
down_revision: str | None = "0006_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("svc_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warn_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_svc_cases_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_svc_cases_warn_on"), ["warn_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("svc_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_svc_cases_warn_on"))
        batch_op.drop_index(batch_op.f("ix_svc_cases_due_on"))
        batch_op.drop_column("warn_on")
