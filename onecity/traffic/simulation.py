"""The ground truth: SUMO driving the demand over the network, with incidents, loops, probes and signals.

One :class:`Simulation` is one SUMO run, in-process through ``libsumo`` (the embedded demo,
the benches) or in a separate ``sumo`` process through TraCI (``use_traci``; the same
calls). It is advanced in steps of one simulated second and yields what the field devices
would report:

* **loop stations** — SUMO induction loops across every lane of a segment (expressway
  segments, and arterial approaches to signals), aggregated over their 30 s period into the
  station's mean speed (km/h), flow (veh/h) and occupancy (%);
* **probes** — a share of the vehicles (floating cars: taxis' and ride-hailing units) each
  reporting its position, segment and speed every 30 s;
* **video stations** (``cameras``) — the traffic cameras of a segment's last ``camera_range_m``
  metres (the signal's own camera at an arterial approach; on an expressway heads every
  ``camera_range_m`` along the whole segment) running video incident detection: they track every
  vehicle in view lane by lane and report, every 30 s, the ones that have stood still (moved
  under 5 m since the last report), with their lane, place and how long they have stood.

Incidents are injected at random on detector-equipped segments, in proportion to the traffic on
them when they happen (exposure): a stopped vehicle (one lane,
10–20 min), a lane closure (one or two lanes, 20–40 min) or a crash (all lanes but one,
10–40 min). Each is a stopped "blocker" vehicle per closed lane, so the traffic behind it
really queues and changes lane; start and end are recorded as the ground truth the detection
is scored against.

Signals run netconvert's fixed-time plan, or **max-pressure** control (Varaiya 2013): every
decision interval each light picks the green phase whose movements have the largest
pressure (vehicles waiting on the incoming lane minus vehicles on the outgoing lane), after a
minimum green and through the plan's own yellow.
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onecity.traffic.demand import Demand, write_trips
from onecity.traffic.network import EXPRESSWAY, Network, Segment, sumo_binary, to_lonlat

LOOP_PERIOD_S = 30
#: a camera's track that moved less than this between two reports has stood still
STILL_M = 5.0
PROBE_EVERY_S = 30
MIN_GREEN_S = 10
DECIDE_EVERY_S = 5


@dataclass(frozen=True)
class Station:
    """A loop station: one induction loop per lane across a segment at ``pos_m``, and (``exit_pos_m``)
    a second cross-section near the segment's end whose loops only count the vehicles lane by lane."""

    edge_id: str
    pos_m: float
    lanes: int
    exit_pos_m: float | None = None

    def loop_ids(self) -> list[str]:
        return [f"L{self.edge_id}_{i}" for i in range(self.lanes)]

    def exit_loop_ids(self) -> list[str]:
        return [f"X{self.edge_id}_{i}" for i in range(self.lanes)] if self.exit_pos_m is not None else []


@dataclass(frozen=True)
class LoopReading:
    edge_id: str
    t: float
    speed_kmh: float | None  # None: no vehicle passed in the interval
    flow_vph: float
    occupancy: float
    #: vehicles over each lane's loop in the interval, lane 0 (the kerb) first
    lanes: tuple[int, ...] = ()
    #: the same at the exit cross-section near the segment's end
    exit_lanes: tuple[int, ...] = ()


@dataclass(frozen=True)
class VideoReading:
    """A video station's report: the vehicles standing in view, each (lane, metres along the
    segment, seconds it has stood), kerb lane 0; ``covers_from_m``: where the view begins."""

    edge_id: str
    t: float
    stopped: tuple[tuple[int, float, int], ...]
    covers_from_m: float


@dataclass(frozen=True)
class ProbeReading:
    unit: int
    t: float
    edge_id: str
    speed_kmh: float
    lon: float
    lat: float
    #: metres along the segment from its start (what map-matching a fix gives)
    pos_m: float = 0.0


@dataclass
class InjectedIncident:
    id: str
    edge_id: str
    kind: str
    lanes: list[int]
    pos_m: float
    planned_s: float
    duration_s: float
    start_s: float | None = None
    end_s: float | None = None


#: the exit cross-section: this far before the segment's end (past where anything blocks a lane
#: mid-block, before the junction's own lane choice)
EXIT_BEFORE_END_M = 25.0


