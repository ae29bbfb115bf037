"""The case's workflow: submitting, resubmitting and withdrawing, the staff's work queues and tasks, the clocks.

SpiffWorkflow runs the item's BPMN process (:mod:`onecity.services.workflow`); its user tasks
become :class:`WorkItem` rows that staff complete (accept, review, decide), and system tasks
run at once. Deciding issues the licence or certificate (:mod:`onecity.services.issue`).
"""

from __future__ import annotations

import hashlib
import math
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, update
from sqlalchemy.orm import Session

from onecity.core import audit, clock, policy, transition, workdays
from onecity.core.errors import Conflict, InvalidInput, Key, NotFound, PermissionDenied, PreconditionFailed, Words
from onecity.core.identity.models import Agency, User, UserRole
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.core.identity.service import principal_for_user
from onecity.core.transition import Change
from onecity.services import advice, catalogue, uploadstate, workflow
from onecity.services.applicants import APPLICANT_ROLE, STAFF_ROLES, department_codes
from onecity.services.cases import CASES, begin_step, record_step, require_complete
from onecity.services.catalogue import Item
from onecity.services.events import (
    CASE_ACCEPTED,
    CASE_DECIDED,
    CASE_REVIEWED,
    CASE_SUBMITTED,
    CASE_TASK_ASSIGNED,
    CASE_WITHDRAWN,
    CaseDecided,
    CaseStepped,
    CaseSubmitted,
    TaskAssigned,
)
from onecity.services.issue import issue
from onecity.services.models import (
    DONE_STATUSES,
    BundleApplication,
    Case,
    CaseStatus,
    Channel,
    MaterialState,
    WorkItem,
    WorkStatus,
)


def _run_system_tasks(session: Session, principal: Principal, case: Case, wf: Any) -> None:
    while True:
        system = [t for t in workflow.ready_tasks(wf) if t.task_spec.name in workflow.SYSTEM_TASKS]
        if not system:
            return
        for task in system:
            if task.task_spec.name == "issue":
                issue(session, principal, case)
            workflow.complete(wf, task, {})


def _sync(session: Session, principal: Principal, case: Case, wf: Any) -> None:
    """Queue the workflow's ready user tasks, close the others, set the case status, save the state."""
    _run_system_tasks(session, principal, case, wf)
    it = catalogue.item(case.item_code)
    ready = {str(t.id): t for t in workflow.ready_tasks(wf)}
    now = clock.now()
    open_items = list(
        session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.status == WorkStatus.OPEN))
    )
    known = {w.task_id for w in open_items}
    for w in open_items:
        if w.task_id not in ready:
            w.status = WorkStatus.CANCELLED if w.done_at is None else w.status
    for task_id, task in ready.items():
        if task_id in known:
            continue
        name = task.task_spec.name
        lane = workflow.lane_of(task)
        dept = it.partner_department if lane == "partner" and it.partner_department else it.department
        session.add(
            WorkItem(
                case_id=case.id,
                task_id=task_id,
                task_name=name,
                department=dept,
                role=workflow.role_for(name),
                division_code=case.division_code,
                status=WorkStatus.OPEN,
                created_at=now,
            )
        )
    names = {t.task_spec.name for t in ready.values()}
    if workflow.finished(wf):
        pass  # the decision set the final status
    elif "supplement" in names:
        case.status = CaseStatus.SUPPLEMENT
    elif case.accepted_at is not None:
        case.status = CaseStatus.IN_REVIEW
    else:
        case.status = CaseStatus.SUBMITTED
    case.workflow_state = workflow.dump(wf)
    session.flush()


def submit(session: Session, principal: Principal, case_id: str, *, confirm_flagged: bool = False) -> Case:
    """Submit a complete draft: the form validates, every material is held or provided; the workflow starts.

    A material the upload check flagged as wrong is submitted only when the applicant confirms it
    (``confirm_flagged``): otherwise one refusal names every such material (an officer would send it back)."""
    change, channel = begin_step(session, principal, case_id, CaseStatus.DRAFT, doing="submitted")
    case = change.row
    uploadstate.require_confirmed(case, confirmed=confirm_flagged)
    flagged = [m["code"] for m in uploadstate.flagged(case)]
    started = _start(session, principal, case)
    record_step(
        change,
        channel,
        "submitted",
        CASE_SUBMITTED,
        _submitted(case, str(channel)),
        reason="case submitted",
        detail={"workflow": started, **({"confirmed_flagged": flagged} if confirm_flagged and flagged else {})},
    )
    return case


