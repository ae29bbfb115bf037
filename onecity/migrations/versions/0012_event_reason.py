"""core: an event's reason holds 2,000 characters, as people may write when they decide

Callers pass a refusal's grounds or an override's reason (up to 2,000 characters) to
events.publish, which stored it in 300: PostgreSQL refused the insert and the request
failed with a 500.

Revision ID: 0012_event_reason
Revises: 0011_one_history
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_event_reason"
down_revision: str | Sequence[str] | None = "0011_one_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "reason", existing_type=sa.String(length=300), type_=sa.String(length=2000), existing_nullable=False
        )


def downgrade() -> None:
    op.execute(sa.text("UPDATE outbox SET reason = substr(reason, 1, 300) WHERE length(reason) > 300"))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "reason", existing_type=sa.String(length=2000), type_=sa.String(length=300), existing_nullable=False
        )
