"""Stream rules and early warning: thresholds with hysteresis, rate of change, silence, combinations.

Rules judge each stored batch after the ingest committed it (:func:`on_stored`, run by the
``sensing.rules`` consumer on the batch's ``sensing.observations.stored`` event), not inside the
ingest transaction: the ingest commits the readings with that one outbox event, and the
consumer commits the alerts, their events and its inbox row together. So no committed reading
goes unjudged (the outbox delivers the batch at least once), none raises an alert twice (the
inbox), and a batch of 2,000 readings is not held up while alerts are raised, audited and
announced. Batches may be judged out of the order they were taken (two ingest workers, a
redelivery): a reading older than the one that last raised or cleared a rule's alert for a
subject changes nothing (``sensing_rule_states.observed_at``); an older reading judged after a
newer calm one can still raise, and the stream's next calm reading clears it.

Kinds and their ``params``:

* ``threshold`` — ``{"above": 4.5, "clear_below": 4.3}`` or ``{"below": 0.5, "clear_above": 0.7}``;
  the gap between the two is the hysteresis that keeps a value hovering at the line from
  raising and clearing alert after alert. Without a clear value the trigger value clears.
* ``rate`` — ``{"rise_per_hour": 0.3}`` or ``{"fall_per_hour": …}``, with ``clear_per_hour``
  (default half): the change between a stream's consecutive readings, per hour.
* ``silence`` — ``{"silent_minutes": 30}``: a Thing with no reading for that long is marked
  unavailable and alerted (:func:`check_silence`, run by the ingest worker and the simulator
  every minute); its next reading clears the alert.
* ``combination`` — ``{"window_minutes": 60, "conditions": [{"observed_property": "rainfall",
  "above": 30}, {"observed_property": "water_level", "rise_per_hour": 0.2}]}``: every condition
  holds, in the same township, on some stream's latest reading within the window.

One alert at a time per rule and subject (a stream, a Thing, a township), tracked in
``sensing_rule_states``, whose row is locked while the rule is evaluated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events
from onecity.core.divisions import MUNICIPALITY_CODE, DivisionLevel, district_of, level_of
from onecity.core.identity.principal import Principal, system_principal
from onecity.hub.geography import service as geography
from onecity.sensing.events import (
    ALERT_CLEARED,
    ALERT_RAISED,
    AlertCleared,
    AlertRaised,
    ObservationsStored,
    WarningLevel,
)
from onecity.sensing.events import RuleKind as RuleKindName
from onecity.sensing.models import (
    Alert,
    AlertStatus,
    Datastream,
    ObservedProperty,
    Rule,
    RuleKind,
    RuleState,
    Thing,
)
from onecity.sensing.streams import StreamMeta, stream_meta

log = logging.getLogger(__name__)

#: Who raises and clears the alerts the stream rules decide (the audit's actor).
RULES = system_principal("sensing:rules")

LEVEL_NAMES = {
    "blue": ("蓝色预警", "blue warning"),
    "yellow": ("黄色预警", "yellow warning"),
    "orange": ("橙色预警", "orange warning"),
    "red": ("红色预警", "red warning"),
}


# -- rule parameters (validated on create and update) ------------------------------------------


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThresholdParams(_Params):
    above: float | None = None
    clear_below: float | None = None
    below: float | None = None
    clear_above: float | None = None

    @model_validator(mode="after")
    def _one_side(self) -> ThresholdParams:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        if self.above is not None and self.clear_below is not None and self.clear_below > self.above:
            raise ValueError("clear_below must not be above 'above' (it is the hysteresis)")
        if self.below is not None and self.clear_above is not None and self.clear_above < self.below:
            raise ValueError("clear_above must not be below 'below' (it is the hysteresis)")
        return self


class RateParams(_Params):
    rise_per_hour: float | None = Field(default=None, gt=0)
    fall_per_hour: float | None = Field(default=None, gt=0)
    clear_per_hour: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_side(self) -> RateParams:
        if (self.rise_per_hour is None) == (self.fall_per_hour is None):
            raise ValueError("give exactly one of 'rise_per_hour' or 'fall_per_hour'")
        return self


class SilenceParams(_Params):
    silent_minutes: float = Field(gt=0, le=7 * 24 * 60)


class Condition(_Params):
    observed_property: str = Field(min_length=1, max_length=200)
    above: float | None = None
    below: float | None = None
    rise_per_hour: float | None = None

    @model_validator(mode="after")
    def _one(self) -> Condition:
        if sum(v is not None for v in (self.above, self.below, self.rise_per_hour)) != 1:
            raise ValueError("each condition has exactly one of 'above', 'below', 'rise_per_hour'")
        return self


class CombinationParams(_Params):
    window_minutes: float = Field(default=60, gt=0, le=24 * 60)
    conditions: list[Condition] = Field(min_length=2, max_length=6)


PARAMS: dict[RuleKind, type[_Params]] = {
    RuleKind.THRESHOLD: ThresholdParams,
    RuleKind.RATE: RateParams,
    RuleKind.SILENCE: SilenceParams,
    RuleKind.COMBINATION: CombinationParams,
}


# -- state and alerts -------------------------------------------------------------------------


def _lock_state(session: Session, rule_id: str, subject: str, now: datetime) -> RuleState:
    """The state row of (rule, subject), created if missing and locked for this transaction."""
    dialect = session.get_bind().dialect.name
    table = cast(Table, RuleState.__table__)
    ins = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    session.execute(
        ins.values(rule_id=rule_id, subject=subject, active_alert_id=None, updated_at=now).on_conflict_do_nothing(
            index_elements=["rule_id", "subject"]
        )
    )
    stmt = select(RuleState).where(RuleState.rule_id == rule_id, RuleState.subject == subject)
    if dialect == "postgresql":
        stmt = stmt.with_for_update()
    state = session.scalars(stmt.execution_options(populate_existing=True)).one()
    return state


def _raise(
    session: Session,
    rule: Rule,
    state: RuleState,
    *,
    principal: Principal,
    now: datetime,
    message: str,
    value: float | None,
    meta: StreamMeta | None,
    thing: Thing | None,
    township: str | None,
    observed_at: datetime | None,
    division: str | None = None,
) -> Alert | None:
    """Raise an alert at the device's location; without one, at the representative point of its
    township, district or city (:func:`_approximate_place`, said on the alert); None: nowhere to put it."""
    lon = meta.lon if meta else (thing.lon if thing else None)
    lat = meta.lat if meta else (thing.lat if thing else None)
    grid = meta.grid_code if meta else (thing.grid_code if thing else None)
    thing_id = meta.thing_id if meta else (thing.id if thing else None)
    component_id = meta.component_id if meta else (thing.component_id if thing else None)
    township = township or (meta.township_code if meta else (thing.township_code if thing else None))
    approximate = None
    if lon is None or lat is None:
        owner = (
            thing.division_code if thing else session.scalar(select(Thing.division_code).where(Thing.id == thing_id))
        )
        placed = _approximate_place(session, township or division or owner)
        if placed is None:
            log.warning(
                "rule %s: alert on %s not raised: no location and no outline to stand in", rule.name, state.subject
            )
            return None
        lon, lat, approximate = placed
        if level_of(approximate) is DivisionLevel.TOWNSHIP:
            township = township or approximate
    alert = Alert(
        rule_id=rule.id,
        subject=state.subject,
        status=AlertStatus.ACTIVE,
        level=rule.level,
        message=message[:500],
        value=value,
        thing_id=thing_id,
        datastream_id=meta.id if meta else None,
        division_code=division or grid or township or approximate,
        township_code=township,
        lon=lon,
        lat=lat,
        approximate_division=approximate,
        observed_at=observed_at,
        raised_at=now,
    )
    session.add(alert)
    session.flush()
    state.active_alert_id, state.updated_at = alert.id, now
    audit.record(
        session,
        principal,
        "sensing.alert.raise",
        object_type="sensing.alert",
        object_id=alert.id,
        division_code=township,
        detail={"rule": rule.name, "level": rule.level, "value": value},
    )
    events.publish(
        session,
        ALERT_RAISED,
        AlertRaised(
            alert_id=alert.id,
            rule_id=rule.id,
            rule_name=rule.name,
            kind=cast(RuleKindName, str(rule.kind)),
            level=cast(WarningLevel, str(rule.level)),
            observed_property=rule.observed_property,
            message=alert.message,
            lon=alert.lon,
            lat=alert.lat,
            division_code=alert.division_code,
            approximate_division=approximate,
            thing_id=str(thing_id) if thing_id is not None else None,
            component_id=str(component_id) if component_id is not None else None,
            raised_at=now,
        ),
        principal=principal,
        reason=f"rule {rule.name} fired",
    )
    return alert


def _approximate_place(session: Session, code: str | None) -> tuple[float, float, str] | None:
    """Where an alert stands when its device has no location: the representative point of the
    division the device belongs to, its township's, else its district's, else the city's (the hub's
    geography); the point and the division it stands for. None: no outline at all."""
    chain = [MUNICIPALITY_CODE]
    if code and len(code) == 12 and code.isdigit() and level_of(code) is not DivisionLevel.MUNICIPALITY:
        township = [code[:9] + "000"] if level_of(code) in (DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY) else []
        chain = [*township, district_of(code), *chain]
    for candidate in chain:
        point = geography.representative_point(session, candidate)
        if point is not None:
            return *point, candidate
    return None


def _clear(session: Session, rule: Rule, state: RuleState, *, principal: Principal, now: datetime) -> str | None:
    alert_id = state.active_alert_id
    if alert_id is None:
        return None
    session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.status == AlertStatus.ACTIVE)
        .values(status=AlertStatus.CLEARED, cleared_at=now)
    )
    state.active_alert_id, state.updated_at = None, now
    audit.record(
        session,
        principal,
        "sensing.alert.clear",
        object_type="sensing.alert",
        object_id=alert_id,
        detail={"rule": rule.name},
    )
    events.publish(
        session,
        ALERT_CLEARED,
        AlertCleared(alert_id=alert_id, rule_id=rule.id, cleared_at=now),
        principal=principal,
        reason=f"rule {rule.name} cleared",
    )
    return alert_id


def _covers(rule: Rule, grid_or_township: str | None) -> bool:
    if rule.area_code is None:
        return True
    if grid_or_township is None:
        return False
    from onecity.core.divisions import scope_prefix

    return grid_or_township.startswith(scope_prefix(rule.area_code))


def active_rules(session: Session) -> list[Rule]:
    return list(session.scalars(select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.created_at, Rule.id)))


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _stale(state: RuleState, t: datetime | None) -> bool:
    """A reading older than the one that last raised or cleared this alert (judged late) changes nothing."""
    return t is not None and state.observed_at is not None and t < state.observed_at


# -- evaluation of a stored batch ------------------------------------------------------------------


def on_stored(
    session: Session, stored: ObservationsStored, *, principal: Principal = RULES, now: datetime | None = None
) -> tuple[list[str], list[str]]:
    """Judge a committed batch (its ``sensing.observations.stored`` event) by every enabled rule;
    returns (alerts raised, alerts cleared). The streams are read as they are now (place, property,
    latest readings for combinations); each reading's predecessor, for rate rules, comes from the
    event, which carries each stream's last reading before the batch."""
    now = now or clock.now()
    rules = active_rules(session)
    if not rules or not stored.observations:
        return [], []
    rows = sorted(
        (
            (int(o[0]), int(o[1]), datetime.fromisoformat(o[2]), None if o[3] is None else float(o[3]))
            for o in stored.observations
        ),
        key=lambda r: (r[1], r[2], r[0]),
    )
    meta = stream_meta(session, sorted({r[1] for r in rows}))
    last: dict[int, tuple[float | None, datetime | None]] = {
        int(ds): (value, datetime.fromisoformat(t) if t else None) for ds, (value, t) in stored.previous.items()
    }
    history: list[tuple[Any, float | None, datetime | None]] = []
    for r in rows:
        if r[1] not in meta:  # the stream was deleted since
            continue
        prev_value, prev_time = last.get(r[1], (None, None))
        history.append((r, prev_value, prev_time))
        if r[3] is not None and (prev_time is None or r[2] >= prev_time):
            last[r[1]] = (r[3], r[2])
    return on_observations(session, meta, history, back=set(stored.back), rules=rules, principal=principal, now=now)


