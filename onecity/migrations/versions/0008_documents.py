"""documents: the OCR cache by content hash (documents_ocr_cache)

Revision ID: 0008_documents
Revises: 0003_sharing
Create Date: 2026-11-28 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_documents"
down_revision: str | None = "0003_sharing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents_ocr_cache",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("engine", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "engine", name=op.f("pk_documents_ocr_cache")),
    )


def downgrade() -> None:
    op.drop_table("documents_ocr_cache")
