"""ops: index a subtype's cases by latitude, for intake's duplicate check

Revision ID: 0028_ops_cases_near
Revises: 0027_sensing_alert_approximate
Create Date: 2026-12-05 13:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028_ops_cases_near"
down_revision: str | Sequence[str] | None = "0027_sensing_alert_approximate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ops_cases", schema=None) as batch_op:
        batch_op.create_index("ix_ops_cases_near", ["subtype_code", "lat"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ops_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_cases_near")
