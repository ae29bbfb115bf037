"""Managing stream rules and reading alerts: the service functions the API and the pages call.

Operators (and administrators) manage rules inside their own division; a rule's area must
lie inside it. Staff read alerts of their area. Every change goes through the transition
helper (:mod:`onecity.core.transition`): audited from/to and announced (``sensing.rule.*``) in
the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import policy, transition
from onecity.core.divisions import Division, validate_code
from onecity.core.errors import InvalidInput
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.core.transition import Change
from onecity.sensing.events import RULE_CREATED, RULE_DELETED, RULE_UPDATED, RuleChanged
from onecity.sensing.models import Alert, AlertStatus, Level, Rule, RuleKind
from onecity.sensing.rules import PARAMS
from onecity.web import i18n

R = Role
policy.register_actions(
    {
        "sensing.rule.manage": frozenset({R.OPERATOR, R.ADMIN}),
        "sensing.rule.list": frozenset({R.OPERATOR, R.ADMIN, R.DISPATCHER, R.INSPECTOR, R.AUDITOR}),
        "sensing.alert.list": frozenset({R.OPERATOR, R.ADMIN, R.DISPATCHER, R.INSPECTOR, R.AUDITOR}),
    }
)


CITY = "310000000000"


def _rule_state(rule: Rule) -> str:
    return "enabled" if rule.enabled else "disabled"


def _rule_area(rule: Rule) -> str | None:
    return rule.area_code


RULES = transition.Machine(
    Rule,
    object_type="sensing.rule",
    noun="sensing.rule.noun",
    states="sensing.rule.state.",
    label="rule",
    state=_rule_state,
    division=_rule_area,
)


def _in_area(session: Session, principal: Principal, rule: Rule) -> None:
    """A rule is managed by operators whose area covers the rule's (the city's rules: city level)."""
    policy.require_in_scope(session, principal, "sensing.rule", rule.area_code or CITY)


def _announced(rule: Rule) -> RuleChanged:
    return RuleChanged(
        rule_id=rule.id,
        name=rule.name,
        kind=rule.kind,
        level=rule.level,
        observed_property=rule.observed_property,
        area_code=rule.area_code,
        enabled=rule.enabled,
    )


def _validate(
    kind: str, level: str, params: Any, observed_property: str | None
) -> tuple[RuleKind, Level, dict[str, Any]]:
    try:
        k, lv = RuleKind(kind), Level(level)
    except ValueError as err:
        raise InvalidInput(
            f"kind must be one of {[x.value for x in RuleKind]} and level one of {[x.value for x in Level]}"
        ) from err
    if not isinstance(params, dict):
        raise InvalidInput("params must be a JSON object")
    try:
        clean = PARAMS[k].model_validate(params).model_dump(exclude_none=True)
    except ValidationError as err:
        first = err.errors()[0]
        where = "/".join(str(x) for x in first.get("loc", ()))
        raise InvalidInput(f"params{'/' + where if where else ''}: {first.get('msg')}") from err
    if k in (RuleKind.THRESHOLD, RuleKind.RATE) and not observed_property:
        raise InvalidInput(f"a {k.value} rule needs the observed property it watches, e.g. water_level")
    return k, lv, clean


def create_rule(
    session: Session,
    principal: Principal,
    *,
    name: str,
    kind: str,
    level: str,
    params: Any,
    observed_property: str | None = None,
    area_code: str | None = None,
    enabled: bool = True,
) -> Rule:
    policy.require(principal, "sensing.rule.manage")
    if not name.strip() or len(name) > 200:
        raise InvalidInput("a rule needs a name of at most 200 characters, e.g. '黄浦江水位橙色预警'")
    k, lv, clean = _validate(kind, level, params, observed_property)
    if area_code is not None:
        validate_code(area_code)
    rule = Rule(
        name=name.strip(),
        kind=k,
        level=lv,
        observed_property=observed_property or None,
        area_code=area_code,
        params=clean,
        enabled=enabled,
        created_by=principal.ref,
    )
    _in_area(session, principal, rule)
    change = transition.created(session, principal, RULES, rule)
    session.flush()  # its id, for the event
    change.done(
        "sensing.rule.create",
        RULE_CREATED,
        _announced(rule),
        reason=f"rule created: {rule.name}",
        detail={"name": rule.name, "kind": k.value, "level": lv.value},
    )
    return rule


def update_rule(
    session: Session,
    principal: Principal,
    rule_id: str,
    *,
    enabled: bool | None = None,
    params: Any = None,
    level: str | None = None,
    name: str | None = None,
) -> Rule:
    change = _begin(session, principal, rule_id)
    rule = change.row
    if params is not None or level is not None:
        _, lv, clean = _validate(
            rule.kind, level or rule.level, params if params is not None else rule.params, rule.observed_property
        )
        rule.level, rule.params = lv, clean
    if enabled is not None:
        rule.enabled = enabled
    if name is not None:
        if not name.strip() or len(name) > 200:
            raise InvalidInput("a rule name is 1 to 200 characters")
        rule.name = name.strip()
    change.done(
        "sensing.rule.update",
        RULE_UPDATED,
        _announced(rule),
        reason=f"rule changed: {rule.name}",
        detail={"enabled": rule.enabled, "level": rule.level},
    )
    return rule


def _begin(session: Session, principal: Principal, rule_id: str) -> Change[Rule]:
    return transition.begin(
        session,
        principal,
        RULES,
        rule_id,
        action="sensing.rule.manage",
        guard=_in_area,
        allowed=None,
        missing=f"no rule {rule_id}",
    )


def delete_rule(session: Session, principal: Principal, rule_id: str) -> None:
    change = _begin(session, principal, rule_id)
    rule = change.row
    announced = _announced(rule)
    session.delete(rule)
    change.done("sensing.rule.delete", RULE_DELETED, announced, reason=f"rule deleted: {rule.name}", deleted=True)


def list_rules(session: Session, principal: Principal) -> list[Rule]:
    policy.require(principal, "sensing.rule.list")
    return list(session.scalars(select(Rule).order_by(Rule.created_at, Rule.id)))


def list_alerts(session: Session, principal: Principal, *, status: str | None = None, limit: int = 100) -> list[Alert]:
    """Alerts of the principal's area, newest first."""
    policy.require(principal, "sensing.alert.list")
    stmt = select(Alert).where(policy.scope_clause(session, principal, "sensing.alert", Alert.division_code))
    if status is not None:
        try:
            stmt = stmt.where(Alert.status == AlertStatus(status))
        except ValueError as err:
            raise InvalidInput("status is active or cleared") from err
    return list(session.scalars(stmt.order_by(Alert.raised_at.desc(), Alert.id).limit(min(limit, 1000))))


