"""Adaptive signals against the fixed-time plan on the same demand and seed (goal: mean delay ≥ 15 % lower).

Two SUMO runs of the same network, trips and seed: netconvert's static plans (90 s cycle) and
max-pressure control applied through the simulation API every 5 s (min green 10 s, through the
plans' own yellows; :mod:`onecity.traffic.simulation`). Measured from SUMO's trip records: mean delay
per vehicle (time loss plus waiting to enter), throughput (trips completed in the window) and
spill-back (vehicles teleported out of a jam, and vehicles still waiting to enter at the end).
``--traci`` runs SUMO as a separate process through TraCI (the default is libsumo in-process).
"""

from __future__ import annotations

import os
from typing import Any

from bench._common import emit, log, parser


def one(area: str, seed: int, minutes: float, demand: float, adaptive: bool, traci: bool) -> dict[str, Any]:
    from onecity.traffic.network import load_network
    from onecity.traffic.signals import run_once

    net = load_network(area, seed)
    return run_once(net, seed=seed, begin_s=7.5 * 3600, minutes=minutes, demand=demand, adaptive=adaptive, traci=traci)


def main() -> None:
    p = parser(__doc__ or "traffic_signals")
    p.add_argument("--area", default="central", choices=["tiny", "central", "city"])
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--demand", type=float, default=4.0)
    p.add_argument("--traci", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.area, args.minutes = "tiny", 10.0
    load_before = os.getloadavg()
    log(f"fixed-time plans, {args.area}, {args.minutes} min…")
    fixed = one(args.area, args.seed, args.minutes, args.demand, False, args.traci)
    log(f"max-pressure, same demand and seed… (fixed: {fixed})")
    adaptive = one(args.area, args.seed, args.minutes, args.demand, True, args.traci)
    log(f"adaptive: {adaptive}")
    emit(
        "traffic_signals",
        {k: v for k, v in vars(args).items()},
        {
            "delay_fixed_s": fixed["mean_delay_s"],
            "delay_adaptive_s": adaptive["mean_delay_s"],
            "throughput_fixed": fixed["throughput"],
            "throughput_adaptive": adaptive["throughput"],
            "spillback_fixed": {"teleports": fixed["teleports"], "waiting_to_enter": fixed["waiting_to_enter"]},
            "spillback_adaptive": {
                "teleports": adaptive["teleports"],
                "waiting_to_enter": adaptive["waiting_to_enter"],
            },
            "adaptive": adaptive,
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
            },
        },
        baseline={"fixed": fixed},
        ratio={
            "delay_reduction": round(1 - adaptive["mean_delay_s"] / fixed["mean_delay_s"], 3)
            if fixed["mean_delay_s"]
            else None
        },
    )


if __name__ == "__main__":
    main()