def on_observations(
    session: Session,
    meta: dict[int, StreamMeta],
    history: list[tuple[Any, float | None, datetime | None]],
    *,
    back: set[int],
    principal: Principal,
    now: datetime,
    rules: list[Rule] | None = None,
) -> tuple[list[str], list[str]]:
    """Run every enabled rule over a batch's readings, each with its stream's previous numeric
    reading; ``back``: Things that were silent and spoke in it. Returns (alerts raised, alerts cleared)."""
    raised: list[str] = []
    cleared: list[str] = []
    rules = active_rules(session) if rules is None else rules
    for rule in rules:
        if rule.kind == RuleKind.SILENCE and back:
            for thing_id in sorted(back):
                state = session.get(RuleState, (rule.id, f"thing:{thing_id}"))
                if state is not None and state.active_alert_id is not None:
                    state = _lock_state(session, rule.id, f"thing:{thing_id}", now)
                    if (gone := _clear(session, rule, state, principal=principal, now=now)) is not None:
                        cleared.append(gone)
    stream_rules = [r for r in rules if r.kind in (RuleKind.THRESHOLD, RuleKind.RATE)]
    if stream_rules:
        params = {r.id: PARAMS[RuleKind(r.kind)].model_validate(r.params) for r in stream_rules}
        # which (rule, stream) pairs have an active alert: one query for the batch, kept current below
        subjects = sorted({f"ds:{h[0][1]}" for h in history})
        active: set[tuple[str, str]] = set()
        for i in range(0, len(subjects), 500):
            active.update(
                (r[0], r[1])
                for r in session.execute(
                    select(RuleState.rule_id, RuleState.subject).where(
                        RuleState.rule_id.in_(list(params)),
                        RuleState.subject.in_(subjects[i : i + 500]),
                        RuleState.active_alert_id.is_not(None),
                    )
                )
            )
        for row, prev_value, prev_time in history:
            obs_id, ds_id, t, value = row
            if value is None:
                continue
            m = meta[ds_id]
            for rule in stream_rules:
                if rule.observed_property != m.observed_property or not _covers(rule, m.grid_code or m.township_code):
                    continue
                up, down = _stream_rule(
                    session,
                    rule,
                    params[rule.id],
                    m,
                    value,
                    t,
                    prev_value,
                    prev_time,
                    active,
                    principal=principal,
                    now=now,
                )
                raised.extend(up)
                cleared.extend(down)
    combos = [r for r in rules if r.kind == RuleKind.COMBINATION]
    if combos:
        props_by_township: dict[str, set[str]] = {}
        trigger: dict[str, StreamMeta] = {}
        for row, _, _ in history:
            m = meta[row[1]]
            if m.township_code:
                props_by_township.setdefault(m.township_code, set()).add(m.observed_property)
                trigger[m.township_code] = m
        for rule in combos:
            combo = CombinationParams.model_validate(rule.params)
            involved = {c.observed_property for c in combo.conditions}
            for township in sorted(props_by_township):
                if not involved & props_by_township[township] or not _covers(rule, township):
                    continue
                up, down = _combination(session, rule, combo, township, trigger[township], principal=principal, now=now)
                raised.extend(up)
                cleared.extend(down)
    return raised, cleared