def _start(session: Session, principal: Principal, case: Case) -> str:
    """Submit a complete case: its workflow starts (the workflow's name)."""
    it = catalogue.item(case.item_code)
    require_complete(case, it)
    case.submitted_at = clock.now()
    _sync(session, principal, case, workflow.start(it.workflow))
    return it.workflow


def _submitted(case: Case, channel: str, *, resubmitted: bool = False) -> CaseSubmitted:
    return CaseSubmitted(
        case_id=case.id,
        number=case.number,
        item_code=case.item_code,
        department=case.department,
        channel=channel,
        division_code=case.division_code,
        resubmitted=resubmitted,
    )


def resubmit(session: Session, principal: Principal, case_id: str) -> Case:
    """Hand the supplemented materials back: the clerk accepts again."""
    change, channel = begin_step(session, principal, case_id, CaseStatus.SUPPLEMENT, doing="resubmitted")
    case = change.row
    require_complete(case, catalogue.item(case.item_code))
    wf = workflow.load(case.workflow_state or "")
    task = next((t for t in workflow.ready_tasks(wf) if t.task_spec.name == "supplement"), None)
    if task is None:
        raise Conflict(f"case {case.number}'s workflow is not waiting for a supplement")
    for w in session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.task_id == str(task.id))):
        w.status, w.done_at, w.done_by, w.outcome = WorkStatus.DONE, clock.now(), principal.ref, "supplied"
    workflow.complete(wf, task, {})
    _sync(session, principal, case, wf)
    record_step(
        change,
        channel,
        "supplemented",
        CASE_SUBMITTED,
        _submitted(case, str(channel), resubmitted=True),
        reason="case supplemented",
    )
    return case


def withdraw(session: Session, principal: Principal, case_id: str, reason: str) -> Case:
    """The applicant (or a clerk or proxy for them) withdraws a case not yet decided."""
    change, channel = begin_step(
        session,
        principal,
        case_id,
        CaseStatus.DRAFT,
        CaseStatus.SUBMITTED,
        CaseStatus.SUPPLEMENT,
        CaseStatus.IN_REVIEW,
        doing="withdrawn",
    )
    case = change.row
    if not reason or not reason.strip():
        raise InvalidInput("say why the case is withdrawn")
    if case.workflow_state:
        wf = workflow.load(case.workflow_state)
        workflow.cancel(wf)
        case.workflow_state = workflow.dump(wf)
    for w in session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.status == WorkStatus.OPEN)):
        w.status = WorkStatus.CANCELLED
    case.status = CaseStatus.WITHDRAWN
    record_step(
        change,
        channel,
        "withdrawn",
        CASE_WITHDRAWN,
        _stepped(change, "withdrawn", channel),
        reason=reason.strip(),
        detail={"reason": reason.strip()[:300]},
    )
    return case


def _stepped(change: Change[Case], outcome: str, channel: str) -> CaseStepped:
    case = change.row
    return CaseStepped(
        case_id=case.id,
        number=case.number,
        item_code=case.item_code,
        department=case.department,
        division_code=case.division_code,
        previous=change.before,
        status=str(case.status),
        outcome=outcome,
        channel=channel,
    )


#: The queue's filters: who holds the task, and the case statuses a queued task can be in.
ASSIGNED_FILTERS = ("", "me", "unassigned")
QUEUE_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW)


