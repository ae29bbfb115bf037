"""Performance figures (办件绩效) per item, department and district; public.

Counted over submitted cases (drafts are not applications yet): volume, online share,
average handling time in working days (acceptance to decision), within-time-limit rate and
first-time pass rate (no supplement asked) over decided cases, the share of form fields that
were prefilled, and ratings. All aggregated in SQL, so it reads the same at any scale.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import Session

from onecity.core.divisions import Division
from onecity.services import catalogue
from onecity.services.models import Case, CaseStatus, Channel, Rating

GROUPS = ("item", "department", "district")


def _key(model: Any, by: str) -> ColumnElement[str]:
    if by == "item":
        col: ColumnElement[str] = model.item_code
    elif by == "department":
        col = model.department
    elif by == "district":
        col = func.substr(model.division_code, 1, 6)
    else:
        raise ValueError(f"group by one of {GROUPS}")
    return col


def figures(session: Session, by: str = "department") -> list[dict[str, Any]]:
    key = _key(Case, by).label("key")
    decided = Case.status.in_([CaseStatus.APPROVED, CaseStatus.REFUSED])
    one = literal(1)
    rows = session.execute(
        select(
            key,
            func.count().label("volume"),
            func.sum(case((Case.channel == Channel.ONLINE, one), else_=0)).label("online"),
            func.sum(case((Case.channel == Channel.COUNTER, one), else_=0)).label("counter"),
            func.sum(case((decided, one), else_=0)).label("decided"),
            func.sum(case((Case.status == CaseStatus.APPROVED, one), else_=0)).label("approved"),
            func.sum(case((decided & Case.within_limit.is_(True), one), else_=0)).label("within"),
            func.sum(case((decided & (Case.supplements == 0), one), else_=0)).label("first_pass"),
            func.avg(Case.handling_days).label("handling"),
            func.sum(Case.fields_prefilled).label("prefilled"),
            func.sum(Case.fields_total).label("fields"),
            func.sum(case((Case.overdue.is_(True), one), else_=0)).label("overdue"),
        )
        .where(Case.status != CaseStatus.DRAFT, Case.submitted_at.is_not(None))
        .group_by(key)
        .order_by(key)
    ).all()
    rkey = _key(Rating, by).label("key")
    ratings = {
        r.key: (int(r.n), float(r.avg), int(r.bad))
        for r in session.execute(
            select(
                rkey,
                func.count().label("n"),
                func.avg(Rating.stars).label("avg"),
                func.sum(case((Rating.stars <= 2, one), else_=0)).label("bad"),
            ).group_by(rkey)
        ).all()
    }
    names: dict[str, tuple[str, str]] = {}
    if by == "district" and rows:
        codes = [f"{r.key}000000" for r in rows]
        names = {
            code[:6]: (name, name_en)
            for code, name, name_en in session.execute(
                select(Division.code, Division.name, Division.name_en).where(Division.code.in_(codes))
            )
        }
    out = []
    for r in rows:
        n, dec = int(r.volume), int(r.decided or 0)
        rated = ratings.get(r.key, (0, 0.0, 0))
        label = _label(by, r.key)
        if r.key in names:
            label = {"name": names[r.key][0], "name_en": names[r.key][1]}
        out.append(
            {
                "key": r.key,
                **label,
                "volume": n,
                "online": int(r.online or 0),
                "counter": int(r.counter or 0),
                "online_share": round((r.online or 0) / n, 4) if n else None,
                "decided": dec,
                "approved": int(r.approved or 0),
                "avg_handling_working_days": round(float(r.handling), 2) if r.handling is not None else None,
                "within_time_limit_rate": round((r.within or 0) / dec, 4) if dec else None,
                "first_time_pass_rate": round((r.first_pass or 0) / dec, 4) if dec else None,
                "prefilled_field_share": round((r.prefilled or 0) / r.fields, 4) if r.fields else None,
                "overdue": int(r.overdue or 0),
                "ratings": rated[0],
                "avg_stars": round(rated[1], 2) if rated[0] else None,
                "bad_ratings": rated[2],
            }
        )
    return out


def _label(by: str, key: str) -> dict[str, str]:
    if by == "item":
        try:
            it = catalogue.item(key)
        except Exception:  # an item retired from the catalogue keeps its figures
            return {"name": key, "name_en": key}
        return {"name": it.name, "name_en": it.name_en}
    if by == "department":
        return dict(catalogue.department(key))
    return {"name": key, "name_en": key}


def ratings_by_department(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Public ratings per department with the complaints and how they were followed up."""
    out = []
    for code, dept in catalogue.departments().items():
        rows = list(
            session.scalars(
                select(Rating).where(Rating.department == code).order_by(Rating.created_at.desc()).limit(limit)
            )
        )
        n = session.scalar(select(func.count()).select_from(Rating).where(Rating.department == code)) or 0
        avg = session.scalar(select(func.avg(Rating.stars)).where(Rating.department == code))
        out.append(
            {
                "department": code,
                **dept,
                "ratings": int(n),
                "avg_stars": round(float(avg), 2) if avg is not None else None,
                "complaints": [
                    {
                        "stars": r.stars,
                        "comment": r.comment,
                        "channel": r.channel,
                        "item_code": r.item_code,
                        "follow_up": r.follow_up,
                        "follow_up_note": r.follow_up_note,
                        "rated_at": r.created_at.isoformat(),
                    }
                    for r in rows
                    if r.follow_up != "none"
                ],
            }
        )
    return out
