"""Identity tables: agencies, users and their roles, API keys, web sessions, login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onecity.core.db import Base, IdMixin, TimestampMixin
from onecity.core.identity.roles import PrincipalKind, Role


class Agency(IdMixin, TimestampMixin, Base):
    """A government department or its unit at one level (e.g. Xuhui District Market Regulation Bureau)."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[PrincipalKind] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    #: Staff: the division they serve; citizens: where they live (may be unknown).
    division_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None]
    #: Set by an administrator's reset (someone else knows the temporary password); the next
    #: sign-in leads to the change-password page until the user has chosen their own.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Where notifications are e-mailed and one-time codes sent (given at registration; may be unknown).
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))

    agency: Mapped[Agency | None] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def roles(self) -> list[Role]:
        return [Role(r.role) for r in self.role_rows]


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(String(32), primary_key=True, index=True)


class ApiKey(IdMixin, TimestampMixin, Base):
    """A key for a system or device. Only a SHA-256 of the secret is kept (keys are 256-bit random)."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    #: Staff roles the key acts with, never more than its creator held (empty: scopes only).
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    division_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"))
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class WebSession(TimestampMixin, Base):
    """A browser session; the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class LoginThrottle(Base):
    """Sign-in failures of one username (``account:…``) or one client address (``client:…``).

    Each attempt bumps ``failures`` in one conditional UPDATE before the password is checked,
    so concurrent attempts are counted one by one; times are epoch seconds so that the wait
    can be computed inside that same statement on SQLite and PostgreSQL alike.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[float] = mapped_column(Float, default=0.0)
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0, index=True)
