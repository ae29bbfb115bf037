"""Incident detection from the stored loop and probe readings, every 30 seconds.

Per loop station ``i`` with the next station downstream on the same road ``j``, each interval:

* **occupancy difference** (the California family, Payne & Tignor 1978, in the TSA #7 form):
  ``OCCDF = occ_i − occ_j ≥ 12`` points, ``OCCRDF = OCCDF / occ_i ≥ 0.5`` and the downstream
  station not itself congested (``occ_j < 20 %``): a queue behind a blockage between them;
* **speed drop**: the station's speed below 55 % of its own recent profile (the median of
  its last 10 minutes of unflagged intervals), or nobody passing over a loop that is
  occupied ≥ 30 % of the time (a standing queue), while the downstream station keeps ≥ 75 %
  of its profile;
* **probes** (expressways): the floating cars on the segment in the last minute average
  below 35 % of free flow while downstream runs free;
* **a lane gone empty**: the loops report lane by lane, and a lane that carries a share ``p``
  of the station's vehicles (its profile over the last 20 minutes) has seen none of the last
  ``N`` vehicles, where ``(1 − p)^N`` is below 1 in 1,000: the lane is blocked ahead, and the
  traffic merges away from it before the loop. Under light traffic an incident makes no queue
  and no speed drop at all (the free lanes absorb it), but this it does. The same test runs on
  the station's **exit cross-section** near the segment's end, which sees a lane blocked
  anywhere upstream of it on the segment empty: the drivers who passed the blockage have not
  yet gone back to it (the main loops only see a blockage close ahead of them);
* **a lane shift**: at either cross-section, a usual lane (share ≥ 15 %) carrying under half its
  share over the last 1–8 minutes, with the G statistic of the lane counts against the usual
  shares ≥ 16 (``p`` ≈ 3·10⁻⁴ with two degrees of freedom): the drivers who change lanes early
  before a blockage, or have not all gone back to the lanes past it, when the lane is not
  (yet) quite empty;
* **a probe stopped mid-block**: a floating car standing (below 5 km/h, moved under 5 m) for
  two reports in a row (half a minute) away from both ends of the segment, while the station's
  vehicles keep passing at ≥ 50 % of their usual speed: a car held where neither a signal nor
  a queue holds anyone.

* **a vehicle standing in view of a video station** (the segment's traffic cameras): a vehicle
  the cameras have seen stand still (under 5 m of movement) for ``VIDEO_STILL_S`` or more, at
  least ``STOPLINE_ZONE_M`` before the segment's end (where a signal's or a merge's queue
  stands) and with no standing vehicle ahead of it in its lane within ``QUEUE_GAP_M`` (the
  back of a queue stands behind another standing vehicle; a broken-down or crashed car has the
  road ahead of it free). This is what the loops cannot do under light traffic: it sees the
  blockage itself, not what the traffic does about it.

An interval is *flagged* when the occupancy difference and the speed drop agree, or the
speed drop holds with occupancy ≥ 15 %, or the probes say so, or a lane has gone empty at either
cross-section, or has shifted, or a probe stands mid-block, or a camera sees a vehicle standing
with the road ahead free; two flagged intervals in a row
(persistence, which the California algorithms use against false alarms) raise an alarm: an
incident is opened. It is updated every five minutes while it lasts and cleared after two
minutes without a flag with the speed back to 75 % of the profile it had before.

Recurrent congestion builds up over many minutes, so the profile follows it and the drop
test stays quiet; an incident's queue arrives within a minute or two, which is what the
tests look for.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import median

OCCDF_MIN = 12.0
OCCRDF_MIN = 0.5
DOWNSTREAM_FREE_OCC = 20.0
SPEED_DROP = 0.55
QUEUE_OCC = 30.0
FLAG_OCC = 15.0
DOWN_OK = 0.75
PROBE_STOP = 0.35
PERSIST = 2
CLEAR_AFTER = 4
UPDATE_EVERY = 10
PROFILE_LEN = 20
LANE_PROFILE_LEN = 40
LANE_MIN_SHARE = 0.15
LANE_MIN_PROFILE = 30
LANE_ALPHA = 1e-3
#: the lane-shift test: the G statistic of the last 1–8 minutes' lane counts against the usual
#: shares (chi-square with lanes − 1 degrees of freedom; 16 is p ≈ 3·10⁻⁴ at two), a lane of
#: share ≥ LANE_MIN_SHARE carrying under half of it, over at least SHIFT_MIN_VEHICLES vehicles
SHIFT_G = 16.0
SHIFT_MIN_VEHICLES = 12
SHIFT_WINDOWS = (2, 4, 6, 10, 16)
#: the lane profiles keep the shift test's longest window more than the blocked-lane test uses
PROFILE_KEEP = LANE_PROFILE_LEN + SHIFT_WINDOWS[-1]
PROBE_STILL_KMH = 5.0
PROBE_STILL_M = 5.0
PROBE_STILL_REPORTS = 2
#: "mid-block": this far from the segment's start and from its end (a signal's queue)
PROBE_MID_START_M = 20.0
PROBE_MID_END_M = 60.0
PROBE_OTHERS_PASS = 0.5
#: video: a vehicle standing this long (two reports), this far before the segment's end, with no
#: standing vehicle this close ahead of it in its lane
VIDEO_STILL_S = 30
STOPLINE_ZONE_M = 30.0
QUEUE_GAP_M = 25.0


@dataclass(frozen=True)
class Reading:
    speed_kmh: float | None
    flow_vph: float
    occupancy: float
    lanes: tuple[int, ...] = ()
    #: vehicles lane by lane at the exit cross-section near the segment's end
    exit_lanes: tuple[int, ...] = ()
    #: a video station's standing vehicles (lane, metres along, seconds standing); None: no camera
    stopped: tuple[tuple[int, float, int], ...] | None = None


@dataclass(frozen=True)
class ProbeFix:
    """One floating car's latest report: where along which segment, how fast."""

    unit: int
    edge: str
    pos_m: float
    speed_kmh: float


