"""One traffic run: simulate → sense (MQTT or the ingest path) → detect incidents → index, scored against the truth.

Every 30 simulated seconds the loop stations' and probes' readings are published as
SensorThings Observations and stored by the platform's ingest; the incident detection then
reads that interval's stored readings; every 5 minutes the state and the index are computed
from the stored readings (:func:`onecity.traffic.service.compute_interval`). Detected
incidents go through the service (events → urban operations' cases; delivered in-process
when no server relays the outbox).

The report compares what the platform found with what the simulation injected, and says
how much faster than real time the whole chain ran (``realtime_factor``: simulated seconds
per wall-clock second, all of it counted: SUMO, publishing, storing, detecting, indexing).
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from onecity.core import clock
from onecity.core.bus import consumers
from onecity.core.db import Database
from onecity.sensing.models import Observation
from onecity.traffic import service
from onecity.traffic.demand import build_demand
from onecity.traffic.detection import IncidentDetector, ProbeFix, Reading
from onecity.traffic.feed import DetectorIds, Feed, IngestFeed, MqttFeed, observations, register_detectors
from onecity.traffic.models import Segment
from onecity.traffic.network import EXPRESSWAY, Network, load_network
from onecity.traffic.simulation import LOOP_PERIOD_S, InjectedIncident, Simulation, choose_stations

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A Tuesday: the weekday the profile describes.
DEFAULT_DAY = date(2026, 12, 1)


@dataclass
class RunConfig:
    area: str = "central"
    #: the network's seed
    seed: int = 1
    #: the day's draw of trips and incidents (default: the network's seed)
    demand_seed: int | None = None
    minutes: float = 60.0
    begin: str = "07:30"
    day: date = DEFAULT_DAY
    incidents_per_hour: float = 6.0
    trips_per_km_hour: float = 4.0
    probe_share: float = 0.05
    probe_units: int = 200
    adaptive: bool = False
    #: the loop stations' second cross-section near each segment's end
    exit_loops: bool = True
    #: the detection watches for floating cars stopped mid-block
    probe_stops: bool = True
    #: the detection's lane-shift test (a lane carrying under half its usual share)
    lane_shift: bool = True
    #: video stations on the loop stations' segments, seeing this far before each segment's end
    #: (expressways: all of it); 0 for none
    camera_range_m: float = 200.0
    mqtt_url: str | None = None
    use_traci: bool = False
    deliver_events: bool = True
    root: Path | None = None
    residents: dict[str, float] | None = None
    jobs: dict[str, float] | None = None

    @property
    def begin_s(self) -> float:
        h, m = self.begin.split(":")
        return int(h) * 3600 + int(m) * 60


@dataclass
class _Alarm:
    edge: str
    opened_s: float
    incident_id: str
    cleared_s: float | None = None
    method: str = ""


@dataclass
class RunState:
    """What a run keeps between its steps (the demo advances one in pieces)."""

    cfg: RunConfig
    network: Network
    key: str
    sim: Simulation
    feed: Feed
    ids: DetectorIds
    detector: IncidentDetector
    upstream: dict[str, list[str]]
    day_start: datetime
    worker: Any = None
    alarms: list[_Alarm] = field(default_factory=list)
    open_alarms: dict[str, _Alarm] = field(default_factory=dict)
    tpi_city: list[dict[str, Any]] = field(default_factory=list)
    tpi_districts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    #: the same stages in this process's CPU seconds (libsumo and SQLite run in it): on a shared
    #: machine the wall clock mostly measures the neighbours
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    index_cycle_s: list[float] = field(default_factory=list)


def day_start(day: date) -> datetime:
    return datetime.combine(day, dtime(0, 0), tzinfo=SHANGHAI)


def _station_graph(network: Network, stations: set[str]) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Each station's next station downstream on its road (≤ 3 segments on), and the reverse."""
    by_from: dict[str, list[str]] = defaultdict(list)
    for s in network.segments.values():
        by_from[s.from_node].append(s.id)
    down: dict[str, str | None] = {}
    for e in sorted(stations):
        seg = network.segments[e]
        frontier, found = [e], None
        for _hop in range(3):
            nxt = []
            for f in frontier:
                fs = network.segments[f]
                nxt += [n for n in by_from[fs.to_node] if network.segments[n].road == seg.road and n != fs.reverse]
            hit = [n for n in nxt if n in stations]
            if hit:
                found = sorted(hit)[0]
                break
            frontier = nxt
        down[e] = found
    up: dict[str, list[str]] = defaultdict(list)
    for e, d in down.items():
        if d:
            up[d].append(e)
    return down, up


