"""sensing: rule states remember the reading that last changed them (rules judge batches after ingest)

Revision ID: 0030_sensing_rules_after_ingest
Revises: 0029_registry_premises
Create Date: 2026-12-05 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0030_sensing_rules_after_ingest"
down_revision: str | Sequence[str] | None = "0029_registry_premises"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sensing_rule_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("observed_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sensing_rule_states", schema=None) as batch_op:
        batch_op.drop_column("observed_at")
