"""The example part's one table."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin, TimestampMixin


class Note(IdMixin, TimestampMixin, Base):
    __tablename__ = "example_notes"

    text: Mapped[str] = mapped_column(String(200))
