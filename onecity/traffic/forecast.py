"""Segment speed 15, 30 and 60 minutes ahead: gradient boosting against the historical average and persistence.

The data are the platform's own 5-minute segment states (``traffic_states``), so a forecast
knows only what the sensors reported. The model forecasts the **deviation** of a segment's
speed at ``t + h`` from its historical average at that time of day, from what the morning has
shown so far: the segment's own deviations now and 5, 10, 15 minutes ago and smoothed over the
last half hour, its downstream and upstream neighbours' deviations, the whole network's running
deviation and its flow against the usual (how heavy this day's demand is), the segment's
flow, occupancy and number of samples now, plus the time of day, class, free-flow speed, the
historical average at ``t`` and ``t + h`` and a smoothed one (the segment's average over the
neighbouring times of day, less noisy than one slot's mean over a few days). One
``HistGradientBoostingRegressor`` (scikit-learn, absolute-error loss: the figure is a mean
absolute error) per horizon.

On the training days every historical average is taken **over the other training days**
(leave one day out): an average that contains the day itself would make the day look more
usual than a new day is, and the model would learn to trust the average too much.

Baselines, on the same held-out day and the same (segment, interval) pairs: the historical
average alone (over all training days), and persistence (the speed now). Days are whole
simulated mornings with their own demand draw; the held-out day is never seen in training (nor
in the historical average).
"""

from __future__ import annotations

import warnings
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
#: how many slots either side the smoothed historical average spans
SMOOTH_SLOTS = 2
#: the smoothing factor of a segment's running deviation (per 5-minute slot)
EWMA_ALPHA = 0.3
#: the model's loss: the figure is a mean absolute error, whose best forecast is the median
LOSS = "absolute_error"
#: on a training day, compare with the other training days only (see the module's docstring)
LEAVE_ONE_OUT = True


@dataclass
class _Data:
    edges: list[str]
    slots: list[int]  # minutes of day of each column
    days: list[date]
    speed: np.ndarray  # days × edges × slots, NaN where unmeasured
    flow: np.ndarray  # the same, vehicles an hour (loops only)
    occupancy: np.ndarray
    samples: np.ndarray  # loop and probe readings fused, 0 where unmeasured
    downstream: list[list[int]]
    upstream: list[list[int]]
    free_flow: np.ndarray
    cls: np.ndarray


def _load(session: Session, network: str, days: list[date]) -> _Data:
    segs = {s.edge_id: s for s in session.scalars(select(Segment).where(Segment.network == network))}
    rows: dict[tuple[date, str, int], tuple[float, float, float, float]] = {}
    slots: set[int] = set()
    edges: set[str] = set()
    for st in session.scalars(select(SegmentState).where(SegmentState.network == network)):
        local = clock.local(st.at)
        d = local.date()
        if d not in days:
            continue
        m = local.hour * 60 + local.minute
        rows[(d, st.edge_id, m)] = (
            st.speed_kmh,
            np.nan if st.flow_vph is None else st.flow_vph,
            np.nan if st.occupancy is None else st.occupancy,
            float((st.loop_samples or 0) + (st.probe_samples or 0)),
        )
        slots.add(m)
        edges.add(st.edge_id)
    edge_list = sorted(edges)
    slot_list = sorted(slots)
    ei = {e: i for i, e in enumerate(edge_list)}
    si = {m: i for i, m in enumerate(slot_list)}
    di = {d: i for i, d in enumerate(days)}
    cube = np.full((4, len(days), len(edge_list), len(slot_list)), np.nan)
    for (d, e, m), v in rows.items():
        cube[:, di[d], ei[e], si[m]] = v
    upstream: dict[str, list[str]] = defaultdict(list)
    for e in edge_list:
        for n in segs[e].downstream or []:
            upstream[n].append(e)
    return _Data(
        edge_list,
        slot_list,
        days,
        cube[0],
        cube[1],
        cube[2],
        np.nan_to_num(cube[3]),
        [[ei[n] for n in (segs[e].downstream or []) if n in ei] for e in edge_list],
        [[ei[n] for n in upstream[e] if n in ei] for e in edge_list],
        np.asarray([segs[e].speed_kmh for e in edge_list]),
        np.asarray([CLASSES.get(segs[e].road_class, 3) for e in edge_list]),
    )


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(a, axis=axis))


@dataclass
class _Usual:
    """The historical averages a day is compared with (edges × slots)."""

    speed: np.ndarray
    flow: np.ndarray
    occupancy: np.ndarray
    samples: np.ndarray
    smooth: np.ndarray  # the speed averaged over ±SMOOTH_SLOTS slots as well
    median: np.ndarray  # the median over the same days and slots (a stray reading moves it less)
    segment: np.ndarray  # the segment's median over all the days' slots (edges)


