"""One observation per request: ``POST /sta/v1.1/Datastreams(<id>)/Observations`` per second.

What a device that speaks HTTP rather than MQTT does, and what issue 13 compares with istSOS4
(a peer Python SensorThings server: 360–400 observations/s, p99 40–60 ms on this machine type
with 8 connections). A real uvicorn process serving the platform on a fresh database;
``--connections`` keep-alive connections each post distinct observations (spread over
``--streams`` datastreams, one second apart, so none is a duplicate) for ``--seconds``.

* **figures** ``<db>.post.req_per_s``, ``.p50_ms``, ``.p99_ms``, ``.server_cpu_ms_per_request``
  (the server's CPU over the measured window divided by the requests: what the load moves least);
  ``<db>.stored`` — the rows in the table afterwards, every 201 among them (checked);
* **baseline** ``bare_ping`` — a bare FastAPI route served by as many workers in the same run;
* **ratio** ``<db>.post_vs_bare`` and ``<db>.post_vs_istsos4`` (against the issue's 380 obs/s,
  measured elsewhere on this machine type, not in this run: a reference, not a baseline).

Goal (issue 13): ≥ 1,100 observations/s (3× istSOS4), p99 < 100 ms, PostgreSQL, 2 workers.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from typing import Any

from bench import _sensing
from bench._common import csv_choice, database_url, emit, log, parser, ratio
from bench._load import build_request
from bench.api_http import cpu_seconds, server, settle
from bench.ops_open311 import load_many
from bench.sensing_data_array import make_key

NAME = "sensing_post"
#: istSOS4's single-observation POST on this machine type (issue 13's table; mid-range of 360–400).
ISTSOS4_OBS_PER_S = 380.0


def bodies(key: str, streams: list[int], n: int) -> list[bytes]:
    """``n`` distinct single-observation POSTs, round-robin over ``streams``."""
    out = []
    for i in range(n):
        ds = streams[i % len(streams)]
        t = _sensing.T0 + timedelta(seconds=i)
        body = json.dumps({"phenomenonTime": t.isoformat().replace("+00:00", "Z"), "result": (i % 97) / 10}).encode()
        out.append(
            build_request(
                "POST",
                f"/sta/v1.1/Datastreams({ds})/Observations",
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                body,
            )
        )
    return out


async def one(backend: str, args: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    with database_url(backend, "stapost") as url:
        streams = _sensing.prepare(url, args.streams)
        key = make_key(url)
        reqs = bodies(key, streams, args.requests)
        env = dict(os.environ, ONECITY_ENV="development", ONECITY_DATABASE_URL=url, ONECITY_BUS_URL="memory://")
        with (
            server("bare", env, "/ping", args.workers) as bare,
            server("onecity", env, "/api/v1/health", args.workers) as app,
        ):
            ping = await load_many(
                bare.port, [build_request("GET", "/ping")], connections=args.connections, seconds=args.seconds, warmup=1
            )
            base = ping.figures()
            log(f"  {backend} bare /ping: {base['req_per_s']:,.0f} req/s, p99 {base['p99_ms']} ms")
            log(f"  (waited {await settle(app)} s for the server's warm-ups to finish)")
            cpu0 = cpu_seconds(app.proc.pid)
            result = await load_many(app.port, reqs, connections=args.connections, seconds=args.seconds, warmup=1)
            cpu = cpu_seconds(app.proc.pid) - cpu0
            f = result.figures()
            if f["non_2xx"]:
                raise RuntimeError(f"{f['non_2xx']} of {f['requests']} POSTs were not 2xx: {result.statuses}")
            # the server's CPU over warm-up and window, per request sent in them (the window's rate × its length)
            sent = f["req_per_s"] * (args.seconds + 1)
            f["server_cpu_ms_per_request"] = round(1000 * cpu / sent, 2) if sent else None
            f["load_average_1m"] = round(os.getloadavg()[0], 2)
        f["stored"] = _sensing.stored(url)
        if f["stored"] < f["requests"]:
            raise RuntimeError(f"{f['requests']} answered 201 but only {f['stored']} rows stored")
        log(
            f"  {backend} POST one observation: {f['req_per_s']:,.0f} req/s, p50 {f['p50_ms']} ms, "
            f"p99 {f['p99_ms']} ms, server CPU {f['server_cpu_ms_per_request']} ms a request "
            f"(load {f['load_average_1m']})"
        )
        return {"post": f}, base


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(["postgresql", "sqlite"]), default=["postgresql", "sqlite"])
    p.add_argument("--workers", type=int, default=2, help="API worker processes (as `onecity serve --workers`)")
    p.add_argument("--connections", type=int, default=8, help="keep-alive connections (istSOS4 was measured with 8)")
    p.add_argument("--seconds", type=float, default=8.0, help="measured window after a one-second warm-up")
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--requests", type=int, default=60_000, help="distinct bodies prepared (more than get sent)")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.streams, args.requests = 1.0, 10, 3_000
    figures: dict[str, Any] = {}
    baselines: dict[str, Any] = {}
    ratios: dict[str, float] = {}
    for backend in args.backends:
        got, base = asyncio.run(one(backend, args))
        figures[backend] = got
        baselines[f"{backend}.bare_ping"] = base
        ratios[f"{backend}.post_vs_bare"] = ratio(got["post"]["req_per_s"], base["req_per_s"])
        ratios[f"{backend}.post_vs_istsos4"] = ratio(got["post"]["req_per_s"], ISTSOS4_OBS_PER_S)
    emit(
        NAME,
        {
            "workers": args.workers,
            "connections": args.connections,
            "seconds": args.seconds,
            "streams": args.streams,
            "server": f"uvicorn {args.workers} worker(s), uvloop, httptools, access log off",
            "istsos4_reference_obs_per_s": ISTSOS4_OBS_PER_S,
        },
        figures,
        baselines,
        ratios,
    )


if __name__ == "__main__":
    main()
