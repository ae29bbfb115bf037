"""The service catalogue (政务服务事项目录), read from package data.

``data/catalogue.json`` holds the items, the shared field and material definitions, the
departments and the bundles (一件事); ``data/bpmn/*.bpmn`` the workflow shapes the items
share. The catalogue is reference data that changes with a release, like the law it
follows, so it lives beside the code rather than in tables; cases keep the item code.

Each item's form is a JSON Schema (draft 2020-12) built from the shared field definitions:
a field's ``x-prefill`` says where its value is prefilled from (``person.name``,
``firm.uscc``, ``cert.business_licence.number``…). Each material says which certificate
type (``cert:<type>``) or registry fact (``registry:person``) can stand in for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from importlib import resources
from typing import Any

from onecity.core.errors import NotFound

PROXY_MATERIAL = "power_of_attorney"


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    name_en: str
    stands_in: str | None
    #: The document type AI pre-review reads an upload of this material as (``id_card``,
    #: ``business_licence``…; see :mod:`onecity.documents`), or None when no machine reads it.
    reads_as: str | None = None
    #: Words a page of this document carries as its heading (户口簿, 劳动合同…): an upload of a material no
    #: machine reads whole is still told from another material by them (the upload check's type check).
    titles: tuple[str, ...] = ()
    #: A photo of the applicant (近期免冠照片): checked as it arrives for one face, close up (:mod:`.portrait`).
    portrait: bool = False


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    name_en: str
    kind: str
    kind_name: str
    kind_name_en: str
    department: str
    partner_department: str | None
    level: str
    legal_basis: str
    refusal_basis: str
    conditions: str
    materials: tuple[str, ...]
    fields: tuple[str, ...]
    required: tuple[str, ...]
    time_limit_days: int
    statutory_limit_days: int
    fee_cny: float
    channels: tuple[str, ...]
    workflow: str
    applicant_kind: str
    certificate_type: str | None
    #: May be approved with no officer (无人干预) when AI pre-review finds nothing wrong.
    unattended: bool = False
    #: The DMN decision that says whether the applicant is eligible (``senior_citizen_card``), if any.
    eligibility: str | None = None
    #: Granted only from a proactive-benefit offer (免申即享): nobody applies for it; accepting an
    #: offer starts its case with the offer's policy and amount prefilled (``offer.policy``).
    proactive: bool = False

    def form_schema(self) -> dict[str, Any]:
        """The item's form as a JSON Schema; ``x-prefill`` on a field names its source."""
        fields = _raw()["fields"]
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "x-title-en": self.name_en,
            "type": "object",
            "properties": {name: fields[name] for name in self.fields},
            "required": list(self.required),
            "additionalProperties": False,
        }

    def material_specs(self) -> list[Material]:
        return [material(code) for code in self.materials]

    def as_dict(self) -> dict[str, Any]:
        dept = department(self.department)
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "kind": self.kind,
            "kind_name": self.kind_name,
            "kind_name_en": self.kind_name_en,
            "department": {"code": self.department, **dept},
            "partner_department": (
                {"code": self.partner_department, **department(self.partner_department)}
                if self.partner_department
                else None
            ),
            "level": self.level,
            "legal_basis": self.legal_basis,
            "conditions": self.conditions,
            "materials": [
                {"code": m.code, "name": m.name, "name_en": m.name_en, "stands_in": m.stands_in, "reads_as": m.reads_as}
                for m in self.material_specs()
            ],
            "form": self.form_schema(),
            "time_limit_days": self.time_limit_days,
            "statutory_limit_days": self.statutory_limit_days,
            "fee_cny": self.fee_cny,
            "channels": list(self.channels),
            "workflow": self.workflow,
            "applicant_kind": self.applicant_kind,
            "certificate_type": self.certificate_type,
            "prereview": {"unattended": self.unattended, "eligibility": self.eligibility},
            "proactive": self.proactive,
        }


