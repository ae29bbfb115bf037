"""geography: the gazetteer (places: divisions, roads, lanes, village groups, houses)

Revision ID: 0018_gazetteer
Revises: 0017_identity_trust
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_gazetteer"
down_revision: str | Sequence[str] | None = "0017_identity_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("pinyin", sa.String(length=300), nullable=False),
        sa.Column("street", sa.String(length=60), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column("district_code", sa.String(length=12), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
        sa.UniqueConstraint("key", name=op.f("uq_places_key")),
    )
    op.create_index(op.f("ix_places_division_code"), "places", ["division_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_places_division_code"), table_name="places")
    op.drop_table("places")