def work_queue(
    session: Session,
    principal: Principal,
    limit: int = 100,
    *,
    offset: int = 0,
    query: str = "",
    item_code: str = "",
    status: str = "",
    overdue: bool = False,
    assigned: str = "",
) -> list[tuple[WorkItem, Case]]:
    """Open tasks for the principal's roles, in their department (agency lineage) and division.

    ``query`` finds part of the applicant's name, the case number or the item's name (or code);
    ``item_code``, ``status`` (the case's) and ``overdue`` narrow the queue; ``assigned`` is
    ``"me"`` (tasks I claimed or was handed) or ``"unassigned"`` (nobody has them yet).
    """
    policy.require(principal, "services.work.list")
    if assigned not in ASSIGNED_FILTERS:
        raise InvalidInput(
            "assigned is 'me', 'unassigned' or empty",
            words=Words("services.work.bad_filter", {"what": Key("services.work.filter.assigned")}),
        )
    if status and status not in QUEUE_STATUSES:
        raise InvalidInput(
            "status is submitted or in_review",
            words=Words("services.work.bad_filter", {"what": Key("services.col.status")}),
        )
    departments = department_codes(session, principal)
    roles = [r.value for r in principal.roles if r in STAFF_ROLES]
    stmt = (
        select(WorkItem, Case)
        .join(Case, Case.id == WorkItem.case_id)
        .where(
            WorkItem.status == WorkStatus.OPEN,
            WorkItem.role.in_(roles),
            WorkItem.department.in_(departments),
            policy.scope_clause(session, principal, "services.case", WorkItem.division_code),
        )
    )
    if query.strip():
        stmt = stmt.where(_matches(query.strip()))
    if item_code:
        stmt = stmt.where(Case.item_code == item_code)
    if status:
        stmt = stmt.where(Case.status == status)
    if overdue:
        stmt = stmt.where(Case.overdue.is_(True))
    if assigned == "me":
        stmt = stmt.where(WorkItem.assigned_to == principal.ref)
    elif assigned == "unassigned":
        stmt = stmt.where(WorkItem.assigned_to.is_(None))
    rows = session.execute(
        stmt.order_by(Case.due_on.is_(None), Case.due_on, WorkItem.created_at, WorkItem.id)
        .limit(min(limit, 500))
        .offset(offset)
    ).all()
    # the queue shows applicants' names: each listed case is a read of its applicant's data
    audit.record_many(
        session,
        principal,
        "services.case.queued_read",
        [
            audit.BatchEntry(
                object_type="case",
                object_id=c.id,
                subject=f"person:{c.person_id}",
                division_code=c.division_code,
                detail={"number": c.number, "task": w.task_name},
            )
            for w, c in rows
            if c.person_id is not None
        ],
        purpose="一网通办 work queue",
    )
    return [(w, c) for w, c in rows]


def _matches(q: str) -> ColumnElement[bool]:
    """A case whose applicant's name or number holds ``q``, or whose item's name or code does."""
    codes = [it.code for it in catalogue.items() if q.lower() in f"{it.code} {it.name} {it.name_en}".lower()]
    return or_(
        Case.applicant_name.contains(q, autoescape=True),
        Case.number.contains(q.upper(), autoescape=True),
        Case.item_code.in_(codes) if codes else false(),
    )


def _require_task_holder(session: Session, principal: Principal, item_row: WorkItem) -> None:
    """The principal may do this task: an officer's (not the applicant's), of their role, in their
    department's queue and their area."""
    if item_row.role == APPLICANT_ROLE:
        raise Conflict("this task is the applicant's: they hand in the supplements (resubmit)")
    if not principal.has_role(Role(item_row.role)):
        raise PermissionDenied(f"the {item_row.task_name} task is for a {item_row.role}")
    if item_row.department not in department_codes(session, principal):
        raise PermissionDenied(
            f"the {item_row.task_name} task is in the queue of {item_row.department}, not your agency's"
        )
    policy.require_in_scope(session, principal, "services.case", item_row.division_code)


def queued_task(session: Session, principal: Principal, work_item_id: str) -> tuple[WorkItem, Case]:
    """One task of the principal's queue and its case, for the task's page (the case read is audited)."""
    policy.require(principal, "services.work.list")
    item_row = session.get(WorkItem, work_item_id)
    if item_row is None:
        raise NotFound(f"no work item {work_item_id}", words=Words("services.work.no_task"))
    _require_task_holder(session, principal, item_row)
    case = session.get(Case, item_row.case_id)
    assert case is not None  # foreign key
    if case.person_id is not None:
        audit.personal_read(
            session,
            principal,
            "services.case.read",
            f"person:{case.person_id}",
            f"一网通办 case {case.number}",
            object_type="case",
            object_id=case.id,
            division_code=case.division_code,
        )
    return item_row, case


