"""Words of the proactive benefits part, in Chinese and English (keys ``benefits.…``)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "benefits.title": "政策超市",
        "benefits.intro": "以下惠民惠企政策按决策表自动比对登记库数据，符合条件者无需申请（免申即享）。",
        "benefits.department": "主管部门",
        "benefits.policy": "政策",
        "benefits.subject": "对象",
        "benefits.subject.person": "个人",
        "benefits.subject.legal_person": "企业",
        "benefits.legal_basis": "依据",
        "benefits.benefit": "享受内容",
        "benefits.basis_note": "依据名称为合成城市的示意引用，部署时替换为正式文件名称与文号。",
        "benefits.nav": "政策超市",
        "benefits.all": "全部",
        "benefits.filter": "筛选",
        "benefits.policies": "政策",
        "benefits.rule": "条件（决策表）",
    },
    "en": {
        "benefits.title": "Policy supermarket",
        "benefits.intro": "These benefits for residents and firms are matched against the registries by "
        "decision tables: whoever qualifies gets them without applying (免申即享).",
        "benefits.department": "Department",
        "benefits.policy": "Policy",
        "benefits.subject": "For",
        "benefits.subject.person": "Residents",
        "benefits.subject.legal_person": "Firms",
        "benefits.legal_basis": "Legal basis",
        "benefits.benefit": "What it gives",
        "benefits.basis_note": "The legal bases are plausible references for a synthetic city; "
        "a deployment replaces them with its documents' exact titles and numbers.",
        "benefits.nav": "Policy supermarket",
        "benefits.all": "All",
        "benefits.filter": "Filter",
        "benefits.policies": "Policies",
        "benefits.rule": "Conditions (decision table)",
    },
}
