"""``onecity simulate``: replay simulated time over a seeded city and write the report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
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
        from onecity.core.progress import Progress

        bar = sys.stderr.isatty()
        with Progress("seeding the city (people, firms, components)", enabled=bar) as shown:
            seed_registries(
                db,
                scale,
                seed,
                cli_principal(),
                out=None if bar else sys.stderr,
                progress=lambda done, total, table: shown.update(done, total, note=table),
            )


def run(
    db: Database,
    *,
    scale: float,
    seed: int,
    hours: float,
    speed: float | None,
    start: datetime = DEFAULT_START,
    actor_modules: list[str] | None = None,
    progress: str = "lines",
    scan_share: float | None = None,
    daily: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Seed the city if empty and run ``hours`` of it; ``progress`` is ``bar`` (a terminal), ``lines``
    (a line every six simulated hours on stderr) or ``none``; ``scan_share`` overrides the share of
    machine-readable materials the simulated applicants upload as printed scans the pre-review reads;
    ``daily`` is given the report so far at the end of each simulated day (a long run's checkpoints)."""
    from onecity.core.progress import Progress
    from onecity.sim import actors
    from onecity.sim.engine import Simulation, _to_stderr

    ensure_city(db, scale, seed)
    with Progress("simulating (hours)", hours, enabled=progress == "bar") as bar:
        begin = start.astimezone(clock.SHANGHAI)
        built = actors.build(scale, actor_modules)
        for actor in built:
            if scan_share is not None and hasattr(actor, "scan_share"):
                actor.scan_share = scan_share

        def stepped(now: datetime) -> None:
            bar.update((now - begin).total_seconds() / 3600, note=f"{clock.local(now):%m-%d %H:%M}")
            if daily is not None and now > begin and (now - begin) % timedelta(days=1) == timedelta(0):
                partial = _assemble(db, sim, begin, scale, scan_share)
                partial["simulation"]["partial"] = True
                daily(partial)

        sim = Simulation(
            db,
            built,
            start=begin,
            seed=seed,
            step=timedelta(minutes=10),
            speed=speed,
            deliver_events=True,
            progress=_to_stderr if progress == "lines" else (lambda _msg: None),
            on_step=stepped,
        )
        sim.run(hours)
    return _assemble(db, sim, begin, scale, scan_share)


def _assemble(db: Database, sim: Any, begin: datetime, scale: float, scan_share: float | None) -> dict[str, Any]:
    from onecity.hub.registries.export import city_stats
    from onecity.sim.breakdown import breakdown

    report: dict[str, Any] = sim.report()
    with db.sessions() as session:
        report.setdefault("city", {}).update(city_stats(session))
    report["simulation"]["scale"] = scale
    if scan_share is not None:
        report["simulation"]["scan_share"] = scan_share
    report["breakdown"] = breakdown(db, begin, sim.now)
    services = report.get("services")
    if isinstance(services, dict) and "within_time_limit_rate" in services:
        # over the items whose limit fell inside the run (decided late or still open past it count against)
        services["within_time_limit_rate_of_decided"] = services["within_time_limit_rate"]
        services["within_time_limit_rate"] = report["breakdown"]["within_time_limit_rate"]
        services["items_due_inside_the_run"] = report["breakdown"]["items_due_inside_the_run"]
    return report


#: Largest ``--scale`` taken without ``--force``: 1 is all of Shanghai (25 million people, days of
#: generation and hundreds of gigabytes); more is a mistake more often than a plan.
MAX_SCALE = 1.0


def _positive(name: str) -> Any:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{name} is a number") from err
        if not number > 0:
            raise argparse.ArgumentTypeError(f"{name} must be positive")
        return number

    return parse


def report_path_problem(value: str) -> str | None:
    """Why the report cannot be written at ``value`` (checked before hours of simulation), or None."""
    path = Path(value).expanduser()
    if path.is_dir():
        return f"--report {value} is a directory; name a file"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"--report {value}: the directory {parent} does not exist"
    if path.exists() and not os.access(path, os.W_OK):
        return f"--report {value} is not writable"
    if not path.exists() and not os.access(parent, os.W_OK):
        return f"--report {value}: the directory {parent} is not writable"
    return None


