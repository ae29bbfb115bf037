"""``onecity services …``: install the departments, list the catalogue, run the time-limit clocks."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from onecity.core.config import Settings


def cmd_install(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal, open_db
    from onecity.services import service

    with open_db(settings).transaction() as session:
        made = service.install_departments(session, cli_principal())
    sys.stdout.write(f"services: {made} department agencies created\n")
    return 0


def cmd_items(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.services import catalogue

    for it in catalogue.search(args.q or ""):
        if args.json:
            sys.stdout.write(json.dumps(it.as_dict(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(f"{it.code}  {it.department:<9} {it.time_limit_days:>3}d  {it.name} / {it.name_en}\n")
    return 0


def cmd_clocks(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import open_db
    from onecity.services import service

    with open_db(settings).transaction() as session:
        counts = service.refresh_clocks(session)
    sys.stdout.write(
        f"services: {counts['warned']} cases past 80 % of their time limit, {counts['overdue']} newly overdue\n"
    )
    return 0


def add_commands(sub: Any) -> None:
    svc = sub.add_parser("services", help="government services (一网通办)").add_subparsers(
        dest="services_command", required=True
    )
    svc.add_parser("install", help="create the catalogue's departments as agencies").set_defaults(func=cmd_install)
    items = svc.add_parser("items", help="list the service catalogue")
    items.add_argument("q", nargs="?", help="search words (Chinese or English)")
    items.add_argument("--json", action="store_true", help="one JSON object per item")
    items.set_defaults(func=cmd_items)
    svc.add_parser("clocks", help="flag cases at 80 %% of their time limit and overdue ones").set_defaults(
        func=cmd_clocks
    )
