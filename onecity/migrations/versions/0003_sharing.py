"""sharing: searchable catalogue text, residents linked to their person record

Revision ID: 0003_sharing
Revises: 0002_hub
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onecity.core.db

revision: str = "0003_sharing"
down_revision: str | None = "0002_hub"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing rows get '' and are refreshed by `onecity catalogue install` / the next update
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "resident_links",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", onecity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_resident_links_person_id_persons")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_resident_links_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_resident_links")),
        sa.UniqueConstraint("person_id", name=op.f("uq_resident_links_person_id")),
    )


def downgrade() -> None:
    op.drop_table("resident_links")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("search_text")