def _lane_blocked(profile: deque[tuple[int, ...]], recent: deque[tuple[int, ...]]) -> bool:
    """A lane with a usual share ``p`` that none of the last ``N`` vehicles used, ``(1 − p)^N < α``."""
    profile = deque(list(profile)[-LANE_PROFILE_LEN:])
    if not recent or not profile:
        return False
    width = len(recent[-1])
    usual = [sum(c[i] for c in profile if len(c) == width) for i in range(width)]
    total = sum(usual)
    if total < LANE_MIN_PROFILE:
        return False
    for lane, seen in enumerate(usual):
        p = seen / total
        if p < LANE_MIN_SHARE:
            continue
        passed = 0
        for counts in reversed(recent):
            if len(counts) != width or counts[lane] > 0:
                break
            passed += sum(counts)
        if passed and (1.0 - p) ** passed < LANE_ALPHA:
            return True
    return False


def _lane_shift(profile: deque[tuple[int, ...]], recent: deque[tuple[int, ...]]) -> bool:
    """The traffic has moved out of a usual lane (not necessarily all of it): a blockage ahead whose
    drivers change lanes early, or one behind the exit loops they have not all returned from."""
    # the usual shares from before the longest window: the shift itself must not become the usual
    older = list(profile)[: -SHIFT_WINDOWS[-1]]
    if not recent or not older:
        return False
    width = len(recent[-1])
    usual = [sum(c[i] for c in older if len(c) == width) for i in range(width)]
    total = sum(usual)
    if total < LANE_MIN_PROFILE or width < 2:
        return False
    shares = [u / total for u in usual]
    last = [c for c in recent if len(c) == width][-SHIFT_WINDOWS[-1] :]
    for w in SHIFT_WINDOWS:
        if w > len(last):
            break
        seen = [sum(c[i] for c in last[-w:]) for i in range(width)]
        n = sum(seen)
        if n < SHIFT_MIN_VEHICLES:
            continue
        if not any(p >= LANE_MIN_SHARE and o < 0.5 * p * n for p, o in zip(shares, seen, strict=True)):
            continue
        g = 2.0 * sum(o * math.log(o / (p * n)) for p, o in zip(shares, seen, strict=True) if o > 0 and p > 0)
        if any(o > 0 and p == 0 for p, o in zip(shares, seen, strict=True)):
            continue  # a lane nobody used before: the profile knows too little
        if g >= SHIFT_G:
            return True
    return False