def _task_of(item_row: WorkItem) -> str:
    return item_row.task_name


WORK_ITEMS = transition.Machine(
    WorkItem,
    object_type="work_item",
    noun="services.work.noun",
    states="services.work.state.",
    label="task",
    name=_task_of,
)


def _assign(
    session: Session, principal: Principal, work_item_id: str, to: Principal, *, action: str, reason: str
) -> WorkItem:
    """Lock the case and then its task (the order :func:`complete_task` takes), check it is still
    open, and give it to ``to``; audited and announced."""
    policy.require(principal, "services.work.complete")
    found = session.get(WorkItem, work_item_id)
    if found is None:
        raise NotFound(f"no work item {work_item_id}", words=Words("services.work.no_task"))
    case = transition.lock(session, Case, found.case_id)
    change = transition.begin(
        session,
        principal,
        WORK_ITEMS,
        work_item_id,
        action=None,
        allowed=(WorkStatus.OPEN,),
        guard=_require_task_holder,
        doing="claimed" if action == "claimed" else "reassigned",
    )
    item_row = change.row
    previous = item_row.assigned_to
    if action == "claimed" and previous is not None and previous != principal.ref:
        raise Conflict(
            f"this task is already claimed by {previous}",
            words=Words("services.work.claimed_by_other"),
        )
    item_row.assigned_to, item_row.assigned_at = to.ref, clock.now()
    change.done(
        f"services.case.task_{action}",
        CASE_TASK_ASSIGNED,
        TaskAssigned(
            case_id=case.id,
            number=case.number,
            work_item_id=item_row.id,
            task=item_row.task_name,
            department=item_row.department,
            division_code=item_row.division_code,
            assigned_to=to.ref,
            previous=previous,
        ),
        reason=reason or f"task {action}",
        detail={"number": case.number, "task": item_row.task_name, "assigned": {"from": previous, "to": to.ref}}
        | ({"reason": reason[:300]} if reason else {}),
    )
    return item_row


def claim_task(session: Session, principal: Principal, work_item_id: str) -> WorkItem:
    """Take a task from the queue: it waits for the claiming officer only until they hand it on."""
    return _assign(session, principal, work_item_id, principal, action="claimed", reason="")


def reassign_task(session: Session, principal: Principal, work_item_id: str, to_user_id: str, reason: str) -> WorkItem:
    """Hand a task to a colleague who could do it (same role, same department, their area covers it).

    Taking a task away from the colleague who claimed it says why.
    """
    user = session.get(User, to_user_id) if to_user_id else None
    if user is None or not user.active or PrincipalKind(user.kind) is not PrincipalKind.STAFF:
        raise InvalidInput("choose an active colleague to hand the task to", words=Words("services.work.pick"))
    to = principal_for_user(user)
    found = session.get(WorkItem, work_item_id)
    if found is None:
        raise NotFound(f"no work item {work_item_id}", words=Words("services.work.no_task"))
    if to.id == principal.id:
        raise InvalidInput("claim the task to take it yourself", words=Words("services.work.not_yourself"))
    try:
        _require_task_holder(session, to, found)
    except (PermissionDenied, Conflict) as err:
        raise InvalidInput(
            f"{user.username} cannot do this task: {err.detail}",
            words=Words("services.work.not_colleague", {"name": user.display_name or user.username}),
        ) from err
    held_by = found.assigned_to
    if held_by is not None and held_by != principal.ref and not reason.strip():
        raise InvalidInput(
            "say why you take the task from the colleague who claimed it",
            words=Words("services.work.why_take"),
        )
    return _assign(session, principal, work_item_id, to, action="reassigned", reason=reason.strip())


