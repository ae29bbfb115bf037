"""Sensing pages: the device map with health and live alerts, a datastream's chart, the rules.

Words live in this part's own catalogue (:mod:`onecity.sensing.i18n`). The pages are
rendered on the server with everything a person needs to read without JavaScript (tables
of devices, alerts and rules); the scripts in ``/static/sensing/`` draw the map and the
chart and refresh the alert list every few seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from onecity.api.deps import SessionDep
from onecity.api.limits import loads_bounded
from onecity.core import policy
from onecity.core.divisions import MUNICIPALITY_CODE
from onecity.core.errors import AuthenticationRequired, DomainError, NotFound, PermissionDenied
from onecity.sensing import service
from onecity.sensing.models import Datastream, ObservedProperty, Rule, RuleKind, Thing
from onecity.web import districts, i18n
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
            Thing.properties,
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
        device_name=lambda name, p: service.device_name(name, p, lang),
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
        "name": f"{service.device_name(thing.name, thing.properties, lang)} · "
        f"{property_names(lang).get(prop.name, prop.name)}",
        "lang": lang,
        "empty": i18n.translator(lang)("sensing.chart.empty"),
    }
    names = districts.division_names(session, {thing.township_code} if thing.township_code else set())
    town = names.get(thing.township_code or "")
    return render(
        request,
        "sensing/datastream.html",
        ds=ds,
        thing=thing,
        prop=prop,
        config=config,
        properties=property_names(lang),
        device=service.device_name(thing.name, thing.properties, lang),
        place=(town.name if lang == "zh" else town.name_en) if town else None,
    )


#: The form's fields for each kind's parameters (the combination keeps its JSON: a list of conditions).
PARAM_FIELDS = ("direction", "value", "clear", "minutes", "window", "conditions")


def rule_in_words(rule: Rule, lang: str, props: dict[str, str]) -> str:
    """A rule's parameters as a sentence in the reader's language (``高于 4.5，回落至 4.3 以下解除``)."""
    t = i18n.translator(lang)
    p = rule.params or {}
    if rule.kind == RuleKind.THRESHOLD:
        side = "above" if p.get("above") is not None else "below"
        text = t(f"sensing.words.{side}", v=p.get(side))
        clear = p.get("clear_below" if side == "above" else "clear_above")
        return text + (t(f"sensing.words.clear_{side}", v=clear) if clear is not None else "")
    if rule.kind == RuleKind.RATE:
        side = "rise" if p.get("rise_per_hour") is not None else "fall"
        return t(f"sensing.words.{side}", v=p.get(f"{side}_per_hour"))
    if rule.kind == RuleKind.SILENCE:
        return t("sensing.words.silent", v=p.get("silent_minutes"))
    parts = []
    for c in p.get("conditions", []):
        name = props.get(c.get("observed_property", ""), c.get("observed_property", ""))
        for k in ("above", "below", "rise_per_hour"):
            if c.get(k) is not None:
                parts.append(name + t(f"sensing.words.cond_{k}", v=c[k]))
    return t(
        "sensing.words.combination",
        conds="；".join(parts) if lang == "zh" else "; ".join(parts),
        w=p.get("window_minutes", 60),
    )


def _number(raw: str, field: str, errors: dict[str, str], t: Any, *, required: bool = True) -> float | None:
    raw = raw.strip()
    if not raw:
        if required:
            errors[field] = t("sensing.form.required")
        return None
    try:
        value = float(raw)
    except ValueError:
        errors[field] = t("sensing.form.number")
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors[field] = t("sensing.form.number")
        return None
    return value


def params_from_form(kind: str, form: dict[str, str], lang: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The rule's parameters from the form's fields, and a message per field that is wrong (in ``lang``)."""
    t = i18n.translator(lang)
    errors: dict[str, str] = {}
    params: dict[str, Any] = {}
    if kind == "threshold":
        direction = form.get("direction", "above")
        value = _number(form.get("value", ""), "value", errors, t)
        clear = _number(form.get("clear", ""), "clear", errors, t, required=False)
        side, clear_key = ("above", "clear_below") if direction != "below" else ("below", "clear_above")
        params[side] = value
        if clear is not None:
            params[clear_key] = clear
            if value is not None and (clear > value if side == "above" else clear < value):
                errors["clear"] = t(f"sensing.form.clear_{side}")
    elif kind == "rate":
        value = _number(form.get("value", ""), "value", errors, t)
        if value is not None and value <= 0:
            errors["value"] = t("sensing.form.positive")
        params["fall_per_hour" if form.get("direction") == "below" else "rise_per_hour"] = value
    elif kind == "silence":
        minutes = _number(form.get("minutes", ""), "minutes", errors, t)
        if minutes is not None and not 0 < minutes <= 7 * 24 * 60:
            errors["minutes"] = t("sensing.form.minutes_range")
        params["silent_minutes"] = minutes
    elif kind == "combination":
        window = _number(form.get("window", ""), "window", errors, t, required=False)
        try:
            conditions = loads_bounded(form.get("conditions", "") or "[]")
        except ValueError:
            errors["conditions"] = t("sensing.form.json")
            conditions = []
        if not errors.get("conditions") and (not isinstance(conditions, list) or len(conditions) < 2):
            errors["conditions"] = t("sensing.form.conditions")
        params = {"conditions": conditions, "window_minutes": window if window is not None else 60}
    else:
        errors["kind"] = t("sensing.form.kind")
    return params, errors


