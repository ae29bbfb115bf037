"""dataArray ingest over HTTP: ``POST /sta/v1.1/CreateObservations`` observations per second.

A real ``onecity serve``-style uvicorn process on a fresh database; clients post requests of
``--per-request`` observations (spread over ``--streams`` datastreams, in the compact
dataArray form) from ``--clients`` threads until ``--observations`` are stored.

* **figures** ``<db>.observations_per_s`` — stored observations per second of wall time,
  end to end (JSON encoding in the client, HTTP, validation, the batched store with its
  rules and outbox event, the commit);
* **baseline** ``<db>.raw_insert_per_s`` — the same rows inserted into the same table by
  one bare multi-row INSERT per request-sized batch, in this process, no HTTP and no
  platform: the database's own floor for this shape of write;
* **baseline** ``postgresql.raw_copy_per_s`` — the same rows by one bare ``COPY`` per
  request-sized batch (what the platform's own path uses on PostgreSQL);
* **ratio** ``<db>.vs_raw_insert`` and ``postgresql.vs_raw_copy`` (goals: ≥ 100,000 observations
  per second absolute, ≥ 0.4 of raw COPY).

On PostgreSQL the platform validates the common dataArray (``phenomenonTime`` and ``result``) a
column at a time and writes the batch with ``COPY`` (ids taken from the sequence first).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from datetime import timedelta
from typing import Any

from bench import _sensing
from bench._common import csv_choice, database_url, emit, log, parser, rate, ratio
from bench.api_http import server


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


def raw_copy(db_url: str, streams: list[int], total: int, per_request: int) -> float:
    """The PostgreSQL floor: the same rows, one bare COPY per request-sized batch."""
    import psycopg

    rows = [(streams[i % len(streams)], _sensing.T0 + timedelta(seconds=i), float(i % 97) / 10) for i in range(total)]
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        t0 = time.perf_counter()
        for i in range(0, total, per_request):
            copy_sql = "COPY sta_observations (datastream_id, phenomenon_time, result_number) FROM STDIN"
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as cp:
                for row in rows[i : i + per_request]:
                    cp.write_row(row)
        return time.perf_counter() - t0


def one(backend: str, args: Any) -> tuple[dict[str, Any], dict[str, float]]:
    with database_url(backend, "dataarray") as db_url:
        streams = _sensing.prepare(db_url, args.streams)
        key = make_key(db_url)
        reqs = bodies(streams, args.observations, args.per_request, 0)
        env = dict(os.environ, ONECITY_ENV="development", ONECITY_DATABASE_URL=db_url)
        with server("onecity", env, "/api/v1/health") as srv:
            seconds = post_all(srv.port, key, reqs, args.clients)
        n = _sensing.stored(db_url)
        log(f"  {backend}: {n} stored in {seconds:.2f} s over HTTP")
        raw = raw_insert(db_url, streams, args.observations, args.per_request)
        log(f"  {backend}: raw insert of the same rows in {raw:.2f} s")
        base = {"raw_insert_per_s": rate(args.observations, raw)}
        if backend == "postgresql":
            copy = raw_copy(db_url, streams, args.observations, args.per_request)
            log(f"  {backend}: raw COPY of the same rows in {copy:.2f} s")
            base["raw_copy_per_s"] = rate(args.observations, copy)
        return {"stored": n, "observations_per_s": rate(n, seconds), "seconds": round(seconds, 2)}, base


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(["postgresql", "sqlite"]), default=["postgresql", "sqlite"])
    p.add_argument("--observations", type=int, default=200_000)
    p.add_argument("--per-request", type=int, default=5000)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--clients", type=int, default=2)
    args = p.parse_args()
    if args.quick:
        args.observations, args.per_request, args.streams = 4000, 1000, 20
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    for b in args.backends:
        figures[b], baseline[b] = one(b, args)
    emit(
        "sensing_data_array",
        {
            "observations": args.observations,
            "per_request": args.per_request,
            "streams": args.streams,
            "clients": args.clients,
        },
        figures,
        baseline,
        {
            **{
                f"{b}.vs_raw_insert": ratio(figures[b]["observations_per_s"], baseline[b]["raw_insert_per_s"])
                for b in figures
            },
            **{
                f"{b}.vs_raw_copy": ratio(figures[b]["observations_per_s"], baseline[b]["raw_copy_per_s"])
                for b in figures
                if "raw_copy_per_s" in baseline[b]
            },
        },
    )


if __name__ == "__main__":
    main()
