"""The example part's command: ``onecity example count``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import func, select

from onecity.core.config import Settings
from onecity.core.db import Database
from tests.core.example_part.models import Note


def cmd_count(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        with db.sessions() as session:
            sys.stdout.write(f"{session.scalar(select(func.count()).select_from(Note))}\n")
    finally:
        db.dispose()
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("example", help="the example part").add_subparsers(dest="example_command", required=True)
    p.add_parser("count", help="how many notes there are").set_defaults(func=cmd_count)
