"""Commands: ``onecity ops install`` (disposal units), ``onecity ops sweep`` (early warnings, re-dispatch, escalation).

``install`` is idempotent (units that exist are left alone); ``onecity simulate`` and the
demo run it themselves. ``sweep`` is what the server runs every minute, for a cron job on a
deployment that runs no server process.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from onecity.core.config import Settings


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_install(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal, open_db
    from onecity.ops.units import install_units

    with open_db(settings).transaction() as session:
        report = install_units(session, cli_principal(), within=args.within)
    _out(json.dumps({"units_created": report.created, "units_existing": report.existing}))
    return 0


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import open_db
    from onecity.ops.clocks import sweep

    swept = sweep(open_db(settings))
    _out(json.dumps({"reminded": swept.reminded, "escalated": swept.escalated, "redispatched": swept.redispatched}))
    return 0


def add_commands(sub: Any) -> None:
    ops = sub.add_parser("ops", help="urban operations").add_subparsers(dest="ops_command", required=True)
    i = ops.add_parser("install", help="create the disposal units dispatch sends cases to (idempotent)")
    i.add_argument("--within", help="only in this division (12-digit code), e.g. 310104000000")
    i.set_defaults(func=cmd_install)
    s = ops.add_parser("sweep", help="send due early warnings, re-dispatch stuck cases, escalate overdue ones")
    s.set_defaults(func=cmd_sweep)