def colleagues(session: Session, principal: Principal, item_row: WorkItem, limit: int = 200) -> list[User]:
    """Active staff who could do this task instead of the principal: its role, an agency under its
    department, an area covering its division."""
    agencies = {a.id: a for a in session.scalars(select(Agency))}
    below: set[str] = set()
    for a in agencies.values():
        cur: Agency | None = a
        for _ in range(8):
            if cur is None:
                break
            if cur.code == item_row.department:
                below.add(a.id)
                break
            cur = agencies.get(cur.parent_id) if cur.parent_id else None
    if not below:
        return []
    users = session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == item_row.role,
            User.active.is_(True),
            User.kind == PrincipalKind.STAFF.value,
            User.agency_id.in_(below),
            User.id != principal.id,
        )
        .order_by(User.display_name, User.username)
        .limit(limit)
    )
    return [
        u for u in users if policy.in_scope(session, principal_for_user(u), "services.case", item_row.division_code)
    ]


OUTCOMES = {"accept": ("accept", "supplement"), "review": ("pass", "fail"), "decide": ("approve", "refuse")}


def case_version(case: Case) -> str:
    """The version of a case as an officer saw it (an HTTP entity tag, without quotes).

    Every change to a case writes its row (status, form, materials, decision, supplements), so
    its status and ``updated_at`` stamp name the version; a decision sent with an older one is
    refused (:func:`complete_task`'s ``expected_version``)."""
    stamp = case.updated_at.timestamp() if case.updated_at is not None else 0.0
    return hashlib.sha256(f"{case.id}|{case.status}|{stamp:.6f}".encode()).hexdigest()[:20]


def complete_task(
    session: Session,
    principal: Principal,
    work_item_id: str,
    outcome: str,
    *,
    reason: str = "",
    missing: list[str] | None = None,
    expected_version: str | None = None,
) -> Case:
    """Do one queued task: accept or ask for supplements, review, approve or refuse.

    A step against the AI pre-review's advice (accepting a case it said needs correction,
    approving one it suggested refusing, refusing one it pre-approved) needs a reason and is
    recorded as an override of the pre-review. With ``expected_version`` (:func:`case_version`
    of the case the officer looked at), a case that changed since is refused, nothing done.
    """
    policy.require(principal, "services.work.complete")
    item_row = session.get(WorkItem, work_item_id)
    if item_row is None:
        raise NotFound(f"no work item {work_item_id}")
    # the case is the record that changes: locked, then its task checked (the task's own rules below)
    change = transition.begin(session, principal, CASES, item_row.case_id, action=None, allowed=None)
    case = change.row
    session.refresh(item_row)
    if expected_version is not None and expected_version != case_version(case):
        raise PreconditionFailed(
            f"case {case.number} changed since you read it: read it again before you decide",
            words=Words("services.work.changed"),
            version=case_version(case),
        )
    if item_row.status != WorkStatus.OPEN:
        raise Conflict(
            f"this task was already {item_row.status} ({item_row.done_by or 'cancelled'})",
            words=Words("services.work.gone", {"state": Key(f"services.work.state.{item_row.status}")}),
        )
    _require_task_holder(session, principal, item_row)
    if item_row.assigned_to is not None and item_row.assigned_to != principal.ref:
        raise Conflict(
            f"this task is claimed by {item_row.assigned_to}: they do it, or hand it on",
            words=Words("services.work.claimed_by_other"),
        )
    kind = _task_kind(item_row, outcome)
    review = advice.latest(session, case.id)
    if review is not None and advice.contradicts(review, kind, outcome):
        advice.record_override(session, principal, case, review, f"{kind}:{outcome}", reason)
    _perform(change, item_row, outcome, reason=reason, missing=missing, channel=Channel.COUNTER.value)
    return case


def _task_kind(item_row: WorkItem, outcome: str) -> str:
    kind = next(k for k in OUTCOMES if item_row.task_name.startswith(k))
    if outcome not in OUTCOMES[kind]:
        raise InvalidInput(f"a {item_row.task_name} task ends with one of {list(OUTCOMES[kind])}, not {outcome!r}")
    return kind


