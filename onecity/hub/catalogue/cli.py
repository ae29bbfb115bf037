"""``onecity catalogue install``: describe the base registries in the catalogue (idempotent)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from onecity.core.config import Settings


def cmd_install(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal, open_db
    from onecity.hub.catalogue.service import install_catalogue

    with open_db(settings).transaction() as session:
        report = install_catalogue(session, cli_principal())
    if args.json:
        sys.stdout.write(json.dumps(report.__dict__) + "\n")
    else:
        sys.stdout.write(
            f"catalogue installed: {report.agencies_created} agencies created, "
            f"{report.datasets_created} datasets created, {report.datasets_updated} updated\n"
        )
    return 0


def add_commands(sub: Any) -> None:
    cat = sub.add_parser("catalogue", help="the data catalogue").add_subparsers(dest="catalogue_command", required=True)
    inst = cat.add_parser("install", help="describe every base registry (after `onecity db upgrade`; idempotent)")
    inst.add_argument("--json", action="store_true")
    inst.set_defaults(func=cmd_install)
