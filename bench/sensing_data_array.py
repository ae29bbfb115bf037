"""dataArray ingest over HTTP: ``POST /sta/v1.1/CreateObservations`` observations per second.

A real ``onecity serve``-style uvicorn server (``--workers`` processes) on a fresh database;
clients post requests of ``--per-request`` observations (spread over ``--streams`` datastreams,
in the compact dataArray form) from ``--clients`` threads until ``--observations`` are stored.

* **figures** ``<db>.observations_per_s`` — stored observations per second of wall time,
  end to end (JSON encoding in the client, HTTP, validation, the batched store with its
  outbox events, the commit);
* ``<db>.server_cpu_us_per_obs`` — the server process's CPU per stored observation while the
  requests ran, and ``<db>.server_cpu_after_us_per_obs`` what it spent after them (the
  consumers of the stored batches: the stream rules; republishing, when a broker is set);
  ``postgresql.postgres_cpu_us_per_obs`` — the database server's CPU (the server's pooled
  connections). On a shared, loaded machine these say more than the rates;
* ``<db>.in_process_per_s`` and ``in_process_cpu_us_per_obs`` — the same requests' bodies
  decoded and stored by the service function in this process, no HTTP, no server;
* **baseline** ``<db>.raw_insert_per_s`` — the same rows inserted into the same table by
  one bare multi-row INSERT per request-sized batch, in this process, no HTTP and no
  platform: the database's own floor for this shape of write;
* **baseline** ``postgresql.raw_copy_per_s`` — the same rows by one bare ``COPY`` per
  request-sized batch (three columns, the id from the table's default), with
  ``raw_copy_postgres_cpu_us_per_obs``;
* **ratio** ``<db>.vs_raw_insert``, ``postgresql.vs_raw_copy`` and
  ``postgresql.in_process_vs_raw_copy`` (goals: ≥ 100,000 observations per second absolute,
  ≥ 0.4 of raw COPY), and ``postgresql.cpu_vs_raw_copy``: raw COPY's CPU a reading (its client
  and its backend) over the platform's (``cpu_us_per_obs``: the server during and after, and
  PostgreSQL), which a machine busy with other work moves less than the rates.
  ``load_average`` is the machine's before and after each part.

On PostgreSQL the platform validates the common dataArray (``phenomenonTime`` and ``result``) a
column at a time and writes the call with one binary ``COPY`` built by numpy (ids taken from the
sequence first, in one statement), then one outbox event per 5,000 readings.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import _sensing
from bench._common import csv_choice, database_url, emit, log, parser, rate, ratio
from bench.api_http import CLK_TCK, cpu_seconds, server


def make_key(db_url: str) -> str:
    from onecity.core.db import Database
    from onecity.core.identity import service
    from onecity.core.identity.principal import system_principal

    db = Database(db_url)
    with db.transaction() as s:
        _, key = service.create_api_key(s, system_principal("bench"), name="bench", scopes=["sensing"])
    db.dispose()
    return key


def bodies(streams: list[int], total: int, per_request: int, offset: int) -> list[bytes]:
    out = []
    seq = offset
    for _ in range(total // per_request):
        groups: dict[int, list[list[Any]]] = {}
        for _ in range(per_request):
            t = _sensing.T0 + timedelta(milliseconds=seq)
            groups.setdefault(streams[seq % len(streams)], []).append(
                [t.isoformat().replace("+00:00", "Z"), float(seq % 97) / 10]
            )
            seq += 1
        out.append(
            json.dumps(
                [
                    {"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}
                    for ds, rows in groups.items()
                ]
            ).encode()
        )
    return out


def post_all(port: int, key: str, reqs: list[bytes], clients: int) -> float:
    errors: list[str] = []
    lock = threading.Lock()
    todo = list(reqs)

    def run() -> None:
        while True:
            with lock:
                if not todo:
                    return
                body = todo.pop()
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/sta/v1.1/CreateObservations",
                data=body,
                method="POST",
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(req, timeout=300) as r:
                    r.read()
            except Exception as err:  # keep going; the count will show the loss
                errors.append(str(err))

    threads = [threading.Thread(target=run) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        log(f"  {len(errors)} requests failed, e.g. {errors[0]}")
    return time.perf_counter() - t0


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def postgres_cpu(db_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving ``db_url``'s database (its server is
    on this machine; ``/proc`` tells each backend's CPU)."""
    import psycopg

    name = db_url.rsplit("/", 1)[1]
    admin = db_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
    return {int(r[0]): _proc_cpu(int(r[0])) for r in rows}


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def settle(pid: int, limit: float = 120) -> float:
    """Wait until the server stops using CPU (its consumers are done); the CPU it used meanwhile."""
    start = last = cpu_seconds(pid)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - last < 0.05:
            break
        last = now
    return last - start


