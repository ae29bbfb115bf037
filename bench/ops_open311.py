"""Open311 intake under load, and a simulated Shanghai day of urban-operations reports end to end.

1. ``POST /open311/v2/requests.json`` over real sockets against one uvicorn process (the
   way ``onecity serve`` runs) on a migrated SQLite file with every disposal unit of the city
   installed: each request is a different report at a different place in the city, so every
   one is validated, located in its grid (``GeoIndex``), checked for duplicates, written with
   its report, timeline step, audit entry and outbox event. ``bench._load`` keeps N keep-alive
   connections busy, cycling through the prepared bodies.
2. Those reports are then confirmed by inspectors and dispatched by the routing rule to the
   right unit (``register_case``, in-process): the rest of "intake with dispatch".
3. ``GET /open311/v2/requests.json`` on a database of its own holding exactly ``--get-cases``
   reports (577 by default: the figure the issue measured 27 requests a second at, p99 2.2 s):
   the default page, an open-cases page of one type, and ``page_size=1000`` (what every GET
   returned before paging).
4. A simulated day: the operations actor alone (hotline, inspectors, apps, cameras at
   Shanghai's rates times ``--scale``) for 24 simulated hours, every report through intake,
   dispatch, disposal, verification and closure; its wall time and the report.

Baseline: the bare FastAPI ``/ping`` served the same way in the same run (what uvicorn and
this client can do at all); the ratio is what the whole intake costs on top.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import urllib.parse
from datetime import timedelta
from typing import Any

import numpy as np
import uvloop

from bench._common import database_url, emit, log, parser, percentile, ratio, sqlite_url
from bench._load import LoadResult, _Connection, _Run, build_request
from bench.api_http import cpu_seconds, server, settle
from onecity.core import migrate
from onecity.core.db import Database
from onecity.core.identity import service as identity
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.synth.geography.load import index_of, load_geography

NAME = "ops_open311"
SYSTEM = system_principal("bench")
CITY, XUHUI = "310000000000", "310104000000"
SUBTYPES = ("E0101", "E0102", "E0103", "E0201", "E0401", "E0402", "E0403", "E0404", "E0303", "E0501")


class _Cycling(_Connection):
    """A keep-alive connection that sends the next of many prepared requests each time."""

    def __init__(self, requests: list[bytes], start: int, run: _Run) -> None:
        super().__init__(requests[start % len(requests)], run)
        self.requests, self.i = requests, start

    def _send(self) -> None:
        self.request = self.requests[self.i % len(self.requests)]
        self.i += 7919  # a prime stride: connections do not walk in step
        super()._send()


async def load_many(port: int, requests: list[bytes], *, connections: int, seconds: float, warmup: float) -> LoadResult:
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    run = _Run(t0 + warmup, t0 + warmup + seconds)
    cpu0 = time.process_time()
    conns = []
    for k in range(connections):
        _, proto = await loop.create_connection(
            lambda k=k: _Cycling(requests, k, run),  # type: ignore[misc]
            "127.0.0.1",
            port,
        )
        conns.append(proto)
    try:
        await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), warmup + seconds + 60)
    finally:
        for c in conns:
            if c.transport is not None:
                c.transport.close()
    measured = min(time.perf_counter(), run.end) - run.start_measuring
    return LoadResult(
        requests=len(run.latencies),
        seconds=measured,
        latencies=run.latencies,
        statuses=run.statuses,
        client_cpu_seconds=time.process_time() - cpu0,
    )


def seed(url: str, within: str) -> str:
    """Migrated database, every disposal unit of the area, an Open311 key; returns the key."""
    from onecity.ops.units import install_units

    db = Database(url)
    try:
        migrate.upgrade(db)
        with db.transaction() as session:  # the grids the server locates reports with
            load_geography(session, within=None if within == CITY else within)
        with db.transaction() as session:
            install_units(session, SYSTEM, within=None if within == CITY else within)
            _k, key = identity.create_api_key(session, SYSTEM, name="bench-311", scopes=["open311"])
        return key
    finally:
        db.dispose()


def bodies(key: str, n: int, within: str, seed_: int = 1) -> list[bytes]:
    """``n`` different reports at random places of the area (far apart: hardly any duplicates)."""
    rng = np.random.default_rng(seed_)
    lonlat, _ = index_of().random_points_in(within, n, rng)
    out = []
    for i, (lon, lat) in enumerate(lonlat):
        form = urllib.parse.urlencode(
            {
                "api_key": key,
                "jurisdiction_id": "shanghai",
                "service_code": SUBTYPES[i % len(SUBTYPES)],
                "lat": f"{lat:.7f}",
                "long": f"{lon:.7f}",
                "description": f"基准测试报告 {i}",
                "phone": "13800000000",
            }
        ).encode()
        out.append(
            build_request(
                "POST", "/open311/v2/requests.json", {"Content-Type": "application/x-www-form-urlencoded"}, form
            )
        )
    return out


#: The reads measured: a page as clients get it by default, an open-cases page of one type, and
#: the old default (every case of the last 90 days up to 1,000: what each GET returned before paging).
GETS = {
    "before_paging": "/bench/open311-before/requests.json",  # the route before paging (bench/_open311_legacy.py)
    "default_page": "/open311/v2/requests.json",
    "open_of_one_type": "/open311/v2/requests.json?status=open&service_code=E0101&page_size=20",
    "page_size_1000": "/open311/v2/requests.json?page_size=1000",
}


async def get_pages(
    within: str, n_cases: int, *, connections: int, seconds: float, workers: int = 1, backend: str = "sqlite"
) -> dict[str, Any]:
    """GET pages of requests from a database of its own holding exactly ``n_cases`` (the same data in every run).

    The server also serves the route as it was before paging (``before_paging``), so today's read and
    the one the issue measured run on the same data in the same run; the bare ``/ping`` beside them
    (same workers) is what uvicorn and this client can do at all."""
    from sqlalchemy import func, select

    from onecity.ops.models import Case

    out: dict[str, Any] = {}
    with database_url(backend, "ops311get") as url:
        key = await asyncio.to_thread(seed, url, within)
        reqs = await asyncio.to_thread(bodies, key, 2 * n_cases, within, 2)
        env = {
            **os.environ,
            "ONECITY_ENV": "test",
            "ONECITY_DATABASE_URL": url,
            "ONECITY_BUS_URL": "memory://",
            "ONECITY_SECRET_KEY": secrets.token_urlsafe(48),
            "PYTHONUNBUFFERED": "1",
        }
        with (
            server("bare", env, "/ping", workers) as bare,
            server("onecity-open311-before", env, "/api/v1/health", workers) as app,
        ):
            await _send_once(app.port, reqs[0])  # answered once the server's grid index is built
            db = Database(url)
            try:
                for body in reqs[1:]:  # one at a time until exactly n_cases are stored
                    with db.sessions() as session:
                        if int(session.scalar(select(func.count()).select_from(Case)) or 0) >= n_cases:
                            break
                    await _send_once(app.port, body)
                with db.sessions() as session:
                    out["cases_stored"] = int(session.scalar(select(func.count()).select_from(Case)) or 0)
            finally:
                db.dispose()
            await settle(app)
            ping = await load_many(
                bare.port, [build_request("GET", "/ping")], connections=connections, seconds=seconds, warmup=1.0
            )
            out["bare_ping"] = ping.figures()
            log(f"  bare /ping: {out['bare_ping']['req_per_s']:,.0f} req/s")
            for name, path in GETS.items():
                # each read on a quiet server: the old route's slow answers (seconds each) are still
                # being computed after its client stopped, and would be measured with the next read
                waited = await settle(app)
                req = build_request("GET", path)
                result = await load_many(app.port, [req], connections=connections, seconds=seconds, warmup=1.0)
                f = result.figures()
                if f["non_2xx"]:
                    raise RuntimeError(f"{f['non_2xx']} of {f['requests']} GET {path} were not 2xx: {result.statuses}")
                f["load_average_1m"] = round(os.getloadavg()[0], 2)
                f["settled_s"] = waited
                out[name] = f
                log(
                    f"  GET {path}: {f['req_per_s']:,.0f} req/s, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms "
                    f"({out['cases_stored']} cases)"
                )
    return out


async def _send_once(port: int, raw: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        await reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 201"):
            raise RuntimeError(f"a report was refused: {head[:200]!r}")
    finally:
        writer.close()


def register_all(url: str) -> dict[str, Any]:
    """Inspectors confirm every collected report; the routing rule dispatches each (in-process)."""
    from sqlalchemy import select

    from onecity.ops import service
    from onecity.ops.models import Case, Status

    db = Database(url)
    try:
        with db.sessions() as session:
            rows = session.execute(select(Case.id, Case.township_code).where(Case.status == Status.COLLECTED)).all()
        lat: list[float] = []
        t0 = time.perf_counter()
        dispatched = 0
        for case_id, township in rows:
            inspector = Principal(
                kind=PrincipalKind.STAFF,
                id=f"bench-insp-{township}",
                name="inspector",
                roles=frozenset({Role.INSPECTOR}),
                division_code=township,
            )
            s = time.perf_counter()
            with db.transaction() as session:
                case = service.register_case(session, inspector, case_id)
                dispatched += int(case.status == Status.DISPATCHED)
            lat.append(time.perf_counter() - s)
        wall = time.perf_counter() - t0
        lat.sort()
        return {
            "cases": len(rows),
            "dispatched": dispatched,
            "per_s": round(len(rows) / wall, 1) if wall else 0.0,
            "p50_ms": round(percentile(lat, 50) * 1000, 2) if lat else None,
            "p99_ms": round(percentile(lat, 99) * 1000, 2) if lat else None,
        }
    finally:
        db.dispose()


def simulated_day(url: str, scale: float, hours: float, within: str) -> dict[str, Any]:
    from onecity.sim.cli import DEFAULT_START
    from onecity.sim.engine import Simulation
    from onecity.synth.actors.ops import OpsActor

    db = Database(url)
    try:
        migrate.upgrade(db)
        with db.transaction() as session:  # the grids the simulated reports are placed in
            load_geography(session, within=None if within == CITY else within)
        actor = OpsActor(scale, within=within)
        sim = Simulation(
            db,
            [actor],
            start=DEFAULT_START,
            seed=1,
            step=timedelta(minutes=10),
            deliver_events=True,
            progress=lambda _m: None,
        )
        t0 = time.perf_counter()
        sim.run(hours)
        wall = time.perf_counter() - t0
        report = sim.report()["operations"]
        events = report["events"]
        return {
            "scale": scale,
            "within": within,
            "simulated_hours": hours,
            "wall_seconds": round(wall, 1),
            "events": events,
            "ms_per_event_end_to_end": round(1000 * wall / events, 1) if events else None,
            "operations": report,
        }
    finally:
        db.dispose()


def _get_ratios(gets: dict[str, Any]) -> dict[str, Any]:
    """The GET phase's ratios: today's default page against the route before paging (the issue's goal is
    ≥ 10), against ``page_size=1000`` (the old amount of work through today's code) and against bare /ping."""
    rate = gets["default_page"]["req_per_s"]
    return {
        "open311_get_default_page_vs_before_paging": ratio(rate, gets["before_paging"]["req_per_s"]),
        "open311_get_default_page_vs_page_size_1000": ratio(rate, gets["page_size_1000"]["req_per_s"]),
        "open311_get_default_page_vs_bare_ping": ratio(rate, gets["bare_ping"]["req_per_s"]),
    }


async def run(args: Any) -> None:
    quick = args.quick
    seconds, warmup = (0.6, 0.2) if quick else (8.0, 2.0)
    if args.seconds:
        seconds, warmup = args.seconds, min(2.0, args.seconds / 4)
    connections = args.connections or (8 if quick else 16)
    n_bodies = 200 if quick else 40_000
    within = args.within or (XUHUI if quick else CITY)
    figures: dict[str, Any] = {}
    served = {
        "backend": args.backend,
        "workers": args.workers,
        "server": f"uvicorn {args.workers} worker(s), uvloop, httptools, {args.backend}, access log off",
    }
    n_get = args.get_cases or (60 if quick else 577)
    if args.get_only:
        log(f"{NAME}: GET phase only: {n_get} cases in a database of its own")
        gets = await get_pages(
            within, n_get, connections=connections, seconds=seconds, workers=args.workers, backend=args.backend
        )
        emit(
            NAME,
            {"connections": connections, "seconds": seconds, "within": within, **served},
            {"open311_get": gets},
            {"bare_ping": gets["bare_ping"], "before_paging": gets["before_paging"]},
            _get_ratios(gets),
        )
        return
    with database_url(args.backend, "ops311") as url:
        log(f"{NAME}: installing the city's disposal units and preparing {n_bodies:,} reports")
        key = await asyncio.to_thread(seed, url, within)
        reqs = await asyncio.to_thread(bodies, key, n_bodies, within)
        env = {
            **os.environ,
            "ONECITY_ENV": "test",
            "ONECITY_DATABASE_URL": url,
            "ONECITY_BUS_URL": "memory://",
            "ONECITY_SECRET_KEY": secrets.token_urlsafe(48),
            "PYTHONUNBUFFERED": "1",
        }
        with (
            server("bare", env, "/ping", args.workers) as bare,
            server("onecity", env, "/api/v1/health", args.workers) as app,
        ):
            ping = await load_many(
                bare.port, [build_request("GET", "/ping")], connections=connections, seconds=seconds, warmup=warmup
            )
            base = ping.figures()
            log(f"  bare /ping: {base['req_per_s']:,.0f} req/s, p50 {base['p50_ms']} ms, p99 {base['p99_ms']} ms")
            # the server builds its grid index in the background at start: wait until a report goes through
            await load_many(app.port, reqs[-1:], connections=1, seconds=0.5, warmup=0.0)
            log(f"  (waited {await settle(app)} s for the server's warm-ups to finish)")
            cpu0 = cpu_seconds(app.proc.pid)
            result = await load_many(app.port, reqs[:-1], connections=connections, seconds=seconds, warmup=warmup)
            f = result.figures()
            f["server_cpu_percent"] = round(100 * (cpu_seconds(app.proc.pid) - cpu0) / (seconds + warmup), 1)
            f["load_average_1m"] = round(os.getloadavg()[0], 2)
            if f["non_2xx"]:
                raise RuntimeError(f"{f['non_2xx']} of {f['requests']} POSTs were not 2xx: {result.statuses}")
            log(
                f"  POST /open311/v2/requests.json: {f['req_per_s']:,.0f} req/s, p50 {f['p50_ms']} ms, "
                f"p99 {f['p99_ms']} ms (server CPU {f['server_cpu_percent']} %, load {f['load_average_1m']})"
            )
            figures["open311_post"] = f
        figures["register_and_dispatch"] = await asyncio.to_thread(register_all, url)
        log(f"  register + dispatch: {figures['register_and_dispatch']}")
    log(f"  GET phase: {n_get} cases in a database of its own")
    figures["open311_get"] = await get_pages(
        within, n_get, connections=connections, seconds=seconds, workers=args.workers, backend=args.backend
    )
    if args.no_day:
        emit(
            NAME,
            {"connections": connections, "seconds": seconds, "within": within, **served},
            figures,
            {"bare_ping": base},
            {
                "open311_post_req_per_s_vs_bare": ratio(figures["open311_post"]["req_per_s"], base["req_per_s"]),
                **_get_ratios(figures["open311_get"]),
            },
        )
        return
    scale = args.scale if args.scale is not None else (0.004 if quick else 0.01)
    hours = 2.0 if quick else 24.0
    with sqlite_url("opsday") as url:
        log(f"  simulating {hours:g} h of urban operations at scale {scale:g}")
        figures["simulated_day"] = await asyncio.to_thread(simulated_day, url, scale, hours, within)
        log(
            f"  simulated day: {figures['simulated_day']['wall_seconds']} s for "
            f"{figures['simulated_day']['events']} reports"
        )
    emit(
        NAME,
        {
            "connections": connections,
            "seconds": seconds,
            "warmup": warmup,
            "distinct_reports": n_bodies,
            "within": within,
            **served,
            "client": "bench._load connections cycling through distinct bodies",
        },
        figures,
        {"bare_ping": base},
        {
            "open311_post_req_per_s_vs_bare": ratio(figures["open311_post"]["req_per_s"], base["req_per_s"]),
            **_get_ratios(figures["open311_get"]),
        },
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=None, help="concurrent keep-alive connections")
    p.add_argument("--scale", type=float, default=None, help="scale of the simulated day (default 0.01)")
    p.add_argument("--within", default=None, help="only this division (default: the city; Xuhui with --quick)")
    p.add_argument("--seconds", type=float, default=None, help="seconds of load per phase (default 8; 0.6 quick)")
    p.add_argument("--no-day", action="store_true", help="skip the simulated day (phases 1–3 only)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (both servers)")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="the intake's database")
    p.add_argument("--get-only", action="store_true", help="only phase 3, the GET pages (with --workers, --backend)")
    p.add_argument("--get-cases", type=int, default=None, help="cases stored for the GET phase (default 577)")
    args = p.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run(args))


if __name__ == "__main__":
    main()
