"""The policy supermarket (政策超市): every benefit policy, its department, legal basis and rule.

Public like the services catalogue: what the government grants, and on which rule, holds no
personal data. Each policy lists the conditions of its decision table in words, read from the
``.dmn`` file itself, so the page cannot say something different from what the scan decides.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from onecity.benefits.catalogue import DEPARTMENTS, POLICIES
from onecity.benefits.compile import load_table
from onecity.benefits.facts import FACTS
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)

_OP_WORDS = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥", "in": "∈", "notin": "∉"}


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "{" + ", ".join(_shown(v) for v in value) + "}"
    if value is True:
        return "✓"
    if value is False:
        return "✗"
    return str(value)


def conditions(code: str, lang: str) -> list[str]:
    """Each granting rule of the policy's table as one line of conditions, in the reader's language."""
    lines = []
    for rule in load_table(POLICIES_BY_CODE[code].dmn_path).rules:
        if not rule.eligible:
            continue
        words = []
        for c in rule.conditions:
            fact = FACTS[c.fact]
            label = fact.label_zh if lang == "zh" else fact.label_en
            words.append(f"{label} {_OP_WORDS[c.op]} {_shown(c.value)}")
        amount = f" → {rule.amount:,.0f} CNY" if rule.amount else ""
        lines.append(" · ".join(words) + amount)
    return lines


POLICIES_BY_CODE = {p.code: p for p in POLICIES}


@router.get("/benefits", response_class=HTMLResponse)
def supermarket(
    request: Request,
    department: Annotated[str, Query(max_length=20)] = "",
    subject: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    lang = current_language(request)
    shown = [
        p
        for p in POLICIES
        if (not department or p.department == department) and (not subject or p.subject.value == subject)
    ]
    return render(
        request,
        "benefits/supermarket.html",
        policies=[{"p": p, "rules": conditions(p.code, lang)} for p in shown],
        departments=DEPARTMENTS,
        department=department,
        subject=subject,
        lang=lang,
    )
