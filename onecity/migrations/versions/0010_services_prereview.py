"""services: AI pre-review of submitted cases (智能预审), one row per submission round

Revision ID: 0010_services_prereview
Revises: 0009_services_clock
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0010_services_prereview"
down_revision: str | None = "0009_services_clock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "svc_prereviews",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=True),
        sa.Column("corrections", sa.JSON(), nullable=False),
        sa.Column("engine", sa.String(length=60), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("acted", sa.Boolean(), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overridden_by", sa.String(length=120), nullable=True),
        sa.Column("overridden_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("override_outcome", sa.String(length=20), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["svc_cases.id"], name=op.f("fk_svc_prereviews_case_id_svc_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_prereviews")),
    )
    with op.batch_alter_table("svc_prereviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_svc_prereviews_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_svc_prereviews_outcome"), ["outcome"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("svc_prereviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_svc_prereviews_outcome"))
        batch_op.drop_index(batch_op.f("ix_svc_prereviews_case_id"))
    op.drop_table("svc_prereviews")
