"""The policy supermarket (政策超市): every benefit policy, its department, legal basis and rule.

Public like the services catalogue: what the government grants, and on which rule, holds no
personal data. Each policy lists the conditions of its decision table in words, read from the
``.dmn`` file itself, so the page cannot say something different from what the scan decides.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.benefits.catalogue import DEPARTMENTS, POLICIES
from onecity.benefits.compile import load_table
from onecity.benefits.words import condition_words
from onecity.core.divisions import Division
from onecity.web.deps import PagePrincipalDep
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)


def _district_codes() -> set[str]:
    """Every district code a table names (``居住区 == "310151"``), to be said by its name."""
    out: set[str] = set()
    for p in POLICIES:
        for rule in load_table(p.dmn_path).rules:
            for c in rule.conditions:
                if c.fact in ("district", "firm_district"):
                    out.update(str(v) for v in (c.value if isinstance(c.value, tuple) else (c.value,)))
    return out


def district_names(session: Session) -> dict[str, tuple[str, str]]:
    """The districts the tables name, in Chinese and English, from the divisions table."""
    codes = {c: c + "000000" for c in _district_codes()}
    rows = session.scalars(select(Division).where(Division.code.in_(list(codes.values()))))
    return {d.code[:6]: (d.name, d.name_en) for d in rows}


def conditions(code: str, lang: str, districts: dict[str, tuple[str, str]]) -> list[str]:
    """Each granting rule of the policy's table as one line of conditions in words, in the reader's language."""
    zh = lang == "zh"
    lines = []
    for rule in load_table(POLICIES_BY_CODE[code].dmn_path).rules:
        if not rule.eligible:
            continue
        words = [condition_words(c, lang, districts) for c in rule.conditions]
        amount = (f"：{rule.amount:,.0f}元" if zh else f": {rule.amount:,.0f} CNY") if rule.amount else ""
        lines.append(("，" if zh else ", ").join(words) + amount)
    return lines


POLICIES_BY_CODE = {p.code: p for p in POLICIES}


@router.get("/benefits", response_class=HTMLResponse)
def supermarket(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,  # public, but a signed-in visitor is shown as such, with a link to their offers
    department: Annotated[str, Query(max_length=20)] = "",
    subject: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    lang = current_language(request)
    districts = district_names(session)
    shown = [
        p
        for p in POLICIES
        if (not department or p.department == department) and (not subject or p.subject.value == subject)
    ]
    return render(
        request,
        "benefits/supermarket.html",
        policies=[{"p": p, "rules": conditions(p.code, lang, districts)} for p in shown],
        departments=DEPARTMENTS,
        department=department,
        subject=subject,
        lang=lang,
    )
