"""Run several benchmarks, each in its own process; a table on stderr, a JSON list on stdout.

Each benchmark runs as ``python -m bench.<name>`` so that one crashing, leaking threads or
holding a server does not disturb the next, and so that what is measured here is exactly
what a developer measures by hand. A benchmark that fails is reported as such (and the
runner exits non-zero) rather than left out of the list.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import _runs
from bench._common import log

ALL = (
    "audit_append",
    "outbox_relay",
    "api_http",
    "api_scaling",
    "geo_lookup",
    "geocode",
    "seed_scale",
    "credentials_verify",
    "services_workflow",
    "ops_open311",
    "sensing_ingest",
    "sensing_data_array",
    "sensing_post",
    "sensing_alert_latency",
    "sensing_fault",
    "documents_ocr",
    "services_prereview",
    "services_prefill",
    "demo_live",
    "traffic_realtime",
    "traffic_signals",
    "traffic_forecast",
    "benefits_scan",
    "benefits_offers",
)
REPO = Path(__file__).resolve().parent.parent


def run_one(name: str, quick: bool, timeout: float) -> dict[str, Any]:
    """One benchmark's result object, or ``{"benchmark": name, "error": ...}``."""
    # the benchmark gets SIGTERM if this runner dies, and on a timeout too: either way it drops its
    # database and stops its workers (bench/_runs.py) rather than leaving them for the next run
    cmd = _runs.orphanless([sys.executable, "-m", f"bench.{name}"] + (["--quick"] if quick else []))
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=None) as child:
        try:
            out, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
            return {"benchmark": name, "error": f"timed out after {timeout:.0f} s"}
    proc = subprocess.CompletedProcess(cmd, child.returncode, out)
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"benchmark": name, "error": f"exited with {proc.returncode}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """``a.b.c = 1`` pairs of a nested result, for the table."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += leaves(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(value, list):
        return []  # repeated runs are in the JSON; the table shows the summary
    return [(path, value)]


def table(results: list[dict[str, Any]]) -> str:
    rows: list[tuple[str, str, str]] = []
    for r in results:
        if "error" in r:
            rows.append((r["benchmark"], "ERROR", r["error"]))
            continue
        for section in ("figures", "baseline", "ratio"):
            for path, v in leaves(r.get(section, {})):
                shown = f"{v:,.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)
                rows.append((r["benchmark"], f"{section}.{path}", shown))
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c:>14}" for a, b, c in rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"default: all ({', '.join(ALL)})")
    p.add_argument("--quick", action="store_true", help="the small size of each benchmark")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed to each benchmark")
    args = p.parse_args()
    unknown = sorted(set(args.names) - set(ALL))
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    results = []
    for name in args.names or ALL:
        log(f"== bench.{name}{' --quick' if args.quick else ''}")
        results.append(run_one(name, args.quick, args.timeout))
    log(table(results))
    sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
    if any("error" in r for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