def start_run(db: Database, cfg: RunConfig) -> RunState:
    network = load_network(cfg.area, cfg.seed, cfg.root)
    stations = choose_stations(network, exits=cfg.exit_loops)
    with db.transaction() as session:
        key = service.install_network(session, network)
        ids = register_detectors(session, key, network, stations, cfg.probe_units, cameras=cfg.camera_range_m > 0)
    demand = build_demand(network, trips_per_km_hour=cfg.trips_per_km_hour, residents=cfg.residents, jobs=cfg.jobs)
    sim = Simulation(
        network,
        demand,
        seed=cfg.seed if cfg.demand_seed is None else cfg.demand_seed,
        begin_s=cfg.begin_s,
        end_s=cfg.begin_s + cfg.minutes * 60,
        stations=stations,
        probe_share=cfg.probe_share,
        probe_units=cfg.probe_units,
        incidents_per_hour=cfg.incidents_per_hour,
        adaptive=cfg.adaptive,
        use_traci=cfg.use_traci,
        camera_range_m=cfg.camera_range_m if ids.cameras else 0.0,
    )
    worker = None
    feed: Feed
    if cfg.mqtt_url:
        from onecity.sensing.mqtt import IngestWorker

        # a share group of its own: it stores exactly what this run publishes (a platform worker in
        # the usual group may store the same messages too; the dedup key makes that harmless)
        tag = f"traffic-{os.getpid()}-{cfg.area}-{cfg.seed}"
        worker = IngestWorker(db, cfg.mqtt_url, worker_id=tag, group=tag, flush_seconds=0.02, session_expiry=30)
        worker.start()
        threading.Thread(target=worker.run, kwargs={"silence_every": 1e9}, daemon=True).start()
        st = worker.stats
        feed = MqttFeed(
            cfg.mqtt_url,
            client_id=f"onecity-{tag}",
            stored=lambda: st.stored + st.duplicates + st.rejected,
        )
    else:
        feed = IngestFeed(db)
    names = {st.edge_id for st in stations}
    down, up = _station_graph(network, names)
    detector = IncidentDetector(
        {
            e: (down[e], network.segments[e].speed_kmh, network.segments[e].road_class == EXPRESSWAY)
            for e in sorted(names)
        },
        {e: network.segments[e].length_m for e in names},
    )
    detector.lane_shift = cfg.lane_shift
    sim.start()
    return RunState(cfg, network, key, sim, feed, ids, detector, up, day_start(cfg.day), worker)


def _at(state: RunState, t: float) -> datetime:
    return state.day_start + timedelta(seconds=t)


