"""Exports of the geography and the registries (JSONL or CSV), streamed, and the city's counts.

An export of a whole registry is personal data in bulk, so it is an administrator's action
and is audited (``hub.registry.exported``, with the row count and destination). Rows come
out in key order with a server-side cursor, so a 25-million-row export runs in constant
memory, and two databases seeded alike export byte for byte alike: the column order is the
table's, JSON objects are written with sorted keys, dates in ISO 8601.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TextIO

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from onecity.core import audit, csvout, policy
from onecity.core.db import table_of
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.identity.principal import Principal
from onecity.hub.geography.models import Grid
from onecity.hub.registries import service as _service  # noqa: F401  (registers the actions checked here)
from onecity.hub.registries.models import Certificate, Component, LegalPerson, Person

STREAM_BATCH = 10_000


class ExportKind(StrEnum):
    DIVISIONS = "divisions"
    GRIDS = "grids"
    PERSONS = "persons"
    LEGAL_PERSONS = "legal-persons"
    COMPONENTS = "components"
    CERTIFICATES = "certificates"

    @property
    def table(self) -> Table:
        model = {
            "divisions": Division,
            "grids": Grid,
            "persons": Person,
            "legal-persons": LegalPerson,
            "components": Component,
            "certificates": Certificate,
        }[self.value]
        return table_of(model)


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def iter_rows(session: Session, kind: ExportKind) -> Iterator[dict[str, Any]]:
    """Rows of ``kind`` in key order, as plain JSON-able dicts, streamed from the database."""
    table = kind.table
    stmt = select(table).order_by(*table.primary_key.columns)
    result = session.execute(stmt.execution_options(stream_results=True, yield_per=STREAM_BATCH))
    names = [c.name for c in table.columns]
    for row in result:
        yield {n: _plain(v) for n, v in zip(names, row, strict=True)}


def write_export(
    session: Session,
    principal: Principal,
    kind: ExportKind,
    fmt: ExportFormat,
    out: TextIO,
    *,
    destination: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Stream ``kind`` to ``out``; records the export in the audit log. Returns the row count.
    ``progress(rows)`` is told every thousand rows (a command's bar)."""
    policy.require(principal, "hub.registry.export")
    names = [c.name for c in kind.table.columns]
    rows = 0
    if fmt is ExportFormat.CSV:
        writer = csvout.writer(out)  # formula cells escaped (OWASP CSV injection)
        writer.writerow(names)
        for rec in iter_rows(session, kind):
            writer.writerow(
                [
                    ""
                    if rec[n] is None
                    else json.dumps(rec[n], ensure_ascii=False, sort_keys=True)
                    if isinstance(rec[n], dict)
                    else rec[n]
                    for n in names
                ]
            )
            rows += 1
            if progress is not None and rows % 1000 == 0:
                progress(rows)
    else:
        for rec in iter_rows(session, kind):
            out.write(json.dumps(rec, ensure_ascii=False, sort_keys=False, separators=(",", ":")) + "\n")
            rows += 1
            if progress is not None and rows % 1000 == 0:
                progress(rows)
    if progress is not None:
        progress(rows)
    audit.record(
        session,
        principal,
        "hub.registry.exported",
        object_type="registry",
        object_id=kind.value,
        detail={"format": fmt.value, "rows": rows, "destination": destination},
    )
    return rows


def export_size(session: Session, kind: ExportKind) -> int:
    """How many rows an export of ``kind`` writes (for a progress bar)."""
    return int(session.scalar(select(func.count()).select_from(kind.table)) or 0)


def city_stats(session: Session) -> dict[str, Any]:
    """The counts ``onecity city stats`` prints, in the documented key order."""
    kinds = dict(
        session.execute(
            select(Division.kind, func.count())
            .where(Division.level.in_([DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY]))
            .group_by(Division.kind)
        ).all()
    )

    def count(table: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)

    districts = session.scalar(
        select(func.count()).select_from(Division).where(Division.level == DivisionLevel.DISTRICT)
    )
    return {
        "districts": int(districts or 0),
        "townships": {k: int(kinds.get(k, 0)) for k in ("subdistrict", "town", "township")},
        "communities": int(kinds.get("community", 0)),
        "villages": int(kinds.get("village", 0)),
        "grids": count(Grid),
        "persons": count(Person),
        "legal_persons": count(LegalPerson),
        "components": count(Component),
        "certificates": count(Certificate),
    }
