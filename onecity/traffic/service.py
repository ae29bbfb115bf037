"""Traffic: loading the network, the 5-minute state and index from stored Observations, incidents, reading.

The sequence every 5 minutes (:func:`compute_interval`): read the interval's Observations of
the network's detectors (loop stations' speed, flow and occupancy; probes' speeds with the
segment they were on), fuse each segment's speed from both, grade it and index it
(:mod:`onecity.traffic.index`), store the states, then the TPI of every road, district and
the city. Nothing here reads the simulation: what the platform knows of the roads is what
its sensors reported.

Incidents found by :mod:`onecity.traffic.detection` are opened, updated and cleared here; each
step is an event (``traffic.incident.*``) which urban operations turns into a case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy
from onecity.core.db import new_id, table_of
from onecity.core.errors import InvalidInput, NotFound
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import Role
from onecity.sensing.models import Observation
from onecity.traffic import index as tpi_index
from onecity.traffic.events import (
    INCIDENT_CLEARED,
    INCIDENT_DETECTED,
    INCIDENT_UPDATED,
    IncidentCleared,
    IncidentDetected,
    IncidentUpdated,
)
from onecity.traffic.models import Detector, Incident, IndexValue, Segment, SegmentState, TrafficNetwork
from onecity.traffic.network import Network

R = Role
policy.register_actions(
    {
        "traffic.read": frozenset({R.DISPATCHER, R.INSPECTOR, R.OPERATOR, R.AUDITOR, R.ADMIN}),
    }
)

TRAFFIC = system_principal("traffic:monitor")
INTERVAL = timedelta(minutes=5)
MAX_SERIES = 2000


# -- the network --------------------------------------------------------------------------------


def network_key(network: Network) -> str:
    return f"{network.area}-{network.seed}"


def install_network(session: Session, network: Network) -> str:
    """Store the network's segments (once per area and seed; a second call changes nothing)."""
    key = network_key(network)
    if session.get(TrafficNetwork, key) is not None:
        return key
    session.add(
        TrafficNetwork(
            key=key,
            area=network.area,
            seed=network.seed,
            segments=len(network.segments),
            km=round(network.km, 2),
            signals=len(network.signals),
            loaded_at=clock.now(),
        )
    )
    session.flush()
    following: dict[str, list[str]] = defaultdict(list)
    by_from: dict[str, list[str]] = defaultdict(list)
    for s in network.segments.values():
        by_from[s.from_node].append(s.id)
    for s in network.segments.values():
        following[s.id] = sorted(n for n in by_from[s.to_node] if network.segments[n].road == s.road and n != s.reverse)
    rows = []
    for s in sorted(network.segments.values(), key=lambda s: s.id):
        mid = s.coords[len(s.coords) // 2]
        rows.append(
            {
                "network": key,
                "edge_id": s.id,
                "road": s.road,
                "name": s.name,
                "name_en": s.name_en,
                "road_class": s.road_class,
                "lanes": s.lanes,
                "speed_kmh": s.speed_kmh,
                "length_m": s.length_m,
                "district_code": s.district_code,
                "geometry": [list(c) for c in s.coords],
                "mid_lon": mid[0],
                "mid_lat": mid[1],
                "downstream": following[s.id],
            }
        )
    for i in range(0, len(rows), 1000):
        session.execute(table_of(Segment).insert(), rows[i : i + 1000])
    audit.record(
        session,
        TRAFFIC,
        "traffic.network.installed",
        object_type="traffic.network",
        object_id=key,
        detail={"segments": len(rows), "km": round(network.km, 1), "signals": len(network.signals)},
    )
    return key


# -- the state and the index --------------------------------------------------------------------


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


# -- incidents ----------------------------------------------------------------------------------


def open_incident(
    session: Session,
    key: str,
    edge_id: str,
    *,
    method: str,
    at: datetime,
    speed_kmh: float | None,
    occupancy: float | None,
) -> Incident:
    seg = session.get(Segment, (key, edge_id))
    if seg is None:
        raise NotFound(f"no segment {edge_id} in network {key}")
    inc = Incident(
        id=new_id(),
        network=key,
        edge_id=edge_id,
        road_name=seg.name,
        district_code=seg.district_code,
        lon=seg.mid_lon,
        lat=seg.mid_lat,
        status="open",
        method=method,
        detected_at=at,
        speed_kmh=speed_kmh,
        occupancy=occupancy,
        updates=0,
    )
    session.add(inc)
    session.flush()
    what = f"{speed_kmh:.0f} km/h" if speed_kmh is not None else "no speed"
    occ = f", {occupancy:.0f}%" if occupancy is not None else ""
    message = f"交通事件 {seg.name}（{seg.name_en}）{edge_id}: {what}{occ} [{method}]"
    audit.record(
        session,
        TRAFFIC,
        "traffic.incident.detected",
        object_type="traffic.incident",
        object_id=inc.id,
        division_code=seg.district_code,
        detail={"edge": edge_id},
    )
    events.publish(
        session,
        INCIDENT_DETECTED,
        IncidentDetected(
            incident_id=inc.id,
            network=key,
            edge_id=edge_id,
            road_name=seg.name,
            message=message,
            lon=seg.mid_lon,
            lat=seg.mid_lat,
            district_code=seg.district_code,
            method=method,
            detected_at=at,
        ),
        principal=TRAFFIC,
        reason=message,
    )
    return inc


def update_incident(
    session: Session, incident_id: str, *, at: datetime, speed_kmh: float | None, occupancy: float | None
) -> Incident:
    inc = session.get(Incident, incident_id)
    if inc is None or inc.status != "open":
        raise NotFound(f"no open incident {incident_id}")
    inc.speed_kmh, inc.occupancy, inc.updates = speed_kmh, occupancy, inc.updates + 1
    what = f"{speed_kmh:.0f} km/h" if speed_kmh is not None else "no speed"
    message = f"仍在持续 still under way at {clock.local(at):%H:%M}: {what}" + (
        f", {occupancy:.0f}%" if occupancy is not None else ""
    )
    events.publish(
        session,
        INCIDENT_UPDATED,
        IncidentUpdated(incident_id=inc.id, message=message, speed_kmh=speed_kmh, occupancy=occupancy, at=at),
        principal=TRAFFIC,
        reason=message,
    )
    return inc


def clear_incident(session: Session, incident_id: str, *, at: datetime) -> Incident:
    inc = session.get(Incident, incident_id)
    if inc is None or inc.status != "open":
        raise NotFound(f"no open incident {incident_id}")
    inc.status, inc.cleared_at = "cleared", at
    minutes = (at - inc.detected_at).total_seconds() / 60.0
    message = f"道路已恢复通行 road clear at {clock.local(at):%H:%M} after {minutes:.0f} min"
    audit.record(
        session,
        TRAFFIC,
        "traffic.incident.cleared",
        object_type="traffic.incident",
        object_id=inc.id,
        division_code=inc.district_code,
        detail={"minutes": round(minutes, 1)},
    )
    events.publish(
        session,
        INCIDENT_CLEARED,
        IncidentCleared(incident_id=inc.id, message=message, cleared_at=at),
        principal=TRAFFIC,
        reason=message,
    )
    return inc


def link_case(session: Session, incident_id: str, case_id: str) -> None:
    """Remember the case operations opened for an incident (its page links to it)."""
    inc = session.get(Incident, incident_id)
    if inc is not None:
        inc.case_id = case_id


# -- reading ------------------------------------------------------------------------------------


def current_network(session: Session, principal: Principal, key: str | None = None) -> TrafficNetwork:
    policy.require(principal, "traffic.read")
    if key is not None:
        net = session.get(TrafficNetwork, key)
        if net is None:
            raise NotFound(f"no traffic network {key!r} is loaded")
        return net
    net = session.scalar(select(TrafficNetwork).order_by(TrafficNetwork.loaded_at.desc()).limit(1))
    if net is None:
        raise NotFound("no traffic network is loaded: run `onecity traffic simulate` (or `make demo`)")
    return net


def latest_at(session: Session, key: str) -> datetime | None:
    return session.scalar(select(func.max(IndexValue.at)).where(IndexValue.network == key))


def segments_geojson(
    session: Session, principal: Principal, *, network: str | None = None, at: datetime | None = None,
    district: str | None = None, road_class: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The network's segments as GeoJSON, each with its state in the interval ending at ``at`` (default: the latest)."""
    net = current_network(session, principal, network)
    if road_class is not None and road_class not in tpi_index.THRESHOLDS:
        raise InvalidInput(f"road_class is one of {sorted(tpi_index.THRESHOLDS)}")
    when = at or latest_at(session, net.key)
    states = {}
    if when is not None:
        states = {
            s.edge_id: s
            for s in session.scalars(
                select(SegmentState).where(SegmentState.network == net.key, SegmentState.at == when)
            )
        }
    stmt = select(Segment).where(Segment.network == net.key)
    if district:
        stmt = stmt.where(Segment.district_code == district)
    if road_class:
        stmt = stmt.where(Segment.road_class == road_class)
    features = []
    for seg in session.scalars(stmt.order_by(Segment.edge_id)):
        st = states.get(seg.edge_id)
        features.append(
            {
                "type": "Feature",
                "id": seg.edge_id,
                "geometry": {"type": "LineString", "coordinates": seg.geometry},
                "properties": {
                    "name": seg.name,
                    "name_en": seg.name_en,
                    "road": seg.road,
                    "road_class": seg.road_class,
                    "lanes": seg.lanes,
                    "free_flow_kmh": seg.speed_kmh,
                    "length_m": seg.length_m,
                    "district_code": seg.district_code,
                    "speed_kmh": st.speed_kmh if st else None,
                    "flow_vph": st.flow_vph if st else None,
                    "occupancy": st.occupancy if st else None,
                    "index": st.index if st else None,
                    "grade": st.grade if st else None,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "network": net.key,
        "at": when.isoformat() if when else None,
        "features": features,
    }


def index_series(
    session: Session, principal: Principal, *, network: str | None = None, scope: str = "city", key: str = "city",
    since: datetime | None = None, until: datetime | None = None,
) -> tuple[TrafficNetwork, list[IndexValue]]:  # fmt: skip
    net = current_network(session, principal, network)
    if scope not in ("city", "district", "road"):
        raise InvalidInput("scope is city, district or road")
    stmt = select(IndexValue).where(IndexValue.network == net.key, IndexValue.scope == scope, IndexValue.key == key)
    if since:
        stmt = stmt.where(IndexValue.at >= since)
    if until:
        stmt = stmt.where(IndexValue.at <= until)
    rows = list(session.scalars(stmt.order_by(IndexValue.at.desc()).limit(MAX_SERIES)))
    return net, rows[::-1]


def latest_index(session: Session, principal: Principal, *, network: str | None = None) -> dict[str, Any]:
    """The city's and each district's TPI at the latest interval."""
    net = current_network(session, principal, network)
    when = latest_at(session, net.key)
    out: dict[str, Any] = {"network": net.key, "at": when.isoformat() if when else None, "city": None, "districts": []}
    if when is None:
        return out
    for v in session.scalars(
        select(IndexValue).where(IndexValue.network == net.key, IndexValue.at == when, IndexValue.scope != "road")
    ):
        item = {"tpi": v.tpi, "grade": v.grade, "km": v.km}
        if v.scope == "city":
            out["city"] = item
        else:
            out["districts"].append({"code": v.key, **item})
    out["districts"].sort(key=lambda d: d["code"])
    return out


def history_same_time(
    session: Session, principal: Principal, *, network: str | None = None, scope: str = "city", key: str = "city",
    at: datetime, weeks: int = 8,
) -> list[IndexValue]:  # fmt: skip
    """The index at this weekday and time in the weeks before (the history a day is compared with)."""
    net = current_network(session, principal, network)
    if not 1 <= weeks <= 52:
        raise InvalidInput("weeks is 1 to 52")
    wanted = [at - timedelta(weeks=w) for w in range(1, weeks + 1)]
    rows = session.scalars(
        select(IndexValue).where(
            IndexValue.network == net.key, IndexValue.scope == scope, IndexValue.key == key, IndexValue.at.in_(wanted)
        )
    )
    return sorted(rows, key=lambda v: v.at)


def list_incidents(
    session: Session, principal: Principal, *, network: str | None = None, status: str | None = None, limit: int = 100
) -> list[Incident]:
    net = current_network(session, principal, network)
    if status is not None and status not in ("open", "cleared"):
        raise InvalidInput("status is open or cleared")
    stmt = select(Incident).where(Incident.network == net.key)
    if status:
        stmt = stmt.where(Incident.status == status)
    return list(session.scalars(stmt.order_by(Incident.detected_at.desc()).limit(max(1, min(limit, 500)))))


def segment_series(
    session: Session, principal: Principal, edge_id: str, *, network: str | None = None, limit: int = 288
) -> tuple[Segment, list[SegmentState]]:
    net = current_network(session, principal, network)
    seg = session.get(Segment, (net.key, edge_id))
    if seg is None:
        raise NotFound(f"no segment {edge_id!r} in network {net.key}")
    rows = list(
        session.scalars(
            select(SegmentState)
            .where(SegmentState.network == net.key, SegmentState.edge_id == edge_id)
            .order_by(SegmentState.at.desc())
            .limit(max(1, min(limit, 2000)))
        )
    )
    return seg, rows[::-1]