def choose_stations(network: Network, exits: bool = True) -> list[Station]:
    """Expressway segments and arterial approaches to signals long enough for a loop; each with an exit
    cross-section near its end (``exits``) when the segment leaves room for one past the main loops."""
    out = []
    for s in sorted(network.segments.values(), key=lambda s: s.id):
        if s.length_m < 120:
            continue
        share = 0.3 if s.road_class == EXPRESSWAY else 0.5
        if s.road_class == EXPRESSWAY or (s.road_class == "arterial" and s.signalised):
            pos = round(share * s.length_m, 1)
            exit_pos = round(s.length_m - EXIT_BEFORE_END_M, 1)
            out.append(Station(s.id, pos, s.lanes, exit_pos if exits and exit_pos - pos >= 40 else None))
    return out


def write_detectors(stations: list[Station], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("<additional>\n")
        for st in stations:
            for i, lid in enumerate(st.loop_ids()):
                fh.write(
                    f'  <inductionLoop id="{lid}" lane="{st.edge_id}_{i}" pos="{st.pos_m}" '
                    f'period="{LOOP_PERIOD_S}" file="NUL"/>\n'
                )
            for i, lid in enumerate(st.exit_loop_ids()):
                fh.write(
                    f'  <inductionLoop id="{lid}" lane="{st.edge_id}_{i}" pos="{st.exit_pos_m}" '
                    f'period="{LOOP_PERIOD_S}" file="NUL"/>\n'
                )
        fh.write('  <vType id="blocker" length="8" color="1,0,0" maxSpeed="1"/>\n')
        fh.write("</additional>\n")


@dataclass
class Simulation:
    network: Network
    demand: Demand
    seed: int
    begin_s: float
    end_s: float
    stations: list[Station] = field(default_factory=list)
    probe_share: float = 0.05
    probe_units: int = 200
    incidents_per_hour: float = 0.0
    adaptive: bool = False
    use_traci: bool = False
    workdir: Path | None = None
    tripinfo: bool = False
    #: segments incidents may be put on (default: the stations' segments)
    incident_edges: list[str] | None = None
    #: video stations on the stations' segments, each seeing this far before the segment's end
    #: (expressways: all of it); 0 for none
    camera_range_m: float = 0.0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed + 7919)
        self.t = self.begin_s
        self.injected: list[InjectedIncident] = []
        self._pending: list[InjectedIncident] = []
        self._incident_edges: list[str] = []
        self._active: dict[str, InjectedIncident] = {}
        self._probes: dict[str, int] = {}
        self._free_units = list(range(self.probe_units))
        self._tls: dict[str, _MaxPressure] = {}
        self.arrived = 0
        self.departed = 0
        self.teleports = 0
        self.waiting_inserts = 0
        self._api: Any = None
        self.stats: dict[str, float] = {}
        # the cameras' tracks: vehicle -> (lane, position, seconds seen standing there)
        self._tracks: dict[str, tuple[str, float, int]] = {}
        #: CPU seconds the cameras' tracking took (part of the simulation's own)
        self.video_cpu_s = 0.0

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> None:
        wd = self.workdir or self.network.directory
        wd.mkdir(parents=True, exist_ok=True)
        tag = f"{self.seed}-{int(self.begin_s)}-{int(self.end_s)}-{'a' if self.adaptive else 'f'}"
        trips = wd / f"trips-{tag}.xml"
        write_trips(self.demand, trips, self.begin_s, self.end_s, self.seed)
        det = wd / f"detectors-{tag}.add.xml"
        write_detectors(self.stations, det)
        self.tripinfo_file = wd / f"tripinfo-{tag}.xml"
        args = [
            "--net-file", str(self.network.net_file),
            "--route-files", str(trips),
            "--additional-files", str(det),
            "--begin", str(int(self.begin_s)),
            "--end", str(int(self.end_s) + 3600),
            "--step-length", "1",
            "--seed", str(self.seed),
            "--no-step-log", "true",
            "--no-warnings", "true",
            "--time-to-teleport", "300",
            "--ignore-route-errors", "true",
            "--max-depart-delay", "900",
        ]  # fmt: skip
        if self.tripinfo:
            args += ["--tripinfo-output", str(self.tripinfo_file)]
        if self.use_traci:
            import traci

            traci.start([sumo_binary("sumo"), *args], label=f"onecity-{id(self)}")
            self._api = traci.getConnection(f"onecity-{id(self)}")
        else:
            import libsumo

            libsumo.start([sumo_binary("sumo"), *args])
            self._api = libsumo
        self._plan_incidents()
        if self.adaptive:
            for tl in self._api.trafficlight.getIDList():
                self._tls[tl] = _MaxPressure(self._api, tl)

    def close(self) -> None:
        if self._api is not None:
            try:
                self._api.close()
            finally:
                self._api = None

    def __enter__(self) -> Simulation:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- incidents ------------------------------------------------------------------------------

    def _plan_incidents(self) -> None:
        """Draw the incidents' times, kinds and durations now; their places when they happen.

        Crashes and breakdowns happen where the vehicles are (their rate is per vehicle-kilometre),
        so the segment is drawn at the incident's start among the candidates, weighted by the
        vehicles on each at that moment: a segment nobody drives on gets none, and an incident is
        never put where it cannot touch the traffic the detectors see."""
        edges = self.incident_edges if self.incident_edges is not None else [s.edge_id for s in self.stations]
        self._incident_edges = sorted(e for e in edges if self.network.segments[e].length_m >= 200)
        if not self._incident_edges or self.incidents_per_hour <= 0:
            return
        hours = (self.end_s - self.begin_s) / 3600.0
        n = int(self.rng.poisson(self.incidents_per_hour * hours))
        times = np.sort(self.rng.uniform(self.begin_s + 600, max(self.begin_s + 601, self.end_s - 600), n))
        for k, t in enumerate(times):
            kind = str(self.rng.choice(["stopped_vehicle", "lane_closure", "crash"]))
            low, high = {"stopped_vehicle": (600, 1200), "lane_closure": (1200, 2400)}.get(kind, (600, 2400))
            # the position is kept as a share of the segment until the segment is drawn
            share = float(self.rng.uniform(0.6, 0.85))
            self._pending.append(
                InjectedIncident(
                    f"inc{self.seed}-{k}", "", kind, [], share, float(t), float(self.rng.uniform(low, high))
                )
            )

    def _place(self, inc: InjectedIncident) -> bool:
        """Choose the segment (by exposure), lanes and position of a planned incident; False if none fits."""
        busy = {i.edge_id for i in self._active.values()}
        cands = [e for e in self._incident_edges if e not in busy]
        weights = np.asarray([float(self._api.edge.getLastStepVehicleNumber(e)) for e in cands])
        if not cands or weights.sum() <= 0:
            return False
        seg = self.network.segments[cands[int(self.rng.choice(len(cands), p=weights / weights.sum()))]]
        if inc.kind == "stopped_vehicle":
            lanes = 1
        elif inc.kind == "lane_closure":
            lanes = max(1, min(seg.lanes - 1, int(self.rng.integers(1, 3))))
        else:
            lanes = max(1, seg.lanes - 1)
        first = int(self.rng.integers(0, seg.lanes - lanes + 1))
        inc.edge_id, inc.lanes, inc.pos_m = seg.id, list(range(first, first + lanes)), inc.pos_m * seg.length_m
        return True

    def inject(
        self,
        edge_id: str,
        *,
        lanes: int | None = None,
        duration_s: float = 900.0,
        kind: str = "crash",
        pos_m: float | None = None,
    ) -> InjectedIncident:
        """Block ``lanes`` lanes (all of them by default) of a segment from now on: an incident of one's choosing."""
        seg = self.network.segments[edge_id]
        n = seg.lanes if lanes is None else max(1, min(lanes, seg.lanes))
        inc = InjectedIncident(
            f"inc{self.seed}-x{len(self.injected)}",
            edge_id,
            kind,
            list(range(n)),
            0.75 * seg.length_m if pos_m is None else min(pos_m, seg.length_m - 5),
            self.t,
            duration_s,
        )
        self.injected.append(inc)
        self._start_incident(inc)
        return inc

    def _start_incident(self, inc: InjectedIncident) -> None:
        api = self._api
        rid = f"blk_{inc.id}"
        api.route.add(rid, [inc.edge_id])
        for lane in inc.lanes:
            vid = f"{rid}_{lane}"
            api.vehicle.add(
                vid, rid, typeID="blocker", depart="now", departLane=str(lane), departPos=str(round(inc.pos_m, 1)),
                departSpeed="0",
            )  # fmt: skip
            api.vehicle.setStop(
                vid,
                inc.edge_id,
                pos=min(inc.pos_m + 2.0, self.network.segments[inc.edge_id].length_m - 1),
                laneIndex=lane,
                duration=inc.duration_s,
            )
        inc.start_s = self.t
        self._active[inc.id] = inc

    def _check_incidents(self) -> None:
        while self._pending and self._pending[0].planned_s <= self.t:
            inc = self._pending.pop(0)
            if self._place(inc):
                self.injected.append(inc)
                self._start_incident(inc)
        for iid, inc in list(self._active.items()):
            assert inc.start_s is not None
            if self.t >= inc.start_s + inc.duration_s:
                inc.end_s = self.t
                del self._active[iid]

    # -- stepping -------------------------------------------------------------------------------

    def step_until(
        self,
        until_s: float,
        on_loops: Callable[[list[LoopReading]], None],
        on_probes: Callable[[list[ProbeReading]], None],
        on_video: Callable[[list[VideoReading]], None] | None = None,
    ) -> None:
        api = self._api
        while self.t < until_s:
            self._check_incidents()
            api.simulationStep()
            self.t = float(api.simulation.getTime())
            for vid in api.simulation.getDepartedIDList():
                self.departed += 1
                if self._free_units and (hash_share(vid) < self.probe_share) and not vid.startswith("blk_"):
                    self._probes[vid] = self._free_units.pop()
            for vid in api.simulation.getArrivedIDList():
                if not vid.startswith("blk_"):
                    self.arrived += 1
                unit = self._probes.pop(vid, None)
                if unit is not None:
                    self._free_units.append(unit)
            self.teleports += api.simulation.getStartingTeleportNumber()
            if self._tls and int(self.t) % DECIDE_EVERY_S == 0:
                for ctl in self._tls.values():
                    ctl.decide(self.t)
            if int(self.t) % LOOP_PERIOD_S == 0 and self.stations:
                on_loops(self._read_loops())
            if int(self.t) % PROBE_EVERY_S == 0 and self._probes:
                on_probes(self._read_probes())
            if int(self.t) % LOOP_PERIOD_S == 0 and self.camera_range_m > 0 and self.stations:
                c0 = time.process_time()
                video = self._read_video()
                self.video_cpu_s += time.process_time() - c0
                if on_video is not None:
                    on_video(video)

    def _read_loops(self) -> list[LoopReading]:
        il = self._api.inductionloop
        out = []
        for st in self.stations:
            veh = 0
            speed_sum = occ_sum = 0.0
            counts = []
            for lid in st.loop_ids():
                n = int(il.getLastIntervalVehicleNumber(lid))
                counts.append(n)
                occ_sum += float(il.getLastIntervalOccupancy(lid))
                if n > 0:
                    veh += n
                    speed_sum += n * float(il.getLastIntervalMeanSpeed(lid))
            out.append(
                LoopReading(
                    st.edge_id,
                    self.t,
                    round(speed_sum / veh * 3.6, 2) if veh else None,
                    round(veh * 3600.0 / LOOP_PERIOD_S, 1),
                    round(occ_sum / st.lanes, 2),
                    tuple(counts),
                    tuple(int(il.getLastIntervalVehicleNumber(lid)) for lid in st.exit_loop_ids()),
                )
            )
        return out

    def camera_view(self, st: Station) -> float:
        """Where a station's cameras begin to see (m from the segment's start)."""
        seg = self.network.segments[st.edge_id]
        if seg.road_class == EXPRESSWAY:
            return 0.0
        return max(0.0, seg.length_m - self.camera_range_m)

    def _read_video(self) -> list[VideoReading]:
        """Every video station's tracks of this report: the vehicles that stood since the last one."""
        lane_api, veh = self._api.lane, self._api.vehicle
        tracks: dict[str, tuple[str, float, int]] = {}
        out = []
        for st in self.stations:
            start = self.camera_view(st)
            stopped = []
            for i in range(st.lanes):
                lane = f"{st.edge_id}_{i}"
                for vid in lane_api.getLastStepVehicleIDs(lane):
                    pos = float(veh.getLanePosition(vid))
                    if pos < start:
                        continue
                    before = self._tracks.get(vid)
                    still = 0
                    if before is not None and before[0] == lane and abs(before[1] - pos) < STILL_M:
                        still = before[2] + LOOP_PERIOD_S
                        pos = before[1]
                        stopped.append((i, round(pos, 1), still))
                    tracks[vid] = (lane, pos, still)
            out.append(VideoReading(st.edge_id, self.t, tuple(sorted(stopped)), round(start, 1)))
        self._tracks = tracks
        return out

    def _read_probes(self) -> list[ProbeReading]:
        v = self._api.vehicle
        out = []
        for vid, unit in list(self._probes.items()):
            try:
                edge = v.getRoadID(vid)
                if not edge or edge.startswith(":") or edge not in self.network.segments:
                    continue
                x, y = v.getPosition(vid)
                speed = float(v.getSpeed(vid)) * 3.6
                along = float(v.getLanePosition(vid))
            except Exception:  # noqa: BLE001 - the vehicle left between the lists and the call
                continue
            lon, lat = to_lonlat(x, y)
            out.append(ProbeReading(unit, self.t, edge, round(speed, 2), round(lon, 6), round(lat, 6), round(along, 1)))
        return out

    def vehicles(self) -> int:
        return int(self._api.vehicle.getIDCount())

    def pending(self) -> int:
        return len(self._api.simulation.getPendingVehicles())

    def delay_summary(self) -> dict[str, float]:
        """Mean time loss (s) and count of the trips that arrived (needs ``tripinfo``; after close)."""
        if not self.tripinfo_file.exists():
            return {"trips": 0, "mean_delay_s": math.nan}
        losses = []
        for _ev, el in ET.iterparse(self.tripinfo_file):
            if el.tag == "tripinfo" and not el.get("id", "").startswith("blk_"):
                losses.append(float(el.get("timeLoss", "0")) + float(el.get("departDelay", "0")))
            el.clear()
        return {"trips": len(losses), "mean_delay_s": float(np.mean(losses)) if losses else math.nan}


