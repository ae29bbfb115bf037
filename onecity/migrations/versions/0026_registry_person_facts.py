"""registries: facts other base registries hold about a person (social insurance, bank account, provident fund,
household) and vehicles (electric bicycles' sale records)

Revision ID: 0026_registry_person_facts
Revises: 0025_ops_dispatch_capacity
Create Date: 2026-12-05 09:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0026_registry_person_facts"
down_revision: str | Sequence[str] | None = "0025_ops_dispatch_capacity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "person_facts",
        sa.Column("person_id", BIG, nullable=False),
        sa.Column("bank_account", sa.String(length=19), nullable=True),
        sa.Column("employer_id", BIG, nullable=True),
        sa.Column("employed_until", sa.Date(), nullable=True),
        sa.Column("provident_fund_balance", sa.Float(), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=True),
        sa.Column("updated_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_person_facts_person_id_persons")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_facts")),
    )
    with op.batch_alter_table("person_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_facts_employer_id"), ["employer_id"], unique=False)
    op.create_table(
        "vehicles",
        sa.Column("id", BIG, autoincrement=False, nullable=False),
        sa.Column("holder_kind", sa.String(length=12), nullable=False),
        sa.Column("holder_id", BIG, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("brand", sa.String(length=60), nullable=False),
        sa.Column("frame_number", sa.String(length=20), nullable=False),
        sa.Column("motor_number", sa.String(length=30), nullable=False),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("frame_number", name=op.f("uq_vehicles_frame_number")),
    )
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.create_index("ix_vehicles_holder", ["holder_kind", "holder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_index("ix_vehicles_holder")
    op.drop_table("vehicles")
    with op.batch_alter_table("person_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_facts_employer_id"))
    op.drop_table("person_facts")
