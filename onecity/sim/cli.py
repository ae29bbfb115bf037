"""``onecity simulate``: replay simulated time over a seeded city and write the report."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from onecity.core import clock, migrate
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.hub.registries.models import Person

#: A fixed Monday, so the same seed replays the same days (weekdays matter to later actors).
DEFAULT_START = datetime(2026, 6, 1, 0, 0, tzinfo=clock.SHANGHAI)


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError("--speed is a number (simulated seconds per second) or 'max'") from err
    if speed <= 0:
        raise argparse.ArgumentTypeError("--speed must be positive")
    return speed


def _start(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError("--start is an ISO date-time, e.g. 2026-06-01T00:00+08:00") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.SHANGHAI)


def ensure_city(db: Database, scale: float, seed: int) -> None:
    """Migrate, describe the registries in the catalogue, and seed them at ``scale`` unless a city is there."""
    from onecity.core.commands import cli_principal
    from onecity.hub.catalogue.service import install_catalogue
    from onecity.synth.registries.seed import seed as seed_registries

    migrate.upgrade(db)
    with db.transaction() as session:
        install_catalogue(session, cli_principal())
    with db.sessions() as session:
        seeded = bool(session.scalar(select(func.count()).select_from(Person)))
    if not seeded:
        seed_registries(db, scale, seed, cli_principal())


def run(
    db: Database,
    *,
    scale: float,
    seed: int,
    hours: float,
    speed: float | None,
    start: datetime = DEFAULT_START,
    actor_modules: list[str] | None = None,
) -> dict[str, Any]:
    from onecity.hub.registries.export import city_stats
    from onecity.sim import actors
    from onecity.sim.engine import Simulation

    ensure_city(db, scale, seed)
    sim = Simulation(
        db,
        actors.build(scale, actor_modules),
        start=start.astimezone(clock.SHANGHAI),
        seed=seed,
        step=timedelta(minutes=10),
        speed=speed,
        deliver_events=True,
    )
    sim.run(hours)
    report = sim.report()
    with db.sessions() as session:
        report.setdefault("city", {}).update(city_stats(session))
    report["simulation"]["scale"] = scale
    return report


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import open_db

    report = run(
        open_db(settings), scale=args.scale, seed=args.seed, hours=args.hours, speed=args.speed, start=args.start
    )
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.report:
        Path(args.report).write_text(text + "\n", encoding="utf-8")
        print(f"report written to {args.report}", file=sys.stderr)
    else:
        print(text)
    return 0


def add_commands(sub: Any) -> None:
    s = sub.add_parser("simulate", help="replay simulated time over a seeded city; writes a JSON report")
    s.add_argument("--scale", type=float, default=0.001, help="city size as a fraction of Shanghai (seeded if empty)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--hours", type=float, required=True, help="simulated hours to run")
    s.add_argument("--speed", type=_speed, default=None, help="simulated seconds per real second, or 'max'")
    s.add_argument("--start", type=_start, default=DEFAULT_START, help="simulated start (ISO 8601)")
    s.add_argument("--report", help="write the JSON report here (default: stdout)")
    s.set_defaults(func=cmd_simulate)