def in_process(db_url: str, reqs: list[bytes]) -> tuple[float, float]:
    """The same kind of request bodies decoded and stored by the service function in this process:
    (wall seconds, CPU seconds of this process)."""
    from onecity.core.db import Database
    from onecity.core.identity.principal import system_principal
    from onecity.sensing.sta import routes, service

    db = Database(db_url)
    principal = system_principal("bench")
    wall, cpu = time.perf_counter(), time.process_time()
    for body in reqs:
        with db.transaction() as s, service.gc_paused():  # as the route does
            service.create_observations_array(s, principal, routes.decode_json(body))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    db.dispose()
    return wall, cpu


def raw_insert(db_url: str, streams: list[int], total: int, per_request: int) -> float:
    """The floor: the same rows, one bare multi-row INSERT per request-sized batch."""
    from sqlalchemy import insert

    from onecity.core.db import Database
    from onecity.sensing.models import Observation

    db = Database(db_url)
    rows = [
        {
            "datastream_id": streams[i % len(streams)],
            "phenomenon_time": _sensing.T0 + timedelta(seconds=i),
            "result_number": float(i % 97) / 10,
            "dedup_key": f"raw{i}",
        }
        for i in range(total)
    ]
    t0 = time.perf_counter()
    for i in range(0, total, per_request):
        with db.transaction() as s:
            s.execute(insert(Observation), rows[i : i + per_request])
    seconds = time.perf_counter() - t0
    db.dispose()
    return seconds


def raw_copy(db_url: str, streams: list[int], total: int, per_request: int) -> tuple[float, float, float]:
    """The PostgreSQL floor: the same rows, one bare COPY per request-sized batch; (wall seconds,
    the database backend's CPU seconds, this process's CPU seconds)."""
    import psycopg

    rows = [(streams[i % len(streams)], _sensing.T0 + timedelta(seconds=i), float(i % 97) / 10) for i in range(total)]
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        conn.commit()
        t0, pg0, cpu0 = time.perf_counter(), _proc_cpu(backend), time.process_time()
        for i in range(0, total, per_request):
            copy_sql = "COPY sta_observations (datastream_id, phenomenon_time, result_number) FROM STDIN"
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as cp:
                for row in rows[i : i + per_request]:
                    cp.write_row(row)
        return time.perf_counter() - t0, _proc_cpu(backend) - pg0, time.process_time() - cpu0


