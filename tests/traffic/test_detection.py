"""Incident detection on readings alone: a lane gone empty under light traffic, and an ordinary lane mix."""

from __future__ import annotations

import numpy as np

from onecity.traffic.detection import Action, IncidentDetector, ProbeFix, Reading


def _feed(detector: IncidentDetector, intervals: list[tuple[int, int, int]]) -> list[tuple[int, Action]]:
    out = []
    for k, lanes in enumerate(intervals):
        n = sum(lanes)
        reading = Reading(48.0 if n else None, n * 120.0, 0.4 * n, lanes)
        out += [(k, a) for a in detector.step({"a": reading}, {})]
    return out


def _light_traffic(rng: np.random.Generator, n: int, shares: tuple[float, float, float]) -> list[tuple[int, int, int]]:
    """About five vehicles a 30 s interval over three lanes: no queue, no speed drop, whatever happens."""
    out = []
    for _ in range(n):
        a, b, c = (int(x) for x in rng.multinomial(int(rng.poisson(5)), shares))
        out.append((a, b, c))
    return out


def test_a_blocked_lane_is_found_without_any_queue_and_cleared_when_it_carries_traffic_again() -> None:
    rng = np.random.default_rng(1)
    detector = IncidentDetector({"a": (None, 60.0, False)})
    before = _light_traffic(rng, 30, (0.3, 0.4, 0.3))
    blocked = [(c[0] + c[1], 0, c[2]) for c in _light_traffic(rng, 12, (0.3, 0.4, 0.3))]  # lane 1 closed ahead
    after = _light_traffic(rng, 12, (0.3, 0.4, 0.3))
    actions = _feed(detector, before + blocked + after)
    opened = [(k, a) for k, a in actions if a.kind == "open"]
    assert len(opened) == 1, actions
    k, action = opened[0]
    assert action.method == "lane-blocked" and action.edge == "a"
    assert 30 <= k < 30 + 8  # within four minutes of the closure, never before it
    cleared = [k for k, a in actions if a.kind == "clear"]
    assert len(cleared) == 1 and cleared[0] >= 42


def test_an_ordinary_lane_mix_raises_no_alarm() -> None:
    rng = np.random.default_rng(2)
    detector = IncidentDetector({"a": (None, 60.0, False)})
    # a kerb lane few use, and the others as usual, for an hour
    actions = _feed(detector, _light_traffic(rng, 120, (0.1, 0.45, 0.45)))
    assert [a for _k, a in actions if a.kind == "open"] == []
    assert detector.intervals == 120


def _feed_exit(
    detector: IncidentDetector, main: list[tuple[int, int, int]], exit_: list[tuple[int, int, int]]
) -> list[tuple[int, Action]]:
    out = []
    for k, (lanes, xl) in enumerate(zip(main, exit_, strict=True)):
        n = sum(lanes)
        reading = Reading(48.0 if n else None, n * 120.0, 0.4 * n, lanes, xl)
        out += [(k, a) for a in detector.step({"a": reading}, {})]
    return out


def test_a_lane_blocked_past_the_main_loops_is_found_at_the_exit_loops() -> None:
    rng = np.random.default_rng(3)
    detector = IncidentDetector({"a": (None, 60.0, False)})
    before = _light_traffic(rng, 30, (0.3, 0.4, 0.3))
    # the blockage is past the main loops: they see the usual mix; past it, the exit loops see lane 2 empty
    during = _light_traffic(rng, 12, (0.3, 0.4, 0.3))
    exit_during = [(c[0], c[1] + c[2], 0) for c in during]
    actions = _feed_exit(detector, before + during, before + exit_during)
    opened = [(k, a) for k, a in actions if a.kind == "open"]
    assert len(opened) == 1, actions
    k, action = opened[0]
    assert action.method == "lane-blocked-exit" and 30 <= k < 30 + 8
    # without the exit loops' counts the same traffic raises nothing
    quiet = IncidentDetector({"a": (None, 60.0, False)})
    assert [a for _k, a in _feed(quiet, before + during) if a.kind == "open"] == []


def _probe_run(
    detector: IncidentDetector, fixes: list[list[ProbeFix]], speed: float = 48.0
) -> list[tuple[int, Action]]:
    out = []
    for k, fx in enumerate(fixes):
        reading = Reading(speed, 600.0, 3.0, (2, 2, 1))
        out += [(k, a) for a in detector.step({"a": reading}, {}, fx)]
    return out


def _moving(k: int) -> list[ProbeFix]:
    return [ProbeFix(7, "a", (k * 300.0) % 400, 40.0)]


def test_a_floating_car_standing_mid_block_while_others_pass_raises_an_alarm() -> None:
    detector = IncidentDetector({"a": (None, 60.0, False)}, {"a": 400.0})
    fixes = [_moving(k) for k in range(20)] + [[ProbeFix(3, "a", 212.0 + k % 2, 0.0)] for k in range(6)]
    opened = [(k, a) for k, a in _probe_run(detector, fixes) if a.kind == "open"]
    assert len(opened) == 1 and opened[0][1].method == "probe-stopped"
    assert opened[0][0] == 20 + 2  # stood two reports, then the second flagged interval


