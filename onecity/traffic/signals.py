"""Fixed-time plans against max-pressure control on the same network, demand and seed.

Two SUMO runs differing only in the signal control (:class:`onecity.traffic.simulation.Simulation`
with ``adaptive`` off and on). Measured from SUMO's trip records: mean delay per vehicle (time
loss plus the wait to enter the network) of the trips completed in the window, throughput (trips
completed) and spill-back (vehicles teleported out of a jam; vehicles still waiting to enter).
"""

from __future__ import annotations

import time
from typing import Any

from onecity.traffic.demand import build_demand
from onecity.traffic.network import Network
from onecity.traffic.simulation import Simulation


def run_once(
    network: Network, *, seed: int, begin_s: float, minutes: float, demand: float, adaptive: bool, traci: bool = False
) -> dict[str, Any]:
    sim = Simulation(
        network,
        build_demand(network, trips_per_km_hour=demand),
        seed=seed,
        begin_s=begin_s,
        end_s=begin_s + minutes * 60,
        adaptive=adaptive,
        use_traci=traci,
        tripinfo=True,
    )
    t0 = time.perf_counter()
    sim.start()
    try:
        sim.step_until(sim.end_s, lambda _r: None, lambda _r: None)
        waiting = sim.pending()
    finally:
        sim.close()
    wall = time.perf_counter() - t0
    d = sim.delay_summary()
    return {
        "mean_delay_s": round(d["mean_delay_s"], 1),
        "throughput": sim.arrived,
        "departed": sim.departed,
        "teleports": sim.teleports,
        "waiting_to_enter": waiting,
        "wall_s": round(wall, 1),
    }


def compare(
    network: Network, *, seed: int, begin_s: float = 7.5 * 3600, minutes: float = 30.0, demand: float = 4.0,
    traci: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The report's ``signals`` section: both runs on the same demand and seed."""
    fixed = run_once(network, seed=seed, begin_s=begin_s, minutes=minutes, demand=demand, adaptive=False, traci=traci)
    adaptive = run_once(network, seed=seed, begin_s=begin_s, minutes=minutes, demand=demand, adaptive=True, traci=traci)
    return {
        "delay_fixed_s": fixed["mean_delay_s"],
        "delay_adaptive_s": adaptive["mean_delay_s"],
        "throughput_fixed": fixed["throughput"],
        "throughput_adaptive": adaptive["throughput"],
        "spillback_fixed": {"teleports": fixed["teleports"], "waiting_to_enter": fixed["waiting_to_enter"]},
        "spillback_adaptive": {"teleports": adaptive["teleports"], "waiting_to_enter": adaptive["waiting_to_enter"]},
        "delay_reduction": round(1 - adaptive["mean_delay_s"] / fixed["mean_delay_s"], 3)
        if fixed["mean_delay_s"]
        else None,
        "minutes": minutes,
        "signals": len(network.signals),
    }
