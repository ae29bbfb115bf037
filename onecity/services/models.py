"""Government-services tables: one case file per application whatever the channel.

A :class:`Case` is the file (表单, materials, decision, the serialized BPMN workflow); its
:class:`CaseEvent` rows are the history every channel writes to; :class:`WorkItem` rows are
the open user tasks of its workflow, queued by department, role and division. A
:class:`BundleApplication` (一件事) is one submission that fans out into several cases.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin, TimestampMixin
from onecity.hub.registries.models import BigId


class CaseStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 已提交，待受理
    SUPPLEMENT = "supplement"  # 待补正
    IN_REVIEW = "in_review"  # 已受理，审查中
    APPROVED = "approved"  # 办结（准予）
    REFUSED = "refused"  # 办结（不予）
    WITHDRAWN = "withdrawn"  # 撤回


OPEN_STATUSES = frozenset({CaseStatus.DRAFT, CaseStatus.SUBMITTED, CaseStatus.SUPPLEMENT, CaseStatus.IN_REVIEW})
DONE_STATUSES = frozenset({CaseStatus.APPROVED, CaseStatus.REFUSED})


class Channel(StrEnum):
    ONLINE = "online"  # 网上办：the resident or firm on the portal or API
    COUNTER = "counter"  # 窗口办：a clerk on the applicant's behalf, identity checked
    PROXY = "proxy"  # 代办：an authorised relative


class MaterialState(StrEnum):
    HELD = "held"  # the government holds it: a valid certificate or a registry fact stands in
    UPLOADED = "uploaded"
    MISSING = "missing"
    REJECTED = "rejected"  # the clerk asked for it again (补正)


class WorkStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class BundleApplication(IdMixin, TimestampMixin, Base):
    """One application for a bundle of items (一件事): one form, one set of materials."""

    __tablename__ = "svc_bundle_applications"

    bundle_code: Mapped[str] = mapped_column(String(40), index=True)
    applicant_identifier: Mapped[str] = mapped_column(String(18), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    channel: Mapped[Channel] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(120))
    #: Figures asked of the applicant, against the items applied for one by one.
    materials_asked: Mapped[int] = mapped_column(Integer, default=0)
    materials_one_by_one: Mapped[int] = mapped_column(Integer, default=0)
    fields_asked: Mapped[int] = mapped_column(Integer, default=0)
    fields_one_by_one: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None]


class Case(IdMixin, TimestampMixin, Base):
    """One application for one service item (办件)."""

    __tablename__ = "svc_cases"

    number: Mapped[str] = mapped_column(String(24), unique=True)
    item_code: Mapped[str] = mapped_column(String(24), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    bundle_id: Mapped[str | None] = mapped_column(ForeignKey("svc_bundle_applications.id"), index=True)
    applicant_kind: Mapped[str] = mapped_column(String(12))
    #: The natural person applying, or the firm's legal representative applying for it.
    person_id: Mapped[int | None] = mapped_column(BigId, index=True)
    legal_person_id: Mapped[int | None] = mapped_column(BigId, index=True)
    applicant_identifier: Mapped[str] = mapped_column(String(18), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    #: The applicant's community or village: the case's place in the division scope.
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    #: The channel the case was started on; each history entry carries its own.
    channel: Mapped[Channel] = mapped_column(String(10), index=True)
    proxy_person_id: Mapped[int | None] = mapped_column(BigId)
    proxy_relation: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(120))
    status: Mapped[CaseStatus] = mapped_column(String(12), index=True, default=CaseStatus.DRAFT)
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: field name -> where its value came from (``person.name``, ``cert.business_licence.number``…).
    prefill: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: [{code, state, source, ref}] for every material the item requires.
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fields_total: Mapped[int] = mapped_column(Integer, default=0)
    fields_prefilled: Mapped[int] = mapped_column(Integer, default=0)
    materials_total: Mapped[int] = mapped_column(Integer, default=0)
    materials_held: Mapped[int] = mapped_column(Integer, default=0)
    supplements: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    time_limit_days: Mapped[int] = mapped_column(Integer, default=0)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: The day 80 % of the working days are used (the warning), set with ``due_on`` at acceptance.
    warn_on: Mapped[date | None] = mapped_column(Date, index=True)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    within_limit: Mapped[bool | None] = mapped_column(Boolean)
    handling_days: Mapped[int | None] = mapped_column(Integer)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    certificate_id: Mapped[int | None] = mapped_column(BigId)
    credential_id: Mapped[str | None] = mapped_column(String(64))
    #: The SpiffWorkflow state, serialized after every step (resumes after a restart).
    workflow_state: Mapped[str | None] = mapped_column(Text)


class CaseEvent(Base):
    """One entry of a case's history, whichever channel wrote it."""

    __tablename__ = "svc_case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("svc_cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    actor_name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WorkItem(IdMixin, Base):
    """An open user task of a case's workflow, in the queue of a department, role and division."""

    __tablename__ = "svc_work_items"

    case_id: Mapped[str] = mapped_column(ForeignKey("svc_cases.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    status: Mapped[WorkStatus] = mapped_column(String(10), index=True, default=WorkStatus.OPEN)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(String(20))
    #: The officer who claimed the task or was handed it (``user:<id>``); None: anyone in the queue.
    assigned_to: Mapped[str | None] = mapped_column(String(120), index=True)
    assigned_at: Mapped[datetime | None]


class UploadedFileMixin:
    """An uploaded material's file: what it is for, its bytes and who uploaded it. A document on a case
    and an upload kept after it left the case (:class:`KeptUpload`) are the same file, moved from one
    table to the other: they share these columns so that the move copies each one by name."""

    material_code: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(120))

    def file_columns(self) -> dict[str, Any]:
        """These columns' values, to build the same file's row in the other table."""
        return {name: getattr(self, name) for name in UploadedFileMixin.__annotations__}


class Document(IdMixin, UploadedFileMixin, Base):
    """A material uploaded or scanned at the counter."""

    __tablename__ = "svc_documents"

    case_id: Mapped[str] = mapped_column(ForeignKey("svc_cases.id"), index=True)
    created_at: Mapped[datetime]


class KeptUpload(UploadedFileMixin, Base):
    """An upload that failed an authenticity check, kept when the applicant replaced or removed it (or
    deleted the draft holding it) before submitting: the upload check must not be an oracle a forger
    tries forgeries against until one passes, leaving the officer nothing but "material checked".

    Its id is the upload's own (the check result and the case history name it); the bytes and the
    check result move here in the transaction that replaces, removes or deletes. ``case_id`` is None
    once the draft is deleted: the row stays with the applicant (``person_id``,
    ``applicant_identifier``), and ``case_number`` still says which application it was.
    """

    __tablename__ = "svc_kept_uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("svc_cases.id"), index=True)
    case_number: Mapped[str] = mapped_column(String(24))
    item_code: Mapped[str] = mapped_column(String(24))
    #: The department the application went to: its officers read the upload (as the case's materials).
    department: Mapped[str] = mapped_column(String(40))
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    person_id: Mapped[int | None] = mapped_column(BigId, index=True)
    applicant_identifier: Mapped[str] = mapped_column(String(18), index=True)
    #: When the file was uploaded (its document's ``created_at``).
    uploaded_at: Mapped[datetime]
    #: The upload check's result as it stood: {status, problems, authenticity: [rules], checked_at}.
    check: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: replaced / removed / draft_deleted
    kept_because: Mapped[str] = mapped_column(String(16))
    kept_by: Mapped[str] = mapped_column(String(120))
    kept_at: Mapped[datetime] = mapped_column(index=True)


class Rating(IdMixin, Base):
    """A rating of a completed case (好差评), with the follow-up of a complaint."""

    __tablename__ = "svc_ratings"

    case_id: Mapped[str] = mapped_column(ForeignKey("svc_cases.id"), unique=True)
    item_code: Mapped[str] = mapped_column(String(24), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    #: none / open (a hotline work order was asked for) / closed
    follow_up: Mapped[str] = mapped_column(String(10), default="none")
    follow_up_note: Mapped[str | None] = mapped_column(Text)


class PreReviewOutcome(StrEnum):
    """What AI pre-review (智能预审) concludes about a submitted case, strongest first."""

    REFUSAL_SUGGESTED = "refusal_suggested"  # 建议不予：a forgery sign or the applicant is not eligible
    NEEDS_CORRECTION = "needs_correction"  # 需补正：a material is unreadable, of the wrong kind or disagrees
    PRE_APPROVED = "pre_approved"  # 预审通过，待人工确认：nothing wrong, but an officer must confirm
    APPROVE_UNATTENDED = "approve_unattended"  # 无人干预：approved with no officer


class PreReview(IdMixin, Base):
    """One AI pre-review of a case: every uploaded material read and checked, one outcome with reasons.

    A case is pre-reviewed on each submission (``round`` 1, then again after a supplement).
    ``reasons`` are the checks behind the outcome, each with rule, field, evidence, OCR
    confidence and the region of the page (image pixels of the stored upload), so an officer
    sees where to look; an officer who decides otherwise records an override with a reason.
    """

    __tablename__ = "svc_prereviews"

    case_id: Mapped[str] = mapped_column(ForeignKey("svc_cases.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[PreReviewOutcome] = mapped_column(String(20), index=True)
    summary: Mapped[str] = mapped_column(Text)
    #: [{rule, field, outcome, message, evidence, confidence, box, material, document_id, decision}]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: [{document_id, material, expected_type, type, risk, risk_rules, fields, size}] per upload read
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: {decision, outputs, rules} of the item's eligibility table, when it has one
    eligibility: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The one-time list (一次性告知): [{material, field, message}] (applicants see material and field only)
    corrections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    engine: Mapped[str] = mapped_column(String(60))
    #: Wall time of reading (OCR or its cache) and checking every upload.
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: True when the unattended approval was carried out (the case untouched by an officer until then).
    acted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    overridden_by: Mapped[str | None] = mapped_column(String(120))
    overridden_at: Mapped[datetime | None]
    override_outcome: Mapped[str | None] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