def _stream_rule(
    session: Session,
    rule: Rule,
    p: Any,
    m: StreamMeta,
    value: float,
    t: datetime,
    prev_value: float | None,
    prev_time: datetime | None,
    active_pairs: set[tuple[str, str]],
    *,
    principal: Principal,
    now: datetime,
) -> tuple[list[str], list[str]]:
    # every reading of a watched stream comes here: decide first, put the alert into words only
    # when one is raised
    if rule.kind == RuleKind.THRESHOLD:
        if p.above is not None:
            fire, calm = value >= p.above, value < (p.clear_below if p.clear_below is not None else p.above)
        else:
            assert p.below is not None
            fire, calm = value <= p.below, value > (p.clear_above if p.clear_above is not None else p.below)
    else:
        rp = p
        if prev_value is None or prev_time is None or t <= prev_time:
            return [], []
        per_hour = (value - prev_value) / ((t - prev_time).total_seconds() / 3600)
        limit = rp.rise_per_hour if rp.rise_per_hour is not None else -(rp.fall_per_hour or 0)
        clear_at = rp.clear_per_hour if rp.clear_per_hour is not None else abs(limit) / 2
        if limit > 0:
            fire, calm = per_hour >= limit, per_hour < clear_at
        else:
            fire, calm = per_hour <= limit, per_hour > -clear_at
    if not fire and not calm:
        return [], []  # inside the hysteresis band: nothing changes
    subject = f"ds:{m.id}"
    key = (rule.id, subject)
    active = key in active_pairs
    if fire and not active:
        state = _lock_state(session, rule.id, subject, now)
        if _stale(state, t):
            return [], []
        active_pairs.add(key)
        if state.active_alert_id is None:
            state.observed_at = t
            zh, en = LEVEL_NAMES[rule.level]
            if rule.kind == RuleKind.THRESHOLD:
                line = p.above if p.above is not None else p.below
                text = f"{m.observed_property} {_fmt(value)} {'≥' if p.above is not None else '≤'} {_fmt(line)}"
            else:
                sign = "+" if per_hour >= 0 else ""
                text = f"{m.observed_property} {sign}{_fmt(per_hour)}/h (limit {_fmt(limit)}/h)"
            alert = _raise(
                session,
                rule,
                state,
                principal=principal,
                now=now,
                message=f"{text} ({zh} / {en})",
                value=value,
                meta=m,
                thing=None,
                township=None,
                observed_at=t,
            )
            return ([alert.id] if alert else []), []
    if calm and active:
        state = _lock_state(session, rule.id, subject, now)
        if _stale(state, t):
            return [], []
        active_pairs.discard(key)
        c = _clear(session, rule, state, principal=principal, now=now)
        state.observed_at = t
        return [], [c] if c else []
    return [], []


