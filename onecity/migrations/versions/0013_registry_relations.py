"""registries: relations that let one person act for another, and registered powers of attorney

Revision ID: 0013_registry_relations
Revises: 0012_event_reason
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0013_registry_relations"
down_revision: str | None = "0012_event_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_relations",
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("relative_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_person_relations_person_id_persons")),
        sa.ForeignKeyConstraint(["relative_id"], ["persons.id"], name=op.f("fk_person_relations_relative_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_relations")),
    )
    with op.batch_alter_table("person_relations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_relations_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_relations_relative_id"), ["relative_id"], unique=False)

    op.create_table(
        "powers_of_attorney",
        sa.Column("grantor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("valid_from", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=120), nullable=True),
        sa.Column("revoke_reason", sa.String(length=300), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["persons.id"], name=op.f("fk_powers_of_attorney_agent_id_persons")),
        sa.ForeignKeyConstraint(["grantor_id"], ["persons.id"], name=op.f("fk_powers_of_attorney_grantor_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_powers_of_attorney")),
    )
    with op.batch_alter_table("powers_of_attorney", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_powers_of_attorney_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_powers_of_attorney_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_powers_of_attorney_grantor_id"), ["grantor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("powers_of_attorney", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_powers_of_attorney_grantor_id"))
        batch_op.drop_index(batch_op.f("ix_powers_of_attorney_division_code"))
        batch_op.drop_index(batch_op.f("ix_powers_of_attorney_agent_id"))

    op.drop_table("powers_of_attorney")
    with op.batch_alter_table("person_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_relations_relative_id"))
        batch_op.drop_index(batch_op.f("ix_person_relations_person_id"))

    op.drop_table("person_relations")
