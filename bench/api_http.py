"""Requests per second and latency of the HTTP API, served the way ``onecity serve`` serves it.

The public faces of a city's platform fall over under load first (the seed's 2022 lesson),
so the API is measured over real sockets: one uvicorn process (uvloop + httptools) on a
fresh, migrated SQLite file, driven by ``bench._load`` with N keep-alive connections from
this process. Routes: the public health check (a database ping in a thread and the bus
status), ``/auth/me`` with a bearer JWT (token check, one user read in a transaction) and
``/users`` as a municipal administrator (policy scope, a list query, serialisation).

The baseline is a bare FastAPI app with one trivial route served the same way, measured
before and after OneCity's routes in the same run (the mean is the baseline; the two runs
show the drift). The ratio is therefore what OneCity's middleware, dependencies and storage
cost on top of what uvicorn and this client can do at all on this machine.

Sign-in (``POST /auth/token``) is deliberately slow: Argon2id costs about a quarter second
of CPU per password check, by design, so that a stolen hash resists guessing. Its figures
are reported, not compared with anything; ``me_during_logins`` shows whether sign-ins in
progress slow everyone else down (they should cost CPU, never locks).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench._common import database_url, emit, log, parser, ratio
from bench._load import build_request, load
from onecity.core import migrate
from onecity.core.db import Database
from onecity.core.identity import service
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role

NAME = "api_http"
REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-horse-93"
CITY = "310000000000"
XUHUI = "310104000000"
SYSTEM = system_principal("bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: How long a server may take to answer after it starts: its warm-ups run before it listens,
#: and on a machine loaded twenty times over two workers took more than a minute.
STARTUP_SECONDS = 240


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later; a clash fails loudly)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, users: int) -> None:
    """A migrated database with an administrator and ``users`` staff, made through the services."""
    db = Database(url)
    try:
        migrate.upgrade(db)
        with db.transaction() as session:
            service.create_agency(
                session, SYSTEM, code="gov-310000", name="市政府", name_en="City government", division_code=CITY
            )
            service.create_agency(
                session,
                SYSTEM,
                code="gov-310104",
                name="徐汇区政府",
                name_en="Xuhui district government",
                division_code=XUHUI,
            )
        with db.transaction() as session:
            service.create_user(
                session,
                SYSTEM,
                username="bench.admin",
                password=PASSWORD,
                kind=PrincipalKind.STAFF,
                roles=[Role.ADMIN],
                agency_code="gov-310000",
                division_code=CITY,
            )
        for i in range(users):
            with db.transaction() as session:
                service.create_user(
                    session,
                    SYSTEM,
                    username=f"clerk{i:03d}",
                    password=PASSWORD,
                    kind=PrincipalKind.STAFF,
                    roles=[Role.COUNTER_CLERK],
                    agency_code="gov-310104",
                    division_code=XUHUI,
                )
    finally:
        db.dispose()


def get(port: int, path: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as err:
        return err.code


@dataclass(frozen=True)
class Server:
    proc: subprocess.Popen[bytes]
    port: int


@contextmanager
def server(app: str, env: dict[str, str], ready_path: str, workers: int = 1) -> Iterator[Server]:
    """``bench._serve`` in a subprocess on a free port, up and answering ``ready_path``; stopped after."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench._serve", "--app", app, "--port", str(port), "--workers", str(workers)],
        cwd=REPO,
        env=env,
        stdout=sys.stderr,
        stderr=sys.stderr,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the {app} server exited with {proc.returncode} before answering")
            try:
                if get(port, ready_path) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {app} server did not answer {ready_path} within {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield Server(proc, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process and its live children (uvicorn's workers) have used so far."""
    fields = _stat(pid)
    total = int(fields[11]) + int(fields[12])
    for child in Path("/proc").iterdir():
        if child.name.isdigit() and child.name != str(pid):
            try:
                f = _stat(int(child.name))
            except (OSError, ValueError):
                continue  # gone meanwhile
            if f[1] == str(pid):
                total += int(f[11]) + int(f[12])
    return total / CLK_TCK


async def settle(srv: Server, *, idle_percent: float = 10.0, limit: float = 180.0) -> float:
    """Wait until the server is idle (its warm-ups done): CPU under ``idle_percent`` over a second.

    A server answers as soon as it listens, while warm-ups (the grid index) may still take a
    core for tens of seconds; measured then, a route's figure is the warm-up's. Returns the wait.
    """
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        c0 = cpu_seconds(srv.proc.pid)
        await asyncio.sleep(1.0)
        if 100 * (cpu_seconds(srv.proc.pid) - c0) < idle_percent:
            break
    return round(time.monotonic() - t0, 1)


def login(port: int) -> str:
    body = urllib.parse.urlencode({"username": "bench.admin", "password": PASSWORD}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/token", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return str(json.loads(r.read())["access_token"])


async def measure(
    srv: Server, label: str, request: bytes, connections: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """Load one route; its figures plus how busy the server and this client were."""
    cpu0 = cpu_seconds(srv.proc.pid)
    result = await load(srv.port, request, connections=connections, seconds=seconds, warmup=warmup)
    server_cpu = cpu_seconds(srv.proc.pid) - cpu0
    figures = result.figures()
    figures["server_cpu_percent"] = round(100 * server_cpu / (seconds + warmup), 1)
    figures["client_cpu_percent"] = round(100 * result.client_cpu_seconds / (seconds + warmup), 1)
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)  # the machine is shared: how busy it was
    if figures["non_2xx"]:
        raise RuntimeError(
            f"{label}: {figures['non_2xx']} of {figures['requests']} answers were not 2xx ({result.statuses})"
        )
    log(
        f"  {label}: {figures['req_per_s']:,.0f} req/s, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms "
        f"(server CPU {figures['server_cpu_percent']} %, client {figures['client_cpu_percent']} %, "
        f"load {figures['load_average_1m']})"
    )
    return figures


def first_clerk(url: str) -> str:
    """The id of a clerk the administrator may read (an audited personal-data read)."""
    from sqlalchemy import select

    from onecity.core.identity.models import User

    db = Database(url)
    try:
        with db.sessions() as session:
            return str(session.scalar(select(User.id).where(User.username == "clerk000")))
    finally:
        db.dispose()


def audit_backlog(url: str) -> dict[str, int]:
    """How many audit entries the run wrote, and how many the sealer had not chained at the end."""
    from sqlalchemy import func, select

    from onecity.core import audit

    db = Database(url)
    try:
        with db.sessions() as session:
            total = int(session.scalar(select(func.count()).select_from(audit.AuditEntry)) or 0)
            return {"entries": total, "unsealed": audit.unsealed(session)}
    finally:
        db.dispose()


async def run(args: Any) -> None:
    quick = args.quick
    seconds, warmup = (1.0, 0.3) if quick else (8.0, 2.0)
    login_seconds = 1.5 if quick else 8.0
    connections = args.connections or (8 if quick else 16)
    users = 3 if quick else 20
    workers = args.workers
    figures: dict[str, Any] = {}
    with database_url(args.backend, "api") as url:
        log(f"{NAME}: seeding {users + 1} users (Argon2id makes this take a moment)")
        await asyncio.to_thread(seed, url, users)
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
            server("onecity", env, "/api/v1/health", workers) as app,
        ):
            token = await asyncio.to_thread(login, app.port)
            auth = {"Authorization": f"Bearer {token}"}
            waited = await settle(app)
            log(f"  (waited {waited} s for the server's warm-ups to finish)")
            ping = build_request("GET", "/ping")
            bare_runs = [await measure(bare, "bare /ping", ping, connections, seconds, warmup)]
            figures["health"] = await measure(
                app, "GET /api/v1/health", build_request("GET", "/api/v1/health"), connections, seconds, warmup
            )
            figures["me"] = await measure(
                app, "GET /api/v1/auth/me", build_request("GET", "/api/v1/auth/me", auth), connections, seconds, warmup
            )
            figures["users"] = await measure(
                app, "GET /api/v1/users", build_request("GET", "/api/v1/users", auth), connections, seconds, warmup
            )
            clerk = await asyncio.to_thread(first_clerk, url)
            purpose = {**auth, "X-OneCity-Purpose": "bench"}
            figures["audited_read"] = await measure(
                app,
                "GET /api/v1/users/{id} (audited personal-data read)",
                build_request("GET", f"/api/v1/users/{clerk}", purpose),
                connections,
                seconds,
                warmup,
            )
            await asyncio.sleep(1.5)  # the sealer's next rounds
            figures["audited_read"]["audit"] = await asyncio.to_thread(audit_backlog, url)
            bare_runs.append(await measure(bare, "bare /ping (again)", ping, connections, seconds, warmup))
            bare_sync = await measure(
                bare, "bare /ping-sync (4 sync deps)", build_request("GET", "/ping-sync"), connections, seconds, warmup
            )
            if not args.no_login:
                await login_figures(app, figures, auth, connections, login_seconds, quick)
    baseline = {
        "bare_ping": {
            "req_per_s": round(sum(r["req_per_s"] for r in bare_runs) / len(bare_runs), 1),
            "p50_ms": round(sum(r["p50_ms"] for r in bare_runs) / len(bare_runs), 2),
            "p99_ms": round(sum(r["p99_ms"] for r in bare_runs) / len(bare_runs), 2),
            "runs": bare_runs,
        },
        "bare_ping_sync_deps": bare_sync,
    }
    await finish(args, figures, baseline, connections, seconds, warmup, login_seconds, users, workers)


async def login_figures(
    app: Server, figures: dict[str, Any], auth: dict[str, str], connections: int, login_seconds: float, quick: bool
) -> None:
    """Sign-in (slow by design) and whether sign-ins in progress slow everyone else down."""
    form = urllib.parse.urlencode({"username": "bench.admin", "password": PASSWORD}).encode()
    token_req = build_request("POST", "/api/v1/auth/token", {"Content-Type": "application/x-www-form-urlencoded"}, form)
    figures["login"] = {}
    for c in (1,) if quick else (1, 4):
        f = await measure(app, f"POST /api/v1/auth/token x{c}", token_req, c, login_seconds, 0.5)
        f["per_request_ms"] = round(1000 * c / f["req_per_s"], 1) if f["req_per_s"] else None
        figures["login"][f"c{c}"] = f
    # Does signing in hold up everyone else? /auth/me under load while two clients sign in.
    me_req = build_request("GET", "/api/v1/auth/me", auth)
    _, figures["me_during_logins"] = await asyncio.gather(
        measure(app, "  (2 clients signing in meanwhile)", token_req, 2, login_seconds, 0.5),
        measure(app, "GET /api/v1/auth/me while 2 clients sign in", me_req, connections, login_seconds, 0.5),
    )


async def finish(
    args: Any,
    figures: dict[str, Any],
    baseline: dict[str, Any],
    connections: int,
    seconds: float,
    warmup: float,
    login_seconds: float,
    users: int,
    workers: int,
) -> None:
    base = baseline["bare_ping"]["req_per_s"]
    ratios: dict[str, Any] = {
        f"{k}_req_per_s_vs_bare": ratio(figures[k]["req_per_s"], base)
        for k in ("health", "me", "users", "audited_read")
    }
    ratios["bare_sync_deps_vs_bare"] = ratio(baseline["bare_ping_sync_deps"]["req_per_s"], base)
    emit(
        NAME,
        {
            "connections": connections,
            "seconds": seconds,
            "warmup": warmup,
            "login_seconds": login_seconds,
            "users": users + 1,
            "backend": args.backend,
            "workers": workers,
            "server": f"uvicorn {workers} worker(s), uvloop, httptools, {args.backend}, access log off",
            "load_average": os.getloadavg(),
            "client": "bench._load (asyncio protocols, same machine)",
        },
        figures,
        baseline,
        ratios,
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=None, help="concurrent keep-alive connections")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (both servers)")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--no-login", action="store_true", help="leave out sign-in (slow by design; for scaling runs)")
    args = p.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run(args))


if __name__ == "__main__":
    main()