def _stranded(stopped: tuple[tuple[int, float, int], ...], length_m: float) -> bool:
    """A vehicle standing ``VIDEO_STILL_S`` with the road ahead of it free, away from the segment's end."""
    for lane, pos, still in stopped:
        if still < VIDEO_STILL_S or (length_m and pos > length_m - STOPLINE_ZONE_M):
            continue
        queued = any(la == lane and 0 < p - pos <= QUEUE_GAP_M for la, p, _s in stopped)
        if not queued:
            return True
    return False


@dataclass
class _Station:
    edge: str
    downstream: str | None
    free_flow: float
    expressway: bool
    speeds: deque[float] = field(default_factory=lambda: deque(maxlen=PROFILE_LEN))
    flagged: int = 0
    quiet: int = 0
    since_update: int = 0
    alarm: bool = False
    frozen_profile: float = 0.0
    lane_profile: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=PROFILE_KEEP))
    lane_recent: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=LANE_PROFILE_LEN))
    exit_profile: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=PROFILE_KEEP))
    exit_recent: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=LANE_PROFILE_LEN))
    length_m: float = 0.0

    def profile(self) -> float:
        return median(self.speeds) if len(self.speeds) >= 4 else 0.9 * self.free_flow

    def lane_blocked(self) -> bool:
        return _lane_blocked(self.lane_profile, self.lane_recent)

    def exit_lane_blocked(self) -> bool:
        return _lane_blocked(self.exit_profile, self.exit_recent)

    def lane_shifted(self) -> bool:
        return _lane_shift(self.lane_profile, self.lane_recent) or _lane_shift(self.exit_profile, self.exit_recent)


@dataclass(frozen=True)
class Action:
    kind: str  # open | update | clear
    edge: str
    method: str
    speed_kmh: float | None
    occupancy: float | None