def _read_interval(
    db: Database, state: RunState, t: float
) -> tuple[dict[str, Reading], dict[str, list[float]], list[ProbeFix]]:
    """The interval's loop readings, the last minute's probe speeds and the probes' latest fixes, as the
    platform stored them."""
    loops_by_ds: dict[int, tuple[str, int]] = {}
    for edge, (ds_v, ds_q, ds_o) in state.ids.loops.items():
        loops_by_ds[ds_v], loops_by_ds[ds_q], loops_by_ds[ds_o] = (edge, 0), (edge, 1), (edge, 2)
    end = _at(state, t)
    values: dict[str, list[float | None]] = defaultdict(lambda: [None, 0.0, 0.0])
    lanes: dict[str, tuple[int, ...]] = {}
    exit_lanes: dict[str, tuple[int, ...]] = {}
    probes: dict[str, list[float]] = defaultdict(list)
    fixes: list[ProbeFix] = []
    camera_of = {ds: edge for edge, ds in state.ids.cameras.items()}
    stopped: dict[str, tuple[tuple[int, float, int], ...]] = {}
    ids = list(loops_by_ds) + list(camera_of)
    unit_of = {ds: unit for unit, ds in state.ids.probes.items()}
    probe_ids = list(unit_of)
    reports: list[tuple[Any, int, str, float, float]] = []
    with db.sessions() as session:
        for i in range(0, len(ids), 5000):
            for ds, v, params in session.execute(
                select(Observation.datastream_id, Observation.result_number, Observation.parameters).where(
                    Observation.datastream_id.in_(ids[i : i + 5000]),
                    Observation.phenomenon_time > end - timedelta(seconds=LOOP_PERIOD_S - 1),
                    Observation.phenomenon_time <= end,
                )
            ):
                if ds in camera_of:
                    seen = params.get("stopped") if isinstance(params, dict) else None
                    stopped[camera_of[ds]] = tuple(
                        (int(x[0]), float(x[1]), int(x[2])) for x in seen or [] if isinstance(x, list) and len(x) == 3
                    )
                    continue
                edge, k = loops_by_ds[ds]
                values[edge][k] = v
                if k == 1 and isinstance(params, dict) and isinstance(params.get("lanes"), list):
                    lanes[edge] = tuple(int(n) for n in params["lanes"])
                    if isinstance(params.get("exit_lanes"), list):
                        exit_lanes[edge] = tuple(int(n) for n in params["exit_lanes"])
        for i in range(0, len(probe_ids), 5000):
            for ds, at, v, params in session.execute(
                select(
                    Observation.datastream_id, Observation.phenomenon_time, Observation.result_number,
                    Observation.parameters,
                ).where(
                    Observation.datastream_id.in_(probe_ids[i : i + 5000]),
                    Observation.phenomenon_time > end - timedelta(seconds=60),
                    Observation.phenomenon_time <= end,
                )
            ):  # fmt: skip
                if v is not None and params and isinstance(params.get("segment"), str):
                    probes[params["segment"]].append(float(v))
                    pos = params.get("pos")
                    if isinstance(pos, int | float):
                        reports.append((at, unit_of[ds], params["segment"], float(pos), float(v)))
    if reports:  # the fixes of the interval's last report (the earlier ones were the last interval's)
        last = max(r[0] for r in reports)
        fixes = [ProbeFix(u, seg, pos, v) for at, u, seg, pos, v in reports if at == last]
    loops = {
        e: Reading(
            v[0], float(v[1] or 0.0), float(v[2] or 0.0), lanes.get(e, ()), exit_lanes.get(e, ()), stopped.get(e)
        )
        for e, v in values.items()
    }
    for e, seen in stopped.items():  # a camera's report without its loops' (they lost the interval)
        loops.setdefault(e, Reading(None, 0.0, 0.0, stopped=seen))
    return loops, probes, fixes


