"""Bulk load of registry rows from a CSV or JSONL file, validated at the door.

Every line is checked (check digits, codes that must exist, references that must resolve,
duplicates within the file and against the registry) and *every* rejected line is reported
with its line number and reason, so a data owner fixes a file in one round rather than one
error per attempt. If any line is rejected nothing is written; otherwise all rows go in in
one transaction together with the audit entry that records the load.

Columns are the registry's own (``onecity export KIND`` writes the same shape), so an
export of one city loads into another. CSV files have a header row; in JSONL each line is
one object. Empty values are NULL.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, csvout, policy
from onecity.core.db import table_of
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.errors import DomainError, InvalidInput
from onecity.core.identity.principal import Principal
from onecity.hub.geography.models import Grid
from onecity.hub.registries import service as _service  # noqa: F401  (registers the actions checked here)
from onecity.hub.registries.identifiers import USCC_KINDS, InvalidIdentifier, validate_resident_id, validate_uscc
from onecity.hub.registries.models import (
    Certificate,
    CertificateStatus,
    CertificateType,
    Component,
    ComponentStatus,
    HolderKind,
    LegalPerson,
    LegalPersonStatus,
    Person,
    PersonStatus,
)

INSERT_BATCH = 5000
INDUSTRY_SECTIONS = frozenset("ABCDEFGHIJKLMNOPQRST")


class RegistryKind(StrEnum):
    PERSONS = "persons"
    LEGAL_PERSONS = "legal-persons"
    COMPONENTS = "components"
    CERTIFICATES = "certificates"

    @property
    def table(self) -> Table:
        model = {"persons": Person, "legal-persons": LegalPerson, "components": Component, "certificates": Certificate}[
            self.value
        ]
        return table_of(model)


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class LoadRejected(InvalidInput):
    """The file had bad lines; nothing was written. ``rejections`` lists every one."""

    def __init__(self, path: str, rejections: list[Rejection]) -> None:
        super().__init__(f"{path}: {len(rejections)} line(s) rejected, nothing was loaded")
        self.rejections = rejections


@dataclass
class LoadResult:
    kind: RegistryKind
    rows: int
    rejections: list[Rejection] = field(default_factory=list)


class _Bad(Exception):
    """A field is wrong; the message is the reason reported for its line."""


# -- reading ------------------------------------------------------------------------------------


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record) pairs; a record that cannot be parsed at all comes as its reason."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for rec in reader:
                if None in rec:
                    yield (
                        reader.line_num,
                        f"{len(rec[None]) + len(reader.fieldnames or [])} fields, "
                        f"the header has {len(reader.fieldnames or [])}",
                    )
                    continue
                yield reader.line_num, {k: (csvout.unescape_cell(v) if v != "" else None) for k, v in rec.items()}
    elif suffix in {".jsonl", ".ndjson", ".json"}:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    yield number, f"not valid JSON ({err.msg} at column {err.colno})"
                    continue
                if not isinstance(rec, dict):
                    yield number, "each line must be a JSON object"
                    continue
                yield number, rec
    else:
        raise InvalidInput(f"{path.name}: use a .csv file (with a header row) or a .jsonl file")


# -- field parsers ------------------------------------------------------------------------------


def _req(rec: dict[str, Any], name: str) -> Any:
    value = rec.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Bad(f"{name} is missing")
    return value


def _text(rec: dict[str, Any], name: str, max_len: int, *, required: bool = True) -> str | None:
    value = _req(rec, name) if required else rec.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{name} must be text")
    if len(value) > max_len:
        raise _Bad(f"{name} is longer than {max_len} characters")
    if any(ord(c) < 32 for c in value):
        raise _Bad(f"{name} contains control characters")
    return value


def _int(rec: dict[str, Any], name: str) -> int:
    value = _req(rec, name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _Bad(f"{name} {value!r} is not a whole number") from None
    if isinstance(value, float) or not 0 < number < 2**63:
        raise _Bad(f"{name} {value!r} must be a positive whole number")
    return number


def _float(rec: dict[str, Any], name: str) -> float:
    value = _req(rec, name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Bad(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise _Bad(f"{name} must be a finite number")
    return number


def _date(rec: dict[str, Any], name: str, *, required: bool = True) -> date | None:
    value = _req(rec, name) if required else rec.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _Bad(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def _datetime(rec: dict[str, Any], name: str) -> datetime | None:
    value = rec.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise _Bad(f"{name} {value!r} is not a timestamp (ISO 8601)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _choice(rec: dict[str, Any], name: str, enum: type[StrEnum], default: StrEnum | None = None) -> str:
    value = rec.get(name)
    if value is None and default is not None:
        return default.value
    allowed = [e.value for e in enum]
    if value not in allowed:
        raise _Bad(f"{name} {value!r} must be one of {', '.join(allowed)}")
    return str(value)


# -- row validators: (record) -> (row, references to check) ------------------------------------

Refs = list[tuple[str, Any, str]]  # (reference kind, key, reason if missing)


def _person(rec: dict[str, Any], today: date) -> tuple[dict[str, Any], Refs]:
    number = _text(rec, "id_number", 18)
    try:
        rid = validate_resident_id(number or "", today=today)
    except InvalidIdentifier as err:
        raise _Bad(err.detail) from None
    sex = _text(rec, "sex", 1)
    if sex != rid.sex:
        raise _Bad(f"sex {sex} disagrees with the ID number's sequence digit (which says {rid.sex})")
    born = _date(rec, "birth_date")
    if born != rid.birth_date:
        raise _Bad(f"birth_date {born} disagrees with the ID number ({rid.birth_date})")
    hukou = _text(rec, "hukou_region", 6) or ""
    if not (len(hukou) == 6 and hukou.isdigit()):
        raise _Bad(f"hukou_region {hukou!r} must be a 6-digit GB/T 2260 code")
    phone = _text(rec, "phone", 11, required=False)
    if phone is not None and not (len(phone) == 11 and phone.isdigit() and phone[0] == "1"):
        raise _Bad(f"phone {phone!r} must be an 11-digit mobile number")
    row = {
        "id": _int(rec, "id"),
        "id_number": number,
        "name": _text(rec, "name", 40),
        "sex": sex,
        "birth_date": born,
        "hukou_region": hukou,
        "division_code": _text(rec, "division_code", 12),
        "address": _text(rec, "address", 200),
        "phone": phone,
        "status": _choice(rec, "status", PersonStatus, PersonStatus.ALIVE),
        "updated_at": _datetime(rec, "updated_at"),
    }
    refs: Refs = [
        ("unit", row["division_code"], f"division_code {row['division_code']} is not a community or village"),
        ("person.id", row["id"], f"id {row['id']} is already in the registry"),
        ("person.id_number", number, f"ID number {number} is already in the registry"),
    ]
    if hukou.startswith("31"):
        refs.append(("district", hukou + "000000", f"hukou_region {hukou} is not a Shanghai district"))
    return row, refs


def _legal_person(rec: dict[str, Any], today: date) -> tuple[dict[str, Any], Refs]:
    code = _text(rec, "uscc", 18)
    try:
        cc = validate_uscc(code or "")
    except InvalidIdentifier as err:
        raise _Bad(err.detail) from None
    kind = _text(rec, "kind", 2)
    if kind != cc.kind:
        raise _Bad(f"kind {kind} disagrees with the credit code's {cc.kind} ({USCC_KINDS[cc.kind]})")
    industry = _text(rec, "industry", 1)
    if industry not in INDUSTRY_SECTIONS:
        raise _Bad(f"industry {industry!r} must be a GB/T 4754 section letter A–T")
    established = _date(rec, "established_on")
    assert established is not None
    if established > today:
        raise _Bad(f"established_on {established} is in the future")
    capital = _float(rec, "registered_capital")
    if capital < 0:
        raise _Bad("registered_capital cannot be negative")
    row = {
        "id": _int(rec, "id"),
        "uscc": code,
        "name": _text(rec, "name", 200),
        "kind": kind,
        "industry": industry,
        "legal_rep_id": _int(rec, "legal_rep_id"),
        "division_code": _text(rec, "division_code", 12),
        "address": _text(rec, "address", 200),
        "established_on": established,
        "registered_capital": capital,
        "status": _choice(rec, "status", LegalPersonStatus, LegalPersonStatus.ACTIVE),
        "updated_at": _datetime(rec, "updated_at"),
    }
    return row, [
        ("unit", row["division_code"], f"division_code {row['division_code']} is not a community or village"),
        ("person.exists", row["legal_rep_id"], f"legal_rep_id {row['legal_rep_id']} is not a person in the registry"),
        ("legal.id", row["id"], f"id {row['id']} is already in the registry"),
        ("legal.uscc", code, f"credit code {code} is already in the registry"),
    ]


def _component(rec: dict[str, Any], today: date) -> tuple[dict[str, Any], Refs]:
    code = _text(rec, "code", 18) or ""
    if not (len(code) == 18 and code.isdigit()):
        raise _Bad(f"code {code!r} must be 18 digits: district (6) + class (4) + serial (8)")
    cls = _text(rec, "class_code", 4)
    if cls != code[6:10]:
        raise _Bad(f"class_code {cls} disagrees with the code's class digits {code[6:10]}")
    grid = _text(rec, "grid_code", 15) or ""
    if grid[:6] != code[:6]:
        raise _Bad(f"code {code} names district {code[:6]} but grid {grid} is in {grid[:6]}")
    division = _text(rec, "division_code", 12)
    if division != grid[:12]:
        raise _Bad(f"division_code {division} is not the community of grid {grid}")
    lon, lat = _float(rec, "lon"), _float(rec, "lat")
    row = {
        "id": _int(rec, "id"),
        "code": code,
        "class_code": cls,
        "grid_code": grid,
        "division_code": division,
        "lon": lon,
        "lat": lat,
        "owner_department": _text(rec, "owner_department", 60),
        "status": _choice(rec, "status", ComponentStatus, ComponentStatus.INTACT),
        "updated_at": _datetime(rec, "updated_at"),
    }
    return row, [
        ("grid", (grid, lon, lat), f"grid {grid} does not exist or does not contain ({lon}, {lat})"),
        ("component.id", row["id"], f"id {row['id']} is already in the registry"),
        ("component.code", code, f"component code {code} is already in the registry"),
    ]


def _certificate(rec: dict[str, Any], today: date) -> tuple[dict[str, Any], Refs]:
    holder_kind = _choice(rec, "holder_kind", HolderKind)
    identifier = _text(rec, "holder_identifier", 18) or ""
    try:
        if holder_kind == HolderKind.PERSON:
            validate_resident_id(identifier)
        else:
            validate_uscc(identifier)
    except InvalidIdentifier as err:
        raise _Bad(f"holder_identifier: {err.detail}") from None
    issued = _date(rec, "issued_on")
    valid_until = _date(rec, "valid_until", required=False)
    assert issued is not None
    if valid_until is not None and valid_until < issued:
        raise _Bad(f"valid_until {valid_until} is before issued_on {issued}")
    status = _choice(rec, "status", CertificateStatus, CertificateStatus.VALID)
    revoked_at = _datetime(rec, "revoked_at")
    if (status == CertificateStatus.REVOKED) != (revoked_at is not None):
        raise _Bad("revoked_at is required for a revoked certificate and only for one")
    data = rec.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError:
            raise _Bad("data is not valid JSON") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _Bad("data must be a JSON object")
    row = {
        "id": _int(rec, "id"),
        "type_code": _text(rec, "type_code", 40),
        "number": _text(rec, "number", 64),
        "holder_kind": holder_kind,
        "holder_id": _int(rec, "holder_id"),
        "holder_identifier": identifier,
        "holder_name": _text(rec, "holder_name", 200),
        "issuer": _text(rec, "issuer", 100),
        "issued_on": issued,
        "valid_until": valid_until,
        "status": status,
        "revoked_at": revoked_at,
        "division_code": _text(rec, "division_code", 12),
        "data": data,
    }
    return row, [
        (
            "cert_type",
            (row["type_code"], holder_kind),
            f"type_code {row['type_code']} is not a certificate type held by a {holder_kind}",
        ),
        ("division", row["division_code"], f"division_code {row['division_code']} does not exist"),
        (
            "holder",
            (holder_kind, row["holder_id"], identifier),
            f"holder {holder_kind} {row['holder_id']} with identifier {identifier} is not in the registry",
        ),
        ("certificate.id", row["id"], f"id {row['id']} is already in the registry"),
        ("certificate.number", row["number"], f"certificate number {row['number']} is already in the registry"),
    ]


VALIDATORS: dict[RegistryKind, Callable[[dict[str, Any], date], tuple[dict[str, Any], Refs]]] = {
    RegistryKind.PERSONS: _person,
    RegistryKind.LEGAL_PERSONS: _legal_person,
    RegistryKind.COMPONENTS: _component,
    RegistryKind.CERTIFICATES: _certificate,
}
#: Fields that must be unique within one file, per kind.
UNIQUE: dict[RegistryKind, tuple[str, ...]] = {
    RegistryKind.PERSONS: ("id", "id_number"),
    RegistryKind.LEGAL_PERSONS: ("id", "uscc"),
    RegistryKind.COMPONENTS: ("id", "code"),
    RegistryKind.CERTIFICATES: ("id", "number"),
}


# -- reference checks, batched ------------------------------------------------------------------


def _batches(values: Sequence[Any], size: int = 900) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _present(session: Session, column: Any, keys: set[Any]) -> set[Any]:
    found: set[Any] = set()
    ordered = sorted(keys)
    for batch in _batches(ordered):
        found.update(session.scalars(select(column).where(column.in_(batch))))
    return found


def _resolve(session: Session, kind: str, keys: set[Any]) -> set[Any]:
    """The subset of ``keys`` for which the reference of ``kind`` is satisfied."""
    if kind == "unit":
        units = _present(session, Division.code, keys)
        levels = {
            c
            for batch in _batches(sorted(units))
            for c in session.scalars(
                select(Division.code).where(Division.code.in_(batch), Division.level == DivisionLevel.COMMUNITY)
            )
        }
        return levels
    if kind in {"district", "division"}:
        return _present(session, Division.code, keys)
    if kind == "person.exists":
        return _present(session, Person.id, keys)
    absent_if_present = {
        "person.id": Person.id,
        "person.id_number": Person.id_number,
        "legal.id": LegalPerson.id,
        "legal.uscc": LegalPerson.uscc,
        "component.id": Component.id,
        "component.code": Component.code,
        "certificate.id": Certificate.id,
        "certificate.number": Certificate.number,
    }
    if kind in absent_if_present:
        return keys - _present(session, absent_if_present[kind], keys)
    if kind == "grid":
        by_grid: dict[str, list[tuple[str, float, float]]] = {}
        for key in keys:
            by_grid.setdefault(key[0], []).append(key)
        ok: set[Any] = set()
        for batch in _batches(sorted(by_grid)):
            for code, geometry in session.execute(select(Grid.code, Grid.geometry).where(Grid.code.in_(batch))):
                shape = shapely.from_geojson(geometry)
                pts = by_grid[code]
                inside = shapely.intersects_xy(shape, [p[1] for p in pts], [p[2] for p in pts])
                ok.update(p for p, hit in zip(pts, inside, strict=True) if hit)
        return ok
    if kind == "cert_type":
        types = dict(session.execute(select(CertificateType.code, CertificateType.holder_kind)).all())
        return {k for k in keys if types.get(k[0]) == k[1]}
    if kind == "holder":
        ok = set()
        persons = [k for k in keys if k[0] == HolderKind.PERSON]
        legal = [k for k in keys if k[0] == HolderKind.LEGAL_PERSON]
        for model, ident, group in ((Person, Person.id_number, persons), (LegalPerson, LegalPerson.uscc, legal)):
            wanted = {k[1]: k for k in group}
            for batch in _batches(sorted(wanted)):
                for pid, identifier in session.execute(select(model.id, ident).where(model.id.in_(batch))):
                    for k in group:
                        if k[1] == pid and k[2] == identifier:
                            ok.add(k)
        return ok
    raise ValueError(f"unknown reference kind {kind}")


# -- the load -----------------------------------------------------------------------------------


def validate_file(session: Session, kind: RegistryKind, path: Path) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Check every line of ``path``; returns the rows and the rejections (sorted by line)."""
    today = clock.local(clock.now()).date()
    validator = VALIDATORS[kind]
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    refs_by_line: list[Refs] = []
    rejections: list[Rejection] = []
    seen: dict[str, dict[Any, int]] = {f: {} for f in UNIQUE[kind]}
    for number, rec in read_records(path):
        if isinstance(rec, str):
            rejections.append(Rejection(number, rec))
            continue
        try:
            row, refs = validator(rec, today)
        except _Bad as err:
            rejections.append(Rejection(number, str(err)))
            continue
        dup = next(((f, seen[f][row[f]]) for f in UNIQUE[kind] if row[f] in seen[f]), None)
        if dup is not None:
            rejections.append(Rejection(number, f"{dup[0]} {row[dup[0]]} repeats line {dup[1]}"))
            continue
        for f in UNIQUE[kind]:
            seen[f][row[f]] = number
        rows.append(row)
        lines.append(number)
        refs_by_line.append(refs)
    wanted: dict[str, set[Any]] = {}
    for refs in refs_by_line:
        for ref_kind, key, _reason in refs:
            wanted.setdefault(ref_kind, set()).add(key)
    resolved = {ref_kind: _resolve(session, ref_kind, keys) for ref_kind, keys in sorted(wanted.items())}
    good: list[dict[str, Any]] = []
    for row, number, refs in zip(rows, lines, refs_by_line, strict=True):
        missing = [reason for ref_kind, key, reason in refs if key not in resolved[ref_kind]]
        if missing:
            rejections.append(Rejection(number, "; ".join(missing)))
        else:
            good.append(row)
    rejections.sort(key=lambda r: r.line)
    return good, rejections


def load_file(
    session: Session,
    principal: Principal,
    kind: RegistryKind,
    path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Validate the whole file, then write it all in the caller's transaction, or raise :class:`LoadRejected`.
    ``progress(written, total)`` follows the writing, batch by batch (a command's bar)."""
    policy.require(principal, "hub.registry.load")
    rows, rejections = validate_file(session, kind, path)
    if rejections:
        raise LoadRejected(path.name, rejections)
    table = kind.table
    written = 0
    try:
        for batch in _batches(rows, INSERT_BATCH):
            chunk = list(batch)
            session.execute(insert(table), chunk)
            written += len(chunk)
            if progress is not None:
                progress(written, len(rows))
        session.flush()
    except DomainError:
        raise
    except Exception as err:  # a race with another writer: the constraint caught what validation could not
        raise InvalidInput(
            f"{path.name}: the database refused the rows ({type(err).__name__}); nothing was loaded"
        ) from err
    audit.record(
        session,
        principal,
        "hub.registry.loaded",
        object_type="registry",
        object_id=kind.value,
        detail={"file": path.name, "rows": len(rows)},
    )
    return LoadResult(kind, len(rows))
