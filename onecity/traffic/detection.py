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
  and no speed drop at all (the free lanes absorb it), but this it does.

An interval is *flagged* when the occupancy difference and the speed drop agree, or the
speed drop holds with occupancy ≥ 15 %, or the probes say so, or a lane has gone empty; two flagged intervals in a row
(persistence, which the California algorithms use against false alarms) raise an alarm: an
incident is opened. It is updated every five minutes while it lasts and cleared after two
minutes without a flag with the speed back to 75 % of the profile it had before.

Recurrent congestion builds up over many minutes, so the profile follows it and the drop
test stays quiet; an incident's queue arrives within a minute or two, which is what the
tests look for.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Reading:
    speed_kmh: float | None
    flow_vph: float
    occupancy: float
    lanes: tuple[int, ...] = ()


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
    lane_profile: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=LANE_PROFILE_LEN))
    lane_recent: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=LANE_PROFILE_LEN))

    def profile(self) -> float:
        return median(self.speeds) if len(self.speeds) >= 4 else 0.9 * self.free_flow

    def lane_blocked(self) -> bool:
        """A lane with a usual share ``p`` that none of the last ``N`` vehicles used, ``(1 − p)^N < α``."""
        if not self.lane_recent or not self.lane_profile:
            return False
        width = len(self.lane_recent[-1])
        usual = [sum(c[i] for c in self.lane_profile if len(c) == width) for i in range(width)]
        total = sum(usual)
        if total < LANE_MIN_PROFILE:
            return False
        for lane, seen in enumerate(usual):
            p = seen / total
            if p < LANE_MIN_SHARE:
                continue
            passed = 0
            for counts in reversed(self.lane_recent):
                if len(counts) != width or counts[lane] > 0:
                    break
                passed += sum(counts)
            if passed and (1.0 - p) ** passed < LANE_ALPHA:
                return True
        return False


@dataclass(frozen=True)
class Action:
    kind: str  # open | update | clear
    edge: str
    method: str
    speed_kmh: float | None
    occupancy: float | None


class IncidentDetector:
    def __init__(self, stations: dict[str, tuple[str | None, float, bool]]) -> None:
        """``stations``: edge → (downstream station's edge, free-flow speed, is an expressway)."""
        self.stations = {e: _Station(e, d, ff, ex) for e, (d, ff, ex) in sorted(stations.items())}
        self.intervals = 0  # detector-intervals examined

    def step(self, loops: dict[str, Reading], probes: dict[str, list[float]]) -> list[Action]:
        actions: list[Action] = []
        for edge, st in self.stations.items():
            r = loops.get(edge)
            if r is None:
                continue
            self.intervals += 1
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
            drop = r.occupancy >= QUEUE_OCC if r.speed_kmh is None else r.speed_kmh < SPEED_DROP * prof
            method = ""
            if california and drop:
                method = "occupancy-difference"
            elif drop and down_ok and r.occupancy >= FLAG_OCC:
                method = "speed-drop"
            ps = probes.get(edge)
            if not method and st.expressway and ps and down_ok and sum(ps) / len(ps) < PROBE_STOP * st.free_flow:
                method = "probes"
            if not method and r.lanes and st.lane_blocked():
                method = "lane-blocked"
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