def hash_share(vid: str) -> float:
    """A stable pseudo-random number in [0, 1) for a vehicle id (which cars are probes)."""
    h = 2166136261
    for ch in vid.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h / 2**32


class _MaxPressure:
    """Max-pressure control of one traffic light, through the plan's own yellow phases."""

    def __init__(self, api: Any, tl: str) -> None:
        self.api, self.tl = api, tl
        logic = api.trafficlight.getAllProgramLogics(tl)[0]
        self.states = [p.state for p in logic.phases]
        self.durations = [p.duration for p in logic.phases]
        self.green = [i for i, s in enumerate(self.states) if ("G" in s or "g" in s) and "y" not in s]
        links = api.trafficlight.getControlledLinks(tl)
        self.links: list[tuple[str, str] | None] = [(lk[0][0], lk[0][1]) if lk else None for lk in links]
        self.phase = api.trafficlight.getPhase(tl)
        self.since = 0.0
        self.target: int | None = None
        self.yellow_until = 0.0

    def _pressure(self, phase: int, counts: dict[str, int]) -> float:
        state = self.states[phase]
        p = 0.0
        for i, ch in enumerate(state):
            if ch in "Gg" and i < len(self.links):
                link = self.links[i]
                if link is not None:
                    p += counts.get(link[0], 0) - counts.get(link[1], 0)
        return p

    def decide(self, t: float) -> None:
        api = self.api
        if self.target is not None:
            if t >= self.yellow_until:
                api.trafficlight.setPhase(self.tl, self.target)
                api.trafficlight.setPhaseDuration(self.tl, 10_000)
                self.phase, self.target, self.since = self.target, None, t
            return
        if len(self.green) < 2 or t - self.since < MIN_GREEN_S:
            if self.since == 0.0:
                self.since = t
            return
        lanes = {lane for link in self.links if link for lane in link}
        counts = {lane: int(api.lane.getLastStepHaltingNumber(lane)) for lane in lanes}
        current = api.trafficlight.getPhase(self.tl)
        best = max(self.green, key=lambda ph: (self._pressure(ph, counts), ph == current))
        if best == current and current in self.green:
            api.trafficlight.setPhaseDuration(self.tl, 10_000)
            return
        nxt = (current + 1) % len(self.states)
        if "y" in self.states[nxt]:
            api.trafficlight.setPhase(self.tl, nxt)
            self.yellow_until = t + self.durations[nxt]
            api.trafficlight.setPhaseDuration(self.tl, 10_000)
            self.target = best
        else:
            api.trafficlight.setPhase(self.tl, best)
            api.trafficlight.setPhaseDuration(self.tl, 10_000)
            self.phase, self.since = best, t


def segment_of(network: Network, edge_id: str) -> Segment:
    return network.segments[edge_id]
