"""Demand: car trips from where people live to where they work, over a weekday's hours.

Trips start on the roads of each district in proportion to its residents and end in
proportion to its jobs (the hub's registries: persons and legal persons counted by their
divisions, summed to the district; without registries, every district weighs alike), within
a district in proportion to road length. A destination is drawn among eight candidates with
a gravity weight ``exp(-d / 6 km)``, so most trips are local and some cross the city.

The weekday profile (share of the peak hour's trips, by hour) has the morning peak at 8:00
and the evening peak at 18:00, the shape of Shanghai's published weekday curves. The
simulation is a *sample*: ``trips_per_km_hour`` sets how many car trips each kilometre of
road starts in the peak hour, well below the real count, which keeps the central area
faster than real time on two cores while its main roads still congest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onecity.traffic.network import EXPRESSWAY, Network, to_xy

#: Weekday share of the peak hour's trips, hour by hour (0:00 … 23:00).
WEEKDAY_PROFILE = (
    0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.55, 0.90, 1.00, 0.80, 0.68, 0.66,
    0.66, 0.64, 0.66, 0.72, 0.82, 0.95, 1.00, 0.78, 0.58, 0.45, 0.32, 0.20,
)  # fmt: skip


def profile_at(seconds_of_day: float) -> float:
    """The profile, linearly interpolated between the middles of the hours."""
    h = (seconds_of_day / 3600.0 - 0.5) % 24
    i = int(h)
    f = h - i
    return WEEKDAY_PROFILE[i] * (1 - f) + WEEKDAY_PROFILE[(i + 1) % 24] * f


@dataclass
class Demand:
    origins: list[str]
    origin_w: np.ndarray
    dests: list[str]
    dest_w: np.ndarray
    xy: dict[str, tuple[float, float]]
    peak_trips_per_hour: float


def build_demand(
    network: Network,
    *,
    trips_per_km_hour: float = 3.0,
    residents: dict[str, float] | None = None,
    jobs: dict[str, float] | None = None,
) -> Demand:
    """Where trips start and end on this network, weighted by the registries' counts per district."""
    segs = [s for s in network.segments.values() if s.road_class != EXPRESSWAY and not s.road.startswith("ramp")]
    segs.sort(key=lambda s: s.id)

    def weights(counts: dict[str, float] | None) -> np.ndarray:
        w = np.asarray([s.length_m * ((counts or {}).get(s.district_code, 1.0) if counts else 1.0) for s in segs])
        w = np.maximum(w, 1e-9)
        return np.asarray(w / w.sum())

    ids = [s.id for s in segs]
    xy = {s.id: to_xy(*s.coords[len(s.coords) // 2]) for s in segs}
    km = sum(s.length_m for s in segs) / 1000.0
    return Demand(ids, weights(residents), ids, weights(jobs), xy, trips_per_km_hour * km)


def write_trips(demand: Demand, path: Path, begin_s: float, end_s: float, seed: int) -> int:
    """Sample the trips departing in [begin, end) into a SUMO trips file; the count written."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, str, str]] = []
    for minute in range(int(begin_s // 60), int(math.ceil(end_s / 60))):
        rate = demand.peak_trips_per_hour * profile_at(minute * 60 + 30) / 60.0
        n = int(rng.poisson(rate))
        if n == 0:
            continue
        o = rng.choice(len(demand.origins), size=n, p=demand.origin_w)
        cands = rng.choice(len(demand.dests), size=(n, 8), p=demand.dest_w)
        departs = np.sort(rng.uniform(minute * 60, minute * 60 + 60, n))
        for k in range(n):
            origin = demand.origins[int(o[k])]
            ox, oy = demand.xy[origin]
            cx = [demand.xy[demand.dests[int(c)]] for c in cands[k]]
            d = np.asarray([math.hypot(x - ox, y - oy) for x, y in cx])
            w = np.where(d > 600.0, np.exp(-d / 6000.0), 0.0)
            if w.sum() <= 0:
                continue
            dest = demand.dests[int(cands[k][int(rng.choice(8, p=w / w.sum()))])]
            if begin_s <= departs[k] < end_s:
                rows.append((float(departs[k]), origin, dest))
    with path.open("w", encoding="utf-8") as fh:
        fh.write("<routes>\n")
        for i, (t, a, b) in enumerate(rows):
            fh.write(f'  <trip id="t{i}" depart="{t:.1f}" from="{a}" to="{b}" departLane="best" departSpeed="max"/>\n')
        fh.write("</routes>\n")
    return len(rows)
