"""What every benchmark shares: the command line, the one-line JSON result, scratch databases.

A benchmark's stdout carries exactly one JSON object (its last line) so that the runner, the
smoke test and a CI job can read it without parsing prose; everything else goes to stderr.
Scratch PostgreSQL databases are named ``onecity_bench_<label>_<pid>_<random>`` so that they
never collide with the test suite's or another engineer's; they are dropped even when the
benchmark fails or is stopped with SIGTERM, and a later run drops those of a benchmark that was
killed outright (``bench/_runs.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _runs

PG_ADMIN_URL = os.environ.get("ONECITY_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("ONECITY_BENCH_NATS_URL", "nats://127.0.0.1:4222")


def log(*parts: object) -> None:
    """Progress for the human watching; stdout is reserved for the result."""
    print(*parts, file=sys.stderr, flush=True)


def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes; each adds its own after."""
    _runs.exit_on_sigterm()  # every benchmark builds its parser first: stopped, it still cleans up
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a small size, for the smoke test (seconds, not minutes)")
    return p


def csv_choice(allowed: Sequence[str]) -> Any:
    """An argparse type for a comma-separated subset of ``allowed``."""

    def _parse(value: str) -> list[str]:
        items = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (comma-separated)")
        return items

    return _parse


def machine() -> dict[str, Any]:
    """Enough about the machine to tell two results apart: absolute figures depend on it."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(terse=True)}


def emit(
    name: str,
    params: dict[str, Any],
    figures: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    ratio: dict[str, Any] | None = None,
) -> None:
    """Print the result as the last line of stdout (the convention in ``bench/README.md``)."""
    result: dict[str, Any] = {"benchmark": name, "params": {**params, "machine": machine()}, "figures": figures}
    if baseline:
        result["baseline"] = baseline
    if ratio:
        result["ratio"] = ratio
    sys.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()


def rate(count: int, seconds: float) -> float:
    """Operations per second, rounded to what a noisy shared machine can actually tell apart."""
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def ratio(value: float, base: float) -> float:
    return round(value / base, 3) if base else float("nan")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of already-sorted values, nearest-rank."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Mean, p50 and p99 of durations given in seconds, reported in milliseconds."""
    s = sorted(seconds)
    return {
        "mean_ms": round(statistics.fmean(s) * 1000, 3) if s else float("nan"),
        "p50_ms": round(percentile(s, 50) * 1000, 3),
        "p99_ms": round(percentile(s, 99) * 1000, 3),
    }


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``; perf_counter, not wall clock."""

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0


def reachable(url: str, default_port: int) -> bool:
    """Whether a TCP connection to the server named in ``url`` opens within a second."""
    rest = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = rest.partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or default_port)), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, url: str, default_port: int, hint: str) -> None:
    """Stop with a message that says how to leave the part out, rather than report nothing."""
    if not reachable(url, default_port):
        log(f"{name} is not reachable at {url}; {hint}")
        raise SystemExit(2)


@contextmanager
def sqlite_url(label: str) -> Iterator[str]:
    """A fresh SQLite file in a temporary directory (the embedded default's storage)."""
    with tempfile.TemporaryDirectory(prefix=f"onecity-bench-{label}-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'onecity.db'}"


@contextmanager
def postgres_url(label: str) -> Iterator[str]:
    """A fresh database ``onecity_bench_<label>_<pid>_<random>`` on the test server, dropped afterwards."""
    from sqlalchemy import text

    from onecity.core.db import Database

    require("PostgreSQL", PG_ADMIN_URL, 5432, "leave it out with --backends sqlite")
    _runs.sweep_postgres(PG_ADMIN_URL)
    name = f"onecity_bench_{label}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = Database(PG_ADMIN_URL)
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def database_url(backend: str, label: str) -> Iterator[str]:
    """A fresh, empty database on ``backend`` (``sqlite`` or ``postgresql``)."""
    cm = sqlite_url(label) if backend == "sqlite" else postgres_url(label)
    with cm as url:
        yield url


# -- the simulated city's services, run for a figure (services_passes, services_prefill) ----------


def add_city_options(p: argparse.ArgumentParser, *, hours: float, db_help: str) -> None:
    """The options of a benchmark that runs the simulated city: ``--db`` (a SQLite file, seeded when
    empty), ``--scale``, ``--seed`` and ``--hours`` (``hours`` by default)."""
    p.add_argument("--db", type=Path, help=db_help)
    p.add_argument("--scale", type=float, default=0.001)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hours", type=float, default=hours)


@dataclass
class CityRun:
    """A run of the simulated city: its database, its simulated start, and the clocks started with it."""

    db: Any
    start: Any
    cpu0: float = field(default_factory=time.process_time)
    wall0: float = field(default_factory=time.monotonic)

    def seconds(self) -> dict[str, float]:
        """The run's CPU and wall-clock seconds so far (on a loaded machine the CPU time compares)."""
        return {
            "cpu_seconds": round(time.process_time() - self.cpu0, 1),
            "wall_seconds": round(time.monotonic() - self.wall0, 1),
        }


@contextmanager
def city_run(args: argparse.Namespace, label: str) -> Iterator[CityRun]:
    """The database of ``--db`` or a scratch SQLite file (removed after), and the simulated start: the
    first simulated day's midnight, or with ``--quick`` (one hour at 1:5,000) its busy office hour, 10:00."""
    from datetime import timedelta

    from onecity.core.db import Database
    from onecity.sim.cli import DEFAULT_START

    if args.quick:
        args.hours, args.scale = 1, min(args.scale, 0.0002)
    start = DEFAULT_START + timedelta(hours=10 if args.quick else 0)
    with tempfile.TemporaryDirectory(prefix=f"onecity-bench-{label}-") as scratch:
        db = Database(f"sqlite:///{args.db or Path(scratch) / 'city.db'}")
        try:
            yield CityRun(db, start)
        finally:
            db.dispose()
