"""Proactive benefits' tables: the offers made to residents and firms, and their objections.

:data:`benefit_grants` is the city's last full eligibility scan, written by the database itself.

A :class:`BenefitOffer` is a benefit the registries show someone is owed (免申即享): made by
the platform, accepted with one click (a services case, approved unattended), declined, or
withdrawn when the eligibility ends. A :class:`BenefitObjection` is a resident's "I think I
was missed", answered by an officer of the policy's department.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Date, Float, Index, SmallInteger, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin, TimestampMixin
from onecity.hub.registries.models import BigId


class OfferStatus(StrEnum):
    OFFERED = "offered"  # 待领取
    ACCEPTED = "accepted"  # 已领取：a case was created and submitted
    DECLINED = "declined"  # 已放弃
    WITHDRAWN = "withdrawn"  # 已撤回：eligibility ended before it was taken up


#: An offer in one of these states is the subject's one offer of that policy: no second is made.
LIVE = (OfferStatus.OFFERED, OfferStatus.ACCEPTED, OfferStatus.DECLINED)


class ObjectionStatus(StrEnum):
    OPEN = "open"  # 待答复
    UPHELD = "upheld"  # 成立：an offer was made
    REJECTED = "rejected"  # 不成立：the officer says why


class BenefitOffer(IdMixin, TimestampMixin, Base):
    """One benefit offered to one person or firm because a policy's table grants it."""

    __tablename__ = "benefit_offers"
    __table_args__ = (
        # one live offer per policy and subject, whatever runs twice (a scan and a life event)
        Index(
            "uq_benefit_offers_live",
            "policy_code",
            "subject_kind",
            "subject_id",
            unique=True,
            sqlite_where=text("status != 'withdrawn'"),
            postgresql_where=text("status != 'withdrawn'"),
        ),
        Index("ix_benefit_offers_subject", "subject_kind", "subject_id"),
    )

    policy_code: Mapped[str] = mapped_column(String(40), index=True)
    #: ``person`` or ``legal_person`` (the policy's subject)
    subject_kind: Mapped[str] = mapped_column(String(12))
    subject_id: Mapped[int] = mapped_column(BigId)
    #: the person who sees the offer: the resident, or the firm's legal representative
    person_id: Mapped[int | None] = mapped_column(BigId, index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    status: Mapped[OfferStatus] = mapped_column(String(10), index=True)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    #: the table's reason output and the DMN rule ids that granted it
    reason: Mapped[str] = mapped_column(String(300))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    offered_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(120))
    #: why it was declined or withdrawn
    close_reason: Mapped[str | None] = mapped_column(String(300))
    case_id: Mapped[str | None] = mapped_column(String(36))
    #: the objection it answers, when an officer upheld one
    objection_id: Mapped[str | None] = mapped_column(String(36))


class BenefitObjection(IdMixin, TimestampMixin, Base):
    """A resident says a policy should have found them (or their firm): an officer answers."""

    __tablename__ = "benefit_objections"

    policy_code: Mapped[str] = mapped_column(String(40), index=True)
    subject_kind: Mapped[str] = mapped_column(String(12))
    subject_id: Mapped[int] = mapped_column(BigId)
    person_id: Mapped[int] = mapped_column(BigId, index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    department: Mapped[str] = mapped_column(String(12), index=True)
    status: Mapped[ObjectionStatus] = mapped_column(String(10), index=True)
    text: Mapped[str] = mapped_column(Text)
    #: the table's decision on the registries when the objection was filed (what the officer reads)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[datetime | None]
    offer_id: Mapped[str | None] = mapped_column(String(36))


#: The last full scan's result (:func:`onecity.benefits.service.scan_city`): one row per policy and
#: person or firm its table grants, with the deciding rule's index in the table and the amount. The
#: scan writes it inside the database (``INSERT … SELECT``; tens of millions of rows at the scale of
#: the city never pass through Python), replacing the last scan's whole (on PostgreSQL a new table,
#: written by several sessions, takes this one's place): it is derived data, so it has no key or
#: index to maintain while it is written, and on PostgreSQL it is UNLOGGED (not in the WAL; emptied
#: by a crash, and the next scan writes it again).
benefit_grants = Table(
    "benefit_grants",
    Base.metadata,
    Column("policy_code", String(40), nullable=False),
    Column("subject_id", BigId, nullable=False),
    Column("rule", SmallInteger, nullable=False),
    Column("amount", Float, nullable=False),
    Column("scanned_on", Date, nullable=False),
)
