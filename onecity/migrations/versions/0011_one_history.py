"""one history: join the parts' branches, so every later migration has one parent

Each part's first migration branched from the hub's (0003_sharing), which left five heads:
`onecity db revision` could not tell which one a new migration follows, and two parts' next
migrations could not be ordered. From here the history is one line; a test keeps it so.

Revision ID: 0011_one_history
Revises: 0004_ops, 0005_sensing, 0007_credentials, 0008_documents, 0010_services_prereview
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0011_one_history"
down_revision: str | Sequence[str] | None = (
    "0004_ops",
    "0005_sensing",
    "0007_credentials",
    "0008_documents",
    "0010_services_prereview",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
