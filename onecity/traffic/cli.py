"""Commands: ``onecity traffic build-network`` and ``onecity traffic simulate``.

``build-network`` compiles an area's network with SUMO's netconvert (deterministic from the
seed) into ``var/traffic/<area>-<seed>/`` (``ONECITY_TRAFFIC_DIR`` elsewhere). ``simulate``
runs the whole chain on it — SUMO, the detectors publishing through the sensing ingest (over
MQTT with ``--mqtt``), incident detection and cases, the 5-minute index — showing progress
on stderr, and writes the report (JSON) to ``--report`` or stdout, with the forecasts' errors once
the database holds three simulated days of the network (``--day``) and, with ``--compare-signals``,
fixed time against max-pressure on the same demand and seed. Cases for detected incidents
are dispatched to the district traffic police units that ``onecity ops install`` creates.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from onecity.core.config import Settings


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.traffic.network import build_network

    net = build_network(args.area, args.seed, Path(args.dir) if args.dir else None)
    _out(json.dumps({**net.summary(), "directory": str(net.directory)}, ensure_ascii=False))
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import open_db
    from onecity.core.migrate import upgrade
    from onecity.traffic.runner import RunConfig, run

    if args.minutes <= 0 or args.minutes > 24 * 60:
        _err("--minutes is 1 to 1440")
        return 2
    db = open_db(settings)
    upgrade(db)
    cfg = RunConfig(
        area=args.area,
        seed=args.seed,
        minutes=args.minutes,
        begin=args.begin,
        day=date.fromisoformat(args.day) if args.day else RunConfig.day,
        incidents_per_hour=args.incidents_per_hour,
        trips_per_km_hour=args.demand,
        adaptive=args.adaptive,
        mqtt_url=(args.mqtt or settings.mqtt_url) if args.mqtt != "off" else None,
        use_traci=args.traci,
        root=Path(args.dir) if args.dir else None,
    )
    report = run(db, cfg, progress=_err)
    from onecity.traffic import forecast
    from onecity.traffic.network import load_network
    from onecity.traffic.signals import compare

    key = f"{cfg.area}-{cfg.seed}"
    with db.sessions() as session:
        days = forecast.days_with_states(session, key)
        if len(days) >= 3:
            result = forecast.evaluate(session, key, days[:-1], days[-1], seed=cfg.seed)
            report["forecast"] = {h: result[h] for h in forecast.HORIZONS} | {"test_day": result["test_day"]}
        else:
            report["forecast"] = {
                "note": f"needs three simulated days of this network (have {len(days)}): run again with --day"
            }
    if args.compare_signals:
        _err("comparing fixed-time and max-pressure signals on the same demand and seed…")
        report["signals"] = compare(
            load_network(cfg.area, cfg.seed, cfg.root), seed=cfg.seed, begin_s=cfg.begin_s,
            minutes=min(cfg.minutes, 60.0), demand=cfg.trips_per_km_hour, traci=cfg.use_traci,
        )  # fmt: skip
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.report:
        Path(args.report).write_text(text + "\n", encoding="utf-8")
        _err(f"report written to {args.report}")
    else:
        _out(text)
    return 0


def add_commands(sub: Any) -> None:
    tr = sub.add_parser("traffic", help="road traffic (SUMO)").add_subparsers(dest="traffic_command", required=True)
    b = tr.add_parser("build-network", help="compile an area's road network with netconvert (deterministic)")
    b.add_argument("--area", choices=["tiny", "central", "city"], default="central")
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--dir", help="where networks are kept (default var/traffic or ONECITY_TRAFFIC_DIR)")
    b.set_defaults(func=cmd_build)
    s = tr.add_parser("simulate", help="simulate, sense, index and check for incidents; write a report")
    s.add_argument("--area", choices=["tiny", "central", "city"], default="central")
    s.add_argument("--minutes", type=float, default=60.0)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--begin", default="07:30", help="simulated time of day to start at (HH:MM)")
    s.add_argument("--day", help="the simulated weekday (YYYY-MM-DD; default a Tuesday)")
    s.add_argument("--incidents-per-hour", type=float, default=6.0)
    s.add_argument("--demand", type=float, default=4.0, help="car trips per km of road in the peak hour")
    s.add_argument("--adaptive", action="store_true", help="max-pressure signals instead of fixed time")
    s.add_argument("--mqtt", help="publish over this broker (mqtt://host:port; default ONECITY_MQTT_URL; off: none)")
    s.add_argument("--traci", action="store_true", help="run SUMO as a separate process through TraCI")
    s.add_argument("--dir", help="where networks are kept")
    s.add_argument(
        "--compare-signals", action="store_true", help="add fixed time against max-pressure (two more SUMO runs)"
    )
    s.add_argument("--report", help="write the JSON report here")
    s.set_defaults(func=cmd_simulate)