def _usual(data: _Data, days: list[int]) -> _Usual:
    sp = data.speed[days]  # days × edges × slots
    speed = _nanmean(sp, 0)
    n_s = sp.shape[2]
    shifted = [sp[:, :, np.clip(np.arange(n_s) + k, 0, n_s - 1)] for k in range(-SMOOTH_SLOTS, SMOOTH_SLOTS + 1)]
    smooth = _nanmean(np.concatenate(shifted, axis=0), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(np.concatenate(shifted, axis=0), 0)
        segment = np.nanmedian(sp.transpose(1, 0, 2).reshape(sp.shape[1], -1), 1)
    return _Usual(
        speed,
        _nanmean(data.flow[days], 0),
        _nanmean(data.occupancy[days], 0),
        np.mean(data.samples[days], axis=0),
        smooth,
        median,
        segment,
    )


def _ewma(x: np.ndarray, alpha: float) -> np.ndarray:
    """Running exponentially weighted mean along the last axis, skipping NaN (NaN until the first value)."""
    out = np.full_like(x, np.nan)
    acc = np.zeros(x.shape[:-1])
    weight = np.zeros(x.shape[:-1])
    for t in range(x.shape[-1]):
        ok = ~np.isnan(x[..., t])
        acc = np.where(ok, (1 - alpha) * acc + alpha * np.nan_to_num(x[..., t]), (1 - alpha) * acc)
        weight = np.where(ok, (1 - alpha) * weight + alpha, (1 - alpha) * weight)
        with np.errstate(all="ignore"):
            out[..., t] = np.where(weight > 1e-6, acc / weight, np.nan)
    return out


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, np.nan)