def _perform(
    change: Change[Case],
    item_row: WorkItem,
    outcome: str,
    *,
    reason: str,
    missing: list[str] | None,
    channel: str,
) -> None:
    """Carry out one task on a locked case, for whoever was allowed to (an officer, or the platform
    for a case approved unattended)."""
    session, principal, case = change.session, change.principal, change.row
    kind = _task_kind(item_row, outcome)
    reason = (reason or "").strip()
    it = catalogue.item(case.item_code)
    data: dict[str, Any] = {}
    detail: dict[str, Any] = {"task": item_row.task_name, "outcome": outcome}
    now = clock.now()
    if kind == "accept":
        data["acceptance"] = outcome
        if outcome == "supplement":
            codes = [c for c in (missing or []) if c]
            known = {m["code"] for m in case.materials}
            wrong = sorted(set(codes) - known)
            if not codes or wrong:
                raise InvalidInput(
                    "name every material to supplement at once (一次性告知), from "
                    f"{sorted(known)}" + (f"; unknown: {wrong}" if wrong else "")
                )
            if not reason:
                raise InvalidInput("say what is wrong with the materials, so the applicant can fix it in one go")
            materials = [dict(m) for m in case.materials]
            for m in materials:
                if m["code"] in codes:
                    m["state"] = MaterialState.REJECTED.value
            case.materials = materials
            case.supplements += 1
            detail.update(missing=codes, reason=reason[:500])
        elif case.accepted_at is None:
            case.accepted_at = now
            accepted_on = clock.local(now).date()
            case.due_on = workdays.add_working_days(accepted_on, it.time_limit_days)
            if it.time_limit_days > 0:
                case.warn_on = workdays.add_working_days(accepted_on, math.ceil(0.8 * it.time_limit_days))
            detail["due_on"] = case.due_on.isoformat()
    elif kind == "review":
        if outcome == "fail" and not reason:
            raise InvalidInput("a failed review states its findings (reason)")
        data[f"review_{item_row.task_name}"] = outcome
        detail["reason"] = reason[:500]
    else:
        if outcome == "refuse" and not reason:
            raise InvalidInput("a refusal states its reasons; the legal basis is cited with them")
        data["decision"] = outcome
        _decide(case, it, outcome, reason, now)
        detail.update(reason=case.decision_reason, legal_basis=case.legal_basis)
    wf = workflow.load(case.workflow_state or "")
    task = workflow.find(wf, item_row.task_id)
    if task is None:
        raise Conflict("the workflow has moved on: this task is no longer waiting")
    item_row.status, item_row.done_at, item_row.done_by, item_row.outcome = WorkStatus.DONE, now, principal.ref, outcome
    workflow.complete(wf, task, data)
    _sync(session, principal, case, wf)
    if kind != "decide":
        record_step(
            change,
            channel,
            f"task_{kind}",
            CASE_ACCEPTED if kind == "accept" else CASE_REVIEWED,
            _stepped(change, outcome, channel),
            reason=reason or f"{item_row.task_name}: {outcome}",
            detail=detail,
        )
    else:
        record_step(
            change,
            channel,
            f"task_{kind}",
            CASE_DECIDED,
            CaseDecided(
                case_id=case.id,
                number=case.number,
                item_code=case.item_code,
                department=case.department,
                decision=outcome,
                within_limit=bool(case.within_limit),
                certificate_id=case.certificate_id,
                credential_id=case.credential_id,
                division_code=case.division_code,
            ),
            reason=reason or f"case {outcome}d",
            detail=detail,
        )
        _release_waiting(change, case)
        _maybe_close_bundle(session, case)


#: The step the platform takes for each task of a case approved unattended.
UNATTENDED_OUTCOMES = {"accept": "accept", "review": "pass", "decide": "approve"}


def run_unattended(session: Session, principal: Principal, case: Case, reason: str) -> None:
    """Complete every officer's task of a locked, untouched case the way an approval would (无人干预):
    accept, pass the reviews, approve; the certificate is issued as for any approval."""
    change = transition.locked(session, principal, CASES, case)
    for _ in range(10):  # a workflow shape has a handful of user tasks; never loop for ever
        open_items = list(
            session.scalars(
                select(WorkItem)
                .where(WorkItem.case_id == case.id, WorkItem.status == WorkStatus.OPEN, WorkItem.role != APPLICANT_ROLE)
                .order_by(WorkItem.created_at, WorkItem.id)
            )
        )
        if not open_items or case.status in DONE_STATUSES:
            return
        for item_row in open_items:
            kind = next(k for k in OUTCOMES if item_row.task_name.startswith(k))
            _perform(
                change,
                item_row,
                UNATTENDED_OUTCOMES[kind],
                reason=reason,
                missing=None,
                channel="system",
            )
    raise Conflict(f"case {case.number}'s workflow did not finish unattended")