# -- alerts in words (the sensing pages' live list, the operation centres' wall screen) --------------

PROPERTY_KEY = "sensing.property."


def property_names(lang: str) -> dict[str, str]:
    """Observed property key → its name in ``lang``, for every property the catalogue names."""
    return {k[len(PROPERTY_KEY) :]: v for k, v in i18n.messages(lang).items() if k.startswith(PROPERTY_KEY)}


@dataclass(frozen=True)
class AlertRow:
    """One alert as the live list shows it: words in the reader's language, no codes or keys."""

    id: str
    level: str
    level_name: str
    message: str
    place: str
    raised_at: datetime

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "level": self.level,
            "level_name": self.level_name,
            "message": self.message,
            "place": self.place,
            "raised_at": self.raised_at.isoformat(),
        }


def _whereabouts(alert: Alert) -> list[str]:
    """Division codes that can name where an alert is, nearest first: its township, then its district."""
    code = alert.township_code or alert.division_code
    if not code or len(code) < 12 or not code.isdigit():
        return []
    return list(dict.fromkeys([code[:9] + "000", code[:6] + "000000"]))


def _watched(rule: Rule | None) -> list[str]:
    """The observed property keys a rule's messages name (none for a silent device's)."""
    if rule is None or rule.kind == RuleKind.SILENCE:
        return []
    keys = [rule.observed_property] if rule.observed_property else []
    if rule.kind == RuleKind.COMBINATION:
        keys += [
            c["observed_property"]
            for c in rule.params.get("conditions", [])
            if isinstance(c, dict) and isinstance(c.get("observed_property"), str)
        ]
    return sorted(set(keys), key=len, reverse=True)


def alert_rows(session: Session, alerts: list[Alert], lang: str) -> list[AlertRow]:
    """The live list's rows: the township's name for the place, the property's name in the message.

    The stored message keeps the property key and codes it was raised with (operations reads it
    too); the names are put in here, in the reader's language, from the divisions and the catalogue.
    """
    t = i18n.translator(lang)
    props = property_names(lang)
    rules = {r.id: r for r in session.scalars(select(Rule).where(Rule.id.in_({a.rule_id for a in alerts})))}
    where = {a.id: _whereabouts(a) for a in alerts}
    codes = {c for cs in where.values() for c in cs}
    names = {
        code: (name if lang == "zh" else name_en)
        for code, name, name_en in session.execute(
            select(Division.code, Division.name, Division.name_en).where(Division.code.in_(codes))
        )
    }
    rows = []
    for a in alerts:
        place = next((names[c] for c in where[a.id] if c in names), a.division_code or "")
        if a.approximate_division:
            place = t("sensing.place.approximate", place=place)
        message = a.message
        for key in _watched(rules.get(a.rule_id)):
            message = re.sub(rf"(?<![\w.]){re.escape(key)}(?![\w.])", props.get(key, key), message)
        if a.township_code and a.township_code in message:  # a combination names its township by code
            message = message.replace(a.township_code, place)
        rows.append(
            AlertRow(
                id=a.id,
                level=a.level,
                level_name=t(f"sensing.level.{a.level}"),
                message=message,
                place=place,
                raised_at=a.raised_at,
            )
        )
    return rows


#: Kinds of device the city puts up (``properties.kind`` of a Thing) and their name in Chinese, which
#: a device's own name starts with; the pages show that part in the reader's language.
DEVICE_KINDS = {
    "water": "水位站",
    "rain": "雨量站",
    "cover": "井盖传感器",
    "smoke": "烟感探测器",
    "traffic": "交通检测器",
    "crowd": "客流计数器",
    "traffic_loop": "交通检测器",  # the traffic part's loop stations (onecity.traffic.feed)
    "traffic_camera": "交通视频",  # and its video stations
}


def device_name(name: str, properties: dict[str, Any] | None, lang: str) -> str:
    """A device's name in the reader's language: its kind translated, its serial or place kept."""
    kind = (properties or {}).get("kind")
    zh = DEVICE_KINDS.get(kind) if isinstance(kind, str) else None
    if lang == "zh" or zh is None or not name.startswith(zh):
        return name
    return i18n.translator(lang)(f"sensing.device.{kind}") + name[len(zh) :]
