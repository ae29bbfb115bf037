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

import numpy as np
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


@dataclass(frozen=True)
class _Layout:
    """A network's segments and detectors as arrays, for the 5-minute cycle.

    Both are written once (:func:`install_network`, ``register_detectors``) and never change, so
    one process reads them once per network, not every cycle: the city's 3,300 segments with their
    polylines cost more to load than the whole interval's arithmetic. ``signature`` tells a cached
    layout from a network installed again under the same key (another database, a test)."""

    signature: tuple[Any, ...]
    edges: list[str]
    edge_pos: dict[str, int]
    road_class: list[str]
    length_m: np.ndarray
    free_kmh: np.ndarray
    weight: np.ndarray  # length × class weight: the TPI's mileage weighting
    groups: list[tuple[str, str, np.ndarray]]  # (scope, key, segment positions): the city, districts, roads
    loop_ds: np.ndarray  # sorted datastream ids of the loops
    loop_seg: np.ndarray  # their segments' positions
    loop_kind: np.ndarray  # 0 speed, 1 flow, 2 occupancy
    probe_ds: list[int]


_LAYOUTS: dict[str, _Layout] = {}


def _signature(session: Session, key: str) -> tuple[Any, ...]:
    net = session.get(TrafficNetwork, key)
    row = session.execute(
        select(func.count(Detector.id), func.min(Detector.id), func.max(Detector.id)).where(Detector.network == key)
    ).one()
    return (str(session.get_bind().engine.url), net.loaded_at if net else None, *row)


def _layout(session: Session, key: str) -> _Layout:
    sig = _signature(session, key)
    cached = _LAYOUTS.get(key)
    if cached is not None and cached.signature == sig:
        return cached
    rows = session.execute(
        select(Segment.edge_id, Segment.road_class, Segment.length_m, Segment.speed_kmh, Segment.district_code,
               Segment.road).where(Segment.network == key).order_by(Segment.edge_id)
    ).all()  # fmt: skip
    edges = [r[0] for r in rows]
    pos = {e: i for i, e in enumerate(edges)}
    classes = [r[1] for r in rows]
    length = np.asarray([r[2] for r in rows], dtype=float)
    by_group: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_group[("city", "city")].append(i)
        by_group[("district", r[4])].append(i)
        by_group[("road", r[5])].append(i)
    loops: list[tuple[int, int, int]] = []
    probes: list[int] = []
    for kind, edge, ds_v, ds_q, ds_o in session.execute(
        select(Detector.kind, Detector.edge_id, Detector.ds_speed, Detector.ds_flow, Detector.ds_occupancy).where(
            Detector.network == key
        )
    ):
        if kind == "loop" and edge in pos:
            loops += [(int(ds), pos[edge], k) for k, ds in enumerate((ds_v, ds_q, ds_o)) if ds is not None]
        elif kind == "probe":
            probes.append(int(ds_v))
    loops.sort()
    layout = _Layout(
        sig,
        edges,
        pos,
        classes,
        length,
        np.asarray([r[3] for r in rows], dtype=float),
        length * np.asarray([tpi_index.CLASS_WEIGHTS[c] for c in classes]),
        [(scope, k, np.asarray(ix)) for (scope, k), ix in sorted(by_group.items())],
        np.asarray([x[0] for x in loops], dtype=np.int64),
        np.asarray([x[1] for x in loops], dtype=np.int64),
        np.asarray([x[2] for x in loops], dtype=np.int64),
        sorted(probes),
    )
    _LAYOUTS[key] = layout
    return layout


