"""sensing: each Thing belongs to a division and an agency, to which writes are limited

Existing Things get their township as their division (from their component or location);
those placed nowhere keep none, which only city-level staff and keys may change. Their
agency is unknown and stays empty (the division alone limits writes to them).

Revision ID: 0014_sensing_thing_owner
Revises: 0013_registry_relations
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_sensing_thing_owner"
down_revision: str | None = "0013_registry_relations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sta_things", schema=None) as batch_op:
        batch_op.add_column(sa.Column("division_code", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("agency_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_sta_things_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_sta_things_agency_id"), ["agency_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_sta_things_agency_id_agencies"), "agencies", ["agency_id"], ["id"], ondelete="SET NULL"
        )
    op.execute("UPDATE sta_things SET division_code = township_code WHERE township_code IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("sta_things", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_sta_things_agency_id_agencies"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_sta_things_agency_id"))
        batch_op.drop_index(batch_op.f("ix_sta_things_division_code"))
        batch_op.drop_column("agency_id")
        batch_op.drop_column("division_code")
