"""Road traffic in the simulated city: the traffic part's whole chain over each simulated morning peak.

SUMO is the ground truth (:mod:`onecity.traffic.simulation`): the weekday demand, drawn from
the registries' residents and firms per district, drives the network (``tiny`` below scale
0.5, else ``central``), incidents are injected at random, the detectors publish through the
sensing ingest, incidents become urban-operations cases (delivered when ``onecity simulate``
delivers events) and the 5-minute index is computed. Traffic is simulated over the morning
peak (07:30 for ``MINUTES``) of every simulated weekday the run covers, following simulated time;
the rest of the day is left out (hours of SUMO per simulated hour would dwarf the city's other
actors). The actor draws nothing from the run's random generator, so adding it changes no
other actor's draws.

The report's ``traffic`` section: ``network`` {``segments``, ``km``, ``signals``},
``realtime_factor``, ``tpi`` {``city`` series, ``districts``}, ``incidents`` {``injected``,
``detected``, ``false_alarms``, ``detection_rate``, ``false_alarm_rate``,
``mean_time_to_detect_s``}, ``forecast`` {``h15``, ``h30``, ``h60``} (once three mornings are
in: the last held out) and ``signals`` (fixed time against max-pressure on the tiny network, same
demand and seed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from onecity.core import clock
from onecity.core.db import Database
from onecity.hub.registries.models import LegalPerson, Person
from onecity.traffic import forecast, signals
from onecity.traffic.network import load_network
from onecity.traffic.runner import RunConfig, RunState, advance, finish, report, start_run

BEGIN = "07:30"
MINUTES = 60.0


def _by_district(db: Database, model: Any) -> dict[str, float]:
    with db.sessions() as session:
        rows = session.execute(
            select(func.substr(model.division_code, 1, 6), func.count()).group_by(
                func.substr(model.division_code, 1, 6)
            )
        ).all()
    return {f"{code}000000": float(n) for code, n in rows}


@dataclass
class TrafficActor:
    scale: float
    name: str = "traffic"
    seed: int = 1
    state: RunState | None = None
    mornings: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    signals: dict[str, Any] | None = None
    db: Database | None = None
    days: list[Any] = field(default_factory=list)

    @property
    def area(self) -> str:
        return "central" if self.scale >= 0.5 else "tiny"

    def _window(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        local = clock.local(start)
        h, m = (int(x) for x in BEGIN.split(":"))
        w0 = local.replace(hour=h, minute=m, second=0, microsecond=0)
        w1 = w0 + timedelta(minutes=MINUTES)
        if local.weekday() >= 5 or end <= w0 or start >= w1:
            return None
        return max(start, w0), min(end, w1)

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        window = self._window(start, end)
        if window is None:
            return
        day = clock.local(window[0]).date()
        self.db = db
        t0 = time.perf_counter()
        if self.state is None or self.state.cfg.day != day:
            cfg = RunConfig(
                area=self.area,
                seed=self.seed,
                demand_seed=self.seed * 1000 + len(self.mornings),
                day=day,
                begin=BEGIN,
                minutes=MINUTES,
                residents=_by_district(db, Person) or None,
                jobs=_by_district(db, LegalPerson) or None,
                deliver_events=False,  # the engine delivers them after each actor's step
            )
            self.state = start_run(db, cfg)
            self.days.append(day)
        state = self.state
        until = (clock.local(window[1]) - state.day_start).total_seconds()
        advance(db, state, until)
        self.wall_s += time.perf_counter() - t0
        if until >= state.cfg.begin_s + MINUTES * 60:
            finish(db, state)
            self.mornings.append(report(state, self.wall_s))
            self.state, self.wall_s = None, 0.0

    def report(self) -> dict[str, Any]:
        if self.state is not None and self.db is not None:  # the run ended inside a morning peak
            finish(self.db, self.state)
            self.mornings.append(report(self.state, self.wall_s))
            self.state = None
        if not self.mornings:
            return {"note": "no weekday morning peak (07:30–08:30) in the simulated time"}
        last = self.mornings[-1]
        out: dict[str, Any] = {
            "network": {k: last["network"][k] for k in ("area", "segments", "km", "signals")},
            "mornings": len(self.mornings),
            "realtime_factor": last["realtime_factor"],
            "tpi": last["tpi"],
            "incidents": _sum_incidents([m["incidents"] for m in self.mornings]),
        }
        key = f"{self.area}-{self.seed}"
        if len(self.days) >= 3 and self.db is not None:
            with self.db.sessions() as session:
                result = forecast.evaluate(session, key, self.days[:-1], self.days[-1], seed=self.seed)
            out["forecast"] = {h: result[h] for h in forecast.HORIZONS}
        else:
            out["forecast"] = {"note": "needs three simulated weekday mornings (two to learn from, one held out)"}
        if self.signals is None:
            self.signals = signals.compare(load_network("tiny", self.seed), seed=self.seed, minutes=20.0, demand=25.0)
        out["signals"] = self.signals
        return out


def _sum_incidents(parts: list[dict[str, Any]]) -> dict[str, Any]:
    injected = sum(p["injected"] for p in parts)
    detected = sum(p["detected"] for p in parts)
    false_alarms = sum(p["false_alarms"] for p in parts)
    intervals = sum(p["detector_intervals"] for p in parts)
    ttd = [p["mean_time_to_detect_s"] * p["detected"] for p in parts if p["mean_time_to_detect_s"] is not None]
    return {
        "injected": injected,
        "detected": detected,
        "false_alarms": false_alarms,
        "detection_rate": round(detected / injected, 3) if injected else None,
        "false_alarm_rate": round(false_alarms / intervals, 5) if intervals else None,
        "mean_time_to_detect_s": round(sum(ttd) / detected, 1) if detected else None,
    }


def actors(scale: float) -> list[TrafficActor]:
    return [TrafficActor(scale)]
