"""Sensing pages: the device map with health and live alerts, a datastream's chart, the rules.

Words live in this part's own catalogue (:mod:`onecity.sensing.i18n`). The pages are
rendered on the server with everything a person needs to read without JavaScript (tables
of devices, alerts and rules); the scripts in ``/static/sensing/`` draw the map and the
chart and refresh the alert list every few seconds.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from onecity.api.deps import SessionDep
from onecity.api.limits import loads_bounded
from onecity.core import policy
from onecity.core.errors import AuthenticationRequired, DomainError, InvalidInput, NotFound, PermissionDenied
from onecity.sensing import service
from onecity.sensing.models import Datastream, ObservedProperty, Thing
from onecity.web import i18n
from onecity.web.deps import PagePrincipalDep
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)
property_names, AlertRow, alert_rows = service.property_names, service.AlertRow, service.alert_rows


@router.get("/sensing/alerts.json")
def live_alerts(request: Request, session: SessionDep, principal: PagePrincipalDep) -> dict[str, Any]:
    """The overview's live list, refreshed by its script: active alerts as :class:`AlertRow`."""
    alerts = service.list_alerts(session, principal, status="active", limit=50)
    return {"alerts": [r.as_json() for r in alert_rows(session, alerts, current_language(request))]}


@router.get("/sensing", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    alerts = service.list_alerts(session, principal, status="active", limit=50)
    scope = policy.scope_clause(session, principal, "sensing.alert", Thing.township_code)
    things = session.scalar(select(func.count()).select_from(Thing).where(scope)) or 0
    online = session.scalar(select(func.count()).select_from(Thing).where(scope, Thing.available.is_(True))) or 0
    streams = session.scalar(select(func.count()).select_from(Datastream).join(Thing).where(scope)) or 0
    devices = session.execute(
        select(
            Thing.id,
            Thing.name,
            Thing.available,
            Thing.last_seen_at,
            Datastream.id,
            ObservedProperty.name,
            Datastream.last_result,
            Datastream.unit_of_measurement,
        )
        .join(Datastream, Datastream.thing_id == Thing.id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .where(scope)
        .order_by(Thing.available, Thing.last_seen_at.desc(), Thing.id)
        .limit(100)
    ).all()
    lang = current_language(request)
    t = i18n.translator(lang)
    props = property_names(lang)
    config = {
        "devices": "/api/v1/sensing/devices",
        "outline": "/geo/districts.geojson",
        "alerts": "/sensing/alerts.json",
        "lang": lang,
        "properties": props,
        "labels": {
            k: t(f"sensing.{k}") for k in ("legend.ok", "legend.down", "legend.alert", "map.unavailable", "alerts.none")
        },
    }
    return render(
        request,
        "sensing/overview.html",
        alerts=alert_rows(session, alerts, lang),
        things=things,
        online=online,
        streams=streams,
        devices=devices,
        properties=props,
        config=config,
    )


@router.get("/sensing/datastreams/{ds_id}", response_class=HTMLResponse)
def datastream_page(
    request: Request, ds_id: Annotated[int, Path(ge=1, le=10**15)], session: SessionDep, principal: PagePrincipalDep
) -> Response:
    policy.require(principal, "sensing.alert.list")
    row = session.execute(
        select(Datastream, Thing, ObservedProperty)
        .join(Thing, Thing.id == Datastream.thing_id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .where(Datastream.id == ds_id)
    ).first()
    if row is None:
        raise NotFound(f"no datastream {ds_id}")
    ds, thing, prop = row
    policy.require_in_scope(session, principal, "sensing.alert", thing.township_code)
    lang = current_language(request)
    config = {
        "observations": f"/sta/v1.1/Datastreams({ds_id})/Observations?$orderby=phenomenonTime%20desc"
        f"&$top=500&$select=phenomenonTime,result",
        "unit": (ds.unit_of_measurement or {}).get("symbol", ""),
        "name": ds.name,
        "lang": lang,
        "empty": i18n.translator(lang)("sensing.chart.empty"),
    }
    return render(request, "sensing/datastream.html", ds=ds, thing=thing, prop=prop, config=config)


def _rules_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    saved: bool = False,
) -> Response:
    rules = service.list_rules(session, principal)
    return render(
        request,
        "sensing/rules.html",
        status_code=status_code,
        rules=rules,
        error=error,
        form=form or {},
        saved=saved,
        may_manage=policy.may(principal, "sensing.rule.manage"),
        params_json=lambda p: json.dumps(p, ensure_ascii=False),
    )


@router.get("/sensing/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: SessionDep, principal: PagePrincipalDep, saved: bool = False) -> Response:
    return _rules_page(request, session, principal, saved=saved)


@router.post("/sensing/rules", response_class=HTMLResponse)
def create_rule(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=20)],
    level: Annotated[str, Form(max_length=10)],
    params: Annotated[str, Form(max_length=4000)],
    observed_property: Annotated[str, Form(max_length=200)] = "",
    area_code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    form = {
        "name": name,
        "kind": kind,
        "level": level,
        "params": params,
        "observed_property": observed_property,
        "area_code": area_code,
    }
    try:
        try:
            parsed: Any = loads_bounded(params)
        except ValueError as err:
            raise InvalidInput(f"the parameters are not valid JSON: {err}") from err
        with session.begin_nested():
            service.create_rule(
                session,
                principal,
                name=name,
                kind=kind,
                level=level,
                params=parsed,
                observed_property=observed_property.strip() or None,
                area_code=area_code.strip() or None,
            )
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        return _rules_page(request, session, principal, status_code=err.status, error=err.detail, form=form)
    return RedirectResponse("/sensing/rules?saved=true", status_code=303)


@router.post("/sensing/rules/{rule_id}/toggle", response_class=HTMLResponse)
def toggle_rule(
    rule_id: Annotated[str, Path(max_length=36)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    enabled: Annotated[str, Form(pattern="^(true|false)$")],
) -> Response:
    service.update_rule(session, principal, rule_id, enabled=enabled == "true")
    return RedirectResponse("/sensing/rules?saved=true", status_code=303)