def _rules_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    *,
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    saved: bool = False,
) -> Response:
    rules = service.list_rules(session, principal)
    lang = current_language(request)
    props = property_names(lang)
    areas = districts.divisions_within(session, principal.division_code or MUNICIPALITY_CODE)
    names = districts.division_names(session, {r.area_code for r in rules if r.area_code})
    return render(
        request,
        "sensing/rules.html",
        status_code=status_code,
        rules=rules,
        error=error,
        errors=errors or {},
        form=form or {},
        saved=saved,
        may_manage=policy.may(principal, "sensing.rule.manage"),
        properties=props,
        areas=areas,
        area_names={c: (d.name if lang == "zh" else d.name_en) for c, d in names.items()},
        in_words=lambda r: rule_in_words(r, lang, props),
    )


@router.get("/sensing/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: SessionDep, principal: PagePrincipalDep, saved: bool = False) -> Response:
    return _rules_page(request, session, principal, saved=saved)


Short = Annotated[str, Form(max_length=40)]


@router.post("/sensing/rules", response_class=HTMLResponse)
def create_rule(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=20)],
    level: Annotated[str, Form(max_length=10)],
    observed_property: Annotated[str, Form(max_length=200)] = "",
    area_code: Annotated[str, Form(max_length=12)] = "",
    direction: Short = "above",
    value: Short = "",
    clear: Short = "",
    minutes: Short = "",
    window: Short = "",
    conditions: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """A rule from the form: each field checked and a wrong one named beside it, nothing saved until all are right."""
    form = {
        "name": name,
        "kind": kind,
        "level": level,
        "observed_property": observed_property,
        "area_code": area_code,
        "direction": direction,
        "value": value,
        "clear": clear,
        "minutes": minutes,
        "window": window,
        "conditions": conditions,
    }
    lang = current_language(request)
    t = i18n.translator(lang)
    params, errors = params_from_form(kind, form, lang)
    if not name.strip():
        errors["name"] = t("sensing.form.required")
    if kind in ("threshold", "rate") and not observed_property.strip():
        errors["observed_property"] = t("sensing.form.property")
    if errors:
        return _rules_page(
            request, session, principal, status_code=422, error=t("sensing.form.fix"), errors=errors, form=form
        )
    try:
        with session.begin_nested():
            service.create_rule(
                session,
                principal,
                name=name.strip(),
                kind=kind,
                level=level,
                params=params,
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
