"""benefits: the city's last full eligibility scan, written inside the database (benefit_grants)

Derived data (the next scan writes it again): no key or index to maintain while tens of millions
of rows are written, and UNLOGGED on PostgreSQL (not in the WAL; emptied by a crash).

Revision ID: 0033_benefit_grants
Revises: 0032_sensing_obs_partitioned
Create Date: 2026-12-05 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_benefit_grants"
down_revision: str | Sequence[str] | None = "0032_sensing_obs_partitioned"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "benefit_grants",
        sa.Column("policy_code", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.SmallInteger(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("scanned_on", sa.Date(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE benefit_grants SET UNLOGGED")


def downgrade() -> None:
    op.drop_table("benefit_grants")
