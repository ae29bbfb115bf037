"""The data catalogue pages: search with facets, a dataset's description, and the request form.

Everything shown comes from the catalogue's service functions (the same ones the API calls),
so the page and ``GET /api/v1/catalog/datasets`` never disagree. A data steward of an agency
that does not own the dataset gets the request form beside its fields; the request itself is
:func:`onecity.hub.sharing.service.request_share`, and a refused form shows why, in place.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core import clock, policy
from onecity.core.divisions import Division
from onecity.core.errors import AuthenticationRequired, DomainError, InvalidInput, PermissionDenied
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal
from onecity.hub.catalogue import service
from onecity.hub.catalogue.models import Dataset, Sensitivity
from onecity.hub.catalogue.vocab import PERSONAL_CLASSES, SENSITIVITY_ORDER, Theme
from onecity.hub.sharing import service as sharing
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import status_key, translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
FormText = Annotated[str, Form(max_length=2000)]


def _search_args(q: str, theme: str, sensitivity: str, owner: str) -> tuple[str | None, str | None, str | None]:
    theme_v = theme if theme in {t.value for t in Theme} else None
    sens_v = sensitivity if sensitivity in {s.value for s in Sensitivity} else None
    return theme_v, sens_v, (owner or None)


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    q: str = "",
    theme: str = "",
    sensitivity: str = "",
    owner: str = "",
    page: int = 1,
) -> Response:
    q, owner = q[:200], owner[:40]
    theme_v, sens_v, owner_v = _search_args(q, theme, sensitivity, owner)
    page = max(1, min(page, 10_000))
    found = service.search_datasets(
        session,
        principal,
        q=q or None,
        theme=theme_v,
        sensitivity=sens_v,
        owner=owner_v,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    fields = service.fields_of(session, [d.id for d in found.datasets])
    levels = {d.id: service.sensitivity_of(fields[d.id]) for d in found.datasets}
    owners = list(
        session.scalars(select(Agency).where(Agency.id.in_(select(Dataset.owner_agency_id))).order_by(Agency.code))
    )
    params = {k: v for k, v in {"q": q, "theme": theme_v, "sensitivity": sens_v, "owner": owner_v}.items() if v}
    pages = max(1, -(-found.count // PAGE_SIZE))
    return render(
        request,
        "catalogue/catalogue.html",
        datasets=found.datasets,
        count=found.count,
        levels=levels,
        agencies=service.agencies_of(session, found.datasets),
        owners=owners,
        themes=list(Theme),
        sensitivities=list(SENSITIVITY_ORDER),
        q=q,
        theme=theme_v or "",
        sensitivity=sens_v or "",
        owner=owner_v or "",
        page=page,
        pages=pages,
        prev_url=f"/catalogue?{urlencode({**params, 'page': page - 1})}" if page > 1 else None,
        next_url=f"/catalogue?{urlencode({**params, 'page': page + 1})}" if page < pages else None,
    )


def _dataset_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    *,
    status_code: int = 200,
    error: tuple[str, str] | None = None,
    form: dict[str, object] | None = None,
) -> Response:
    ds = service.get_dataset(session, principal, code)
    fields = service.fields_of(session, [ds.id])[ds.id]
    owner = session.get(Agency, ds.owner_agency_id)
    coverage = session.get(Division, ds.division_code)
    is_owner = principal.agency_id == ds.owner_agency_id
    can_request = policy.may(principal, "hub.share.request") and principal.agency_id is not None and not is_owner
    default_until = (clock.local(clock.now()).date() + timedelta(days=365)).isoformat()
    return render(
        request,
        "catalogue/dataset.html",
        status_code=status_code,
        ds=ds,
        fields=fields,
        owner=owner,
        coverage=coverage,
        level=service.sensitivity_of(fields),
        personal=PERSONAL_CLASSES,
        is_owner=is_owner,
        can_request=can_request,
        error=error,
        form=form
        or {"scope": principal.division_code or "", "valid_until": default_until, "fields": [], "unmasked": []},
    )


@router.get("/catalogue/{code}", response_class=HTMLResponse)
def dataset_page(code: str, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _dataset_page(request, session, principal, code[:60])


def _end_of_day(value: str) -> datetime:
    """A date typed in the form, as the end of that day in Shanghai."""
    try:
        day = date.fromisoformat(value)
    except ValueError as err:
        raise InvalidInput("give the end date as YYYY-MM-DD") from err
    return datetime.combine(day, time(23, 59, 59), tzinfo=clock.SHANGHAI)


@router.post("/catalogue/{code}/request", response_class=HTMLResponse)
def request_access(
    code: str,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    purpose: FormText = "",
    legal_basis: FormText = "",
    scope: FormText = "",
    valid_until: FormText = "",
    fields: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
    unmasked: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    form: dict[str, object] = {
        "purpose": purpose,
        "legal_basis": legal_basis,
        "scope": scope,
        "valid_until": valid_until,
        "fields": fields,
        "unmasked": unmasked,
    }
    try:
        with session.begin_nested():
            sharing.request_share(
                session,
                principal,
                dataset_code=code[:60],
                fields=fields,
                unmasked_fields=[f for f in unmasked if f in fields],
                purpose=purpose,
                legal_basis=legal_basis,
                scope_division_code=scope.strip(),
                valid_until=_end_of_day(valid_until.strip()),
            )
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        t = translator(current_language(request))
        status = err.status if err.status != 404 else 422
        return _dataset_page(
            request,
            session,
            principal,
            code[:60],
            status_code=status,
            error=(t(status_key(status)), err.detail),
            form=form,
        )
    return RedirectResponse("/sharing?created=1", status_code=303)