def _decide(case: Case, it: Item, outcome: str, reason: str, now: Any) -> None:
    case.decided_at = now
    case.status = CaseStatus.APPROVED if outcome == "approve" else CaseStatus.REFUSED
    decided_on = clock.local(now).date()
    start: date = clock.local(case.accepted_at or case.submitted_at or now).date()
    case.handling_days = workdays.working_days_between(start, decided_on)
    case.within_limit = case.due_on is None or decided_on <= case.due_on
    if outcome == "refuse":
        case.decision_reason = reason[:2000]
        case.legal_basis = it.refusal_basis
    else:
        case.decision_reason = reason[:2000] or "准予许可 / approved"
        case.legal_basis = it.legal_basis


def _release_waiting(change: Change[Case], decided: Case) -> None:
    """Ordering inside a bundle: each draft of the bundle that waits for the case just decided is
    submitted by the platform once everything it waits for is approved (the newborn's social
    security card after the birth registration), or withdrawn when one of them was refused."""
    session, principal = change.session, change.principal
    if decided.bundle_id is None:
        return
    app = session.get(BundleApplication, decided.bundle_id)
    if app is None:
        return
    bundle = catalogue.bundle(app.bundle_code)
    siblings = {c.item_code: c for c in session.scalars(select(Case).where(Case.bundle_id == decided.bundle_id))}
    for code, case in siblings.items():
        before = bundle.waits_for(code)
        if decided.item_code not in before or case.status != CaseStatus.DRAFT:
            continue
        states = [siblings[b].status for b in before if b in siblings]
        refused = [b for b in before if b in siblings and siblings[b].status == CaseStatus.REFUSED]
        if not refused and not all(st == CaseStatus.APPROVED for st in states):
            continue  # still waiting for another item
        step = transition.locked(session, principal, CASES, transition.lock(session, Case, case.id))
        if refused:
            case.status = CaseStatus.WITHDRAWN
            why = f"一件事前序事项 {siblings[refused[0]].number} 未获准 / the item it waits for was refused"
            record_step(step, "system", "withdrawn", CASE_WITHDRAWN, _stepped(step, "withdrawn", "system"), reason=why)
            continue
        started = _start(session, principal, case)
        record_step(
            step,
            "system",
            "submitted",
            CASE_SUBMITTED,
            _submitted(case, "system"),
            reason=f"一件事顺序：{decided.number} 已办结 / bundle order: submitted after {decided.number} was approved",
            detail={"after": decided.number, "workflow": started},
        )


def _maybe_close_bundle(session: Session, case: Case) -> None:
    """Fan-in: a bundle application is complete when every case it fanned out to is decided."""
    if case.bundle_id is None:
        return
    statuses = set(session.scalars(select(Case.status).where(Case.bundle_id == case.bundle_id)))
    if statuses <= set(DONE_STATUSES) | {CaseStatus.WITHDRAWN}:
        bundle = session.get(BundleApplication, case.bundle_id)
        if bundle is not None and bundle.completed_at is None:
            bundle.completed_at = clock.now()


def refresh_clocks(session: Session, today: date | None = None) -> dict[str, int]:
    """Set the 80 % warning and the overdue flag of open cases: two indexed updates, whatever the city's size.

    The working-day arithmetic is done once, at acceptance (``warn_on``, ``due_on``), so this
    runs on every workbench view and every simulated step without reading the cases.
    """
    today = today or clock.local(clock.now()).date()
    running = Case.status.in_([CaseStatus.IN_REVIEW, CaseStatus.SUPPLEMENT])
    warned = session.execute(
        update(Case)
        .where(running, Case.warned.is_(False), Case.warn_on.is_not(None), Case.warn_on <= today)
        .values(warned=True)
        .execution_options(synchronize_session=False)
    )
    overdue = session.execute(
        update(Case)
        .where(running, Case.overdue.is_(False), Case.due_on.is_not(None), Case.due_on < today)
        .values(overdue=True)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return {"warned": int(warned.rowcount or 0), "overdue": int(overdue.rowcount or 0)}  # type: ignore[attr-defined]
