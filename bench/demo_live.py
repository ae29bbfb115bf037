"""The demo under its own live city: how soon it answers, and how requests fare while the city writes.

``onecity demo`` runs in a process of its own on a seeded SQLite city (seeded here once, at
``--scale``, into a scratch directory: the demo seeds only an empty database). From the moment
it prints its address, ``--threads`` clients ask for the pages people open first, as fast as
they are answered, for ``--seconds``; the figures count the answers by status (a 5xx or a
timeout is an error: the writer held too long) and give the latency percentiles.

Baseline: the same demo and load with the live city off (``--speed 0``), so the ratio says what
the simulation writing beside the pages costs them. Figures depend on the machine's load: the
load average before and after each run is in the result.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import _runs
from bench._common import emit, log, parser

REPO = Path(__file__).resolve().parent.parent
PATHS = ("/", "/services", "/login", "/api/v1/health", "/verify", "/services/items/310000-01-00040-001")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            answer.read()
            return answer.status, time.monotonic() - started
    except urllib.error.HTTPError as err:
        return err.code, time.monotonic() - started
    except OSError:
        return 0, time.monotonic() - started  # refused or timed out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else 0.0


def _seed(home: Path, scale: float) -> None:
    env = {**os.environ, "ONECITY_ENV": "demo", "ONECITY_VAR_DIR": str(home / "var"), "PYTHONPATH": str(REPO)}
    for args in (["db", "upgrade"], ["seed", "--scale", str(scale), "--seed", "1"]):
        subprocess.run(_runs.orphanless([sys.executable, "-m", "onecity", *args]), cwd=home, env=env, check=True)


def _run(city: Path, speed: float, seconds: float, threads: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="onecity-demo-bench-"))
    try:
        (home / "var").mkdir()
        shutil.copy(city, home / "var" / "onecity.db")
        port = _free_port()
        env = {**os.environ, "ONECITY_ENV": "demo", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        env.pop("ONECITY_DATABASE_URL", None)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        with (home / "demo.log").open("wb") as out:
            demo = subprocess.Popen(
                _runs.orphanless([sys.executable, "-m", "onecity", "demo", "--port", str(port), "--speed", str(speed)]),
                cwd=home,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            while "open:" not in (home / "demo.log").read_text(errors="replace"):
                if demo.poll() is not None or time.monotonic() - started > 600:
                    raise RuntimeError("the demo did not start:\n" + (home / "demo.log").read_text()[-2000:])
                time.sleep(0.1)
            ready = time.monotonic() - started
            base = f"http://127.0.0.1:{port}"
            first_status, first = _get(base + "/")
            answers: list[tuple[int, float]] = []
            deadline = time.monotonic() + seconds

            def client(i: int) -> list[tuple[int, float]]:
                mine = []
                n = i
                while time.monotonic() < deadline:
                    mine.append(_get(base + PATHS[n % len(PATHS)]))
                    n += 1
                return mine

            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                for part in pool.map(client, range(threads)):
                    answers += part
        finally:
            demo.terminate()
            demo.wait(60)
        log_text = (home / "demo.log").read_text(errors="replace")
        latencies = [t for _, t in answers]
        return {
            "ready_seconds": round(ready, 1),
            "first_request": {"status": first_status, "seconds": round(first, 3)},
            "requests": len(answers),
            "errors_5xx": sum(1 for s, _ in answers if s >= 500),
            "errors_no_answer": sum(1 for s, _ in answers if s == 0),
            "per_second": round(len(answers) / seconds, 1),
            "p50_s": _percentile(latencies, 0.50),
            "p95_s": _percentile(latencies, 0.95),
            "p99_s": _percentile(latencies, 0.99),
            "max_s": round(max(latencies), 3) if latencies else 0.0,
            "tracebacks_in_output": log_text.count("Traceback"),
            "load_average": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, help="how long the clients ask (default 60; 15 with --quick)")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--scale", type=float, default=0.0002, help="the city seeded for it (fraction of Shanghai)")
    p.add_argument("--city", help="a seeded SQLite city to copy instead of seeding one")
    args = p.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    scratch = Path(tempfile.mkdtemp(prefix="onecity-demo-city-"))
    try:
        if args.city:
            city = Path(args.city)
        else:
            log(f"seeding a city at scale {args.scale} …")
            _seed(scratch, args.scale)
            city = scratch / "var" / "onecity.db"
        log(f"the demo with its live city, {args.threads} clients for {seconds:.0f} s …")
        live = _run(city, 600.0, seconds, args.threads)
        log("the same without the live city (baseline) …")
        idle = _run(city, 0.0, seconds, args.threads)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    emit(
        "demo_live",
        {
            "seconds": seconds,
            "threads": args.threads,
            "city": args.city or f"seeded at {args.scale}",
            "paths": list(PATHS),
        },
        live,
        baseline=idle,
        ratio={
            "p99_live_vs_idle": round(live["p99_s"] / idle["p99_s"], 2) if idle["p99_s"] else None,
            "throughput_live_vs_idle": round(live["per_second"] / idle["per_second"], 2)
            if idle["per_second"]
            else None,
        },
    )


if __name__ == "__main__":
    main()
