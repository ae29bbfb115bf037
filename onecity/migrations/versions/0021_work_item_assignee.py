"""services: a queued task claimed by (or assigned to) one officer

Officers claim a task from their queue, or hand it to a colleague of the same department;
the task then waits for that officer only. ``assigned_to`` is the officer's principal
reference (``user:<id>``), ``assigned_at`` when they took it.

Revision ID: 0021_work_item_assignee
Revises: 0020_audit_group_commit
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0021_work_item_assignee"
down_revision: str | Sequence[str] | None = "0020_audit_group_commit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("svc_work_items") as batch:
        batch.add_column(sa.Column("assigned_to", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("assigned_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_svc_work_items_assigned_to"), ["assigned_to"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("svc_work_items") as batch:
        batch.drop_index(batch.f("ix_svc_work_items_assigned_to"))
        batch.drop_column("assigned_at")
        batch.drop_column("assigned_to")