@dataclass(frozen=True)
class Bundle:
    code: str
    name: str
    name_en: str
    items: tuple[str, ...]
    applicant_kind: str
    time_limit_days: int
    published_baseline: dict[str, Any] | None
    published_target: dict[str, Any] | None
    note: str = ""
    #: Ordering inside the bundle: an item → the items that must be approved before it is submitted
    #: (the newborn's social security card after the birth registration). Others go at once.
    after: dict[str, tuple[str, ...]] = dataclass_field(default_factory=dict)

    def member_items(self) -> list[Item]:
        return [item(c) for c in self.items]

    def waits_for(self, code: str) -> tuple[str, ...]:
        """The items of this bundle that must be approved before ``code`` is submitted."""
        return self.after.get(code, ())

    def fields(self) -> list[str]:
        """The merged form: each field once, in the order the items first ask for it."""
        seen: dict[str, None] = {}
        for it in self.member_items():
            seen.update(dict.fromkeys(it.fields))
        return list(seen)

    def materials(self) -> list[str]:
        """One set of materials: a document several items need is asked for once."""
        seen: dict[str, None] = {}
        for it in self.member_items():
            seen.update(dict.fromkeys(it.materials))
        return list(seen)

    def form_schema(self) -> dict[str, Any]:
        fields = _raw()["fields"]
        required: dict[str, None] = {}
        for it in self.member_items():
            required.update(dict.fromkeys(it.required))
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "x-title-en": self.name_en,
            "type": "object",
            "properties": {n: fields[n] for n in self.fields()},
            "required": list(required),
            "additionalProperties": False,
        }

    def burden(self) -> dict[str, Any]:
        """Materials, form fields, visits and working days asked of the applicant: bundle vs one by one."""
        members = self.member_items()
        return {
            "one_by_one": {
                "applications": len(members),
                "materials": sum(len(i.materials) for i in members),
                "fields": sum(len(i.fields) for i in members),
                "working_days": sum(i.time_limit_days for i in members),
            },
            "bundle": {
                "applications": 1,
                "materials": len(self.materials()),
                "fields": len(self.fields()),
                "working_days": max(i.time_limit_days for i in members),
            },
            "published_baseline": self.published_baseline,
            "published_target": self.published_target,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "items": [
                {"code": i.code, "name": i.name, "name_en": i.name_en, "after": list(self.waits_for(i.code))}
                for i in self.member_items()
            ],
            "applicant_kind": self.applicant_kind,
            "time_limit_days": self.time_limit_days,
            "form": self.form_schema(),
            "materials": [{"code": m, **{k: v for k, v in _raw()["materials"][m].items()}} for m in self.materials()],
            "burden": self.burden(),
        }


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    text = resources.files("onecity.services").joinpath("data/catalogue.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    data["materials"][PROXY_MATERIAL] = {"name": "授权委托书", "name_en": "Power of attorney", "stands_in": None}
    return data


@lru_cache(maxsize=1)
def _items() -> dict[str, Item]:
    out = {}
    for raw in _raw()["items"]:
        pre = raw.get("prereview") or {}
        fields = {k: v for k, v in raw.items() if k != "prereview"}
        out[raw["code"]] = Item(
            **{
                **fields,
                "materials": tuple(raw["materials"]),
                "fields": tuple(raw["fields"]),
                "required": tuple(raw["required"]),
                "channels": tuple(raw["channels"]),
                "unattended": bool(pre.get("unattended")),
                "eligibility": pre.get("eligibility"),
            }
        )
    return out


@lru_cache(maxsize=1)
def _bundles() -> dict[str, Bundle]:
    out = {}
    for b in _raw()["bundles"]:
        after = {k: tuple(v) for k, v in (b.get("after") or {}).items()}
        named = set(after) | {v for vs in after.values() for v in vs}
        strays = named - set(b["items"])
        if strays:
            raise ValueError(f"bundle {b['code']} orders items it does not hold: {sorted(strays)}")
        out[b["code"]] = Bundle(**{**b, "items": tuple(b["items"]), "after": after})
    return out


def items() -> list[Item]:
    return list(_items().values())


def item(code: str) -> Item:
    found = _items().get(code)
    if found is None:
        raise NotFound(f"no service item {code!r} in the catalogue (GET /api/v1/services/items lists them)")
    return found


def bundles() -> list[Bundle]:
    return list(_bundles().values())


def bundle(code: str) -> Bundle:
    found = _bundles().get(code)
    if found is None:
        raise NotFound(f"no bundle {code!r} (GET /api/v1/services/bundles lists them)")
    return found


def material(code: str) -> Material:
    raw = _raw()["materials"][code]
    return Material(
        code,
        raw["name"],
        raw["name_en"],
        raw["stands_in"],
        raw.get("reads_as"),
        tuple(raw.get("titles", ())),
        bool(raw.get("portrait", False)),
    )


def material_codes() -> list[str]:
    return list(_raw()["materials"])


def has_field(name: str) -> bool:
    return name in _raw()["fields"]


def field(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = _raw()["fields"][name]
    return spec


def departments() -> dict[str, dict[str, str]]:
    deps: dict[str, dict[str, str]] = _raw()["departments"]
    return deps


def department(code: str) -> dict[str, str]:
    return departments().get(code, {"name": code, "name_en": code})


def search(query: str = "", department_code: str | None = None, applicant_kind: str | None = None) -> list[Item]:
    """Items whose names (Chinese or English), code or department match, in catalogue order."""
    q = query.strip().casefold()
    out = []
    for it in items():
        if department_code and it.department != department_code:
            continue
        if applicant_kind and it.applicant_kind != applicant_kind:
            continue
        dept = department(it.department)
        hay = " ".join((it.code, it.name, it.name_en, dept["name"], dept["name_en"])).casefold()
        if not q or all(part in hay for part in q.split()):
            out.append(it)
    return out
