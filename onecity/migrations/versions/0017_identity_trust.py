"""identity trust: atomic sign-in throttle, API-key roles, four-eyes signing-key withdrawal

Revision ID: 0017_identity_trust
Revises: 0016_task_leases
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0017_identity_trust"
down_revision: str | Sequence[str] | None = "0016_task_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_blocked_until"), "login_throttle", ["blocked_until"], unique=False)
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "credential_key_requests",
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=300), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_key_requests")),
    )
    op.create_index(op.f("ix_credential_key_requests_kid"), "credential_key_requests", ["kid"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_credential_key_requests_kid"), table_name="credential_key_requests")
    op.drop_table("credential_key_requests")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("roles")
    op.drop_index(op.f("ix_login_throttle_blocked_until"), table_name="login_throttle")
    op.drop_table("login_throttle")
