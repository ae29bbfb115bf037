"""Managing a stream rule goes through the transition helper: each change is audited from/to and
announced (``sensing.rule.created|updated|deleted``, none before); a refused one writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.errors import PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.sensing import service
from onecity.sensing.events import RULE_CREATED, RULE_DELETED, RULE_UPDATED
from tests.conftest import SYSTEM

HUANGPU_OPERATOR = Principal(
    kind=PrincipalKind.STAFF,
    id="u-hp",
    name="hp",
    roles=frozenset({Role.OPERATOR}),
    division_code="310101000000",
)


def _events(db: Database) -> list[tuple[str, dict[str, object]]]:
    with db.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.event_type.like("sensing.rule.%"))
            .order_by(OutboxMessage.occurred_at, OutboxMessage.id)
        ).all()
    return [(m.event_type, m.payload) for m in rows]


def _audits(db: Database) -> list[tuple[str, object, object]]:
    with db.sessions() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "sensing.rule").order_by(AuditEntry.seq)
        ).all()
    return [(e.action, e.detail.get("from"), e.detail.get("to")) for e in rows]


def test_creating_switching_off_and_deleting_a_rule_publish(db: Database) -> None:
    with db.transaction() as s:
        rule = service.create_rule(
            s,
            SYSTEM,
            name="徐汇水位黄色预警",
            kind="threshold",
            level="yellow",
            params={"above": 4.2},
            observed_property="water_level",
            area_code="310104000000",
        )
    with db.transaction() as s:
        service.update_rule(s, SYSTEM, rule.id, enabled=False)
    with db.transaction() as s:
        service.delete_rule(s, SYSTEM, rule.id)
    kinds = [(name, payload["rule_id"], payload["enabled"]) for name, payload in _events(db)]
    assert kinds == [
        (RULE_CREATED.name, rule.id, True),
        (RULE_UPDATED.name, rule.id, False),
        (RULE_DELETED.name, rule.id, False),
    ]
    assert _audits(db) == [
        ("sensing.rule.create", None, "enabled"),
        ("sensing.rule.update", "enabled", "disabled"),
        ("sensing.rule.delete", "disabled", None),
    ]


def test_a_rule_outside_the_operators_area_is_refused_with_nothing_written(db: Database) -> None:
    with db.transaction() as s:
        rule = service.create_rule(
            s,
            SYSTEM,
            name="徐汇雨量",
            kind="threshold",
            level="blue",
            params={"above": 30},
            observed_property="rainfall",
            area_code="310104000000",
        )
    with db.sessions() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    for attempt in (
        lambda s: service.update_rule(s, HUANGPU_OPERATOR, rule.id, enabled=False),
        lambda s: service.delete_rule(s, HUANGPU_OPERATOR, rule.id),
    ):
        with pytest.raises(PermissionDenied, match="outside your area"), db.transaction() as s:
            attempt(s)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert [name for name, _ in _events(db)] == [RULE_CREATED.name]
