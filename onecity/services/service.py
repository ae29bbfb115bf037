"""Applications on every channel, one case file: drafts, prefill, materials, submission, workflow steps.

Every state change is one function running the platform's sequence — check who may act
and the case's state, lock the case row, save, write the case history and the audit log,
publish events — inside the caller's transaction. The case history (:class:`CaseEvent`)
records the channel of each step, so a case started online and continued at a counter (or
the other way round) has one history.

Who acts on a case:

* the **applicant** online (a citizen whose account is linked to their person record; for a
  firm, its legal representative), channel ``online``;
* a **proven proxy** with their own linked account, channel ``proxy``: a relation the registries
  know (parent of a minor, guardian, household member) or a registered power of attorney the
  applicant granted (:mod:`onecity.hub.registries.relations`). Until one is found nothing about the
  applicant is read and no draft is made; the free-text ``proxy_relation`` proves nothing;
* a **counter clerk** anywhere in the city (全市通办), after checking the identity document of
  the applicant present, channel ``counter``; the clerk carries on the cases they received, and
  the officers of the applicant's own district decide them.

The two exemptions (两个免于提交): when a draft is made, the applicant's registry facts and
valid certificates are read through the hub's audited read paths; form fields are prefilled
with their source recorded, and each material a certificate or registry fact stands in for
is attached as ``held``. What is still missing is told once, all at once (一次性告知): on
the draft, and again by the clerk when asking for supplements.

Reads on the applicant's own behalf (online and proxy) are made by the platform agent
``system:services:one-stop``, which has no official duty of its own: it reads only with the
applicant's own basis (their linked account) or a proven representation, and the audit entry
names the acting account and, for a proxy, the relation in words.

This module is the part's public face for its case file: other parts, the API and the pages
call ``service.<function>``. The functions live in modules by topic: who the applicant is and
what is held about them (:mod:`~onecity.services.applicants`), the case file and its history
(:mod:`~onecity.services.cases`), the workflow and the staff's tasks
(:mod:`~onecity.services.tasks`), ratings (:mod:`~onecity.services.ratings`) and the approving
departments (:mod:`~onecity.services.departments`).
"""

from __future__ import annotations

from onecity.services.applicants import (
    AGENT,
    APPLICANT_ROLE,
    STAFF_ROLES,
    Applicant,
    Facts,
    applicant_facts,
    department_codes,
    linked_person,
    my_firms,
    resolve_applicant,
)
from onecity.services.cases import (
    CASES,
    LOCKED_SOURCES,
    MAX_DOCUMENT_BYTES,
    attach_document,
    cases_of_person,
    delete_draft,
    form_errors,
    get_case,
    history,
    log_event,
    missing_materials,
    my_cases,
    new_case,
    read_document,
    remove_document,
    start_case,
    update_form,
)
from onecity.services.departments import install_departments
from onecity.services.ratings import close_follow_up, rate
from onecity.services.tasks import (
    ASSIGNED_FILTERS,
    OUTCOMES,
    QUEUE_STATUSES,
    UNATTENDED_OUTCOMES,
    case_version,
    claim_task,
    colleagues,
    complete_task,
    queued_task,
    reassign_task,
    refresh_clocks,
    resubmit,
    run_unattended,
    submit,
    withdraw,
    work_queue,
)

__all__ = [
    "AGENT",
    "CASES",
    "APPLICANT_ROLE",
    "ASSIGNED_FILTERS",
    "Applicant",
    "Facts",
    "LOCKED_SOURCES",
    "MAX_DOCUMENT_BYTES",
    "OUTCOMES",
    "QUEUE_STATUSES",
    "STAFF_ROLES",
    "UNATTENDED_OUTCOMES",
    "applicant_facts",
    "attach_document",
    "cases_of_person",
    "claim_task",
    "close_follow_up",
    "colleagues",
    "delete_draft",
    "case_version",
    "complete_task",
    "department_codes",
    "form_errors",
    "get_case",
    "history",
    "install_departments",
    "linked_person",
    "log_event",
    "missing_materials",
    "my_cases",
    "my_firms",
    "new_case",
    "queued_task",
    "rate",
    "read_document",
    "reassign_task",
    "remove_document",
    "refresh_clocks",
    "resolve_applicant",
    "resubmit",
    "run_unattended",
    "start_case",
    "submit",
    "update_form",
    "withdraw",
    "work_queue",
]
