"""``onecity resident link``: tie a citizen's account to their person record (after an identity check)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from onecity.core.config import Settings


def cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal, open_db
    from onecity.hub.sharing.service import link_resident

    with open_db(settings).transaction() as session:
        link = link_resident(session, cli_principal(), username=args.username, id_number=args.id_number)
        sys.stdout.write(f"user {link.user_id} is person {link.person_id}\n")
    return 0


def add_commands(sub: Any) -> None:
    res = sub.add_parser("resident", help="residents' accounts").add_subparsers(dest="resident_command", required=True)
    link = res.add_parser("link", help="link a citizen's account to their person record by ID number")
    link.add_argument("--username", required=True)
    link.add_argument("--id-number", required=True)
    link.set_defaults(func=cmd_link)
