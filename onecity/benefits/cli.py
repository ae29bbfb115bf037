"""Commands: ``onecity benefits policies`` (the catalogue), ``onecity benefits scan`` (who is eligible)
and ``onecity benefits offer`` (offer to them, withdraw the offers whose eligibility ended).

A scan runs each policy's decision table as one query over the registries, as the CLI
principal, audited with the purpose "proactive benefits"; it prints one line per policy (or
JSON) with how many it grants and how long the query took.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from typing import Any

from onecity.core.config import Settings


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_policies(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.benefits.catalogue import DEPARTMENTS, POLICIES
    from onecity.core.commands import language

    zh = language() == "zh"
    for p in POLICIES:
        d = DEPARTMENTS[p.department]
        name, dep = (p.name_zh, d.name_zh) if zh else (p.name_en, d.name_en)
        _out(f"{p.code:32} {p.subject.value:13} {dep} · {name} · {p.legal_basis}")
    return 0


def cmd_scan(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.benefits import service
    from onecity.benefits.catalogue import POLICIES
    from onecity.core import clock
    from onecity.core.commands import cli_principal, open_db

    on = date.fromisoformat(args.on) if args.on else clock.local(clock.now()).date()
    codes = args.policy or [p.code for p in POLICIES]
    for code in codes:
        service.policy_by_code(code)
    db = open_db(settings)
    rows: list[dict[str, Any]] = []
    if args.city:
        started = time.perf_counter()
        try:
            with db.transaction() as session:
                counts = service.scan_city(session, cli_principal(), on)
        finally:
            db.dispose()
        seconds = round(time.perf_counter() - started, 3)
        if args.json:
            _out(json.dumps({"on": on.isoformat(), "granted": counts, "seconds": seconds}, ensure_ascii=False))
        else:
            for code, n in counts.items():
                _out(f"{code:32} {n:>9} granted")
            _out(f"{'all, one pass per kind of subject':32} {sum(counts.values()):>9} granted  {seconds:.3f}s")
        return 0
    try:
        for code in codes:
            started = time.perf_counter()
            with db.transaction() as session:
                result = service.scan(session, cli_principal(), code, on)
            rows.append(
                {
                    "policy": code,
                    "granted": len(result.granted),
                    "amount_cny": round(sum(result.granted.values()), 2),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
    finally:
        db.dispose()
    if args.json:
        _out(json.dumps({"on": on.isoformat(), "policies": rows}, ensure_ascii=False))
    else:
        for r in rows:
            _out(f"{r['policy']:32} {r['granted']:>9} granted  {r['amount_cny']:>14.2f} CNY  {r['seconds']:.3f}s")
    return 0


def cmd_offer(args: argparse.Namespace, settings: Settings) -> int:
    """Bring every policy's offers in line with its table: offer the newly eligible, withdraw the ended."""
    from onecity.benefits import offers, service
    from onecity.benefits.catalogue import POLICIES
    from onecity.core import clock
    from onecity.core.commands import cli_principal, open_db

    on = date.fromisoformat(args.on) if args.on else clock.local(clock.now()).date()
    codes = args.policy or [p.code for p in POLICIES]
    for code in codes:
        service.policy_by_code(code)
    db = open_db(settings)
    try:
        if not args.policy:  # the whole city, every policy: inside the database, one transaction
            started = time.perf_counter()
            with db.transaction() as session:
                tallies = offers.refresh_all(session, cli_principal(), on)
            for t in tallies:
                _out(f"{t.policy:32} {t.made:>7} offered {t.withdrawn:>7} withdrawn")
            _out(f"{'every policy':32} {time.perf_counter() - started:.2f}s")
            return 0
        for code in codes:
            started = time.perf_counter()
            with db.transaction() as session:
                done = offers.refresh(session, cli_principal(), code, on)
            _out(
                f"{code:32} {len(done.made):>7} offered {len(done.withdrawn):>7} withdrawn"
                f"  {time.perf_counter() - started:.2f}s"
            )
    finally:
        db.dispose()
    return 0


def add_commands(sub: Any) -> None:
    ben = sub.add_parser("benefits", help="proactive benefits (免申即享)").add_subparsers(
        dest="benefits_command", required=True
    )
    pol = ben.add_parser("policies", help="the benefit policies, their departments and legal bases")
    pol.set_defaults(func=cmd_policies)
    sc = ben.add_parser("scan", help="find everyone each policy grants, one query per policy")
    sc.add_argument("--policy", action="append", help="only this policy (repeatable)")
    sc.add_argument("--on", help="the day to decide for (YYYY-MM-DD; default today in Shanghai)")
    sc.add_argument("--json", action="store_true")
    sc.add_argument(
        "--city",
        action="store_true",
        help="every policy in one pass per kind of subject, written to benefit_grants in the database",
    )
    sc.set_defaults(func=cmd_scan)
    of = ben.add_parser("offer", help="offer each policy to whoever it grants, withdraw the offers it no longer grants")
    of.add_argument(
        "--policy", action="append", help="only this policy (repeatable; without it every policy, inside the database)"
    )
    of.add_argument("--on", help="the day to decide for (YYYY-MM-DD; default today in Shanghai)")
    of.set_defaults(func=cmd_offer)
