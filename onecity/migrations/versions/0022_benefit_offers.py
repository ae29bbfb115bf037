"""benefits: offers made to residents and firms (免申即享) and objections to a policy that missed them

One live offer per policy and subject (a partial unique index: a withdrawn offer may be made again).

Revision ID: 0022_benefit_offers
Revises: 0021_work_item_assignee
Create Date: 2026-12-05 02:58:36.511521
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0022_benefit_offers"
down_revision: str | Sequence[str] | None = "0021_work_item_assignee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "benefit_objections",
        sa.Column("policy_code", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=12), nullable=False),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("department", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=120), nullable=True),
        sa.Column("answered_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offer_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_objections")),
    )
    with op.batch_alter_table("benefit_objections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benefit_objections_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_objections_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_objections_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_objections_policy_code"), ["policy_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_objections_status"), ["status"], unique=False)

    op.create_table(
        "benefit_offers",
        sa.Column("policy_code", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=12), nullable=False),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("closed_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=True),
        sa.Column("close_reason", sa.String(length=300), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("objection_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_offers")),
    )
    with op.batch_alter_table("benefit_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benefit_offers_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_offers_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_offers_policy_code"), ["policy_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_offers_status"), ["status"], unique=False)
        batch_op.create_index("ix_benefit_offers_subject", ["subject_kind", "subject_id"], unique=False)
        batch_op.create_index(
            "uq_benefit_offers_live",
            ["policy_code", "subject_kind", "subject_id"],
            unique=True,
            sqlite_where=sa.text("status != 'withdrawn'"),
            postgresql_where=sa.text("status != 'withdrawn'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("benefit_offers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_benefit_offers_live",
            sqlite_where=sa.text("status != 'withdrawn'"),
            postgresql_where=sa.text("status != 'withdrawn'"),
        )
        batch_op.drop_index("ix_benefit_offers_subject")
        batch_op.drop_index(batch_op.f("ix_benefit_offers_status"))
        batch_op.drop_index(batch_op.f("ix_benefit_offers_policy_code"))
        batch_op.drop_index(batch_op.f("ix_benefit_offers_person_id"))
        batch_op.drop_index(batch_op.f("ix_benefit_offers_division_code"))

    op.drop_table("benefit_offers")
    with op.batch_alter_table("benefit_objections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benefit_objections_status"))
        batch_op.drop_index(batch_op.f("ix_benefit_objections_policy_code"))
        batch_op.drop_index(batch_op.f("ix_benefit_objections_person_id"))
        batch_op.drop_index(batch_op.f("ix_benefit_objections_division_code"))
        batch_op.drop_index(batch_op.f("ix_benefit_objections_department"))

    op.drop_table("benefit_objections")