def advance(db: Database, state: RunState, until_s: float, progress: Callable[[str], None] | None = None) -> None:
    """Run the chain up to simulated second ``until_s`` (of the day)."""
    sim = state.sim
    tm, cpu = state.timings, state.cpu
    while sim.t < until_s:
        target = min(until_s, (int(sim.t) // LOOP_PERIOD_S + 1) * LOOP_PERIOD_S)
        got_loops: list[Any] = []
        got_probes: list[Any] = []
        got_video: list[Any] = []
        t0, c0 = time.perf_counter(), time.process_time()
        sim.step_until(target, got_loops.extend, got_probes.extend, got_video.extend)
        t1, c1 = time.perf_counter(), time.process_time()
        tm["simulate_s"] += t1 - t0
        cpu["simulate_s"] += c1 - c0
        obs = observations(state.ids, state.day_start, got_loops, got_probes, got_video)
        state.feed.send(obs)
        state.feed.flush()
        t2, c2 = time.perf_counter(), time.process_time()
        tm["ingest_s"] += t2 - t1
        cpu["ingest_s"] += c2 - c1
        if int(sim.t) % LOOP_PERIOD_S == 0 and got_loops:
            _detect(db, state)
        t3, c3 = time.perf_counter(), time.process_time()
        tm["detect_s"] += t3 - t2
        cpu["detect_s"] += c3 - c2
        if int(sim.t) % 300 == 0:
            at = _at(state, sim.t)
            c0 = time.perf_counter()
            with clock.frozen(at), db.transaction() as session:
                out = service.compute_interval(session, state.key, at)
            state.index_cycle_s.append(time.perf_counter() - c0)
            if "city" in out:
                state.tpi_city.append({"at": f"{clock.local(at):%H:%M}", "tpi": out["city"]})
            for code, v in out["districts"].items():
                state.tpi_districts[code].append(v)
            if progress is not None:
                progress(
                    f"{clock.local(at):%H:%M}  vehicles {sim.vehicles()}  TPI {out.get('city', '-')}  "
                    f"incidents open {len(state.open_alarms)}"
                )
        tm["index_s"] += time.perf_counter() - t3
        cpu["index_s"] += time.process_time() - c3


def _detect(db: Database, state: RunState) -> None:
    t = state.sim.t
    loops, probes, fixes = _read_interval(db, state, t)
    actions = state.detector.step(loops, probes, fixes if state.cfg.probe_stops else None)
    if not actions:
        return
    at = _at(state, t)
    with clock.frozen(at), db.transaction() as session:
        for a in actions:
            if a.kind == "open":
                inc = service.open_incident(
                    session, state.key, a.edge, method=a.method, at=at, speed_kmh=a.speed_kmh, occupancy=a.occupancy
                )
                alarm = _Alarm(a.edge, t, inc.id, method=a.method)
                state.alarms.append(alarm)
                state.open_alarms[a.edge] = alarm
            elif a.kind == "update" and a.edge in state.open_alarms:
                service.update_incident(
                    session, state.open_alarms[a.edge].incident_id, at=at, speed_kmh=a.speed_kmh, occupancy=a.occupancy
                )
            elif a.kind == "clear" and a.edge in state.open_alarms:
                alarm = state.open_alarms.pop(a.edge)
                alarm.cleared_s = t
                service.clear_incident(session, alarm.incident_id, at=at)
    if state.cfg.deliver_events:
        with clock.frozen(at):
            consumers.deliver_pending(db)


def finish(db: Database, state: RunState) -> None:
    state.sim.close()
    state.feed.close()
    if state.worker is not None:
        state.worker.stop()
        state.worker.close(forget=True)


def score(state: RunState) -> dict[str, Any]:
    """Alarms against the injected incidents (an alarm at the incident's segment, the stations up to two
    stations upstream or the next one downstream, from its start to ten minutes after its end, finds it).

    That rule is generous: a neighbourhood of several stations over up to fifty minutes catches false
    alarms too. So the score also says how many incidents the same alarms would "find" by chance
    (``chance_detections``: each incident moved onto every station far from all true incidents), and
    the stricter count of ``own_segment`` (an alarm on the incident's segment while it lasts)."""
    end_s = state.sim.t
    truth = [i for i in state.sim.injected if i.start_s is not None and i.start_s <= end_s - 180]

    def near_of(edge: str) -> set[str]:
        edges = {edge}
        st = state.detector.stations.get(edge)
        if st is not None and st.downstream:
            edges.add(st.downstream)
        frontier = [edge]
        for _hop in range(2):
            frontier = [u for f in frontier for u in state.upstream.get(f, [])]
            edges.update(frontier)
        return edges

    near = {inc.id: near_of(inc.edge_id) for inc in truth}

    def matches(alarm: _Alarm, inc: InjectedIncident) -> bool:
        assert inc.start_s is not None
        stop = (inc.end_s if inc.end_s is not None else end_s) + 600
        return alarm.edge in near[inc.id] and inc.start_s <= alarm.opened_s <= stop

    detected = []
    false_alarms = 0
    for alarm in state.alarms:
        if not any(matches(alarm, inc) for inc in truth):
            false_alarms += 1
    found: dict[str, tuple[float, str]] = {}
    for inc in truth:
        hits = sorted((a.opened_s, a.method) for a in state.alarms if matches(a, inc))
        if hits:
            assert inc.start_s is not None
            detected.append(hits[0][0] - inc.start_s)
            found[inc.id] = (hits[0][0] - inc.start_s, hits[0][1])
    n = len(truth)
    intervals = max(1, state.detector.intervals)
    # the stricter rule: an alarm on the incident's own segment while it lasts (and a minute after)
    own: dict[str, float] = {}
    for inc in truth:
        assert inc.start_s is not None
        stop = (inc.end_s if inc.end_s is not None else end_s) + 60
        own_hits = [a.opened_s for a in state.alarms if a.edge == inc.edge_id and inc.start_s <= a.opened_s <= stop]
        if own_hits:
            own[inc.id] = min(own_hits) - inc.start_s
    # what chance alone finds: the same incidents moved onto every station whose neighbourhood no true
    # incident touches, matched against the same alarms (which are false alarms there)
    busy = set().union(*near.values()) if near else set()
    lengths = state.network.segments
    others = [e for e in state.detector.stations if not (near_of(e) & busy) and lengths[e].length_m >= 200]
    by_chance = by_chance_own = 0.0
    for inc in truth:
        assert inc.start_s is not None
        end = inc.end_s if inc.end_s is not None else end_s
        for e in others:
            ne = near_of(e)
            by_chance += any(a.edge in ne and inc.start_s <= a.opened_s <= end + 600 for a in state.alarms)
            by_chance_own += any(a.edge == e and inc.start_s <= a.opened_s <= end + 60 for a in state.alarms)
    chance = round(by_chance / len(others), 2) if others else None
    chance_own = round(by_chance_own / len(others), 2) if others else None
    hours = max(1e-9, (end_s - state.cfg.begin_s) / 3600.0)
    km = sum(lengths[e].length_m for e in state.detector.stations) / 1000.0
    return {
        "injected": n,
        "detected": len(detected),
        "false_alarms": false_alarms,
        "alarms": len(state.alarms),
        #: station-intervals: each loop station's 30-s interval, the unit an alarm is raised on
        "detector_intervals": intervals,
        #: the same counted per device (a station's loops, and its video station when it has one)
        "device_intervals": state.detector.device_intervals,
        "stations": len(state.detector.stations),
        "station_km": round(km, 2),
        "hours": round(hours, 3),
        "false_alarms_per_station_hour": round(false_alarms / (len(state.detector.stations) * hours), 4)
        if state.detector.stations
        else None,
        "false_alarms_per_km_hour": round(false_alarms / (km * hours), 4) if km else None,
        "detection_rate": round(len(detected) / n, 3) if n else None,
        "false_alarm_rate": round(false_alarms / intervals, 5),
        "mean_time_to_detect_s": round(sum(detected) / len(detected), 1) if detected else None,
        #: detections to expect from the false alarms alone under the same rule
        "chance_detections": chance,
        "own_segment": {
            "detected": len(own),
            "mean_time_to_detect_s": round(sum(own.values()) / len(own), 1) if own else None,
            "chance_detections": chance_own,
        },
        "truth": [
            {
                "edge": i.edge_id,
                "kind": i.kind,
                "lanes": len(i.lanes),
                "start": f"{clock.local(_at(state, i.start_s)):%H:%M:%S}" if i.start_s is not None else None,
                "minutes": round(i.duration_s / 60, 1),
                "pos_share": round(i.pos_m / state.network.segments[i.edge_id].length_m, 2),
                "detected_after_s": found[i.id][0] if i.id in found else None,
                "method": found[i.id][1] if i.id in found else None,
                "own_segment_after_s": own.get(i.id),
            }
            for i in truth
        ],
    }


def report(state: RunState, wall_s: float) -> dict[str, Any]:
    sim_s = state.sim.t - state.cfg.begin_s
    cycles = state.index_cycle_s
    return {
        "network": {
            "area": state.network.area,
            "seed": state.network.seed,
            "segments": len(state.network.segments),
            "km": round(state.network.km, 1),
            "signals": len(state.network.signals),
            "loop_stations": len(state.ids.loops),
            "probe_units": len(state.ids.probes),
        },
        "simulated_minutes": round(sim_s / 60, 1),
        "wall_s": round(wall_s, 1),
        "realtime_factor": round(sim_s / wall_s, 2) if wall_s > 0 else None,
        "vehicles": {"departed": state.sim.departed, "arrived": state.sim.arrived, "teleports": state.sim.teleports},
        "observations": state.feed.sent,
        "sensing": "mqtt" if state.cfg.mqtt_url else "ingest",
        "timings_s": {k: round(v, 2) for k, v in state.timings.items()},
        "cpu_s": {k: round(v, 2) for k, v in state.cpu.items()},
        "realtime_factor_cpu": round(sim_s / cpu_total, 2) if (cpu_total := sum(state.cpu.values())) > 0 else None,
        #: of ``cpu_s.simulate_s``: the video stations' tracking (reading every vehicle in view)
        "video_cpu_s": round(state.sim.video_cpu_s, 2),
        "index_cycle_s": {"mean": round(sum(cycles) / len(cycles), 3), "max": round(max(cycles), 3)} if cycles else {},
        "tpi": {
            "city": state.tpi_city,
            "districts": {k: round(sum(v) / len(v), 2) for k, v in sorted(state.tpi_districts.items())},
        },
        "incidents": score(state),
    }


def run(db: Database, cfg: RunConfig, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build (if needed) and load the network, run ``cfg.minutes`` and return the report."""
    state = start_run(db, cfg)
    t0 = time.perf_counter()
    try:
        advance(db, state, cfg.begin_s + cfg.minutes * 60, progress)
    finally:
        wall = time.perf_counter() - t0
        finish(db, state)
    return report(state, wall)


def segments_of(db: Database, key: str) -> list[Segment]:
    with db.sessions() as session:
        return list(session.scalars(select(Segment).where(Segment.network == key)))
