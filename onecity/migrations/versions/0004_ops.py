"""ops: urban-operations cases, reports, timeline steps, disposal units and site photos

Revision ID: 0004_ops
Revises: 0003_sharing
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0004_ops"
down_revision: str | None = "0003_sharing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ops_media",
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=True),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_media")),
    )
    op.create_table(
        "ops_units",
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("department", sa.String(length=30), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_ops_units_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["division_code"], ["divisions.code"], name=op.f("fk_ops_units_division_code_divisions")
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_ops_units")),
        sa.UniqueConstraint("department", "division_code", name=op.f("uq_ops_units_department")),
    )
    with op.batch_alter_table("ops_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_units_division_code"), ["division_code"], unique=False)

    op.create_table(
        "ops_cases",
        sa.Column("subtype_code", sa.String(length=6), nullable=False),
        sa.Column("major_code", sa.String(length=4), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("department", sa.String(length=30), nullable=False),
        sa.Column("unit_agency_id", sa.String(length=36), nullable=True),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=10), nullable=True),
        sa.Column("step_started_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("step_due_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remind_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalate_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("late_steps", sa.Integer(), nullable=False),
        sa.Column("registered_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispose_due_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_on_time", sa.Boolean(), nullable=True),
        sa.Column("disposed_on_time", sa.Boolean(), nullable=True),
        sa.Column("closed_on_time", sa.Boolean(), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("suspended_from", sa.String(length=12), nullable=True),
        sa.Column("suspended_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("suspend_reason", sa.Text(), nullable=True),
        sa.Column("result_note", sa.Text(), nullable=True),
        sa.Column("result_media_id", sa.String(length=36), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["component_id"], ["components.id"], name=op.f("fk_ops_cases_component_id_components")),
        sa.ForeignKeyConstraint(
            ["result_media_id"], ["ops_media.id"], name=op.f("fk_ops_cases_result_media_id_ops_media")
        ),
        sa.ForeignKeyConstraint(["unit_agency_id"], ["agencies.id"], name=op.f("fk_ops_cases_unit_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_cases")),
    )
    with op.batch_alter_table("ops_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_cases_component_id"), ["component_id"], unique=False)
        batch_op.create_index("ix_ops_cases_dedupe", ["subtype_code", "created_at"], unique=False)
        batch_op.create_index("ix_ops_cases_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_escalate_at"), ["escalate_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_major_code"), ["major_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_remind_at"), ["remind_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_township_code"), ["township_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_cases_unit_agency_id"), ["unit_agency_id"], unique=False)

    op.create_table(
        "ops_reports",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("reporter", sa.String(length=120), nullable=False),
        sa.Column("reporter_name", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.String(length=120), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("subtype_code", sa.String(length=6), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["ops_cases.id"], name=op.f("fk_ops_reports_case_id_ops_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_reports")),
    )
    with op.batch_alter_table("ops_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_reports_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_reports_external_id"), ["external_id"], unique=False)

    op.create_table(
        "ops_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("unit_agency_id", sa.String(length=36), nullable=True),
        sa.Column("media_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["ops_cases.id"], name=op.f("fk_ops_steps_case_id_ops_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_steps")),
    )
    with op.batch_alter_table("ops_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_steps_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ops_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_steps_case_id"))

    op.drop_table("ops_steps")
    with op.batch_alter_table("ops_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_reports_external_id"))
        batch_op.drop_index(batch_op.f("ix_ops_reports_case_id"))

    op.drop_table("ops_reports")
    with op.batch_alter_table("ops_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_cases_unit_agency_id"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_township_code"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_status"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_source"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_remind_at"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_major_code"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_escalate_at"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_division_code"))
        batch_op.drop_index(batch_op.f("ix_ops_cases_district_code"))
        batch_op.drop_index("ix_ops_cases_dedupe")
        batch_op.drop_index("ix_ops_cases_created_at")
        batch_op.drop_index(batch_op.f("ix_ops_cases_component_id"))

    op.drop_table("ops_cases")
    with op.batch_alter_table("ops_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_units_division_code"))

    op.drop_table("ops_units")
    op.drop_table("ops_media")
