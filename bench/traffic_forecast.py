"""Segment speed forecasts 15, 30 and 60 minutes ahead against the historical average and persistence
(goals: MAE at 15 min ≥ 25 % below the historical average, and below persistence at every horizon).

Simulated weekday mornings (same network, a different draw of trips and incidents each day and a
day-to-day demand level within ±15 %) go through the whole chain — SUMO, the detectors through
the sensing ingest, the 5-minute states — into one database; the model (gradient boosting,
:mod:`onecity.traffic.forecast`) learns from all days but the last and forecasts the last, which
neither it nor the historical average has seen. Baselines on the same pairs: the historical
average of the segment at that time of day over the training days, and the last value.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import numpy as np

from bench._common import database_url, emit, log, parser


def main() -> None:
    p = parser(__doc__ or "traffic_forecast")
    p.add_argument("--area", default="tiny", choices=["tiny", "central", "city"])
    p.add_argument("--days", type=int, default=6, help="simulated mornings; the last is held out")
    p.add_argument("--begin", default="06:30")
    p.add_argument("--minutes", type=float, default=180.0)
    p.add_argument("--demand", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = p.parse_args()
    if args.quick:
        args.days, args.minutes = 3, 90.0
    from onecity.core.db import Database
    from onecity.core.migrate import upgrade
    from onecity.traffic import forecast
    from onecity.traffic.runner import RunConfig, run

    rng = np.random.default_rng(args.seed)
    load_before = os.getloadavg()
    first = date(2026, 11, 3)  # Tuesdays, a week apart
    days = [first + timedelta(weeks=k) for k in range(args.days)]
    with database_url(args.backend, "traffic_forecast") as url:
        db = Database(url)
        upgrade(db)
        walls = []
        for k, day in enumerate(days):
            level = float(rng.uniform(0.85, 1.15))
            cfg = RunConfig(
                area=args.area,
                seed=args.seed,
                demand_seed=1000 + k,
                day=day,
                begin=args.begin,
                minutes=args.minutes,
                trips_per_km_hour=args.demand * level,
                incidents_per_hour=2.0,
                deliver_events=False,
            )
            log(f"day {k + 1}/{len(days)} ({day}, demand ×{level:.2f})…")
            walls.append(run(db, cfg)["wall_s"])
        with db.sessions() as session:
            key = f"{args.area}-{args.seed}"
            result = forecast.evaluate(session, key, days[:-1], days[-1], seed=args.seed)
        db.dispose()
    figures = {h: result[h] for h in forecast.HORIZONS}
    ratio = {}
    for h, f in figures.items():
        if f.get("mae_kmh") is not None:
            ratio[h] = {
                "vs_historical_average": round(1 - f["mae_kmh"] / f["mae_historical_average_kmh"], 3),
                "vs_persistence": round(1 - f["mae_kmh"] / f["mae_persistence_kmh"], 3),
            }
    emit(
        "traffic_forecast",
        {k: v for k, v in vars(args).items()},
        {
            **figures,
            "simulated_days": len(days),
            "simulation_wall_s": round(sum(walls), 1),
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
            },
        },
        ratio=ratio,
    )


if __name__ == "__main__":
    main()