def _group_mean(x: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    out = np.full_like(x, np.nan)
    for e, ns in enumerate(groups):
        if ns:
            out[e] = _nanmean(x[ns], 0) if len(ns) > 1 else x[ns[0]]
    return out


FEATURES = (
    "dev_now", "dev_5", "dev_10", "dev_15", "dev_ewma", "dev_30min",
    "down_dev", "down_dev_ewma", "up_dev", "up_dev_ewma",
    "net_dev", "net_dev_running", "net_flow_ratio_running",
    "flow_ratio", "occupancy", "occupancy_dev", "samples", "usual_samples_then",
    "minute_then", "class", "free_flow", "usual_then", "usual_now", "usual_smooth_then", "usual_median_then",
    "segment_median", "speed_now",
)  # fmt: skip


def _features(
    data: _Data, day: int, h: int, usual: _Usual, baseline: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, the usual speed the model adds its deviation to, the historical average baseline, persistence)
    for every measured (segment, t) of one day. ``usual`` is what the features compare with (on a
    training day, the other training days); ``baseline`` the historical average the result is scored
    against (all training days)."""
    v = data.speed[day]  # edges × slots
    n_e, n_s = v.shape
    dev = v - usual.speed
    dev_ewma = _ewma(dev, EWMA_ALPHA)
    down = _group_mean(dev, data.downstream)
    up = _group_mean(dev, data.upstream)
    down_ewma, up_ewma = _ewma(down, EWMA_ALPHA), _ewma(up, EWMA_ALPHA)
    net_dev = _nanmean(dev, 0)  # slots
    net_cum = np.array([_nanmean(dev[:, : t + 1].ravel(), 0) for t in range(n_s)])
    flow_now = np.nansum(np.where(np.isnan(usual.flow), np.nan, data.flow[day]), axis=0)
    flow_usual = np.nansum(np.where(np.isnan(data.flow[day]), np.nan, usual.flow), axis=0)
    with np.errstate(all="ignore"):
        net_flow = _finite(np.cumsum(flow_now) / np.cumsum(flow_usual))
        flow_ratio = _finite(data.flow[day] / usual.flow)
    xs, ys, us, bs, ps = [], [], [], [], []
    for t in range(3, n_s - h):
        target = v[:, t + h]
        now = v[:, t]
        ok = ~np.isnan(target) & ~np.isnan(now) & ~np.isnan(usual.speed[:, t + h]) & ~np.isnan(baseline[:, t + h])
        if not ok.any():
            continue
        cols = [
            dev[:, t], dev[:, t - 1], dev[:, t - 2], dev[:, t - 3], dev_ewma[:, t],
            _nanmean(dev[:, max(0, t - 5) : t + 1], 1),
            down[:, t], down_ewma[:, t], up[:, t], up_ewma[:, t],
            np.full(n_e, net_dev[t]), np.full(n_e, net_cum[t]), np.full(n_e, net_flow[t]),
            flow_ratio[:, t], data.occupancy[day][:, t], data.occupancy[day][:, t] - usual.occupancy[:, t],
            data.samples[day][:, t], usual.samples[:, t + h],
            np.full(n_e, data.slots[t + h], dtype=float), data.cls.astype(float), data.free_flow,
            usual.speed[:, t + h], usual.speed[:, t], usual.smooth[:, t + h], usual.median[:, t + h],
            usual.segment, now,
        ]  # fmt: skip
        x = np.stack(cols, axis=1)[ok]
        xs.append(x)
        ys.append(target[ok])
        us.append(usual.speed[:, t + h][ok])
        bs.append(baseline[:, t + h][ok])
        ps.append(now[ok])
    if not xs:
        empty = np.zeros((0, len(FEATURES)))
        return empty, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)
    return tuple(np.concatenate(a) for a in (xs, ys, us, bs, ps))  # type: ignore[return-value]


def evaluate(session: Session, network: str, train: list[date], test: date, *, seed: int = 0) -> dict[str, Any]:
    """Train on ``train`` days, forecast ``test``; the MAE (km/h) of the model and both baselines per horizon."""
    days = [*train, test]
    data = _load(session, network, days)
    return evaluate_data(data, len(train), seed=seed) | {
        "train_days": [d.isoformat() for d in train],
        "test_day": test.isoformat(),
    }


def evaluate_data(data: _Data, n_train: int, *, seed: int = 0) -> dict[str, Any]:
    """The first ``n_train`` days of ``data`` learn, the next one is forecast."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    train = list(range(n_train))
    test = n_train
    full = _usual(data, train)
    # each training day against the other training days (with one training day, against itself)
    loo = {i: _usual(data, [j for j in train if j != i or not LEAVE_ONE_OUT] or [i]) for i in train}
    out: dict[str, Any] = {}
    for name, h in HORIZONS.items():
        parts = [_features(data, i, h, loo[i], full.speed) for i in train]
        x_tr = np.concatenate([p[0] for p in parts])
        y_tr = np.concatenate([p[1] - p[2] for p in parts])
        x_te, y_te, u_te, ha_te, p_te = _features(data, test, h, full, full.speed)
        if len(y_tr) < 50 or len(y_te) == 0:
            out[name] = {"samples": int(len(y_te)), "mae_kmh": None}
            continue
        blank = np.all(np.isnan(x_tr), axis=0)  # e.g. no loops at all: a feature never seen cannot be binned
        x_tr[:, blank], x_te[:, blank] = 0.0, 0.0
        model = HistGradientBoostingRegressor(
            loss=LOSS, max_iter=300, learning_rate=0.05, min_samples_leaf=40, random_state=seed
        )
        # one thread: OpenMP's spinning workers crawl on a busy shared machine, and the data are small
        with threadpool_limits(limits=1):
            model.fit(x_tr, y_tr)
            pred = u_te + model.predict(x_te)
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


def diagnose(session: Session, network: str, days: list[date]) -> dict[str, Any]:
    """How much of the 5-minute speeds' variation around the usual a forecast could know.

    The deviation of a state from its segment's average at that time of day (over all ``days``)
    is split into what holds from one interval to the next and what does not: if the true
    deviation changes little within 5 minutes, half the variance of consecutive differences is
    the measurement's own noise (an upper bound: the true change adds to it). The correlation of a
    segment's deviations 15, 30 and 60 minutes apart is what recent speeds can carry forward;
    ``day_mean_sd_kmh`` is the spread of a segment's mean deviation over a whole morning (a
    day's demand level or a long incident would show there)."""
    data = _load(session, network, days)
    usual = _nanmean(data.speed, 0)
    r = data.speed - usual
    d = r[:, :, 1:] - r[:, :, :-1]
    var_r = float(np.nanvar(r))
    var_noise = float(np.nanvar(d)) / 2
    out: dict[str, Any] = {
        "days": len(days),
        "states": int(np.count_nonzero(~np.isnan(data.speed))),
        "deviation_sd_kmh": round(float(np.sqrt(var_r)), 2),
        "deviation_mae_kmh": round(float(np.nanmean(np.abs(r))), 2),
        "noise_sd_kmh": round(float(np.sqrt(var_noise)), 2),
        "noise_share_of_variance": round(min(1.0, var_noise / var_r), 3) if var_r > 0 else None,
        "day_mean_sd_kmh": round(float(np.nanstd(_nanmean(r, 2))), 2),
        "median_samples": float(np.median(data.samples[~np.isnan(data.speed)])),
    }
    for name, k in HORIZONS.items():
        a, b = r[:, :, :-k], r[:, :, k:]
        ok = ~np.isnan(a) & ~np.isnan(b)
        out[f"deviation_corr_{name}"] = round(float(np.corrcoef(a[ok], b[ok])[0, 1]), 3) if ok.sum() > 2 else None
    return out
