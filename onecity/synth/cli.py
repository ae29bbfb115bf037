"""Commands that make up a city: ``onecity synth documents``.

``synth documents`` prints sample scans with their ground truth (``truth.jsonl``) from a
seeded registry, for developers and benchmarks of ``onecity documents read``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from onecity.core.config import Settings


def _out(text: str) -> None:
    """Command output goes to stdout (the lint rule against print is for library code)."""
    sys.stdout.write(text + "\n")


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.db import Database
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


def add_commands(sub: Any) -> None:
    synth = sub.add_parser("synth", help="make up a city: sample documents (demos, tests, benchmarks)")
    what = synth.add_subparsers(dest="synth_command", required=True)
    g = what.add_parser("documents", help="write sample documents with ground truth from a seeded registry")
    g.add_argument("--out", required=True, help="directory to write the images and truth.jsonl into")
    g.add_argument("--count", type=int, default=24)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--degraded", type=float, default=0.5, help="share of degraded scans")
    g.add_argument("--forged", type=float, default=0.25, help="share of forged documents")
    g.add_argument("--database", help="database URL of the seeded registry")
    g.set_defaults(func=cmd_documents)
