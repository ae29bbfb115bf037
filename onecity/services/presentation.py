"""How the services pages say things: the catalogue's keys in words, a case's history, the pre-review.

The case file stores codes (materials, fields, rules, registry sources) and the pre-review
stores reasons with their evidence; these functions turn them into sentences in the reader's
language for the pages. Staff see a pre-review whole; an applicant sees only the one-time
list of corrections (:func:`applicant_corrections`), as material and field names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.hub.registries.certtypes import SPECS as CERT_SPECS
from onecity.services import advice, catalogue, keptuploads, service
from onecity.services.models import Case, Document, KeptUpload, PreReview, PreReviewOutcome
from onecity.web.i18n import translator


def word(t: Callable[..., str], key: str, fallback: str) -> str:
    """The catalogue's words for ``key``, or ``fallback`` when it has none (never the bare key)."""
    text = t(key)
    return fallback if text == key else text


def material_name(code: str | None, lang: str) -> str:
    if not code:
        return ""
    try:
        spec = catalogue.material(code)
    except KeyError:  # a code no longer in the catalogue: show it as it was recorded
        return code
    return spec.name if lang == "zh" else spec.name_en


def field_name(name: str | None, lang: str) -> str:
    """Words for a field read from a document (``id_number`` → 公民身份号码) or of the form; several
    comma-separated."""
    if not name:
        return ""
    t = translator(lang)
    out = []
    for n in (x for x in name.split(",") if x):
        text = t(f"services.docfield.{n}")
        if text == f"services.docfield.{n}":
            try:
                spec = catalogue.field(n)
                text = str(spec.get("title") if lang == "zh" else spec.get("x-title-en"))
            except KeyError:
                text = n.replace("_", " ")
        out.append(text)
    return t("services.sep.list").join(out)


def rule_name(rule: str, lang: str) -> str:
    """Words for a pre-review rule: its own, else its family's (``form.id_number`` → 与申请表比对：公民身份号码)."""
    t = translator(lang)
    own = t(f"services.rule.{rule}")
    if own != f"services.rule.{rule}":
        return own
    family, _, rest = rule.partition(".")
    family_words = t(f"services.rule.{family}")
    if family_words == f"services.rule.{family}":
        return rule
    if not rest or family not in ("form", "registry"):
        return family_words
    return f"{family_words}{t('services.sep.label')}{field_name(rest, lang)}"


def source_name(source: str | None, lang: str) -> str:
    """Where a prefilled value or a held material comes from, in words (``firm.name`` → 法人登记·名称)."""
    if not source:
        return ""
    t = translator(lang)
    sep = "·" if lang == "zh" else ": "
    if source in ("upload", "scan"):
        return word(t, f"services.src.{source}", source)
    kind, _, rest = source.replace(":", ".", 1).partition(".")
    if kind in ("person", "firm", "insurance", "fund", "household", "e_bike", "child", "premises") and rest:
        return t(f"services.src.{kind}") + sep + word(t, f"services.src.{kind}.{rest}", rest.replace("_", " "))
    if kind == "registry":
        return word(t, f"services.src.{'firm' if rest == 'legal_person' else rest}", source)
    if kind == "cert" and rest:
        type_code, _, key = rest.partition(".")
        spec = CERT_SPECS.get(type_code)
        parts = [t("services.src.cert"), (spec.name if lang == "zh" else spec.name_en.lower()) if spec else type_code]
        if key:
            surface = {n: z for n, z, _t in spec.surface} if spec else {}
            parts.append(
                t("services.src.number")
                if key == "number"
                else surface.get(key, key)
                if lang == "zh"
                else key.replace("_", " ")
            )
        return sep.join(parts)
    return source