def _condition_holds(session: Session, township: str, cond: Condition, since: datetime) -> bool:
    stmt = (
        select(Datastream.last_result, Datastream.last_time, Datastream.prev_result, Datastream.prev_time)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .join(Thing, Thing.id == Datastream.thing_id)
        .where(
            Thing.township_code == township,
            ObservedProperty.name == cond.observed_property,
            Datastream.last_time >= since,
        )
    )
    for last, last_t, prev, prev_t in session.execute(stmt):
        if last is None:
            continue
        if cond.above is not None and last >= cond.above:
            return True
        if cond.below is not None and last <= cond.below:
            return True
        if (
            cond.rise_per_hour is not None
            and prev is not None
            and prev_t is not None
            and last_t is not None
            and last_t > prev_t
            and (last - prev) / ((last_t - prev_t).total_seconds() / 3600) >= cond.rise_per_hour
        ):
            return True
    return False


def _combination(
    session: Session,
    rule: Rule,
    params: CombinationParams,
    township: str,
    trigger: StreamMeta,
    *,
    principal: Principal,
    now: datetime,
) -> tuple[list[str], list[str]]:
    since = (trigger.last_time or now) - timedelta(minutes=params.window_minutes)
    holds = all(_condition_holds(session, township, c, since) for c in params.conditions)
    subject = f"tw:{township}"
    state_row = session.get(RuleState, (rule.id, subject))
    active = state_row is not None and state_row.active_alert_id is not None
    if holds and not active:
        state = _lock_state(session, rule.id, subject, now)
        if state.active_alert_id is None and not _stale(state, trigger.last_time):
            state.observed_at = trigger.last_time
            zh, en = LEVEL_NAMES[rule.level]
            names = " + ".join(c.observed_property for c in params.conditions)
            alert = _raise(
                session,
                rule,
                state,
                principal=principal,
                now=now,
                message=f"{names} @ {township} ({zh} / {en})",
                value=trigger.last_result,
                meta=trigger,
                thing=None,
                township=township,
                observed_at=trigger.last_time,
            )
            return ([alert.id] if alert else []), []
    if not holds and active:
        state = _lock_state(session, rule.id, subject, now)
        if _stale(state, trigger.last_time):
            return [], []
        c = _clear(session, rule, state, principal=principal, now=now)
        state.observed_at = trigger.last_time
        return [], [c] if c else []
    return [], []


