"""The detectors as SensorThings devices: registered as Things, publishing through the one ingest.

Every loop station is a Thing at its place on the segment with three Datastreams —
``road_speed`` (km/h), ``road_flow`` (veh/h) and ``road_occupancy`` (%) — and every
floating-car unit a Thing with one ``probe_speed`` Datastream whose Observations carry the
segment and the position in their ``parameters``; every video station (a segment's traffic
cameras running video incident detection) a Thing with one ``stopped_vehicles`` Datastream:
how many vehicles stand in view, and in ``parameters`` each one's lane, place and standing
time. Their readings go where any device's go:

* :class:`MqttFeed` publishes each Observation (QoS 1) to ``v1.1/Datastreams(<id>)/Observations``
  on the platform's broker; the sensing ingest worker stores it (``onecity worker ingest``,
  or one started beside the simulation);
* :class:`IngestFeed` hands the same Observations to :func:`onecity.sensing.ingest.store_observations`,
  the batched path the worker itself uses, in the caller's process: for a seeded run without
  a broker (``onecity simulate``), like the sensing part's own simulation.

Either way the traffic state is computed afterwards from the stored Observations, not from
the simulation: the platform sees the roads only through its sensors.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core.db import Database
from onecity.core.identity.principal import Principal, system_principal
from onecity.sensing.ingest import NewObservation, store_observations
from onecity.sensing.models import ObservedProperty, Sensor
from onecity.sensing.mqtt import connect, new_client, observation_topic
from onecity.sensing.sta.service import Writer
from onecity.traffic.models import Detector
from onecity.traffic.network import Network
from onecity.traffic.simulation import LoopReading, ProbeReading, Station, VideoReading

DEVICES = system_principal("traffic:detectors")
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
PROPERTIES = {
    "road_speed": ("km/h", "路段车速 / segment speed"),
    "road_flow": ("veh/h", "断面流量 / flow"),
    "road_occupancy": ("%", "时间占有率 / occupancy"),
    "probe_speed": ("km/h", "浮动车速度 / probe speed"),
    "stopped_vehicles": ("veh", "静止车辆 / vehicles standing"),
}


@dataclass(frozen=True)
class DetectorIds:
    """Datastream ids by loop station segment and by probe unit."""

    loops: dict[str, tuple[int, int, int]]  # edge -> (speed, flow, occupancy)
    probes: dict[int, int]  # unit -> speed datastream
    cameras: dict[str, int] = field(default_factory=dict)  # edge -> stopped-vehicles datastream


def _lookup(session: Session, writer: Writer, model: Any, es: str, name: str, body: dict[str, Any]) -> int:
    found = session.scalar(select(model.id).where(model.name == name).order_by(model.id).limit(1))
    if found is not None:
        return int(found)
    return int(writer.create(es, {"name": name, **body}).id)


def register_detectors(
    session: Session,
    network_key: str,
    network: Network,
    stations: list[Station],
    probe_units: int,
    cameras: bool = False,
) -> DetectorIds:
    """Create the Things and Datastreams of this network's detectors (once; later calls read them):
    a loop station per station, ``probe_units`` floating cars and (``cameras``) a video station on
    every station's segment."""
    existing = list(session.scalars(select(Detector).where(Detector.network == network_key)))
    have = {d.kind for d in existing}
    if existing and (not cameras or "camera" in have):
        return _ids(existing)
    writer = Writer(session, DEVICES)
    props = {
        key: _lookup(
            session,
            writer,
            ObservedProperty,
            "ObservedProperties",
            key,
            {"definition": f"https://onecity.dev/properties/{key}", "description": desc},
        )
        for key, (_unit, desc) in PROPERTIES.items()
    }
    sensors = {
        kind: _lookup(
            session,
            writer,
            Sensor,
            "Sensors",
            name,
            {"description": name, "encodingType": "text/html", "metadata": "https://onecity.dev/sensors/traffic"},
        )
        for kind, name in (
            ("loop", "感应线圈 induction loop"),
            ("probe", "浮动车终端 floating-car unit"),
            ("camera", "视频事件检测 video incident detection"),
        )
    }

    def stream(name: str, key: str, sensor: str) -> dict[str, Any]:
        unit = PROPERTIES[key][0]
        return {
            "name": f"{name} {key}",
            "description": key,
            "observationType": MEASUREMENT,
            "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": unit},
            "Sensor": {"@iot.id": sensors[sensor]},
            "ObservedProperty": {"@iot.id": props[key]},
        }

    # a network registered before it had video stations gains them, and keeps its loops and probes
    for st in stations if not existing else []:
        seg = network.segments[st.edge_id]
        lon, lat = seg.coords[len(seg.coords) // 2]
        name = f"交通检测器 {network_key} {st.edge_id}"
        writer.created.clear()
        thing = writer.create(
            "Things",
            {
                "name": name,
                "description": f"{seg.name} / {seg.name_en}",
                "properties": {"kind": "traffic_loop", "network": network_key, "segment": st.edge_id},
                "Locations": [
                    {
                        "name": name,
                        "description": "loop station",
                        "encodingType": "application/geo+json",
                        "location": {"type": "Point", "coordinates": [lon, lat]},
                    }
                ],
                "Datastreams": [stream(name, k, "loop") for k in ("road_speed", "road_flow", "road_occupancy")],
            },
        )
        ds = [cid for es, cid in writer.created if es == "Datastreams"]
        session.add(
            Detector(
                network=network_key,
                edge_id=st.edge_id,
                kind="loop",
                thing_id=thing.id,
                ds_speed=ds[0],
                ds_flow=ds[1],
                ds_occupancy=ds[2],
                pos_m=st.pos_m,
            )
        )
    for st in stations if cameras else []:
        seg = network.segments[st.edge_id]
        lon, lat = seg.coords[-1]
        name = f"交通视频 {network_key} {st.edge_id}"
        writer.created.clear()
        thing = writer.create(
            "Things",
            {
                "name": name,
                "description": f"{seg.name} / {seg.name_en}",
                "properties": {"kind": "traffic_camera", "network": network_key, "segment": st.edge_id},
                "Locations": [
                    {
                        "name": name,
                        "description": "video station",
                        "encodingType": "application/geo+json",
                        "location": {"type": "Point", "coordinates": [lon, lat]},
                    }
                ],
                "Datastreams": [stream(name, "stopped_vehicles", "camera")],
            },
        )
        ds = [cid for es, cid in writer.created if es == "Datastreams"]
        session.add(Detector(network=network_key, edge_id=st.edge_id, kind="camera", thing_id=thing.id, ds_speed=ds[0]))
    for unit in range(probe_units if not existing else 0):
        name = f"浮动车 {network_key} {unit:04d}"
        writer.created.clear()
        thing = writer.create(
            "Things",
            {
                "name": name,
                "description": "floating-car unit",
                "properties": {"kind": "traffic_probe", "network": network_key, "unit": unit},
                "Datastreams": [stream(name, "probe_speed", "probe")],
            },
        )
        ds = [cid for es, cid in writer.created if es == "Datastreams"]
        session.add(Detector(network=network_key, edge_id=None, kind="probe", thing_id=thing.id, ds_speed=ds[0]))
    session.flush()
    return _ids(list(session.scalars(select(Detector).where(Detector.network == network_key))))


def _ids(rows: Iterable[Detector]) -> DetectorIds:
    loops: dict[str, tuple[int, int, int]] = {}
    probes: dict[int, int] = {}
    cameras: dict[str, int] = {}
    unit = 0
    for d in sorted(rows, key=lambda d: d.id):
        if d.kind == "loop" and d.edge_id is not None:
            assert d.ds_flow is not None and d.ds_occupancy is not None
            loops[d.edge_id] = (d.ds_speed, d.ds_flow, d.ds_occupancy)
        elif d.kind == "probe":
            probes[unit] = d.ds_speed
            unit += 1
        elif d.kind == "camera" and d.edge_id is not None:
            cameras[d.edge_id] = d.ds_speed
    return DetectorIds(loops, probes, cameras)


def observations(
    ids: DetectorIds,
    day_start: datetime,
    loops: list[LoopReading],
    probes: list[ProbeReading],
    video: list[VideoReading] | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """The Observations (datastream id, JSON as a device sends it) of these readings."""
    out: list[tuple[int, dict[str, Any]]] = []
    for v in video or []:
        cam = ids.cameras.get(v.edge_id)
        if cam is None:
            continue
        body: dict[str, Any] = {
            "phenomenonTime": (day_start + timedelta(seconds=v.t)).isoformat(),
            "result": len(v.stopped),
            "parameters": {"from": v.covers_from_m, "stopped": [list(s) for s in v.stopped]},
        }
        out.append((cam, body))
    for r in loops:
        streams = ids.loops.get(r.edge_id)
        if streams is None:
            continue
        t = (day_start + timedelta(seconds=r.t)).isoformat()
        if r.speed_kmh is not None:
            out.append((streams[0], {"phenomenonTime": t, "result": r.speed_kmh}))
        flow: dict[str, Any] = {"phenomenonTime": t, "result": r.flow_vph}
        if r.lanes:  # the station's loops lane by lane, as a loop controller reports them
            flow["parameters"] = {"lanes": list(r.lanes)}
            if r.exit_lanes:  # and its exit cross-section's, near the segment's end
                flow["parameters"]["exit_lanes"] = list(r.exit_lanes)
        out.append((streams[1], flow))
        out.append((streams[2], {"phenomenonTime": t, "result": r.occupancy}))
    for p in probes:
        ds = ids.probes.get(p.unit)
        if ds is None:
            continue
        t = (day_start + timedelta(seconds=p.t)).isoformat()
        out.append(
            (
                ds,
                {
                    "phenomenonTime": t,
                    "result": p.speed_kmh,
                    "parameters": {"segment": p.edge_id, "pos": p.pos_m, "lon": p.lon, "lat": p.lat},
                },
            )
        )
    return out


class Feed(Protocol):
    sent: int

    def send(self, obs: list[tuple[int, dict[str, Any]]]) -> None: ...

    def flush(self) -> None:
        """Return once everything sent is stored."""

    def close(self) -> None: ...


class IngestFeed:
    """Observations stored through sensing's batched ingest path, in this process."""

    def __init__(self, db: Database, principal: Principal = DEVICES) -> None:
        self.db, self.principal, self.sent = db, principal, 0
        self._buffer: list[NewObservation] = []

    def send(self, obs: list[tuple[int, dict[str, Any]]]) -> None:
        from onecity.sensing.ingest import parse_observation

        for ds, body in obs:
            self._buffer.append(parse_observation(body, ds))
        self.sent += len(obs)

    def flush(self) -> None:
        for i in range(0, len(self._buffer), 2000):
            with self.db.transaction() as session:
                store_observations(session, self._buffer[i : i + 2000], principal=self.principal, origin="traffic")
        self._buffer.clear()

    def close(self) -> None:
        self.flush()


class MqttFeed:
    """Observations published to the broker as devices do; the ingest worker stores them.

    ``stored`` tells how many the platform has stored (the worker's count, when it runs in this
    process): :meth:`flush` waits for it to catch up, so an interval is computed from all of
    its readings."""

    def __init__(self, url: str | None, *, client_id: str, stored: Any = None, timeout_s: float = 60.0) -> None:
        self.client = new_client(client_id)
        connect(self.client, url)
        self.sent = 0
        self.stored = stored
        self.timeout_s = timeout_s
        self._lock = threading.Lock()

    def send(self, obs: list[tuple[int, dict[str, Any]]]) -> None:
        for ds, body in obs:
            self.client.publish(observation_topic(ds), json.dumps(body, separators=(",", ":")), qos=1)
        self.sent += len(obs)

    def flush(self) -> None:
        if self.stored is None:
            return
        deadline = time.monotonic() + self.timeout_s
        while self.stored() < self.sent:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the ingest stored {self.stored()} of {self.sent} observations in time")
            time.sleep(0.01)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
