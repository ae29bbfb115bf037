"""services: uploads that failed an authenticity check, kept when replaced or removed before submission

Revision ID: 0031_svc_kept_uploads
Revises: 0030_sensing_rules_after_ingest
Create Date: 2026-12-05 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0031_svc_kept_uploads"
down_revision: str | Sequence[str] | None = "0030_sensing_rules_after_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "svc_kept_uploads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("case_number", sa.String(length=24), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("person_id", BIG, nullable=True),
        sa.Column("applicant_identifier", sa.String(length=18), nullable=False),
        sa.Column("material_code", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("uploaded_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("check", sa.JSON(), nullable=False),
        sa.Column("kept_because", sa.String(length=16), nullable=False),
        sa.Column("kept_by", sa.String(length=120), nullable=False),
        sa.Column("kept_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["svc_cases.id"], name=op.f("fk_svc_kept_uploads_case_id_svc_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_kept_uploads")),
    )
    with op.batch_alter_table("svc_kept_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_svc_kept_uploads_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_svc_kept_uploads_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_svc_kept_uploads_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_svc_kept_uploads_applicant_identifier"), ["applicant_identifier"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_svc_kept_uploads_kept_at"), ["kept_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("svc_kept_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_svc_kept_uploads_kept_at"))
        batch_op.drop_index(batch_op.f("ix_svc_kept_uploads_applicant_identifier"))
        batch_op.drop_index(batch_op.f("ix_svc_kept_uploads_person_id"))
        batch_op.drop_index(batch_op.f("ix_svc_kept_uploads_division_code"))
        batch_op.drop_index(batch_op.f("ix_svc_kept_uploads_case_id"))
    op.drop_table("svc_kept_uploads")