def compute_interval(session: Session, key: str, end: datetime) -> dict[str, Any]:
    """Fuse, grade and index the 5 minutes ending at ``end``; store states and TPIs; return the TPIs.

    Set-based: the database sums each loop Datastream's interval (one row per Datastream, not per
    reading), the probes' readings are binned per segment, and the fusion, the indices and the
    mileage-weighted TPIs of the city, every district and road are array operations over the
    network's segments."""
    start = end - INTERVAL
    lay = _layout(session, key)
    n = len(lay.edges)
    window = (Observation.phenomenon_time > start, Observation.phenomenon_time <= end)
    # per segment: sums and counts of loop speed, flow, occupancy; intervals nobody passed; probes
    tot = np.zeros((3, n))
    cnt = np.zeros((3, n))
    empty = np.zeros(n)
    zero = func.sum(case((Observation.result_number == 0, 1), else_=0))
    ids = lay.loop_ds.tolist()
    for i in range(0, len(ids), 5000):
        got = session.execute(
            select(
                Observation.datastream_id, func.sum(Observation.result_number), func.count(Observation.result_number),
                zero,
            )
            .where(Observation.datastream_id.in_(ids[i : i + 5000]), *window)
            .group_by(Observation.datastream_id)
        ).all()  # fmt: skip
        if not got:
            continue
        arr = np.asarray([(r[0], r[1] or 0.0, r[2] or 0, r[3] or 0) for r in got], dtype=float)
        at = np.searchsorted(lay.loop_ds, arr[:, 0].astype(np.int64))
        seg, kind = lay.loop_seg[at], lay.loop_kind[at]
        np.add.at(tot, (kind, seg), arr[:, 1])
        np.add.at(cnt, (kind, seg), arr[:, 2])
        np.add.at(empty, seg[kind == 1], arr[kind == 1, 3])
    probe_v = np.zeros(n)
    probe_n = np.zeros(n)
    for i in range(0, len(lay.probe_ds), 5000):
        for value, params in session.execute(
            select(Observation.result_number, Observation.parameters).where(
                Observation.datastream_id.in_(lay.probe_ds[i : i + 5000]), *window
            )
        ):
            on = params.get("segment") if isinstance(params, dict) else None
            p = lay.edge_pos.get(on) if value is not None and isinstance(on, str) else None
            if p is not None:
                probe_v[p] += value
                probe_n[p] += 1
    samples = cnt[0] + probe_n
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(samples > 0, (tot[0] + probe_v) / samples, np.where(empty > 0, lay.free_kmh, np.nan))
        flow = np.where(cnt[1] > 0, tot[1] / cnt[1], np.nan)
        occ = np.where(cnt[2] > 0, tot[2] / cnt[2], np.nan)
    measured = np.flatnonzero(~np.isnan(speed))
    index = np.full(n, np.nan)
    for p in measured.tolist():
        index[p] = tpi_index.segment_index(lay.road_class[p], float(speed[p]), float(lay.free_kmh[p]))
    states = [
        {
            "network": key,
            "edge_id": lay.edges[p],
            "at": end,
            "speed_kmh": round(float(speed[p]), 2),
            "flow_vph": None if np.isnan(flow[p]) else round(float(flow[p]), 1),
            "occupancy": None if np.isnan(occ[p]) else round(float(occ[p]), 2),
            "index": float(index[p]),
            "grade": tpi_index.grade_of_index(float(index[p])),
            "loop_samples": int(cnt[0][p]),
            "probe_samples": int(probe_n[p]),
        }
        for p in measured.tolist()
    ]
    session.execute(delete(SegmentState).where(SegmentState.network == key, SegmentState.at == end))
    session.execute(delete(IndexValue).where(IndexValue.network == key, IndexValue.at == end))
    if states:
        session.execute(table_of(SegmentState).insert(), states)
    # the TPIs: mileage-weighted means of the measured segments' indices, per group
    ok = ~np.isnan(index)
    w = np.where(ok, lay.weight, 0.0)
    wi = np.where(ok, lay.weight * np.nan_to_num(index), 0.0)
    km = np.where(ok, lay.length_m / 1000.0, 0.0)
    values = []
    out: dict[str, Any] = {"at": end.isoformat(), "segments": len(states), "districts": {}}
    for scope, k, ix in lay.groups:
        den = float(w[ix].sum())
        if den <= 0:
            continue
        value = round(float(wi[ix].sum()) / den, 3)
        values.append(
            {
                "network": key,
                "scope": scope,
                "key": k,
                "at": end,
                "tpi": value,
                "grade": tpi_index.grade_of_index(value),
                "km": round(float(km[ix].sum()), 3),
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


#: The grade from which a road counts as congested (GB/T 33171: 3 light, 4 moderate, 5 severe).
CONGESTED_GRADE = 3


@dataclass(frozen=True)
class CongestedRoad:
    """A road's worst segment in the latest interval (what the operation centres' wall screen lists)."""

    name: str
    name_en: str
    district_code: str
    speed_kmh: float
    grade: int
    index: float


def congested_roads(
    session: Session, principal: Principal, *, within: str = "", limit: int = 6, network: str | None = None
) -> list[CongestedRoad]:
    """The most congested roads at the latest interval, each once (by its worst segment), worst first.

    ``within`` is a division-code prefix (a district's ``310104``); empty for the whole city."""
    net = current_network(session, principal, network)
    when = latest_at(session, net.key)
    if when is None:
        return []
    rows = session.execute(
        select(Segment.road, Segment.name, Segment.name_en, Segment.district_code, SegmentState)
        .join(SegmentState, (SegmentState.network == Segment.network) & (SegmentState.edge_id == Segment.edge_id))
        .where(
            SegmentState.network == net.key,
            SegmentState.at == when,
            SegmentState.grade >= CONGESTED_GRADE,
            Segment.district_code.startswith(within),
        )
        .order_by(SegmentState.index.desc(), Segment.edge_id)
    )
    out: dict[str, CongestedRoad] = {}
    for road, name, name_en, district, st in rows:
        if road not in out:
            out[road] = CongestedRoad(name, name_en, district, st.speed_kmh, st.grade, st.index)
        if len(out) >= limit:
            break
    return list(out.values())
