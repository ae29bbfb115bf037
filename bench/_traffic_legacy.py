"""The 5-minute index cycle as it was before it became set-based (commit ff48237), kept for one purpose:
``bench.traffic_realtime`` times it against :func:`onecity.traffic.service.compute_interval` on the
same interval in the same run. Row by row: the segments and detectors loaded as ORM objects every
cycle, each segment's fusion and the TPIs accumulated in Python."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from onecity.core.db import table_of
from onecity.sensing.models import Observation
from onecity.traffic import index as tpi_index
from onecity.traffic.models import Detector, IndexValue, Segment, SegmentState
from onecity.traffic.service import INTERVAL


@dataclass
class _Acc:
    loop_w: float = 0.0
    loop_v: float = 0.0
    loop_n: int = 0
    loop_empty: int = 0
    flow: float = 0.0
    flow_n: int = 0
    occ: float = 0.0
    occ_n: int = 0
    probe_v: float = 0.0
    probe_n: int = 0


def _detectors(session: Session, key: str) -> tuple[dict[int, tuple[str, str]], set[int]]:
    """datastream id → (edge, quantity) for loops; the probe datastreams."""
    loops: dict[int, tuple[str, str]] = {}
    probes: set[int] = set()
    for d in session.scalars(select(Detector).where(Detector.network == key)):
        if d.kind == "loop" and d.edge_id:
            loops[d.ds_speed] = (d.edge_id, "speed")
            if d.ds_flow is not None:
                loops[d.ds_flow] = (d.edge_id, "flow")
            if d.ds_occupancy is not None:
                loops[d.ds_occupancy] = (d.edge_id, "occ")
        else:
            probes.add(d.ds_speed)
    return loops, probes


def compute_interval(session: Session, key: str, end: datetime) -> dict[str, Any]:
    """Fuse, grade and index the 5 minutes ending at ``end``; store states and TPIs; return the TPIs."""
    start = end - INTERVAL
    loops, probes = _detectors(session, key)
    segs = {s.edge_id: s for s in session.scalars(select(Segment).where(Segment.network == key))}
    acc: dict[str, _Acc] = defaultdict(_Acc)
    window = (Observation.phenomenon_time > start, Observation.phenomenon_time <= end)
    # the loops' readings summed per datastream by the database (a city's interval is ~70,000 rows)
    loop_ids = list(loops)
    zero = func.sum(case((Observation.result_number == 0, 1), else_=0))
    for i in range(0, len(loop_ids), 5000):
        for ds, total, count, zeros in session.execute(
            select(
                Observation.datastream_id,
                func.sum(Observation.result_number),
                func.count(Observation.result_number),
                zero,
            )
            .where(Observation.datastream_id.in_(loop_ids[i : i + 5000]), *window)
            .group_by(Observation.datastream_id)
        ):
            if not count:
                continue
            edge, what = loops[ds]
            a = acc[edge]
            if what == "speed":
                a.loop_v, a.loop_n = a.loop_v + float(total), a.loop_n + int(count)
            elif what == "flow":
                a.flow, a.flow_n, a.loop_empty = a.flow + float(total), a.flow_n + int(count), a.loop_empty + int(zeros)
            else:
                a.occ, a.occ_n = a.occ + float(total), a.occ_n + int(count)
    # probes: each reading names the segment it was on
    probe_ids = sorted(probes)
    for i in range(0, len(probe_ids), 5000):
        for value, params in session.execute(
            select(Observation.result_number, Observation.parameters).where(
                Observation.datastream_id.in_(probe_ids[i : i + 5000]), *window
            )
        ):
            if value is not None and params and isinstance(params.get("segment"), str) and params["segment"] in segs:
                a = acc[params["segment"]]
                a.probe_v += value
                a.probe_n += 1
    states: list[dict[str, Any]] = []
    for edge, a in acc.items():
        seg = segs.get(edge)
        if seg is None:
            continue
        if a.loop_n + a.probe_n > 0:
            loop_mean = a.loop_v / a.loop_n if a.loop_n else 0.0
            probe_mean = a.probe_v / a.probe_n if a.probe_n else 0.0
            speed = (a.loop_n * loop_mean + a.probe_n * probe_mean) / (a.loop_n + a.probe_n)
        elif a.loop_empty:
            speed = seg.speed_kmh  # loops reporting, nobody passing: the road is free
        else:
            continue
        idx = tpi_index.segment_index(seg.road_class, speed, seg.speed_kmh)
        states.append(
            {
                "network": key,
                "edge_id": edge,
                "at": end,
                "speed_kmh": round(speed, 2),
                "flow_vph": round(a.flow / a.flow_n, 1) if a.flow_n else None,
                "occupancy": round(a.occ / a.occ_n, 2) if a.occ_n else None,
                "index": idx,
                "grade": tpi_index.grade_of_index(idx),
                "loop_samples": a.loop_n,
                "probe_samples": a.probe_n,
            }
        )
    session.execute(delete(SegmentState).where(SegmentState.network == key, SegmentState.at == end))
    session.execute(delete(IndexValue).where(IndexValue.network == key, IndexValue.at == end))
    if states:
        session.execute(table_of(SegmentState).insert(), states)
    groups: dict[tuple[str, str], list[tpi_index.Measured]] = defaultdict(list)
    for st in states:
        seg = segs[st["edge_id"]]
        m = tpi_index.Measured(seg.road_class, seg.length_m, st["index"])
        groups[("city", "city")].append(m)
        groups[("district", seg.district_code)].append(m)
        groups[("road", seg.road)].append(m)
    values = []
    out: dict[str, Any] = {"at": end.isoformat(), "segments": len(states), "districts": {}}
    for (scope, k), ms in groups.items():
        r = tpi_index.tpi(ms)
        if r is None:
            continue
        value, km = r
        values.append(
            {
                "network": key,
                "scope": scope,
                "key": k,
                "at": end,
                "tpi": value,
                "grade": tpi_index.grade_of_index(value),
                "km": km,
            }
        )
        if scope == "city":
            out["city"] = value
        elif scope == "district":
            out["districts"][k] = value
    if values:
        session.execute(table_of(IndexValue).insert(), values)
    return out
