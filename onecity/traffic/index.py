"""The traffic performance index in the manner of GB/T 33171-2016 (城市交通运行状况评价规范).

A segment's **grade** comes from its mean speed against its road class's thresholds (the
standard's table; km/h):

==========  ========  ==========  ==========  ==========  ========
class       1 畅通     2 基本畅通   3 轻度拥堵   4 中度拥堵   5 严重拥堵
==========  ========  ==========  ==========  ==========  ========
expressway  v > 65    50 < v ≤ 65  35 < v ≤ 50  20 < v ≤ 35  v ≤ 20
arterial    v > 40    30 < v ≤ 40  20 < v ≤ 30  15 < v ≤ 20  v ≤ 15
secondary   v > 35    25 < v ≤ 35  15 < v ≤ 25  10 < v ≤ 15  v ≤ 10
local       as secondary (支路)
==========  ========  ==========  ==========  ==========  ========

Its **index** (0–10) places the speed inside its grade's band of two points, linearly: the
thresholds map to 2, 4, 6 and 8, a standstill to 10 and the segment's free-flow speed (or,
if lower, the first threshold plus the width of the second band) to 0. So an index always agrees with its grade:
[0, 2) smooth, [2, 4) basically smooth, [4, 6) light, [6, 8) moderate, [8, 10] severe.

A road's, a district's or the city's **TPI** is the mean of its segments' indices weighted by
length times the class weight below, which stands for a class's vehicle-kilometres per
kilometre of road (an expressway kilometre carries several times an alley's traffic): the
mileage weighting by road class the standard asks for. Segments without a measurement in the
interval are left out, and the kilometres measured are reported beside the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

THRESHOLDS: dict[str, tuple[float, float, float, float]] = {
    "expressway": (65.0, 50.0, 35.0, 20.0),
    "arterial": (40.0, 30.0, 20.0, 15.0),
    "secondary": (35.0, 25.0, 15.0, 10.0),
    "local": (35.0, 25.0, 15.0, 10.0),
}
CLASS_WEIGHTS: dict[str, float] = {"expressway": 4.0, "arterial": 2.0, "secondary": 1.0, "local": 0.5}
GRADES = (1, 2, 3, 4, 5)
GRADE_KEYS = {1: "smooth", 2: "basically_smooth", 3: "light", 4: "moderate", 5: "severe"}


def grade_of_speed(road_class: str, speed_kmh: float) -> int:
    t = THRESHOLDS[road_class]
    for g, limit in enumerate(t, start=1):
        if speed_kmh > limit:
            return g
    return 5


def grade_of_index(index: float) -> int:
    return min(5, max(1, int(index // 2) + 1))


def segment_index(road_class: str, speed_kmh: float, free_flow_kmh: float) -> float:
    """0 (free flow) … 10 (standstill), consistent with :func:`grade_of_speed`."""
    t = THRESHOLDS[road_class]
    top = max(free_flow_kmh, 2 * t[0] - t[1])
    anchors = [(top, 0.0), (t[0], 2.0), (t[1], 4.0), (t[2], 6.0), (t[3], 8.0), (0.0, 10.0)]
    v = max(0.0, speed_kmh)
    if v >= top:
        return 0.0
    for (v_hi, i_hi), (v_lo, i_lo) in zip(anchors, anchors[1:], strict=False):
        if v_lo <= v <= v_hi:
            if v_hi == v_lo:
                return i_lo
            return round(i_hi + (v_hi - v) / (v_hi - v_lo) * (i_lo - i_hi), 4)
    return 10.0  # pragma: no cover - the anchors cover [0, top]


@dataclass(frozen=True)
class Measured:
    road_class: str
    length_m: float
    index: float


def tpi(segments: Iterable[Measured]) -> tuple[float, float] | None:
    """(TPI, km measured) of these segments, or None when none was measured."""
    num = den = km = 0.0
    for s in segments:
        w = s.length_m * CLASS_WEIGHTS[s.road_class]
        num += w * s.index
        den += w
        km += s.length_m / 1000.0
    if den <= 0:
        return None
    return round(num / den, 3), round(km, 3)