class IncidentDetector:
    def __init__(
        self, stations: dict[str, tuple[str | None, float, bool]], lengths: dict[str, float] | None = None
    ) -> None:
        """``stations``: edge → (downstream station's edge, free-flow speed, is an expressway);
        ``lengths``: the segments' lengths (m), for telling mid-block from a segment's ends."""
        self.stations = {e: _Station(e, d, ff, ex) for e, (d, ff, ex) in sorted(stations.items())}
        self.lane_shift = True
        for e, st in self.stations.items():
            st.length_m = (lengths or {}).get(e, 0.0)
        self.intervals = 0  # station-intervals examined (a station's loops, one alarm unit)
        self.device_intervals = 0  # the same counted per device: the loop station, and its cameras'
        self._still: dict[int, tuple[str, float, int]] = {}  # unit -> (edge, where it stopped, reports still)

    def _stopped_probes(self, fixes: list[ProbeFix]) -> set[str]:
        """The segments where a floating car has stood mid-block for ``PROBE_STILL_REPORTS`` reports."""
        still: dict[int, tuple[str, float, int]] = {}
        for f in fixes:
            before = self._still.get(f.unit)
            if f.speed_kmh >= PROBE_STILL_KMH:
                continue
            if before is not None and before[0] == f.edge and abs(before[1] - f.pos_m) < PROBE_STILL_M:
                still[f.unit] = (f.edge, before[1], before[2] + 1)
            else:
                still[f.unit] = (f.edge, f.pos_m, 1)
        self._still = still
        out = set()
        for edge, pos, n in still.values():
            st = self.stations.get(edge)
            mid_block = st is not None and PROBE_MID_START_M <= pos <= st.length_m - PROBE_MID_END_M
            if n >= PROBE_STILL_REPORTS and mid_block:
                out.add(edge)
        return out

    def step(
        self, loops: dict[str, Reading], probes: dict[str, list[float]], fixes: list[ProbeFix] | None = None
    ) -> list[Action]:
        """One interval: the stations' readings, the probes' speeds of the last minute by segment, and
        (``fixes``, each unit's report of this interval) where the floating cars are."""
        actions: list[Action] = []
        stopped = self._stopped_probes(fixes) if fixes is not None else set()
        for edge, st in self.stations.items():
            r = loops.get(edge)
            if r is None:
                continue
            self.intervals += 1
            self.device_intervals += 1 + (r.stopped is not None)
            down = self.stations.get(st.downstream) if st.downstream else None
            rd = loops.get(down.edge) if down else None
            prof = st.profile()
            # downstream fine?
            down_ok = True
            if down is not None and rd is not None:
                dprof = down.profile()
                slow = rd.speed_kmh is not None and rd.speed_kmh < DOWN_OK * dprof
                down_ok = rd.occupancy < DOWNSTREAM_FREE_OCC and not slow
            california = False
            if rd is not None and r.occupancy > 0:
                occdf = r.occupancy - rd.occupancy
                california = (
                    occdf >= OCCDF_MIN and occdf / r.occupancy >= OCCRDF_MIN and rd.occupancy < DOWNSTREAM_FREE_OCC
                )
            if r.lanes:
                st.lane_recent.append(r.lanes)
            if r.exit_lanes:
                st.exit_recent.append(r.exit_lanes)
            drop = r.occupancy >= QUEUE_OCC if r.speed_kmh is None else r.speed_kmh < SPEED_DROP * prof
            method = ""
            if california and drop:
                method = "occupancy-difference"
            elif drop and down_ok and r.occupancy >= FLAG_OCC:
                method = "speed-drop"
            if not method and r.stopped and _stranded(r.stopped, st.length_m):
                method = "video-stopped"
            ps = probes.get(edge)
            if not method and st.expressway and ps and down_ok and sum(ps) / len(ps) < PROBE_STOP * st.free_flow:
                method = "probes"
            if not method and r.lanes and st.lane_blocked():
                method = "lane-blocked"
            if not method and r.exit_lanes and st.exit_lane_blocked():
                method = "lane-blocked-exit"
            if not method and self.lane_shift and r.lanes and st.lane_shifted():
                method = "lane-shift"
            others_pass = r.flow_vph > 0 and r.speed_kmh is not None and r.speed_kmh >= PROBE_OTHERS_PASS * prof
            if not method and edge in stopped and others_pass:
                method = "probe-stopped"
            if method:
                st.flagged += 1
                st.quiet = 0
            else:
                st.flagged = 0
                st.quiet += 1
                if not st.alarm:
                    if r.speed_kmh is not None:
                        st.speeds.append(r.speed_kmh)
                    if r.lanes:
                        st.lane_profile.append(r.lanes)
                    if r.exit_lanes:
                        st.exit_profile.append(r.exit_lanes)
            if not st.alarm and st.flagged >= PERSIST:
                st.alarm, st.since_update, st.frozen_profile = True, 0, prof
                actions.append(Action("open", edge, method, r.speed_kmh, r.occupancy))
            elif st.alarm:
                st.since_update += 1
                recovered = (r.speed_kmh is None and r.occupancy < FLAG_OCC) or (
                    r.speed_kmh is not None and r.speed_kmh >= DOWN_OK * st.frozen_profile
                )
                if st.quiet >= CLEAR_AFTER and recovered:
                    st.alarm = False
                    actions.append(Action("clear", edge, "recovered", r.speed_kmh, r.occupancy))
                elif st.since_update >= UPDATE_EVERY:
                    st.since_update = 0
                    actions.append(Action("update", edge, method or "persisting", r.speed_kmh, r.occupancy))
        return actions