def test_a_car_held_at_the_signal_or_in_a_jam_is_no_incident() -> None:
    # at the stop line (a red light and its queue): the segment's last 60 m
    at_signal = IncidentDetector({"a": (None, 60.0, False)}, {"a": 400.0})
    fixes = [_moving(k) for k in range(20)] + [[ProbeFix(3, "a", 365.0, 0.0)] for _ in range(6)]
    assert [a for _k, a in _probe_run(at_signal, fixes) if a.kind == "open"] == []
    # mid-block, but everyone is slow: a jam, not a car stopped while others pass
    jam = IncidentDetector({"a": (None, 60.0, False)}, {"a": 400.0})
    warm = [_moving(k) for k in range(20)]
    for fx in warm:
        jam.step({"a": Reading(48.0, 600.0, 3.0, (2, 2, 1))}, {}, fx)
    stuck = [[ProbeFix(3, "a", 200.0, 0.0)] for _ in range(6)]
    assert [a for _k, a in _probe_run(jam, stuck, speed=12.0) if a.kind == "open" and a.method == "probe-stopped"] == []
    # a car creeping forward (moving more than 5 m a report) is not standing
    creeping = IncidentDetector({"a": (None, 60.0, False)}, {"a": 400.0})
    fixes = [_moving(k) for k in range(20)] + [[ProbeFix(3, "a", 100.0 + 8 * k, 4.0)] for k in range(6)]
    assert [a for _k, a in _probe_run(creeping, fixes) if a.kind == "open"] == []


def test_traffic_moving_out_of_a_lane_that_still_carries_some_is_a_lane_shift() -> None:
    rng = np.random.default_rng(5)
    before = _light_traffic(rng, 30, (0.3, 0.4, 0.3))
    # drivers leave the middle lane early for a blockage ahead: it keeps a tenth of the traffic
    shifted = _light_traffic(rng, 20, (0.45, 0.1, 0.45))
    detector = IncidentDetector({"a": (None, 60.0, False)})
    opened = [(k, a) for k, a in _feed(detector, before + shifted) if a.kind == "open"]
    assert len(opened) == 1 and opened[0][1].method == "lane-shift", opened
    assert 30 <= opened[0][0] < 30 + 16  # at ten vehicles a minute, a mild shift takes minutes to be sure of
    # the same traffic with the test off: the lane never quite empties, so nothing is found
    off = IncidentDetector({"a": (None, 60.0, False)})
    off.lane_shift = False
    assert [a for _k, a in _feed(off, before + shifted) if a.kind == "open"] == []


def test_turning_platoons_that_vary_the_lane_mix_raise_no_lane_shift() -> None:
    rng = np.random.default_rng(6)
    detector = IncidentDetector({"a": (None, 60.0, False)})
    # an hour where each half-minute's mix wanders (platoons from the junction upstream), no blockage
    intervals = []
    for _ in range(120):
        shares = rng.dirichlet((6.0, 8.0, 6.0))
        a, b, c = (int(x) for x in rng.multinomial(int(rng.poisson(5)), shares))
        intervals.append((a, b, c))
    assert [a for _k, a in _feed(detector, intervals) if a.kind == "open"] == []


def _video_run(stopped: list[tuple[tuple[int, float, int], ...]]) -> list[tuple[int, Action]]:
    detector = IncidentDetector({"a": (None, 60.0, False)}, {"a": 300.0})
    out = []
    for k, seen in enumerate(stopped):
        out += [(k, a) for a in detector.step({"a": Reading(45.0, 600.0, 3.0, (2, 2, 1), stopped=seen)}, {})]
    return out


def test_a_vehicle_standing_with_the_road_ahead_free_is_seen_on_video() -> None:
    # a car stops in lane 1 at 180 m: the cameras see it first (0 s), then standing 30, 60, 90 s
    stopped: list[tuple[tuple[int, float, int], ...]] = [()] * 10 + [((1, 180.0, 30 * k),) for k in range(4)]
    opened = [(k, a) for k, a in _video_run(stopped) if a.kind == "open"]
    assert len(opened) == 1 and opened[0][1].method == "video-stopped"
    assert opened[0][0] == 10 + 2  # standing at two reports, flagged twice


def test_queues_and_brief_stops_are_not_incidents_on_video() -> None:
    # a red light's queue: the head at the stop line, the others each behind a standing vehicle
    queue = tuple((0, 299.0 - 7.5 * i, 60) for i in range(8))
    assert [a for _k, a in _video_run([queue] * 10) if a.kind == "open"] == []
    # a car that stood through one report and went on (a lane change, a pedestrian)
    brief = [(), ((2, 150.0, 0),), ((2, 150.0, 30),), (), ((0, 90.0, 0),), ((0, 90.0, 30),), ()]
    assert [a for _k, a in _video_run(brief * 3) if a.kind == "open"] == []
    # the same vehicle standing with the queue's last car more than a gap ahead of it: an incident
    behind = queue + ((0, 299.0 - 7.5 * 7 - 40.0, 60),)
    assert [a.method for _k, a in _video_run([behind] * 3) if a.kind == "open"] == ["video-stopped"]
