"""The sensing actor: a fleet at Shanghai's proportions, every reading stored, incidents detected."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from onecity.core import clock
from onecity.core.db import Database
from onecity.sim.engine import Simulation
from onecity.synth.actors.sensing import Incident, SensingActor

START = datetime(2026, 6, 1, tzinfo=clock.SHANGHAI)


def test_actor_stores_everything_and_detects_an_injected_fire(db: Database) -> None:
    actor = SensingActor(scale=0.0005)
    sim = Simulation(
        db, [actor], start=START, seed=3, step=timedelta(minutes=10), deliver_events=True, progress=lambda _: None
    )
    sim.run(0.5)  # sets the fleet up
    kinds = {d.kind.key: 0 for d in actor.devices}
    for d in actor.devices:
        kinds[d.kind.key] += 1
    assert kinds == {"water": 1, "rain": 1, "cover": 25, "smoke": 50, "traffic": 5, "crowd": 1}
    smoke = next(d for d in actor.devices if d.kind.key == "smoke")
    actor.incidents.append(Incident("fire", sim.now, sim.now + timedelta(hours=2), {smoke.thing_id}))
    sim.run(2.5)
    report = sim.report()["sensing"]
    assert report["observations_sent"] == report["observations_stored"] > 300
    fire = next(i for i in actor.incidents if i.kind == "fire" and smoke.thing_id in i.thing_ids)
    assert fire.detected_at is not None
    assert (fire.detected_at - fire.start) <= timedelta(minutes=61)  # smoke detectors report hourly
    assert report["incidents_detected"] >= 1 and report["alerts"] >= 1
    assert set(report) >= {
        "observations_sent",
        "observations_stored",
        "alerts",
        "incidents",
        "incidents_detected",
        "false_alerts",
        "alert_latency_ms_p50",
        "alert_latency_ms_p99",
    }
    assert np.isfinite(report["alert_latency_ms_p50"])
