"""The city's sensors in the simulation: devices, weather, daily rhythms, faults and injected incidents.

Fleet at scale 1 (multiplied by ``--scale``, at least one of each kind):

* 157 water-level stations and 550 rain gauges — the counts Shanghai's water authority
  publishes for its hydrological network (上海市水务局, 水文站网);
* 50,000 manhole-cover tilt sensors, 100,000 smoke detectors, 10,000 traffic detectors and
  2,000 crowd counters — assumptions of the right order for the city's "city neurons"
  (no single published figure was found). Manhole-cover sensors are linked to manhole covers
  of the hub's component registry when the registry is seeded.

Readings: water levels follow the semi-diurnal tide (period 12.42 h) plus rain run-off;
rain comes in showers (a two-state weather process); traffic and crowds follow the day's
rhythm (morning and evening peaks). Faults: a device falls silent now and then for a few
hours (the silence rule should notice). Incidents, injected with their ground truth kept:
a rainstorm over one township (heavy rain and a rising river), a displaced manhole cover,
a fire (smoke) and a crowd surge.

Readings enter through :func:`onecity.sensing.ingest.store_observations`, the same batched
path the MQTT worker uses (the broker itself is left out so that a seeded run is
deterministic), and the platform's rules raise the alerts. The report's latencies are in
simulated time, from an incident's onset to its first alert (the step is 10 minutes, the
devices report every 5, so they measure detection, not the machine).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.identity.principal import system_principal
from onecity.sensing import rules
from onecity.sensing.ingest import NewObservation, store_observations
from onecity.sensing.models import Alert, Rule, Thing
from onecity.sensing.sta.service import Writer

log = logging.getLogger(__name__)

SENSORS = system_principal("sim:sensors")


@dataclass(frozen=True)
class Kind:
    key: str
    name: str
    prop: str
    unit: str
    count_at_scale_1: int
    every_minutes: int


KINDS = (
    Kind("water", "水位站", "water_level", "m", 157, 5),
    Kind("rain", "雨量站", "rainfall", "mm/h", 550, 5),
    Kind("cover", "井盖传感器", "tilt", "deg", 50_000, 60),
    Kind("smoke", "烟感探测器", "smoke_density", "dB/m", 100_000, 60),
    Kind("traffic", "交通检测器", "traffic_flow", "veh/5min", 10_000, 5),
    Kind("crowd", "客流计数器", "crowd_density", "p/m2", 2_000, 5),
)

#: The rules a fresh city starts with (operators change them on the rules page).
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "河道高水位",
        "kind": "threshold",
        "level": "orange",
        "observed_property": "water_level",
        "params": {"above": 4.5, "clear_below": 4.3},
    },
    {
        "name": "短时强降雨",
        "kind": "threshold",
        "level": "yellow",
        "observed_property": "rainfall",
        "params": {"above": 30.0, "clear_below": 20.0},
    },
    {
        "name": "井盖位移",
        "kind": "threshold",
        "level": "red",
        "observed_property": "tilt",
        "params": {"above": 15.0, "clear_below": 5.0},
    },
    {
        "name": "烟雾报警",
        "kind": "threshold",
        "level": "red",
        "observed_property": "smoke_density",
        "params": {"above": 0.2, "clear_below": 0.1},
    },
    {
        "name": "人群密集",
        "kind": "threshold",
        "level": "orange",
        "observed_property": "crowd_density",
        "params": {"above": 4.0, "clear_below": 3.0},
    },
    {
        "name": "暴雨叠加涨水",
        "kind": "combination",
        "level": "red",
        "params": {
            "window_minutes": 60,
            "conditions": [
                {"observed_property": "rainfall", "above": 30.0},
                {"observed_property": "water_level", "rise_per_hour": 0.3},
            ],
        },
    },
    {"name": "设备离线", "kind": "silence", "level": "blue", "params": {"silent_minutes": 90}},
]

#: Incidents a day at scale 1 (assumptions), and faults per device a day.
INCIDENTS_PER_DAY_AT_SCALE_1 = {"storm": 2.0, "cover": 200.0, "fire": 150.0, "crowd": 20.0}
#: A small city still gets a few incidents a day, so that a short run measures detection.
INCIDENTS_PER_DAY_AT_LEAST = {"storm": 1.0, "cover": 2.0, "fire": 2.0, "crowd": 1.0}
FAULTS_PER_DEVICE_DAY = 0.01


@dataclass
class Device:
    thing_id: int
    datastream_id: int
    kind: Kind
    township: str
    phase: float
    base: float
    silent_until: datetime | None = None
    next_at: datetime | None = None


@dataclass
class Incident:
    kind: str
    start: datetime
    end: datetime
    thing_ids: set[int]
    township: str | None = None
    detected_at: datetime | None = None


@dataclass
class SensingActor:
    scale: float
    name: str = "sensing"
    devices: list[Device] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("observations_sent", "observations_stored", "faults"), 0)
    )
    raining: dict[str, float] = field(default_factory=dict)
    _ready: bool = False
    _seen_alerts: set[str] = field(default_factory=set)
    _false_alerts: int = 0
    _alerts: int = 0
    _scored_until: datetime | None = None
    _ids: dict[str, int] = field(default_factory=dict)

    # -- set-up ---------------------------------------------------------------------------------

    def _setup(self, db: Database, rng: np.random.Generator) -> None:
        from onecity.hub.geography.index import grid_index

        self._ready = True
        with db.transaction() as session:
            if session.scalar(select(func.count()).select_from(Rule)) == 0:
                from onecity.sensing import service

                for spec in DEFAULT_RULES:
                    service.create_rule(session, SENSORS, **spec)
        index = grid_index(db)
        covers = self._manhole_covers(db)
        for kind in KINDS:
            n = max(1, round(kind.count_at_scale_1 * self.scale))
            points, grids = index.random_points_in("310000000000", n, rng)
            with db.transaction() as session:
                writer = Writer(session, SENSORS)
                for i in range(n):
                    lon, lat = float(points[i, 0]), float(points[i, 1])
                    props: dict[str, Any] = {"kind": kind.key}
                    if kind.key == "cover" and i < len(covers):  # on the cover itself
                        props["onecity:component"], lon, lat = covers[i]
                    thing = writer.create(
                        "Things",
                        {
                            "name": f"{kind.name} {i + 1:05d}",
                            "description": kind.name,
                            "properties": props,
                            "Locations": [
                                {
                                    "name": f"{kind.name} {i + 1:05d}",
                                    "description": "site",
                                    "encodingType": "application/geo+json",
                                    "location": {"type": "Point", "coordinates": [lon, lat]},
                                }
                            ],
                            "Datastreams": [
                                {
                                    "name": f"{kind.name} {i + 1:05d} {kind.prop}",
                                    "description": kind.prop,
                                    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                                    "unitOfMeasurement": {
                                        "name": kind.unit,
                                        "symbol": kind.unit,
                                        "definition": kind.unit,
                                    },
                                    "Sensor": {"@iot.id": self._sensor(writer, kind)},
                                    "ObservedProperty": {"@iot.id": self._property(writer, kind)},
                                }
                            ],
                        },
                    )
                    ds_id = [cid for es, cid in writer.created if es == "Datastreams"][-1]
                    self.devices.append(
                        Device(
                            thing.id,
                            ds_id,
                            kind,
                            thing.township_code or str(grids[i])[:9] + "000",
                            phase=float(rng.uniform(0, 2 * math.pi)),
                            base=float(rng.uniform(0.8, 1.2)),
                        )
                    )

    def _sensor(self, writer: Writer, kind: Kind) -> int:
        key = f"sensor:{kind.key}"
        if key not in self._ids:
            self._ids[key] = writer.create(
                "Sensors",
                {
                    "name": f"{kind.name} sensor",
                    "description": kind.name,
                    "encodingType": "text/html",
                    "metadata": "https://onecity.dev/sensors",
                },
            ).id
        return self._ids[key]

    def _property(self, writer: Writer, kind: Kind) -> int:
        key = f"prop:{kind.key}"
        if key not in self._ids:
            self._ids[key] = writer.create(
                "ObservedProperties",
                {
                    "name": kind.prop,
                    "definition": f"https://onecity.dev/properties/{kind.prop}",
                    "description": kind.name,
                },
            ).id
        return self._ids[key]

    def _manhole_covers(self, db: Database) -> list[tuple[str, float, float]]:
        from onecity.hub.registries.models import Component

        n = max(1, round(50_000 * self.scale))
        with db.sessions() as session:
            rows = session.execute(
                select(Component.code, Component.lon, Component.lat)
                .where(Component.class_code.like("01%"))
                .order_by(Component.id)
                .limit(n)
            )
            return [(r[0], float(r[1]), float(r[2])) for r in rows]

    # -- one step -------------------------------------------------------------------------------

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        if not self._ready:
            self._setup(db, rng)
        self._weather(start, end, rng)
        self._inject(start, end, rng)
        batch: list[NewObservation] = []
        for d in self.devices:
            if d.next_at is None:
                d.next_at = start + timedelta(minutes=float(rng.integers(0, d.kind.every_minutes)))
            if d.silent_until is None and rng.random() < FAULTS_PER_DEVICE_DAY * (end - start).total_seconds() / 86400:
                d.silent_until = start + timedelta(hours=float(rng.uniform(2, 8)))
                self.counts["faults"] += 1
                self.incidents.append(Incident("fault", start, d.silent_until, {d.thing_id}))
            while d.next_at < end:
                t = d.next_at
                d.next_at = t + timedelta(minutes=d.kind.every_minutes)
                if d.silent_until is not None:
                    if t < d.silent_until:
                        continue
                    d.silent_until = None
                batch.append(NewObservation(d.datastream_id, t, round(self._reading(d, t, rng), 3)))
        batch.sort(key=lambda o: o.phenomenon_time)
        self.counts["observations_sent"] += len(batch)
        for i in range(0, len(batch), 2000):
            with db.transaction() as session:
                result = store_observations(session, batch[i : i + 2000], principal=SENSORS, origin="sim")
            self.counts["observations_stored"] += result.stored
        with db.transaction() as session:
            # silence is measured on the platform clock, the clock that stamped last_seen_at: simulated
            # time in `onecity simulate`, wall time in the demo (whose simulation runs ahead of it;
            # measuring it against simulated time there made every device look silent, and flap)
            rules.check_silence(session, principal=SENSORS)
        self._score(db)

    def _weather(self, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        """Showers come and go per district: light rain, never a storm by themselves. The districts are
        visited in sorted order: each draws from the run's generator, and a set of strings iterates in an
        order that changes with PYTHONHASHSEED, so the same seed would not replay the same weather."""
        hours = (end - start).total_seconds() / 3600
        for district in sorted({d.township[:6] for d in self.devices}):
            if district in self.raining:
                if rng.random() < 0.3 * hours:
                    del self.raining[district]
            elif rng.random() < 0.04 * hours:
                self.raining[district] = float(rng.uniform(1, 12))

    def _inject(self, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        days = (end - start).total_seconds() / 86400
        for kind, per_day in INCIDENTS_PER_DAY_AT_SCALE_1.items():
            rate = max(per_day * self.scale, INCIDENTS_PER_DAY_AT_LEAST[kind])
            for _ in range(int(rng.poisson(rate * days))):
                onset = start + timedelta(seconds=float(rng.uniform(0, (end - start).total_seconds())))
                if kind == "storm":
                    townships = sorted({d.township for d in self.devices if d.kind.key == "water"})
                    township = townships[int(rng.integers(len(townships)))]
                    things = {d.thing_id for d in self.devices if d.township == township}
                    self.incidents.append(Incident("storm", onset, onset + timedelta(hours=3), things, township))
                    continue
                key = {"cover": "cover", "fire": "smoke", "crowd": "crowd"}[kind]
                pool = [d for d in self.devices if d.kind.key == key]
                d = pool[int(rng.integers(len(pool)))]
                self.incidents.append(
                    Incident(kind, onset, onset + timedelta(hours=float(rng.uniform(1, 3))), {d.thing_id}, d.township)
                )

    def _active(self, d: Device, t: datetime) -> Incident | None:
        for inc in self.incidents:
            if (
                inc.kind != "fault"
                and inc.start <= t < inc.end
                and (d.thing_id in inc.thing_ids or (inc.kind == "storm" and d.township == inc.township))
            ):
                return inc
        return None

    def _reading(self, d: Device, t: datetime, rng: np.random.Generator) -> float:
        local = clock.local(t)
        hour = local.hour + local.minute / 60
        day = 0.5 - 0.5 * math.cos(2 * math.pi * (hour - 3) / 24)  # 0 at 3 am, 1 at 3 pm
        peaks = math.exp(-((hour - 8.5) ** 2) / 2) + math.exp(-((hour - 18) ** 2) / 2)
        inc = self._active(d, t)
        since = (t - inc.start).total_seconds() / 3600 if inc else 0.0
        k = d.kind.key
        if k == "water":
            tide = 3.2 + 0.6 * math.sin(2 * math.pi * t.timestamp() / 3600 / 12.42 + d.phase)
            runoff = 0.1 * self.raining.get(d.township[:6], 0) / 12
            surge = min(1.6, 0.8 * since) if inc and inc.kind == "storm" else 0.0
            return tide + runoff + surge + float(rng.normal(0, 0.02))
        if k == "rain":
            base = self.raining.get(d.township[:6], 0.0) * d.base
            if inc and inc.kind == "storm":
                base = 45 + 20 * math.sin(math.pi * min(since / 3, 1))
            return max(0.0, base + float(rng.normal(0, 0.5)) if base else 0.0)
        if k == "cover":
            return 35.0 + float(rng.normal(0, 3)) if inc else abs(float(rng.normal(0, 0.5)))
        if k == "smoke":
            return 0.5 + float(rng.uniform(0, 0.5)) if inc else abs(float(rng.normal(0.01, 0.005)))
        if k == "traffic":
            return max(0.0, 40 * d.base * (0.2 + 0.8 * peaks + 0.3 * day) + float(rng.normal(0, 3)))
        surge_density = 5.0 + since if inc else 0.0
        return max(0.0, surge_density or (0.3 + 1.5 * peaks + 0.8 * day) * d.base + float(rng.normal(0, 0.1)))

    def _score(self, db: Database) -> None:
        """Match new alerts to the ground truth: a hit detects an incident, a miss is a false alert."""
        with db.sessions() as session:
            stmt = select(
                Alert.id, Alert.thing_id, Alert.township_code, Alert.raised_at, Alert.subject, Alert.observed_at
            )
            if self._scored_until is not None:
                stmt = stmt.where(Alert.raised_at >= self._scored_until)
            alerts = list(session.execute(stmt.order_by(Alert.raised_at)))
        if alerts:
            self._scored_until = alerts[-1][3]
        for alert_id, thing_id, township, raised_at, subject, observed_at in alerts:
            if alert_id in self._seen_alerts:
                continue
            self._seen_alerts.add(alert_id)
            self._alerts += 1
            silence = subject.startswith("thing:")
            hit = None
            for inc in self.incidents:
                if not (inc.start - timedelta(minutes=20) <= raised_at <= inc.end + timedelta(hours=2)):
                    continue
                if (inc.kind == "fault") != silence:
                    continue
                if thing_id in inc.thing_ids or (subject.startswith("tw:") and inc.township == township):
                    hit = inc
                    break
            if hit is None:
                self._false_alerts += 1
            else:
                seen = observed_at or raised_at  # when the reading that raised it was taken
                if hit.detected_at is None or seen < hit.detected_at:
                    hit.detected_at = seen

    def report(self) -> dict[str, Any]:
        real = [i for i in self.incidents if i.kind != "fault"]
        latencies = [max(0.0, (i.detected_at - i.start).total_seconds() * 1000) for i in real if i.detected_at]
        detected = sum(1 for i in real if i.detected_at)
        return {
            "devices": len(self.devices),
            **self.counts,
            "alerts": self._alerts,
            "incidents": len(real),
            "incidents_detected": detected,
            "faults_detected": sum(1 for i in self.incidents if i.kind == "fault" and i.detected_at),
            "false_alerts": self._false_alerts,
            "alert_latency_ms_p50": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
            "alert_latency_ms_p99": round(float(np.percentile(latencies, 99)), 1) if latencies else None,
            "latency_clock": "simulated",
        }


def actors(scale: float) -> list[SensingActor]:
    return [SensingActor(scale)]


__all__ = ["SensingActor", "Thing", "actors"]
