"""core: a password an administrator reset must be changed at the next sign-in

``users.must_change_password`` is set by the administrator's reset (the temporary password
was read out or handed over, so someone else has seen it) and cleared when the user chooses
a new one; until then every page leads to the change-password form.

Revision ID: 0024_password_must_change
Revises: 0023_notifications
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_password_must_change"
down_revision: str | Sequence[str] | None = "0023_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