# -- silence ----------------------------------------------------------------------------------


def check_silence(session: Session, *, principal: Principal, now: datetime | None = None) -> list[str]:
    """Mark Things silent longer than a silence rule allows as unavailable, and alert each once."""
    now = now or clock.now()
    raised: list[str] = []
    for rule in active_rules(session):
        if rule.kind != RuleKind.SILENCE:
            continue
        p = SilenceParams.model_validate(rule.params)
        cutoff = now - timedelta(minutes=p.silent_minutes)
        stmt = select(Thing).where(Thing.last_seen_at.is_not(None), Thing.last_seen_at < cutoff)
        if rule.observed_property:
            stmt = stmt.where(
                Thing.id.in_(
                    select(Datastream.thing_id)
                    .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
                    .where(ObservedProperty.name == rule.observed_property)
                )
            )
        for thing in session.scalars(stmt.order_by(Thing.id)):
            if not _covers(rule, thing.grid_code or thing.township_code):
                continue
            subject = f"thing:{thing.id}"
            existing = session.get(RuleState, (rule.id, subject))
            if existing is not None and existing.active_alert_id is not None:
                continue
            state = _lock_state(session, rule.id, subject, now)
            if state.active_alert_id is not None:
                continue
            thing.available = False
            minutes = (now - thing.last_seen_at).total_seconds() / 60 if thing.last_seen_at else 0
            zh, en = LEVEL_NAMES[rule.level]
            alert = _raise(
                session,
                rule,
                state,
                principal=principal,
                now=now,
                message=f"设备离线 / device silent: {thing.name} ({minutes:.0f} min; {zh} / {en})",
                value=None,
                meta=None,
                thing=thing,
                township=None,
                observed_at=thing.last_seen_at,
            )
            if alert is not None:
                raised.append(alert.id)
    return raised
