"""The traffic chain against real time: simulate → sense → ingest → detect → index (goals: ≥ 10× real time
for the central area's peak hour; the city-wide index ≤ 1 s per 5-minute cycle; incidents detected ≥ 0.90,
false alarms ≤ 0.5 % of detector-intervals, mean time to detect ≤ 120 s).

One run of ``onecity traffic simulate``'s chain (:func:`onecity.traffic.runner.run`) on a fresh
database: SUMO (libsumo, in-process) drives the weekday demand with incidents injected at random;
loop stations and floating cars publish Observations through the sensing ingest (the batched
path, or MQTT with ``--mqtt``); the detection reads the stored readings every 30 s; the state and
the GB/T 33171 index are computed from them every 5 minutes. ``realtime_factor`` is simulated
seconds per wall second for all of it. Separately, the **city-wide** index cycle is timed on the
whole-city network with a reading on every loop station.

``--demand-seeds 1,2,3`` runs the chain once per day's draw of trips and incidents (same network)
and adds up the incidents; ``--compare-detection`` runs every draw twice, without and with the
video stations (``--camera-range`` metres before each segment's end; the same SUMO trajectories:
loops and cameras are passive), so the detection's before and after come from the same run and
seeds. False alarms are given per station-interval (the unit an alarm is raised on), and per
station-hour and per km-hour of equipped road, which do not change when a station gains devices.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._common import database_url, emit, log, parser


def city_cycle(url: str, rounds: int) -> dict[str, Any]:
    """Seconds to compute the whole city's states and TPIs from one 5-minute interval's readings: the
    set-based cycle against the row-by-row one it replaced (``bench/_traffic_legacy.py``), alternately
    on the same intervals. Wall seconds, and this process's CPU seconds (on SQLite the database works
    in-process too), because on a shared machine the wall clock mostly measures the neighbours."""
    from bench._traffic_legacy import compute_interval as legacy_cycle
    from onecity.core.db import Database
    from onecity.core.migrate import upgrade
    from onecity.sensing.ingest import NewObservation, store_observations
    from onecity.traffic import service
    from onecity.traffic.feed import DEVICES, register_detectors
    from onecity.traffic.network import load_network
    from onecity.traffic.simulation import choose_stations

    db = Database(url)
    upgrade(db)
    net = load_network("city", 1)
    stations = choose_stations(net)
    with db.transaction() as session:
        key = service.install_network(session, net)
        ids = register_detectors(session, key, net, stations, probe_units=200)
    segments = sorted(net.segments)
    t0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    timed: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("set_based", "row_by_row")}
    tpis: dict[str, float | None] = {}
    out: dict[str, Any] = {}
    for r in range(rounds):
        end = t0 + timedelta(minutes=5 * (r + 1))
        obs = []
        for k, (v, q, o) in enumerate(sorted(ids.loops.values())):
            for s in range(10):
                at = end - timedelta(seconds=30 * s)
                obs += [
                    NewObservation(v, at, 20.0 + (k * 7 + s) % 60),
                    NewObservation(q, at, 600.0),
                    NewObservation(o, at, 12.0),
                ]
        for u, ds in ids.probes.items():  # 200 floating cars, each somewhere every 30 s
            for s in range(10):
                at = end - timedelta(seconds=30 * s)
                seg = segments[(u * 131 + s * 17 + r) % len(segments)]
                obs.append(NewObservation(ds, at, 15.0 + (u + s) % 40, parameters={"segment": seg}))
        for i in range(0, len(obs), 5000):
            with db.transaction() as session:
                store_observations(session, obs[i : i + 5000], principal=DEVICES, origin="bench")
        order = [("row_by_row", legacy_cycle), ("set_based", service.compute_interval)]
        for name, fn in order if r % 2 else order[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            with db.transaction() as session:
                out = fn(session, key, end)
            timed[name]["wall"].append(time.perf_counter() - wall)
            timed[name]["cpu"].append(time.process_time() - cpu)
            tpis[name] = out.get("city")
    db.dispose()

    def summary(xs: list[float]) -> dict[str, float]:
        return {"mean": round(sum(xs) / len(xs), 3), "max": round(max(xs), 3)}

    return {
        "segments": len(net.segments),
        "loop_stations": len(stations),
        "segments_measured": out.get("segments"),
        "observations_per_interval": len(obs),
        "same_city_tpi": tpis.get("set_based") == tpis.get("row_by_row"),
        **{f"{name}_{what}_s": summary(xs) for name, t in timed.items() for what, xs in t.items()},
    }


def _incidents_total(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The incidents of several runs added up (the mean time to detect over every detection)."""
    inc = [r["incidents"] for r in reports]
    injected = sum(i["injected"] for i in inc)
    detected = sum(i["detected"] for i in inc)
    intervals = sum(i["detector_intervals"] for i in inc)
    false_alarms = sum(i["false_alarms"] for i in inc)
    station_hours = sum(i["stations"] * i["hours"] for i in inc)
    km_hours = sum(i["station_km"] * i["hours"] for i in inc)
    times = [t["detected_after_s"] for i in inc for t in i["truth"] if t["detected_after_s"] is not None]
    methods: dict[str, int] = {}
    for i in inc:
        for t in i["truth"]:
            if t["method"]:
                methods[t["method"]] = methods.get(t["method"], 0) + 1
    own = [t["own_segment_after_s"] for i in inc for t in i["truth"] if t.get("own_segment_after_s") is not None]
    return {
        "injected": injected,
        "detected": detected,
        # detections the same alarms would make by chance (incidents moved onto stations far from any)
        "chance_detections": round(sum(i.get("chance_detections") or 0.0 for i in inc), 1),
        # the stricter rule: an alarm on the incident's own segment while it lasts
        "own_segment": {
            "detected": len(own),
            "detection_rate": round(len(own) / injected, 3) if injected else None,
            "mean_time_to_detect_s": round(sum(own) / len(own), 1) if own else None,
            "median_time_to_detect_s": sorted(own)[len(own) // 2] if own else None,
            "within_120_s": sum(1 for t in own if t <= 120),
            "chance_detections": round(sum(i["own_segment"].get("chance_detections") or 0.0 for i in inc), 1),
        },
        "false_alarms": false_alarms,
        "detector_intervals": intervals,
        "device_intervals": sum(i["device_intervals"] for i in inc),
        "false_alarms_per_station_hour": round(false_alarms / station_hours, 4) if station_hours else None,
        "false_alarms_per_km_hour": round(false_alarms / km_hours, 4) if km_hours else None,
        "detection_rate": round(detected / injected, 3) if injected else None,
        "false_alarm_rate": round(false_alarms / max(1, intervals), 5),
        "mean_time_to_detect_s": round(sum(times) / len(times), 1) if times else None,
        "median_time_to_detect_s": sorted(times)[len(times) // 2] if times else None,
        "found_by": methods,
        "missed": [
            {k: t[k] for k in ("edge", "kind", "lanes", "minutes", "pos_share", "start")}
            for i in inc
            for t in i["truth"]
            if t["detected_after_s"] is None
        ],
    }


def main() -> None:
    p = parser(__doc__ or "traffic_realtime")
    p.add_argument("--area", default="central", choices=["tiny", "central", "city"])
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--begin", default="07:30")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--demand", type=float, default=4.0)
    p.add_argument("--incidents-per-hour", type=float, default=8.0)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    p.add_argument("--mqtt", help="publish over this broker instead of the in-process ingest path")
    p.add_argument("--cycle-rounds", type=int, default=4)
    p.add_argument("--cycle-only", action="store_true", help="only the city-wide index cycle")
    p.add_argument("--demand-seeds", default="", help="comma-separated draws of the day (default: the seed)")
    p.add_argument("--no-exit-loops", action="store_true", help="loop stations without the exit cross-section")
    p.add_argument("--no-probe-stops", action="store_true", help="detection without the stopped-probe test")
    p.add_argument("--no-lane-shift", action="store_true", help="detection without the lane-shift test")
    p.add_argument("--camera-range", type=float, default=200.0, help="video stations' view (m); 0 for none")
    p.add_argument("--compare-detection", action="store_true", help="each draw without, then with, the video stations")
    args = p.parse_args()
    if args.quick:
        args.area, args.minutes, args.cycle_rounds = "tiny", 10.0, 0
    from onecity.core.db import Database
    from onecity.core.migrate import upgrade
    from onecity.traffic.runner import RunConfig, run

    load_before = os.getloadavg()
    report: dict[str, Any] = {}
    seeds = [int(x) for x in args.demand_seeds.split(",") if x.strip()] or [args.seed]
    loops = (not args.no_exit_loops, not args.no_probe_stops, not args.no_lane_shift)
    variants = [(*loops, 0.0), (*loops, args.camera_range)] if args.compare_detection else [
        (*loops, args.camera_range)
    ]  # fmt: skip
    runs: dict[tuple[bool, bool, bool, float], list[dict[str, Any]]] = {v: [] for v in variants}
    if not args.cycle_only:
        for demand_seed in seeds:
            for exit_loops, probe_stops, lane_shift, camera_range in variants:
                with database_url(args.backend, "traffic") as url:
                    db = Database(url)
                    upgrade(db)
                    cfg = RunConfig(
                        area=args.area,
                        seed=args.seed,
                        demand_seed=demand_seed,
                        minutes=args.minutes,
                        begin=args.begin,
                        incidents_per_hour=args.incidents_per_hour,
                        trips_per_km_hour=args.demand,
                        mqtt_url=args.mqtt,
                        exit_loops=exit_loops,
                        probe_stops=probe_stops,
                        lane_shift=lane_shift,
                        camera_range_m=camera_range,
                    )
                    log(
                        f"running the {args.area} area for {args.minutes} simulated minutes from {args.begin} "
                        f"(draw {demand_seed}, exit loops {exit_loops}, probe stops {probe_stops}, "
                        f"lane shift {lane_shift}, cameras {camera_range} m)…"
                    )
                    report = run(db, cfg, progress=log)
                    runs[(exit_loops, probe_stops, lane_shift, camera_range)].append(report)
                    db.dispose()
    cycle: dict[str, Any] = {}
    if args.cycle_rounds:
        with database_url(args.backend, "traffic_city") as url:
            log("timing the city-wide index cycle…")
            cycle = city_cycle(url, args.cycle_rounds)
    chain = {
        "network": report["network"],
        "realtime_factor": report["realtime_factor"],
        "wall_s": report["wall_s"],
        "timings_s": report["timings_s"],
        "cpu_s": report["cpu_s"],
        "realtime_factor_cpu": report["realtime_factor_cpu"],
        "video_cpu_s": report["video_cpu_s"],
        "vehicles": report["vehicles"],
        "observations": report["observations"],
        "index_cycle_s": report["index_cycle_s"],
        "tpi_city_last": report["tpi"]["city"][-3:],
        "incidents": _incidents_total(runs[variants[-1]]),
        "realtime_factor_runs": [r["realtime_factor"] for v in variants for r in runs[v]],
    } if report else {}  # fmt: skip
    if report and args.compare_detection:
        chain["incidents_before"] = _incidents_total(runs[variants[0]])
    emit(
        "traffic_realtime",
        {k: v for k, v in vars(args).items() if k != "quick"} | {"quick": args.quick},
        {
            **chain,
            "city_index_cycle": cycle,
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
            },
        },
        baseline={"goal_realtime_factor": 10.0, "goal_city_cycle_s": 1.0},
    )


if __name__ == "__main__":
    main()
