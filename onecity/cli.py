"""The ``onecity`` command: serve, migrate, manage users and keys, verify the audit log.

Commands run on the server itself, as the system principal ``cli:<os user>``; every change
they make is audited like any other.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
import time
from collections.abc import Callable, Sequence

from onecity.core import parts
from onecity.core.commands import cli_principal, open_db
from onecity.core.config import ConfigurationError, Settings, get_settings, load_settings
from onecity.core.errors import DomainError
from onecity.core.identity.roles import PrincipalKind, Role, Scope


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from onecity.api.app import create_app

    if args.upgrade:
        from onecity.core import migrate

        migrate.upgrade(open_db(settings, migrated=False))
    else:
        open_db(settings).dispose()  # a missing or unmigrated database is said in one line, not on the first request
    _default_public_url(args.host, args.port)
    from onecity.api.proxies import uvicorn_config

    if args.workers < 1:
        print("error: --workers takes a number of processes, at least 1", file=sys.stderr)
        return 2
    if args.workers == 1:
        app = create_app(settings)
        print(f"OneCity is serving on http://{args.host}:{args.port}/ (env={settings.env})", flush=True)
        # X-Forwarded-For is believed only from ONECITY_TRUSTED_PROXIES (onecity.api.proxies), not uvicorn's defaults
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down cleanly, then passes Ctrl-C on
            uvicorn.Server(uvicorn_config(app, host=args.host, port=args.port, log_level=args.log_level)).run()
        return 0
    from uvicorn.supervisors import Multiprocess

    # N processes on one socket, each making its app from the same ONECITY_* environment (the
    # supervisor restarts a worker that dies); periodic tasks run in one of them (core.tasks)
    config = uvicorn_config(
        "onecity.api.app:create_app",
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        factory=True,
        workers=args.workers,
    )
    print(
        f"OneCity is serving on http://{args.host}:{args.port}/ with {args.workers} worker processes "
        f"(env={settings.env})",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    return 0


def _default_public_url(host: str, port: int) -> str | None:
    """Without ``ONECITY_PUBLIC_URL`` in the environment (one the demo's env file gave is the last
    run's), certificate links and QR codes lead to the address served here; returns the URL set."""
    import os

    from onecity.core.config import FROM_ENV_FILE

    given = os.environ.get("ONECITY_PUBLIC_URL") and "ONECITY_PUBLIC_URL" not in FROM_ENV_FILE
    if given or host in ("0.0.0.0", "::"):
        return None
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    os.environ["ONECITY_PUBLIC_URL"] = url
    return url


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    import threading
    from pathlib import Path

    import uvicorn

    from onecity import demo
    from onecity.api.app import create_app
    from onecity.api.proxies import uvicorn_config

    public = _default_public_url(args.host, args.port)
    db = open_db(settings, migrated=False)
    creds = demo.prepare(db, settings.var_dir)
    demo.prepare_city(db)
    env_file = demo.write_env_file(Path.cwd(), settings, public)
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{local}:{args.port}/"
    server = uvicorn.Server(
        uvicorn_config(create_app(settings, db=db), host=args.host, port=args.port, log_level="warning")
    )
    simulations: list[threading.Event] = []

    def announce() -> None:
        # the address is printed once the pages people open first answer, not when the socket opens
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.1)
        if not demo.wait_until_answering(url, is_running=lambda: not server.should_exit):
            if not server.should_exit:
                print(f"OneCity demo: {url} does not answer yet; see the messages above", file=sys.stderr, flush=True)
            return
        if args.speed > 0:
            simulations.append(demo.start_simulation(db, speed=args.speed))
        print(f"\nOneCity demo — embedded default (SQLite in {settings.var_dir}, in-process bus)")
        print(f"  open:  {url}")
        print(f"  API:   {url}api/docs (OpenAPI 3.1 at {url}openapi.json)")
        print(f"  sign in with (passwords kept in {settings.var_dir / 'demo-credentials.json'}):")
        for acc in demo.ACCOUNTS:
            print(f"    {acc.username:<22} {creds.get(acc.username, '(created earlier)'):<18} {acc.description}")
        print(
            f"    {demo.RESIDENT:<22} {creds.get(demo.RESIDENT, '(created earlier)'):<18} "
            "a resident (citizen portal), linked to a Xuhui firm's legal representative"
        )
        live = f"the city lives at {args.speed:g}× real time" if args.speed > 0 else "the live city is off (--speed 0)"
        print(f"  {live}; Ctrl-C stops the demo")
        if env_file is not None:
            print(f"  `onecity …` commands run anywhere under {env_file.parent} use this demo ({env_file.name})")
        print(flush=True)

    threading.Thread(target=announce, name="demo-announce", daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then passes Ctrl-C on
        pass
    finally:
        for stop in simulations:
            stop.set()
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core import migrate

    db = open_db(settings, migrated=False)
    added = migrate.upgrade(db, args.revision)
    print(f"database at revision {migrate.current(db)}; reference divisions added: {added}")
    return 0


def cmd_db_check(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core import migrate

    diffs = migrate.drift(open_db(settings, migrated=False))
    if diffs:
        print("models and migrations disagree; run `onecity db revision -m '...'`:", file=sys.stderr)
        for d in diffs:
            print(f"  {d}", file=sys.stderr)
        return 1
    print("models and migrations agree")
    return 0


def cmd_db_revision(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core import migrate

    made = migrate.revision(open_db(settings), args.message)
    print(f"wrote {made}: read it before you commit it")
    return 0


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.identity import service

    kind = PrincipalKind(args.kind) if args.kind else (PrincipalKind.STAFF if args.role else PrincipalKind.CITIZEN)
    password = args.password if args.password is not None else getpass.getpass("password: ")
    with open_db(settings).transaction() as session:
        user = service.create_user(
            session,
            cli_principal(),
            username=args.username,
            password=password,
            kind=kind,
            roles=[Role(r) for r in args.role],
            agency_code=args.agency,
            division_code=args.division,
            display_name=args.name or "",
        )
        print(user.id)
    return 0


def cmd_agency_create(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.identity import service

    with open_db(settings).transaction() as session:
        agency = service.create_agency(
            session,
            cli_principal(),
            code=args.code,
            name=args.name,
            name_en=args.name_en,
            division_code=args.division,
            parent_code=args.parent,
        )
        print(agency.id)
    return 0


def cmd_apikey_create(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.identity import service

    with open_db(settings).transaction() as session:
        _key, secret = service.create_api_key(
            session,
            cli_principal(),
            name=args.name,
            scopes=args.scope,
            agency_code=args.agency,
            division_code=args.division,
            roles=[Role(r) for r in args.role] if args.role else None,
        )
    print(secret)
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from onecity.core import audit, audit_checkpoints

    checkpoints: list[audit_checkpoints.Checkpoint] = []
    if args.checkpoints:
        checkpoints = audit_checkpoints.read_file(Path(args.checkpoints))  # signatures checked here
    from onecity.core.progress import Progress

    shown = args.progress or (sys.stderr.isatty() and not args.json)
    db = open_db(settings)
    if not args.no_seal:
        audit.seal(db)  # chain what is committed first, as the server's sealer would
    with db.sessions() as session, Progress("verifying the audit log", enabled=shown, every=1.0) as bar:
        result = audit.verify(session, checkpoints=checkpoints, progress=lambda done, total: bar.update(done, total))
    if args.json:
        print(json.dumps(result.__dict__))
    elif result.ok:
        n = result.checkpoints
        against = f", agreeing with {n} signed checkpoint{'' if n == 1 else 's'}" if args.checkpoints else ""
        waiting = f"; {result.unsealed} not sealed yet (not verified)" if result.unsealed else ""
        print(f"audit log intact: {result.entries} entries verified{against}{waiting}")
    else:
        print(f"audit log BROKEN at entry {result.first_bad_seq}: {result.reason}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_audit_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core import audit_checkpoints

    key = audit_checkpoints.load_or_create_key(audit_checkpoints.key_file(settings))
    cp = audit_checkpoints.checkpoint(open_db(settings), settings)
    if cp is None:
        print(f"no new checkpoint: the audit head has not moved since the last one (key {key.kid})")
    else:
        print(f"signed checkpoint at entry {cp.seq}, head {cp.head}, with key {key.kid}")
    return 0


def cmd_audit_checkpoints(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from onecity.core import audit_checkpoints

    with open_db(settings).sessions() as session:
        if args.export:
            total, new = audit_checkpoints.export(session, Path(args.export))
            print(f"{args.export}: {total} checkpoints ({new} new); keep a copy where the database is not")
        else:
            print(json.dumps(audit_checkpoints.published(session), ensure_ascii=False, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="onecity", description="OneCity city digital governance platform")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the web server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--log-level", default="info")
    s.add_argument("--upgrade", action="store_true", help="apply migrations first")
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes sharing the port (default 1); periodic tasks run in one of them",
    )
    s.set_defaults(func=cmd_serve, needs_secret=True)

    d = sub.add_parser("demo", help="prepare the embedded demo city and serve it")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument(
        "--speed",
        type=float,
        default=600.0,
        help="simulated seconds per real second of the live city (default 600: a day in 2.4 minutes; 0: no live city)",
    )
    d.set_defaults(func=cmd_demo, needs_secret=True, creates_db=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    u = db.add_parser("upgrade", help="apply migrations and load reference data")
    u.add_argument("revision", nargs="?", default="heads")
    u.set_defaults(func=cmd_db_upgrade, creates_db=True)
    db.add_parser("check", help="fail if models and migrations disagree").set_defaults(func=cmd_db_check)
    r = db.add_parser("revision", help="autogenerate a migration (developers)")
    r.add_argument("-m", "--message", required=True)
    r.set_defaults(func=cmd_db_revision)

    user = sub.add_parser("user", help="user accounts").add_subparsers(dest="user_command", required=True)
    uc = user.add_parser("create", help="create a user (staff when --role is given)")
    uc.add_argument("--username", required=True)
    uc.add_argument("--password", help="omit to be prompted")
    uc.add_argument("--role", action="append", default=[], choices=[r.value for r in Role])
    uc.add_argument("--agency", help="agency code (staff)")
    uc.add_argument("--division", help="12-digit division code (staff: where they serve)")
    uc.add_argument("--kind", choices=["citizen", "enterprise", "staff"])
    uc.add_argument("--name", help="display name")
    uc.set_defaults(func=cmd_user_create)

    agency = sub.add_parser("agency", help="agencies").add_subparsers(dest="agency_command", required=True)
    ac = agency.add_parser("create", help="create an agency")
    ac.add_argument("--code", required=True)
    ac.add_argument("--name", required=True, help="Chinese name")
    ac.add_argument("--name-en", required=True)
    ac.add_argument("--division", required=True)
    ac.add_argument("--parent", help="parent agency code")
    ac.set_defaults(func=cmd_agency_create)

    key = sub.add_parser("apikey", help="API keys").add_subparsers(dest="apikey_command", required=True)
    kc = key.add_parser("create", help="create a key; prints it alone on stdout")
    kc.add_argument("--name", required=True)
    kc.add_argument("--scope", action="append", required=True, choices=[s.value for s in Scope])
    kc.add_argument("--agency")
    kc.add_argument("--division")
    kc.add_argument("--role", action="append", default=None, choices=[r.value for r in Role], help="with --scope admin")
    kc.set_defaults(func=cmd_apikey_create)

    au = sub.add_parser("audit", help="the audit log").add_subparsers(dest="audit_command", required=True)
    av = au.add_parser("verify", help="check the hash chain; non-zero exit names the first bad entry")
    av.add_argument("--json", action="store_true")
    av.add_argument(
        "--checkpoints",
        metavar="FILE",
        help="also check the chain against the signed checkpoints in FILE (from `audit checkpoints --export`)",
    )
    av.add_argument("--progress", action="store_true", help="report progress on stderr (default on a terminal)")
    av.add_argument(
        "--no-seal",
        action="store_true",
        help="verify what is sealed as it stands (by default the committed entries waiting are sealed first)",
    )
    av.set_defaults(func=cmd_audit_verify)
    ac = au.add_parser("checkpoint", help="sign a checkpoint of the audit head now (the server does so periodically)")
    ac.set_defaults(func=cmd_audit_checkpoint)
    al = au.add_parser("checkpoints", help="print the signed checkpoints, or add them to a file kept elsewhere")
    al.add_argument("--export", metavar="FILE", help="write them to FILE, keeping the checkpoints already in it")
    al.set_defaults(func=cmd_audit_checkpoints)

    # each part's ``commands`` modules have ``add_commands(subparsers)``; their handlers take
    # ``(args, settings)`` like the ones here and return an exit code
    for module in parts.import_all("commands"):
        module.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Settings come from the environment and the nearest ``onecity.env``
    (:func:`onecity.core.config.load_settings`); only commands that sign something (``needs_secret``)
    ask for ``ONECITY_SECRET_KEY``, and only those that make a database (``creates_db``) may
    start from none: the others answer a missing or unmigrated database in one line."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from onecity.core import db as storage
    from onecity.core.commands import DatabaseNotReady, say, where

    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    creates = getattr(args, "creates_db", False) or getattr(args, "upgrade", False)
    storage.refuse_missing_sqlite(not creates)
    settings: Settings | None = None
    try:
        settings = get_settings() if getattr(args, "needs_secret", False) else load_settings(need_secret=False)
        return func(args, settings)
    except ConfigurationError as err:
        print(say("config", why=err), file=sys.stderr)
        return 2
    except storage.DatabaseMissing as err:
        print(say("missing", where=err.path), file=sys.stderr)
        return 2
    except DatabaseNotReady as err:
        print(err, file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as err:
        why = str(err.orig or err).strip().splitlines()[0]
        place = where(settings.database_url) if settings is not None else "?"
        if "no such table" in why or ("relation" in why and "does not exist" in why):
            print(say("unmigrated", where=place, current="?", head="head"), file=sys.stderr)
        else:
            print(say("unreachable", where=place, why=why), file=sys.stderr)
        return 2
    except DomainError as err:
        print(say("error", why=err.detail), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(say("interrupted"), file=sys.stderr)
        return 130
    finally:
        # the refusal belongs to this command: a caller that runs commands in its own process
        # (the tests, an embedding program) opens databases as before once the command returns
        storage.refuse_missing_sqlite(False)


if __name__ == "__main__":
    sys.exit(main())
