"""The whole chain on the tiny network: SUMO → detectors over MQTT → SensorThings → state and index;
an injected incident → detected → an urban-operations case for the traffic police → closed when clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from onecity.core.db import Database
from onecity.ops.models import Case, Status, Unit
from onecity.ops.units import install_units
from onecity.sensing.models import Datastream, Observation, ObservedProperty, Thing
from onecity.traffic.models import Incident, IndexValue, SegmentState
from onecity.traffic.network import Network
from onecity.traffic.runner import RunConfig, advance, finish, report, start_run


def test_detectors_publish_over_mqtt_into_sensorthings(
    db: Database, mqtt_url: str, tiny: Network, tiny_root: Path
) -> None:
    cfg = RunConfig(
        area="tiny", seed=1, minutes=5, begin="08:00", incidents_per_hour=0, trips_per_km_hour=6,
        probe_units=20, probe_share=0.3, mqtt_url=mqtt_url, root=tiny_root,
    )  # fmt: skip
    state = start_run(db, cfg)
    try:
        advance(db, state, cfg.begin_s + 300)
    finally:
        finish(db, state)
    out = report(state, 1.0)
    assert out["sensing"] == "mqtt" and out["observations"] > 500
    with db.sessions() as session:
        # everything published was stored by the ingest worker, nothing else
        assert session.scalar(select(func.count()).select_from(Observation)) == state.feed.sent
        # a loop station is a Thing with speed, flow and occupancy Datastreams
        thing = session.scalars(select(Thing).where(Thing.name.like("交通检测器%"))).first()
        assert thing is not None and thing.lon is not None and 121.4 < thing.lon < 121.6
        props = set(
            session.scalars(
                select(ObservedProperty.name)
                .join(Datastream, Datastream.observed_property_id == ObservedProperty.id)
                .where(Datastream.thing_id == thing.id)
            )
        )
        assert props == {"road_speed", "road_flow", "road_occupancy"}
        # the flow carries the vehicles lane by lane at both cross-sections; a probe its place on the segment
        exits = {st.edge_id: st for st in state.sim.stations if st.exit_pos_m is not None}
        assert exits
        flows = {ds_q: edge for edge, (_v, ds_q, _o) in state.ids.loops.items() if edge in exits}
        seen = 0
        for ds, params in session.execute(
            select(Observation.datastream_id, Observation.parameters).where(Observation.datastream_id.in_(flows))
        ):
            st = exits[flows[ds]]
            assert len(params["lanes"]) == len(params["exit_lanes"]) == st.lanes
            seen += sum(params["exit_lanes"])
        assert seen > 0
        probe_ds = list(state.ids.probes.values())
        fixes = list(
            session.scalars(select(Observation.parameters).where(Observation.datastream_id.in_(probe_ds)).limit(200))
        )
        assert fixes and all(0 <= f["pos"] <= tiny.segments[f["segment"]].length_m + 1 for f in fixes)
        # every loop station's segment has a video station: a Thing whose one Datastream says which
        # vehicles stand in view, every 30 s, through the same ingest
        assert set(state.ids.cameras) == set(state.ids.loops)
        cams = list(
            session.scalars(
                select(ObservedProperty.name)
                .join(Datastream, Datastream.observed_property_id == ObservedProperty.id)
                .where(Datastream.id.in_(list(state.ids.cameras.values())))
            )
        )
        assert set(cams) == {"stopped_vehicles"}
        reports = list(
            session.execute(
                select(Observation.result_number, Observation.parameters).where(
                    Observation.datastream_id.in_(list(state.ids.cameras.values()))
                )
            )
        )
        assert len(reports) == 10 * len(state.ids.cameras)  # 5 minutes of 30-s reports
        assert all(n == len(p["stopped"]) for n, p in reports)
        segments = session.scalar(select(func.count()).select_from(SegmentState))
        assert segments is not None and segments > 10
        city = session.scalar(select(IndexValue).where(IndexValue.scope == "city"))
        assert city is not None and 0 <= city.tpi <= 10


def test_incident_becomes_a_case_closed_when_the_road_clears(
    db: Database, tiny: Network, tiny_root: Path, request: pytest.FixtureRequest
) -> None:
    from onecity.synth.geography.load import load_geography
    from tests.grids import remove_geography

    with db.transaction() as session:
        for district in ("310101000000", "310106000000"):
            load_geography(session, within=district)  # the grids operations places the case in
            install_units(session, within=district)
    if db.url.startswith("postgresql"):  # the shared database keeps divisions: take the communities out after
        request.addfinalizer(lambda: remove_geography(db))
    cfg = RunConfig(
        area="tiny", seed=1, minutes=20, begin="08:00", incidents_per_hour=0, trips_per_km_hour=30, root=tiny_root
    )
    state = start_run(db, cfg)
    try:
        advance(db, state, cfg.begin_s + 300)
        with db.sessions() as session:
            busiest = session.scalars(
                select(SegmentState.edge_id)
                .where(SegmentState.edge_id.in_(list(state.ids.loops)), SegmentState.flow_vph.is_not(None))
                .order_by(SegmentState.flow_vph.desc(), SegmentState.edge_id)
            ).first()
        assert busiest is not None
        station = next(st for st in state.sim.stations if st.edge_id == busiest)
        # a crash closing every lane 40 m past the loops, for seven minutes
        truth = state.sim.inject(busiest, duration_s=420, pos_m=station.pos_m + 40)
        advance(db, state, cfg.begin_s + 1200)
    finally:
        finish(db, state)
    scored = report(state, 1.0)["incidents"]
    assert scored["injected"] == 1 and scored["detected"] == 1, scored
    assert scored["mean_time_to_detect_s"] <= 600
    with db.sessions() as session:
        incidents = list(session.scalars(select(Incident).order_by(Incident.detected_at)))
        found = [
            i for i in incidents if i.edge_id == truth.edge_id or i.edge_id in state.upstream.get(truth.edge_id, [])
        ]
        assert found and found[0].status == "cleared" and found[0].case_id
        case = session.get(Case, found[0].case_id)
        assert case is not None and case.subtype_code == "E0507" and case.urgency == "urgent"
        assert case.department == "traffic" and case.status == Status.CLOSED
        unit = session.get(Unit, case.unit_agency_id)
        assert unit is not None and unit.department == "traffic" and unit.division_code == case.district_code