def case_history(session: Session, case: Case, lang: str, *, staff: bool) -> list[dict[str, Any]]:
    """The case history in words: what happened, with material names; pre-review details for staff only."""
    t = translator(lang)
    rows = []
    for e in service.history(session, case):
        d = e.detail or {}
        notes: list[str] = []
        if d.get("material"):
            notes.append(material_name(str(d["material"]), lang))
        if e.action == "prereviewed":
            if staff and d.get("outcome"):
                notes.append(
                    t("services.pr.history.detail", n=d.get("round", 1), what=t(f"services.pr.outcome.{d['outcome']}"))
                )
        elif e.action == "prereview_overridden":
            if staff:
                notes.append(f"{t('services.pr.outcome.' + str(d.get('officer')))} — {d.get('reason', '')}")
        else:
            if d.get("outcome") and e.action.startswith("task_"):
                notes.append(word(t, f"services.outcome.{d['outcome']}", str(d["outcome"])))
            if d.get("reason"):
                notes.append(str(d["reason"]))
            if d.get("missing"):
                listed = "、".join(material_name(str(c), lang) for c in d["missing"])
                notes.append(f"{t('services.history.missing')}: {listed}" if e.action == "drafted" else listed)
        actor = (
            word(t, f"services.actor.{e.actor_name}", e.actor_name) if e.actor.startswith("system:") else e.actor_name
        )
        rows.append(
            {
                "at": e.at,
                "channel": e.channel,
                "actor_name": actor,
                "action": e.action,
                "words": word(t, f"services.action.{e.action}", e.action),
                "notes": " · ".join(notes),
            }
        )
    return rows


def is_staff(principal: Principal) -> bool:
    return principal.kind is PrincipalKind.STAFF and principal.has_role(*service.STAFF_ROLES)


def pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "–"


def officer_name(session: Session, ref: str | None) -> str:
    if not ref:
        return ""
    kind, _, ident = ref.partition(":")
    user = session.get(User, ident) if kind == "user" else None
    return (user.display_name or user.username) if user is not None else ref


#: Evidence keys shown in a reason's words, in this order.
EVIDENCE_KEYS = (
    "form",
    "document",
    "registry",
    "application",
    "expected",
    "detected",
    "status",
    "registry_status",
    "valid_until",
    "reason",
)


def reason_text(r: dict[str, Any], lang: str) -> str:
    """A reason's message in the reader's language: the checks write English sentences, so a Chinese
    reader gets the rule's own words with its evidence (材料上：…；登记库：…)."""
    message = str(r.get("message") or "")
    t = translator(lang)
    rule = str(r.get("rule") or "")
    if rule.startswith("eligibility."):
        # the DMN table's own reason is written "English: 中文"; its rule's words are the reader's
        return decision_words(r.get("decision") or "", lang) or message
    # these messages name the material by its code; the row names it in words already
    if rule == "document_risk":
        return t("services.pr.msg.clean")
    if rule in ("document.unread", "document.readable"):
        return t("services.pr.msg.unread")
    if rule == "form.registry_value_changed":  # the fields by their titles, never their keys
        names = [n for n in str(r.get("field") or "").split(",") if n]
        titles = [
            (spec.get("title") if lang == "zh" else spec.get("x-title-en")) or n
            for n in names
            for spec in [catalogue.field(n) if catalogue.has_field(n) else {}]
        ]
        return t("services.pr.msg.changed") + (
            t("services.sep.label") + t("services.sep.list").join(titles) if titles else ""
        )
    if lang != "zh":
        return message
    if rule == "field.read":
        return t("services.pr.msg.not_read")
    if rule == "field.confidence":
        return f"{t('services.pr.msg.low_confidence')}（{pct(r.get('confidence'))}）"
    evidence = r.get("evidence") or {}
    parts = []
    for key in EVIDENCE_KEYS:
        value = evidence.get(key)
        if value in (None, ""):
            continue
        if key in ("expected", "detected"):
            value = word(t, f"services.doctype.{value}", str(value))
        parts.append(f"{t('services.pr.ev.' + key)}：{value}")
    return "；".join(parts) if parts else rule_name(rule, lang)


def decision_words(rules: Any, lang: str) -> str:
    """What the decision tables' matched rules say (``r_young`` → 未满60周岁), never their ids."""
    t = translator(lang)
    ids = rules.split(",") if isinstance(rules, str) else list(rules or [])
    return t("services.sep.list").join(
        word(t, f"services.dmn.{r}", "") for r in ids if r and t(f"services.dmn.{r}") != f"services.dmn.{r}"
    )


