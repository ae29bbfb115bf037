"""Incident detection on readings alone: a lane gone empty under light traffic, and an ordinary lane mix."""

from __future__ import annotations

import numpy as np

from onecity.traffic.detection import Action, IncidentDetector, Reading


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