def summary(report: dict[str, Any], seconds: float, cpu_seconds: float | None = None) -> str:
    """The report in a few lines a person reads: the period (with the wall-clock time it took and, given, the
    process's CPU time: on a shared machine the CPU time is the figure that compares across loads), then
    each section's headline figures."""
    sim = report.get("simulation", {})
    cpu = f" (CPU {cpu_seconds:,.0f} s)" if cpu_seconds is not None else ""
    lines = [
        f"simulated {sim.get('hours', '?')} h from {sim.get('start', '?')} (scale {sim.get('scale', '?')}, "
        f"seed {sim.get('seed', '?')}) in {seconds:,.0f} s{cpu}"
    ]
    for section, figures in report.items():
        if section == "simulation" or not isinstance(figures, dict):
            continue
        shown = [
            f"{key.replace('_', ' ')} {value:,}" if isinstance(value, int) else f"{key.replace('_', ' ')} {value:.3g}"
            for key, value in figures.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ][:8]
        if shown:
            lines.append(f"  {section:<12} " + ", ".join(shown))
    return "\n".join(lines)


def _write(path: Path, report: dict[str, Any]) -> Path:
    """The JSON report at ``path`` and its HTML page beside it (``.html``); returns the page's path."""
    from onecity.sim.html import render

    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    page = path.with_suffix(".html")
    page.write_text(render(report), encoding="utf-8")
    return page


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from onecity.core.commands import open_db

    if args.scale > MAX_SCALE and not args.force:
        print(
            f"--scale {args.scale:g} is larger than all of Shanghai ({MAX_SCALE:g}): it would take days and fill "
            "the disk; add --force if you mean it",
            file=sys.stderr,
        )
        return 2
    problem = report_path_problem(args.report) if args.report else None
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if (args.hours is None) == (args.days is None):
        print("give the simulated period as --hours or --days (one of them)", file=sys.stderr)
        return 2
    hours = args.hours if args.hours is not None else args.days * 24
    began, cpu_began = time.monotonic(), time.process_time()

    def checkpoint(partial: dict[str, Any]) -> None:
        if args.report:  # a long run leaves its figures so far, each simulated day
            _write(Path(args.report).expanduser(), partial)
            if not args.quiet:
                print(summary(partial, time.monotonic() - began, time.process_time() - cpu_began), file=sys.stderr)

    report = run(
        open_db(settings, migrated=False),
        scale=args.scale,
        seed=args.seed,
        hours=hours,
        scan_share=args.scans,
        daily=checkpoint,
        speed=args.speed,
        start=args.start,
        progress="none" if args.quiet else ("bar" if sys.stderr.isatty() else "lines"),
    )
    text = json.dumps(report, ensure_ascii=False, indent=2)
    said = summary(report, time.monotonic() - began, time.process_time() - cpu_began)
    if args.report:
        page = _write(Path(args.report).expanduser(), report)
        print(said)
        print(f"report written to {args.report}, charts to {page}")
    else:
        print(text)
        if not args.quiet:
            print(said, file=sys.stderr)
    return 0


def add_commands(sub: Any) -> None:
    s = sub.add_parser("simulate", help="replay simulated time over a seeded city; writes a JSON report")
    s.add_argument(
        "--scale",
        type=_positive("--scale"),
        default=0.001,
        help="city size as a fraction of Shanghai (seeded if empty; above 1 only with --force)",
    )
    s.add_argument("--force", action="store_true", help="allow a --scale above 1")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--hours", type=_positive("--hours"), help="simulated hours to run (or --days)")
    s.add_argument("--days", type=_positive("--days"), help="simulated days to run, e.g. 30 for a month (or --hours)")
    s.add_argument(
        "--scans",
        type=float,
        default=None,
        help="share (0–1) of machine-readable materials uploaded as printed scans the pre-review reads by OCR "
        "(default 1; the rest are PDFs no OCR reads: a long run goes faster with fewer)",
    )
    s.add_argument("--speed", type=_speed, default=None, help="simulated seconds per real second, or 'max'")
    s.add_argument("--start", type=_start, default=DEFAULT_START, help="simulated start (ISO 8601)")
    s.add_argument(
        "--report",
        help="write the JSON report here (default: stdout), the HTML report with its charts beside it (.html), "
        "and print a summary; checked before the run",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    # approvals sign credentials (with the key the secret seals); the city is seeded when empty
    s.set_defaults(func=cmd_simulate, needs_secret=True, creates_db=True)
