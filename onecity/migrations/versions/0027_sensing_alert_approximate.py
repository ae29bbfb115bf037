"""sensing: an alert whose device has no location says which division's representative point stands in

Revision ID: 0027_sensing_alert_approximate
Revises: 0026_registry_person_facts
Create Date: 2026-12-05 09:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_sensing_alert_approximate"
down_revision: str | Sequence[str] | None = "0026_registry_person_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sensing_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approximate_division", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sensing_alerts", schema=None) as batch_op:
        batch_op.drop_column("approximate_division")
