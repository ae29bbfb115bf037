"""Video incident detection: a lane blocked on a signalised approach of the tiny network is seen by the
approach's cameras within two minutes; the same traffic without the blockage raises nothing there."""

from __future__ import annotations

from pathlib import Path

from onecity.traffic.demand import build_demand
from onecity.traffic.detection import Action, IncidentDetector, Reading
from onecity.traffic.network import EXPRESSWAY, Network
from onecity.traffic.simulation import LOOP_PERIOD_S, LoopReading, Simulation, VideoReading, choose_stations

BEGIN = 8 * 3600.0


def _run(tiny: Network, root: Path, edge: str | None, lane: int = 0) -> tuple[list[tuple[float, Action]], float]:
    """Ten minutes of the morning with the video stations on; from minute five a vehicle stands in
    ``lane`` of ``edge`` (None: nowhere). The detector's actions with their times, and when it started."""
    stations = choose_stations(tiny)
    sim = Simulation(
        tiny,
        build_demand(tiny, trips_per_km_hour=60),
        seed=3,
        begin_s=BEGIN,
        end_s=BEGIN + 600,
        stations=stations,
        camera_range_m=200.0,
        workdir=root / f"video-{edge}",
    )
    detector = IncidentDetector(
        {st.edge_id: (None, tiny.segments[st.edge_id].speed_kmh, False) for st in stations},
        {st.edge_id: tiny.segments[st.edge_id].length_m for st in stations},
    )
    actions: list[tuple[float, Action]] = []
    loops: list[LoopReading] = []
    video: list[VideoReading] = []
    started = BEGIN + 300
    with sim:
        while sim.t < BEGIN + 600:
            if edge is not None and sim.t == started:
                seg = tiny.segments[edge]
                inc = sim.inject(edge, lanes=1, duration_s=600, kind="stopped_vehicle", pos_m=0.7 * seg.length_m)
                assert inc.lanes == [lane]
            loops.clear()
            video.clear()
            sim.step_until(sim.t + LOOP_PERIOD_S, loops.extend, lambda _p: None, video.extend)
            stopped = {v.edge_id: v.stopped for v in video}
            readings = {
                r.edge_id: Reading(r.speed_kmh, r.flow_vph, r.occupancy, r.lanes, r.exit_lanes, stopped[r.edge_id])
                for r in loops
            }
            actions += [(sim.t, a) for a in detector.step(readings, {})]
    return actions, started


def test_a_lane_blocked_on_a_signalised_approach_is_seen_within_two_minutes(tiny: Network, tiny_root: Path) -> None:
    equipped = {st.edge_id for st in choose_stations(tiny)}
    approach = next(
        s.id
        for s in sorted(tiny.segments.values(), key=lambda s: (-s.length_m, s.id))
        if s.id in equipped and s.signalised and s.road_class != EXPRESSWAY and s.lanes >= 2 and s.length_m <= 400
    )
    actions, started = _run(tiny, tiny_root, approach)
    opened = [(t, a) for t, a in actions if a.kind == "open" and a.edge == approach]
    assert opened, actions
    t, action = opened[0]
    assert action.method == "video-stopped"
    # it stood through two camera reports, then the second flagged interval: at most four intervals on
    assert started < t <= started + 4 * LOOP_PERIOD_S
    # the same morning without the blockage: the approach's queues at its light raise nothing
    quiet, _ = _run(tiny, tiny_root, None)
    assert [a for _t, a in quiet if a.kind == "open" and a.edge == approach] == []
    assert [a for _t, a in quiet if a.method == "video-stopped"] == []