def _us(seconds: float, n: int) -> float:
    return round(seconds / n * 1e6, 2) if n else float("nan")


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def one(backend: str, args: Any) -> tuple[dict[str, Any], dict[str, float]]:
    with database_url(backend, "dataarray") as db_url:
        streams = _sensing.prepare(db_url, args.streams)
        key = make_key(db_url)
        reqs = bodies(streams, args.observations, args.per_request, 0)
        env = dict(os.environ, ONECITY_ENV="development", ONECITY_DATABASE_URL=db_url)
        pg = backend == "postgresql"
        loads = [_load()]
        with server("onecity", env, "/api/v1/health", workers=args.workers) as srv:
            post_all(srv.port, key, bodies(streams, args.per_request, args.per_request, 10**9), 1)  # warm up
            settle(srv.proc.pid)
            cpu0, pg0 = cpu_seconds(srv.proc.pid), postgres_cpu(db_url) if pg else {}
            seconds = post_all(srv.port, key, reqs, args.clients)
            cpu1, pg1 = cpu_seconds(srv.proc.pid), postgres_cpu(db_url) if pg else {}
            after = settle(srv.proc.pid)
            loads.append(_load())
        n = _sensing.stored(db_url) - args.per_request
        log(f"  {backend}: {n} stored in {seconds:.2f} s over HTTP (load {loads[0]}–{loads[1]})")
        figures: dict[str, Any] = {
            "stored": n,
            "observations_per_s": rate(n, seconds),
            "seconds": round(seconds, 2),
            "server_cpu_us_per_obs": _us(cpu1 - cpu0, n),
            "server_cpu_after_us_per_obs": _us(after, n),
        }
        if pg:
            figures["postgres_cpu_us_per_obs"] = _us(_spent(pg0, pg1), n)
        wall, cpu = in_process(db_url, bodies(streams, args.observations, args.per_request, 2 * 10**9))
        loads.append(_load())
        log(f"  {backend}: the same in process in {wall:.2f} s, {cpu:.2f} s CPU (load {loads[-1]})")
        figures["in_process_per_s"] = rate(args.observations, wall)
        figures["in_process_cpu_us_per_obs"] = _us(cpu, args.observations)
        raw = raw_insert(db_url, streams, args.observations, args.per_request)
        loads.append(_load())
        log(f"  {backend}: raw insert of the same rows in {raw:.2f} s (load {loads[-1]})")
        base: dict[str, Any] = {"raw_insert_per_s": rate(args.observations, raw)}
        if pg:
            copy, copy_pg, copy_client = raw_copy(db_url, streams, args.observations, args.per_request)
            loads.append(_load())
            log(f"  {backend}: raw COPY of the same rows in {copy:.2f} s (load {loads[-1]})")
            base["raw_copy_per_s"] = rate(args.observations, copy)
            base["raw_copy_postgres_cpu_us_per_obs"] = _us(copy_pg, args.observations)
            base["raw_copy_cpu_us_per_obs"] = _us(copy_pg + copy_client, args.observations)
            # the whole platform's CPU a reading: the server during and after, and the database
            figures["cpu_us_per_obs"] = round(
                figures["server_cpu_us_per_obs"]
                + figures["server_cpu_after_us_per_obs"]
                + figures["postgres_cpu_us_per_obs"],
                2,
            )
        figures["load_average"] = [min(loads), max(loads)]
        return figures, base


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(["postgresql", "sqlite"]), default=["postgresql", "sqlite"])
    p.add_argument("--observations", type=int, default=200_000)
    p.add_argument("--per-request", type=int, default=50_000)
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--workers", type=int, default=1, help="API worker processes of the server")
    args = p.parse_args()
    if args.quick:
        args.observations, args.per_request, args.streams = 4000, 1000, 20
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    for b in args.backends:
        figures[b], baseline[b] = one(b, args)
    ratios: dict[str, float] = {}
    for b in figures:
        ratios[f"{b}.vs_raw_insert"] = ratio(figures[b]["observations_per_s"], baseline[b]["raw_insert_per_s"])
        if "raw_copy_per_s" in baseline[b]:
            ratios[f"{b}.vs_raw_copy"] = ratio(figures[b]["observations_per_s"], baseline[b]["raw_copy_per_s"])
            # on a loaded machine the CPU a reading costs moves less than the rates: raw COPY's / ours
            ratios[f"{b}.cpu_vs_raw_copy"] = ratio(baseline[b]["raw_copy_cpu_us_per_obs"], figures[b]["cpu_us_per_obs"])
            ratios[f"{b}.in_process_vs_raw_copy"] = ratio(figures[b]["in_process_per_s"], baseline[b]["raw_copy_per_s"])
    emit(
        "sensing_data_array",
        {
            "observations": args.observations,
            "per_request": args.per_request,
            "streams": args.streams,
            "clients": args.clients,
            "workers": args.workers,
        },
        figures,
        baseline,
        ratios,
    )


if __name__ == "__main__":
    main()
