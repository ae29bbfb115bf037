"""credentials: signing keys, bitstring status lists, issued verifiable credentials

Revision ID: 0007_credentials
Revises: 0003_sharing
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0007_credentials"
down_revision: str | None = "0003_sharing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "credential_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("sealed_private_key", sa.Text(), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("retired_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=300), nullable=True),
        sa.Column("current", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_credential_signing_keys")),
        sa.UniqueConstraint("current", name=op.f("uq_credential_signing_keys_current")),
    )
    op.create_table(
        "credential_status_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_status_lists")),
    )
    with op.batch_alter_table("credential_status_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_status_lists_purpose"), ["purpose"], unique=False)

    op.create_table(
        "credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("certificate_id", BigId, nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("holder_kind", sa.String(length=12), nullable=False),
        sa.Column("holder_id", BigId, nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("jwt", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revocation_list_id", sa.Integer(), nullable=False),
        sa.Column("revocation_index", sa.Integer(), nullable=False),
        sa.Column("suspension_list_id", sa.Integer(), nullable=False),
        sa.Column("suspension_index", sa.Integer(), nullable=False),
        sa.Column("valid_from", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("issued_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=120), nullable=False),
        sa.Column("status_changed_at", onecity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_credentials_certificate_id_certificates")
        ),
        sa.ForeignKeyConstraint(
            ["kid"], ["credential_signing_keys.kid"], name=op.f("fk_credentials_kid_credential_signing_keys")
        ),
        sa.ForeignKeyConstraint(
            ["revocation_list_id"],
            ["credential_status_lists.id"],
            name=op.f("fk_credentials_revocation_list_id_credential_status_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["suspension_list_id"],
            ["credential_status_lists.id"],
            name=op.f("fk_credentials_suspension_list_id_credential_status_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("revocation_list_id", "revocation_index", name="uq_credentials_revocation_entry"),
        sa.UniqueConstraint("suspension_list_id", "suspension_index", name="uq_credentials_suspension_entry"),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credentials_certificate_id"), ["certificate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credentials_division_code"), ["division_code"], unique=False)
        batch_op.create_index("ix_credentials_holder", ["holder_kind", "holder_id"], unique=False)


def downgrade() -> None:
    op.drop_table("credentials")
    op.drop_table("credential_status_lists")
    op.drop_table("credential_signing_keys")
