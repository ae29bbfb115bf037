"""Segment speed 15, 30 and 60 minutes ahead: gradient boosting against the historical average and persistence.

The data are the platform's own 5-minute segment states (``traffic_states``), so a forecast
knows only what the sensors reported. For a segment at interval ``t`` and a horizon ``h`` the
features are: its speed now and 5, 10 and 15 minutes ago, the mean speed now of the segments
next to it on the same road (downstream and upstream), the time of day of ``t + h``, its
class and free-flow speed, and the **historical average** of its speed at ``t + h``'s time of
day over the training days. One ``HistGradientBoostingRegressor`` (scikit-learn) per horizon
learns the speed at ``t + h``.

Baselines, on the same held-out day and the same (segment, interval) pairs: the historical
average alone, and persistence (the speed now). Days are whole simulated mornings with their
own demand draw; the held-out day is never seen in training (nor in the historical average).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.traffic.models import Segment, SegmentState

HORIZONS = {"h15": 3, "h30": 6, "h60": 12}  # in 5-minute steps
CLASSES = {"expressway": 0, "arterial": 1, "secondary": 2, "local": 3}


@dataclass
class _Data:
    edges: list[str]
    slots: list[int]  # minutes of day of each column
    days: list[date]
    speed: np.ndarray  # days × edges × slots, NaN where unmeasured
    neighbours: list[list[int]]
    free_flow: np.ndarray
    cls: np.ndarray


def _load(session: Session, network: str, days: list[date]) -> _Data:
    segs = {s.edge_id: s for s in session.scalars(select(Segment).where(Segment.network == network))}
    rows: dict[tuple[date, str, int], float] = {}
    slots: set[int] = set()
    edges: set[str] = set()
    for st in session.scalars(select(SegmentState).where(SegmentState.network == network)):
        local = clock.local(st.at)
        d = local.date()
        if d not in days:
            continue
        m = local.hour * 60 + local.minute
        rows[(d, st.edge_id, m)] = st.speed_kmh
        slots.add(m)
        edges.add(st.edge_id)
    edge_list = sorted(edges)
    slot_list = sorted(slots)
    ei = {e: i for i, e in enumerate(edge_list)}
    si = {m: i for i, m in enumerate(slot_list)}
    di = {d: i for i, d in enumerate(days)}
    speed = np.full((len(days), len(edge_list), len(slot_list)), np.nan)
    for (d, e, m), v in rows.items():
        speed[di[d], ei[e], si[m]] = v
    upstream: dict[str, list[str]] = defaultdict(list)
    for e in edge_list:
        for n in segs[e].downstream or []:
            upstream[n].append(e)
    neighbours = [[ei[n] for n in (segs[e].downstream or []) + upstream[e] if n in ei] for e in edge_list]
    return _Data(
        edge_list,
        slot_list,
        days,
        speed,
        neighbours,
        np.asarray([segs[e].speed_kmh for e in edge_list]),
        np.asarray([CLASSES.get(segs[e].road_class, 3) for e in edge_list]),
    )


def _features(data: _Data, day: int, h: int, ha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, historical average, persistence) for every measured (segment, t) of one day."""
    v = data.speed[day]  # edges × slots
    n_e, n_s = v.shape
    nb = np.full_like(v, np.nan)
    for e, ns in enumerate(data.neighbours):
        if ns:
            with np.errstate(all="ignore"):
                nb[e] = np.nanmean(v[ns], axis=0) if len(ns) > 1 else v[ns[0]]
    xs, ys, has, ps = [], [], [], []
    for t in range(3, n_s - h):
        target = v[:, t + h]
        now = v[:, t]
        ok = ~np.isnan(target) & ~np.isnan(now) & ~np.isnan(ha[:, t + h])
        if not ok.any():
            continue
        cols = [
            now,
            v[:, t - 1],
            v[:, t - 2],
            v[:, t - 3],
            nb[:, t],
            np.full(n_e, data.slots[t + h], dtype=float),
            data.cls.astype(float),
            data.free_flow,
            ha[:, t + h],
            ha[:, t],
        ]
        x = np.stack(cols, axis=1)[ok]
        xs.append(x)
        ys.append(target[ok])
        has.append(ha[:, t + h][ok])
        ps.append(now[ok])
    if not xs:
        empty = np.zeros((0, 10))
        return empty, np.zeros(0), np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(has), np.concatenate(ps)


def evaluate(session: Session, network: str, train: list[date], test: date, *, seed: int = 0) -> dict[str, Any]:
    """Train on ``train`` days, forecast ``test``; the MAE (km/h) of the model and both baselines per horizon."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    days = [*train, test]
    data = _load(session, network, days)
    with np.errstate(all="ignore"):
        ha = np.nanmean(data.speed[: len(train)], axis=0)  # edges × slots, training days only
    out: dict[str, Any] = {"train_days": [d.isoformat() for d in train], "test_day": test.isoformat()}
    for name, h in HORIZONS.items():
        parts = [_features(data, i, h, ha) for i in range(len(train))]
        x_tr = np.concatenate([p[0] for p in parts])
        y_tr = np.concatenate([p[1] for p in parts])
        x_te, y_te, ha_te, p_te = _features(data, len(train), h, ha)
        if len(y_tr) < 50 or len(y_te) == 0:
            out[name] = {"samples": int(len(y_te)), "mae_kmh": None}
            continue
        model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.08, random_state=seed)
        # one thread: OpenMP's spinning workers crawl on a busy shared machine, and the data are small
        with threadpool_limits(limits=1):
            model.fit(x_tr, y_tr)
            pred = model.predict(x_te)
        out[name] = {
            "mae_kmh": round(float(np.mean(np.abs(pred - y_te))), 3),
            "mae_historical_average_kmh": round(float(np.mean(np.abs(ha_te - y_te))), 3),
            "mae_persistence_kmh": round(float(np.mean(np.abs(p_te - y_te))), 3),
            "samples": int(len(y_te)),
            "train_samples": int(len(y_tr)),
        }
    return out


def days_with_states(session: Session, network: str) -> list[date]:
    """The local dates the network has states for, oldest first."""
    seen: set[date] = set()
    for (at,) in session.execute(select(SegmentState.at).where(SegmentState.network == network).distinct()):
        seen.add(clock.local(at).date())
    return sorted(seen)
