"""Commands: ``onecity registry load|relate``, ``onecity city stats``, ``onecity export``.

They run on the server as the CLI principal (``cli:<os user>``), like the core's commands, and
are audited like any other action. ``--database URL`` points one command at another database
than ``ONECITY_DATABASE_URL`` (exporting from a replica). A synthetic city to try them on is
made by ``onecity seed`` (:mod:`onecity.synth.cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from onecity.core.config import Settings
from onecity.core.db import Database


def _db(args: argparse.Namespace, settings: Settings) -> Database:
    return Database(args.database or settings.database_url)


def _out(text: str) -> None:
    """Command output goes to stdout (the lint rule against print is for library code)."""
    sys.stdout.write(text + "\n")


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal
    from onecity.core.progress import Progress
    from onecity.hub.registries.load import LoadRejected, RegistryKind, load_file

    db = _db(args, settings)
    try:
        with (
            Progress(f"loading {args.kind}", enabled=sys.stderr.isatty()) as bar,
            db.transaction() as session,
        ):
            result = load_file(session, cli_principal(), RegistryKind(args.kind), Path(args.file), progress=bar.update)
    except LoadRejected as err:
        for rejection in err.rejections:
            sys.stderr.write(f"{args.file}: {rejection}\n")
        sys.stderr.write(f"{err.detail}\n")
        return 1
    finally:
        db.dispose()
    _out(f"loaded {result.rows} {result.kind.value} from {args.file}")
    return 0


def cmd_relate(args: argparse.Namespace, settings: Settings) -> int:
    """Record a relation a registrar holds on paper (household register, guardianship ruling)."""
    from sqlalchemy import select

    from onecity.core.commands import cli_principal
    from onecity.core.errors import DomainError
    from onecity.hub.registries.models import Person, RelationKind
    from onecity.hub.registries.relations import record_relation

    db = _db(args, settings)
    try:
        with db.transaction() as session:
            ids = {
                n: session.scalar(select(Person.id).where(Person.id_number == n.strip().upper()))
                for n in (args.person, args.relative)
            }
            missing = [n for n, pid in ids.items() if pid is None]
            if missing:
                sys.stderr.write(f"no person with ID number {', '.join(missing)} in the registry\n")
                return 1
            row = record_relation(
                session,
                cli_principal(),
                person_id=ids[args.person] or 0,
                relative_id=ids[args.relative] or 0,
                kind=RelationKind(args.kind),
                source=args.source,
            )
            _out(f"recorded {row.kind} relation {row.id}")
    except DomainError as err:
        sys.stderr.write(f"{err.detail}\n")
        return 1
    finally:
        db.dispose()
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.hub.registries.export import city_stats

    db = _db(args, settings)
    try:
        with db.sessions() as session:
            stats = city_stats(session)
    finally:
        db.dispose()
    if args.json:
        _out(json.dumps(stats, ensure_ascii=False))
    else:
        for key, value in stats.items():
            _out(f"{key:14} {value}")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal
    from onecity.core.progress import Progress
    from onecity.hub.registries import service  # noqa: F401  (registers the actions)
    from onecity.hub.registries.export import ExportFormat, ExportKind, export_size, write_export

    db = _db(args, settings)
    try:
        with db.transaction() as session:
            if args.output:
                kind = ExportKind(args.kind)
                with (
                    open(args.output, "w", encoding="utf-8", newline="") as fh,
                    Progress(f"exporting {args.kind}", export_size(session, kind), enabled=sys.stderr.isatty()) as bar,
                ):
                    rows = write_export(
                        session,
                        cli_principal(),
                        kind,
                        ExportFormat(args.format),
                        fh,
                        destination=str(Path(args.output).resolve()),
                        progress=bar.update,
                    )
                sys.stderr.write(f"exported {rows} {args.kind} to {args.output}\n")
            else:
                write_export(
                    session,
                    cli_principal(),
                    ExportKind(args.kind),
                    ExportFormat(args.format),
                    sys.stdout,
                    destination="stdout",
                )
                sys.stdout.flush()
    finally:
        db.dispose()
    return 0


def cmd_gazetteer(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal
    from onecity.hub.registries.addresses import build_gazetteer

    db = _db(args, settings)
    try:
        with db.transaction() as session:
            report = build_gazetteer(session, cli_principal(), within=args.within or ())
    finally:
        db.dispose()
    _out(json.dumps(report.as_dict(), ensure_ascii=False))
    return 0


def add_commands(sub: Any) -> None:
    from onecity.hub.registries.export import ExportFormat, ExportKind
    from onecity.hub.registries.load import RegistryKind

    reg = sub.add_parser("registry", help="the base registries").add_subparsers(dest="registry_command", required=True)
    ld = reg.add_parser("load", help="validate a CSV/JSONL file and load it all, or nothing")
    ld.add_argument("kind", choices=[k.value for k in RegistryKind])
    ld.add_argument("file")
    ld.add_argument("--database")
    ld.set_defaults(func=cmd_load)
    rel = reg.add_parser("relate", help="record that RELATIVE may act for PERSON (parent, guardian, household)")
    rel.add_argument("person", help="the represented person's resident ID number")
    rel.add_argument("relative", help="the resident ID number of who may act for them")
    rel.add_argument("--kind", choices=["parent", "guardian", "household"], required=True)
    rel.add_argument("--source", required=True, help="what it is recorded from (household register no., ruling)")
    rel.add_argument("--database")
    rel.set_defaults(func=cmd_relate)

    gz = reg.add_parser("gazetteer", help="rebuild the gazetteer from the geography and the registries' addresses")
    gz.add_argument("--within", action="append", help="only this division (12-digit code; repeatable)")
    gz.add_argument("--database")
    gz.set_defaults(func=cmd_gazetteer)
    city = sub.add_parser("city", help="the city as a whole").add_subparsers(dest="city_command", required=True)
    st = city.add_parser("stats", help="counts of divisions, grids and registry rows")
    st.add_argument("--json", action="store_true")
    st.add_argument("--database")
    st.set_defaults(func=cmd_stats)

    ex = sub.add_parser("export", help="export the geography or a registry (audited administrator action)")
    ex.add_argument("kind", choices=[k.value for k in ExportKind])
    ex.add_argument("--format", choices=[f.value for f in ExportFormat], default="jsonl")
    ex.add_argument("--output", help="file to write (default: stdout)")
    ex.add_argument("--database")
    ex.set_defaults(func=cmd_export)