def eligibility_text(eligibility: dict[str, Any] | None, lang: str) -> str:
    """The eligibility table's finding in the reader's language: its matched rule's words."""
    if not eligibility:
        return ""
    return decision_words(eligibility.get("rules") or [], lang)


def summary_text(review: PreReview, reasons: list[dict[str, Any]], lang: str) -> str:
    """The pre-review's one line in the reader's words: the outcome and the rules that led to it
    (the line the engine wrote, ``review.summary``, names materials by their codes)."""
    t = translator(lang)
    outcome = str(review.outcome)
    decisive = [x for x in reasons if x.get("outcome") == "fail"] or [x for x in reasons if x.get("outcome") == "warn"]
    if not decisive:
        tail = (
            t("services.pr.msg.officer_item")
            if outcome == PreReviewOutcome.PRE_APPROVED
            else t("services.pr.msg.clean")
        )
        return f"{t('services.pr.outcome.' + outcome)}{t('services.sep.label')}{tail}"
    listed = t("services.sep.list").join(
        dict.fromkeys(
            f"{x['material_name'] + ' ' if x.get('material_name') else ''}{x['rule_name']}" for x in decisive[:6]
        )
    )
    return f"{t('services.pr.outcome.' + outcome)}{t('services.sep.label')}{listed}"


def prereview_view(session: Session, case: Case, lang: str) -> dict[str, Any] | None:
    """Everything the staff panel shows of a case's latest pre-review (None before the first)."""
    rounds = list(session.scalars(select(PreReview).where(PreReview.case_id == case.id).order_by(PreReview.round)))
    if not rounds:
        return None
    review = rounds[-1]
    t = translator(lang)
    reasons = []
    for n, r in enumerate(review.reasons or [], 1):
        reasons.append(
            {
                **r,
                "n": n,
                "rule_name": rule_name(str(r.get("rule", "")), lang),
                "field_name": field_name(r.get("field"), lang),
                "material_name": material_name(r.get("material"), lang),
                "confidence_pct": pct(r.get("confidence")),
                "result": t(f"services.pr.result.{r.get('outcome', 'warn')}"),
                "decision_text": decision_words(r.get("decision") or "", lang),
            }
        )
        reasons[-1]["text"] = reason_text(reasons[-1], lang)
    documents = []
    for d in review.documents or []:
        fields = [{"name": name, "label": field_name(name, lang), **f} for name, f in (d.get("fields") or {}).items()]
        for f in fields:
            f["confidence_pct"] = pct(f.get("confidence"))
        boxes = [
            {"box": f["box"], "kind": "field", "label": f["label"]}
            for f in fields
            if f.get("box") and f.get("value") is not None
        ]
        boxes += [
            {"box": r["box"], "kind": r["outcome"], "label": f"#{r['n']}"}
            for r in reasons
            if r.get("document_id") == d.get("document_id") and r.get("box") and r.get("outcome") in ("warn", "fail")
        ]
        documents.append(
            {
                **d,
                "fields_list": fields,
                "material_name": material_name(d.get("material"), lang),
                "risk_text": decision_words(d.get("risk_rules") or [], lang),
                "src": f"/services/cases/{case.id}/documents/{d['document_id']}",
                "canvas": json.dumps({"size": d.get("size"), "boxes": boxes}, ensure_ascii=False),
            }
        )
    outcome = str(review.outcome)
    overridable = (
        outcome != PreReviewOutcome.APPROVE_UNATTENDED
        and review.overridden_by is None
        and case.status in ("submitted", "in_review", "supplement")
    )
    return {
        "review": review,
        "outcome": outcome,
        "rounds": len(rounds),
        "reasons": reasons,
        "documents": documents,
        "summary": summary_text(review, reasons, lang),
        "eligibility": review.eligibility,
        "eligibility_text": eligibility_text(review.eligibility, lang),
        "seconds": f"{review.seconds:.2f}",
        "overridden_by": officer_name(session, review.overridden_by),
        "overridable": overridable,
        "choices": [
            o.value for o in PreReviewOutcome if o not in (PreReviewOutcome.APPROVE_UNATTENDED, review.outcome)
        ],
    }


