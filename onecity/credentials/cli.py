"""Commands: ``onecity export credentials --format jsonl`` and ``onecity credentials rotate-key``.

``export`` is one command for every exportable thing: the registries' module defines it,
and this module adds ``credentials`` to its kinds (and routes that kind here), so operators
learn one command. The export is an audited administrator action, like the registries'.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from onecity.core.config import Settings
from onecity.core.db import Database

KIND = "credentials"


def cmd_export_credentials(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal
    from onecity.credentials import service

    if args.format != "jsonl":
        sys.stderr.write("credentials export as jsonl only (one JSON object per credential with its jwt)\n")
        return 2
    db = Database(args.database or settings.database_url)
    try:
        with db.transaction() as session:
            if args.output:
                with open(args.output, "w", encoding="utf-8", newline="") as fh:
                    rows = service.export_jsonl(
                        session, cli_principal(), fh, destination=str(Path(args.output).resolve())
                    )
                sys.stderr.write(f"exported {rows} credentials to {args.output}\n")
            else:
                service.export_jsonl(session, cli_principal(), sys.stdout, destination="stdout")
                sys.stdout.flush()
    finally:
        db.dispose()
    return 0


def cmd_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal
    from onecity.credentials import keys, service

    db = Database(args.database or settings.database_url)
    try:
        keys.use_secret(db, settings.secret_key)
        with db.transaction() as session:
            key = service.rotate_signing_key(session, cli_principal(), args.reason)
        sys.stdout.write(f"{key.kid}\n")
    finally:
        db.dispose()
    return 0


def cmd_withdraw_key(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import cli_principal
    from onecity.credentials import keys, service

    db = Database(args.database or settings.database_url)
    try:
        keys.use_secret(db, settings.secret_key)
        with db.transaction() as session:
            service.withdraw_signing_key(session, cli_principal(), args.kid, args.reason)
        sys.stderr.write(f"withdrew {args.kid}: credentials it signed no longer verify; issue them again\n")
    finally:
        db.dispose()
    return 0


def _extend_export(sub: Any) -> None:
    """Add ``credentials`` to ``onecity export``'s kinds, or make the command if no one has."""
    export = sub.choices.get("export")
    if export is None:
        export = sub.add_parser("export", help="export issued credentials (audited administrator action)")
        export.add_argument("kind", choices=[KIND])
        export.add_argument("--format", choices=["jsonl"], default="jsonl")
        export.add_argument("--output", help="file to write (default: stdout)")
        export.add_argument("--database")
        export.set_defaults(func=cmd_export_credentials)
        return
    kind = next(a for a in export._actions if a.dest == "kind")
    fmt = next(a for a in export._actions if a.dest == "format")
    if kind.choices is not None and KIND not in kind.choices:
        kind.choices = [*kind.choices, KIND]
    previous: Callable[[argparse.Namespace, Settings], int] = export.get_default("func")

    def dispatch(args: argparse.Namespace, settings: Settings) -> int:
        return cmd_export_credentials(args, settings) if args.kind == KIND else previous(args, settings)

    export.set_defaults(func=dispatch)
    if fmt.help is None:
        fmt.help = "credentials: jsonl only"


def add_commands(sub: Any) -> None:
    _extend_export(sub)
    cred = sub.add_parser("credentials", help="verifiable e-certificates").add_subparsers(
        dest="credentials_command", required=True
    )
    rk = cred.add_parser("rotate-key", help="sign new credentials with a new Ed25519 key (old keys stay published)")
    rk.add_argument("--reason", required=True, help="why (kept in the audit log)")
    rk.add_argument("--database")
    rk.set_defaults(func=cmd_rotate_key, needs_secret=True)  # the new key is sealed with it
    wk = cred.add_parser("withdraw-key", help="take a leaked key out of the JWKS (what it signed stops verifying)")
    wk.add_argument("kid")
    wk.add_argument("--reason", required=True, help="why (kept in the audit log)")
    wk.add_argument("--database")
    wk.set_defaults(func=cmd_withdraw_key, needs_secret=True)
