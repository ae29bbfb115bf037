"""GB/T 33171 grades and the TPI, against a case computed by hand, through stored Observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from onecity.core.db import Database
from onecity.sensing.ingest import NewObservation, store_observations
from onecity.traffic import index, service
from onecity.traffic.feed import DEVICES, register_detectors
from onecity.traffic.models import IndexValue, Segment, SegmentState
from onecity.traffic.network import Network
from onecity.traffic.simulation import choose_stations


@pytest.mark.parametrize(
    ("cls", "speed", "grade"),
    [
        ("expressway", 66, 1),
        ("expressway", 65, 2),
        ("expressway", 50, 3),
        ("expressway", 35, 4),
        ("expressway", 20, 5),
        ("arterial", 41, 1),
        ("arterial", 30, 3),
        ("arterial", 15, 5),
        ("secondary", 36, 1),
        ("local", 12, 4),
    ],
)
def test_grades_follow_the_standard_table(cls: str, speed: float, grade: int) -> None:
    assert index.grade_of_speed(cls, speed) == grade
    assert index.grade_of_index(index.segment_index(cls, speed, 80.0 if cls == "expressway" else 50.0)) == grade


def test_segment_index_by_hand() -> None:
    # expressway, free flow 80: 80→0, 65→2, 50→4, 35→6, 20→8, 0→10
    assert index.segment_index("expressway", 80, 80) == 0.0
    assert index.segment_index("expressway", 57.5, 80) == 3.0
    assert index.segment_index("expressway", 10, 80) == 9.0
    # arterial, free flow 50: 40→2, 30→4; 35 is halfway
    assert index.segment_index("arterial", 35, 50) == 3.0
    assert index.tpi([]) is None
    # weights: expressway 4/km, arterial 2/km → (4·1·3 + 2·2·6) / (4 + 4) = 4.5
    value, km = index.tpi([index.Measured("expressway", 1000, 3.0), index.Measured("arterial", 2000, 6.0)]) or (0, 0)
    assert value == 4.5 and km == 3.0


def test_index_from_stored_observations(db: Database, tiny: Network) -> None:
    stations = choose_stations(tiny)
    ex = next(s for s in stations if tiny.segments[s.edge_id].road_class == "expressway")
    ar = next(s for s in stations if tiny.segments[s.edge_id].road_class == "arterial")
    with db.transaction() as session:
        key = service.install_network(session, tiny)
        ids = register_detectors(session, key, tiny, [ex, ar], probe_units=1)
        assert ids.cameras == {}
        # the same network registered again with video stations gains them and keeps its loops and probes
        again = register_detectors(session, key, tiny, [ex, ar], probe_units=1, cameras=True)
        assert again.loops == ids.loops and again.probes == ids.probes
        assert set(again.cameras) == {ex.edge_id, ar.edge_id}
        assert register_detectors(session, key, tiny, [ex, ar], probe_units=1, cameras=True) == again
    end = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    t = [end - timedelta(seconds=s) for s in (240, 120, 0)]
    ex_v, ex_q, ex_o = ids.loops[ex.edge_id]
    ar_v, ar_q, ar_o = ids.loops[ar.edge_id]
    obs = [
        # expressway loops: 55 and 60 km/h → 57.5; a probe on it at 57.5 keeps the mean
        NewObservation(ex_v, t[0], 55.0),
        NewObservation(ex_v, t[1], 60.0),
        NewObservation(ex_q, t[0], 1200.0),
        NewObservation(ex_o, t[0], 8.0),
        NewObservation(ids.probes[0], t[2], 57.5, parameters={"segment": ex.edge_id}),
        # arterial: 25 km/h (grade 3, index 5)
        NewObservation(ar_v, t[1], 25.0),
        NewObservation(ar_q, t[1], 600.0),
        # outside the interval: ignored
        NewObservation(ar_v, end - timedelta(minutes=6), 5.0),
    ]
    with db.transaction() as session:
        store_observations(session, obs, principal=DEVICES, origin="test")
    with db.transaction() as session:
        out = service.compute_interval(session, key, end)
    ex_seg, ar_seg = tiny.segments[ex.edge_id], tiny.segments[ar.edge_id]
    ex_i = index.segment_index("expressway", 57.5, ex_seg.speed_kmh)
    ar_i = index.segment_index("arterial", 25.0, ar_seg.speed_kmh)
    assert ex_i == pytest.approx(3.0) and ar_i == pytest.approx(5.0)
    w_ex, w_ar = 4.0 * ex_seg.length_m, 2.0 * ar_seg.length_m
    expected = round((w_ex * ex_i + w_ar * ar_i) / (w_ex + w_ar), 3)
    assert out["city"] == expected and out["segments"] == 2
    with db.sessions() as session:
        states = {s.edge_id: s for s in session.scalars(select(SegmentState))}
        assert states[ex.edge_id].speed_kmh == 57.5 and states[ex.edge_id].grade == 2
        assert states[ex.edge_id].loop_samples == 2 and states[ex.edge_id].probe_samples == 1
        assert states[ar.edge_id].speed_kmh == 25.0 and states[ar.edge_id].grade == 3
        city = session.scalar(select(IndexValue).where(IndexValue.scope == "city"))
        assert city is not None and city.tpi == expected and city.grade == index.grade_of_index(expected)
        assert 3.0 < expected < 5.0
        assert session.scalar(select(Segment).where(Segment.edge_id == ex.edge_id)) is not None