def applicant_corrections(session: Session, case: Case, lang: str) -> list[dict[str, str]]:
    """The one-time list an applicant sees: material and field names only, never a reason's message or
    evidence (they may name a third person); nothing unless the latest pre-review needs correction."""
    review = advice.latest(session, case.id)
    if (
        review is None
        or review.outcome != PreReviewOutcome.NEEDS_CORRECTION
        or review.overridden_by is not None
        or case.status not in ("submitted", "supplement", "in_review")
    ):
        return []
    listed: dict[str, list[str]] = {}
    for c in review.corrections or []:
        fields = listed.setdefault(str(c.get("material") or ""), [])
        name = field_name(c.get("field"), lang)
        if name and name not in fields:
            fields.append(name)
    return [
        {"material": material_name(code, lang), "fields": "、".join(fields)} for code, fields in listed.items() if code
    ]


def size_text(size: int, lang: str) -> str:
    """A file's size as people read it (KB, MB)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def case_documents(
    session: Session, case: Case, lang: str, machine_read: set[str] | None = None
) -> list[dict[str, Any]]:
    """Every upload of a case, newest first, each with the link that opens it; ``current`` when the
    case's materials still point at it (a supplement replaces an upload, the old one stays on file)."""
    current = {str(m.get("ref")) for m in case.materials if m.get("ref")}
    rows = session.execute(
        select(Document.id, Document.material_code, Document.filename, Document.size, Document.created_at)
        .where(Document.case_id == case.id)
        .order_by(Document.created_at.desc(), Document.id)
    ).all()
    return [
        {
            "id": doc_id,
            "material_name": material_name(code, lang),
            "filename": filename,
            "size_text": size_text(size, lang),
            "created_at": created_at,
            "current": doc_id in current,
            "read_by_machine": doc_id in (machine_read or set()),
            "href": f"/services/cases/{case.id}/documents/{doc_id}",
        }
        for doc_id, code, filename, size, created_at in rows
    ]


def kept_uploads(session: Session, case: Case, lang: str, *, staff: bool) -> dict[str, Any]:
    """The uploads kept for failing an authenticity check (:mod:`onecity.services.keptuploads`), in ``lang``:
    this case's (``here``), and for staff the applicant's other ones (``elsewhere``) and their count."""
    t = translator(lang)

    def row(k: KeptUpload, *, opens: bool) -> dict[str, Any]:
        rules = [str(r) for r in (k.check or {}).get("authenticity", [])]
        return {
            "id": k.id,
            "material_name": material_name(k.material_code, lang),
            "filename": k.filename,
            "size_text": size_text(k.size, lang),
            "uploaded_at": k.uploaded_at,
            "kept_at": k.kept_at,
            "because": word(t, f"services.kept.because.{k.kept_because}", k.kept_because),
            "failed": [word(t, f"services.kept.rule.{r}", r) for r in rules],
            "case_number": k.case_number,
            "deleted_draft": k.case_id is None,
            "href": f"/services/cases/{case.id}/documents/{k.id}" if opens else None,
        }

    here = [row(k, opens=True) for k in keptuploads.of_case(session, case)]
    if not staff:
        return {"here": here, "elsewhere": [], "count": len(here)}
    elsewhere = [
        row(k, opens=k.case_id is None and k.department == case.department)
        for k in keptuploads.elsewhere(session, case)
    ]
    return {"here": here, "elsewhere": elsewhere, "count": len(here) + len(elsewhere)}


def upload_checks(case: Case, lang: str) -> dict[str, dict[str, Any]]:
    """Per material with an upload, the upload check's answer in ``lang``: ``status`` (checking, ok, flagged,
    officer) and, when flagged, what is wrong and what to upload instead (never the checks' evidence)."""
    from onecity.services import uploadcheck, uploadstate
    from onecity.web.i18n import said

    out: dict[str, dict[str, Any]] = {}
    for m in case.materials:
        check = m.get("check") or {}
        if m["state"] != "uploaded" or check.get("document_id") != m.get("ref"):
            continue
        status = check.get("status")
        if status not in uploadstate.STATUSES:
            continue
        out[m["code"]] = {
            "status": status,
            "messages": [said(lang, uploadcheck.problem_words(p, lang)) for p in check.get("problems", [])],
            "kept": uploadstate.suspect(check),  # replaced or removed, it stays with the application
        }
    return out
