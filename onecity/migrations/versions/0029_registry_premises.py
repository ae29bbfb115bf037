"""registries: the premises firms operate from (real-estate title or filed lease: address, building area)

Revision ID: 0029_registry_premises
Revises: 0028_ops_cases_near
Create Date: 2026-12-05 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_registry_premises"
down_revision: str | Sequence[str] | None = "0028_ops_cases_near"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "premises",
        sa.Column("id", BIG, autoincrement=False, nullable=False),
        sa.Column("legal_person_id", BIG, nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("use", sa.String(length=12), nullable=False),
        sa.Column("tenure", sa.String(length=8), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premises")),
    )
    with op.batch_alter_table("premises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_premises_legal_person_id"), ["legal_person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("premises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_premises_legal_person_id"))
    op.drop_table("premises")
