"""Principal kinds and staff roles, with their labels in Chinese and English."""

from __future__ import annotations

from enum import StrEnum


class PrincipalKind(StrEnum):
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    STAFF = "staff"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


class Role(StrEnum):
    COUNTER_CLERK = "counter_clerk"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    DISPATCHER = "dispatcher"
    INSPECTOR = "inspector"
    OPERATOR = "operator"
    DATA_STEWARD = "data_steward"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label_zh(self) -> str:
        return ROLE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return ROLE_LABELS[self][1]


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.COUNTER_CLERK: ("窗口受理员", "Counter clerk"),
    Role.REVIEWER: ("审核员", "Reviewer"),
    Role.APPROVER: ("审批人", "Approver"),
    Role.DISPATCHER: ("派遣员", "Dispatcher"),
    Role.INSPECTOR: ("网格监督员", "Inspector"),
    Role.OPERATOR: ("运行中心值班员", "Operations operator"),
    Role.DATA_STEWARD: ("数据专员", "Data steward"),
    Role.AUDITOR: ("审计员", "Auditor"),
    Role.ADMIN: ("管理员", "Administrator"),
}


class Scope(StrEnum):
    """What an API key may do. Devices and partner systems get the narrowest that works."""

    SENSING = "sensing"
    OPEN311 = "open311"
    ADMIN = "admin"
    READ = "read"
