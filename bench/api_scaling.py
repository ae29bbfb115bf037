"""Throughput against API worker processes: 1, 2 and 4 workers × SQLite and PostgreSQL.

Runs ``bench.api_http --no-login`` (health, ``/auth/me``, an audited personal-data read, each
against the bare route served by as many workers) and ``bench.ops_open311 --no-day`` (Open311
intake) once per combination, each in its own process, and prints the scaling table on stderr
(markdown, as in ``bench/README.md``) with the machine's load average during each run. On a
machine with two cores shared with others, 4 workers measure contention more than scaling:
read the ratios to the bare route, which the same workers serve in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import _runs
from bench._common import emit, log, parser

NAME = "api_scaling"
REPO = Path(__file__).resolve().parent.parent


def one(module: str, *args: str, timeout: float = 1200) -> dict[str, Any]:
    cmd = _runs.orphanless([sys.executable, "-m", f"bench.{module}", *args])
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=None, timeout=timeout, check=False)
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench.{module} {' '.join(args)} exited with {proc.returncode}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def row(backend: str, workers: int, api: dict[str, Any], intake: dict[str, Any] | None) -> dict[str, Any]:
    f, r = api["figures"], api["ratio"]
    out: dict[str, Any] = {
        "backend": backend,
        "workers": workers,
        "bare_req_per_s": api["baseline"]["bare_ping"]["req_per_s"],
        **{f"{k}_req_per_s": f[k]["req_per_s"] for k in ("health", "me", "audited_read")},
        **{f"{k}_p99_ms": f[k]["p99_ms"] for k in ("health", "me", "audited_read")},
        **{f"{k}_vs_bare": r[f"{k}_req_per_s_vs_bare"] for k in ("health", "me", "audited_read")},
        "load_average_1m": max(f[k]["load_average_1m"] for k in ("health", "me", "audited_read")),
    }
    if intake is not None:
        post = intake["figures"]["open311_post"]
        out |= {
            "open311_req_per_s": post["req_per_s"],
            "open311_p99_ms": post["p99_ms"],
            "open311_vs_bare": intake["ratio"]["open311_post_req_per_s_vs_bare"],
            "open311_load_average_1m": post["load_average_1m"],
        }
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| backend | workers | bare req/s | health req/s (×bare) | auth/me req/s (×bare) | audited read req/s "
        "(×bare) | Open311 POST req/s, p99 ms (×bare) | load avg |\n|---|---|---|---|---|---|---|---|"
    )
    out = [head]
    for x in rows:
        if "error" in x:
            out.append(f"| {x['backend']} | {x['workers']} | failed: {x['error']} | | | | | |")
            continue
        post = (
            f"{x['open311_req_per_s']:,.0f}, {x['open311_p99_ms']:.0f} ({x['open311_vs_bare']})"
            if "open311_req_per_s" in x
            else "—"
        )
        loads = f"{x['load_average_1m']}" + (
            f" / {x['open311_load_average_1m']}" if "open311_load_average_1m" in x else ""
        )
        out.append(
            f"| {x['backend']} | {x['workers']} | {x['bare_req_per_s']:,.0f} "
            f"| {x['health_req_per_s']:,.0f} ({x['health_vs_bare']}) "
            f"| {x['me_req_per_s']:,.0f} ({x['me_vs_bare']}) "
            f"| {x['audited_read_req_per_s']:,.0f} ({x['audited_read_vs_bare']}) | {post} | {loads} |"
        )
    return "\n".join(out)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    p.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    p.add_argument("--no-open311", action="store_true", help="leave out the Open311 intake runs")
    args = p.parse_args()
    workers = [1] if args.quick else [int(w) for w in args.workers.split(",")]
    backends = ["sqlite"] if args.quick else args.backends.split(",")
    quick = ["--quick"] if args.quick else []
    rows = []
    for backend in backends:
        for n in workers:
            log(f"{NAME}: {backend}, {n} worker(s) (load average {os.getloadavg()[0]:.2f})")
            try:
                api = one("api_http", "--no-login", "--backend", backend, "--workers", str(n), *quick)
                intake = None
                if not args.no_open311:
                    intake = one("ops_open311", "--no-day", "--backend", backend, "--workers", str(n), *quick)
            except (RuntimeError, subprocess.TimeoutExpired) as err:  # one combination fails, the table goes on
                log(f"  {backend}, {n} worker(s) failed: {err}")
                rows.append({"backend": backend, "workers": n, "error": str(err)})
                continue
            rows.append(row(backend, n, api, intake))
    log(markdown(rows))
    if any("error" in r for r in rows) and len(rows) == sum("error" in r for r in rows):
        raise SystemExit("every combination failed")
    emit(
        NAME,
        {"workers": workers, "backends": backends},
        {f"{r['backend']}.w{r['workers']}": r for r in rows},
    )


if __name__ == "__main__":
    main()
