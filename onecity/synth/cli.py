"""Commands that make up a city: ``onecity seed``, ``onecity synth geography|documents``.

``seed`` writes the generated geography and base registries (people, firms, components,
certificates) at a scale of Shanghai's size; ``synth geography`` the geography alone (a
demo of the operations side, a test server); ``synth documents`` prints sample scans with
their ground truth (``truth.jsonl``) from a seeded registry, for developers and benchmarks of
``onecity documents read``. They run as the CLI principal, audited like any other command.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from onecity.core.config import Settings
from onecity.core.db import Database


def _out(text: str) -> None:
    """Command output goes to stdout (the lint rule against print is for library code)."""
    sys.stdout.write(text + "\n")


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.synth.corpus import generate, load_roster

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    db = Database(args.database or settings.database_url)
    try:
        with db.sessions() as session:
            roster = load_roster(session, seed=args.seed)
    finally:
        db.dispose()
    truth = []
    for s in generate(roster, args.count, args.seed, degraded_share=args.degraded, forged_share=args.forged):
        name = f"{s.index:05d}-{s.doc_type}.{'jpg' if s.media_type == 'image/jpeg' else 'png'}"
        (out / name).write_bytes(s.image)
        truth.append(
            {
                "file": name,
                "type": s.doc_type,
                "fields": s.fields(),
                "degradations": list(s.degradations),
                "forgery": s.forgery,
                "regions": {k: list(v) for k, v in s.regions.items()},
            }
        )
    (out / "truth.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in truth), encoding="utf-8")
    _out(f"wrote {len(truth)} documents and truth.jsonl to {out}")
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core import policy
    from onecity.core.commands import cli_principal
    from onecity.hub.registries import service  # noqa: F401  (registers the actions)
    from onecity.synth.registries.seed import seed

    principal = cli_principal()
    policy.require(principal, "hub.registry.seed")
    from onecity.core.progress import Progress

    db = Database(args.database or settings.database_url)
    bar = not args.quiet and sys.stderr.isatty()  # a bar on a terminal; a line every 5 s in a log
    try:
        with Progress("seeding (people, firms, components)", enabled=bar) as shown:
            report = seed(
                db,
                args.scale,
                args.seed,
                principal,
                out=None if args.quiet or bar else sys.stderr,
                progress=lambda done, total, table: shown.update(done, total, note=table),
            )
    finally:
        db.dispose()
    if args.json:
        _out(json.dumps(report.as_dict()))
    return 0


def cmd_geography(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.synth.geography.load import load_geography

    t0 = time.perf_counter()
    from onecity.core.commands import opened

    with opened(settings) as db, db.transaction() as session:
        result = load_geography(session)
    seconds = round(time.perf_counter() - t0, 2)
    if args.json:
        _out(json.dumps({"added": result.as_dict(), "seconds": seconds}))
    else:
        added = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.as_dict().items())
        _out(f"geography loaded in {seconds} s; rows added: {added}")
    return 0


def add_commands(sub: Any) -> None:
    s = sub.add_parser("seed", help="generate the base registries of a synthetic Shanghai (streamed)")
    s.add_argument("--scale", type=float, default=0.001, help="1 = Shanghai's size; 0.001 for the demo and tests")
    s.add_argument("--seed", type=int, default=1, help="same seed, same bytes")
    s.add_argument("--database", help="database URL (default: ONECITY_DATABASE_URL)")
    s.add_argument("--json", action="store_true", help="print the report (rows/s per registry) as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")
    s.set_defaults(func=cmd_seed)

    synth = sub.add_parser("synth", help="make up parts of a city: its geography, sample documents")
    what = synth.add_subparsers(dest="synth_command", required=True)
    geo = what.add_parser("geography", help="write communities, villages, outlines and grids (idempotent)")
    geo.add_argument("--json", action="store_true")
    geo.set_defaults(func=cmd_geography)
    g = what.add_parser("documents", help="write sample documents with ground truth from a seeded registry")
    g.add_argument("--out", required=True, help="directory to write the images and truth.jsonl into")
    g.add_argument("--count", type=int, default=24)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--degraded", type=float, default=0.5, help="share of degraded scans")
    g.add_argument("--forged", type=float, default=0.25, help="share of forged documents")
    g.add_argument("--database", help="database URL of the seeded registry")
    g.set_defaults(func=cmd_documents)
