"""Commands: ``onecity documents read IMAGE`` and ``onecity documents generate``.

``read`` OCRs one image (or takes the cached result for the same bytes from the database's
OCR cache) and prints the type, the fields with their confidence, region and flags, and the
text lines; ``--json`` prints ``{"type": …, "fields": {name: {"value": …, "confidence": …}},
"text": [...]}``. ``generate`` writes a corpus of sample documents with their ground truth
from a seeded registry (developers, benchmarks).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from onecity.core.config import Settings


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_read(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.db import Database
    from onecity.core.errors import DomainError
    from onecity.documents.ocr import DbOcrCache, OcrCache, RapidOcrEngine
    from onecity.documents.pipeline import read

    path = Path(args.image)
    if not path.is_file():
        sys.stderr.write(f"{path}: no such file\n")
        return 2
    db = None if args.no_cache else Database(args.database or settings.database_url)
    cache: OcrCache | None = DbOcrCache(db) if db is not None else None
    try:
        reading = read(path.read_bytes(), args.type, engine=RapidOcrEngine(threads=args.threads), cache=cache)
    except DomainError as err:
        sys.stderr.write(f"{path}: {err.detail}\n")
        return 1
    finally:
        if db is not None:
            db.dispose()
    if args.json:
        _out(json.dumps(reading.as_json(), ensure_ascii=False))
        return 0
    ex = reading.extraction
    _out(
        f"{path}: {ex.doc_type} (type confidence {ex.type_confidence:.2f}; OCR {reading.ocr.seconds:.2f} s"
        f"{', cached' if reading.cached else ''})"
    )
    for name, f in ex.fields.items():
        flags = f" [{', '.join(f.flags)}: {'; '.join(f.notes)}]" if f.flags else ""
        _out(f"  {name:<20} {f.value or '—':<40} {f.confidence:.3f}{flags}")
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.db import Database
    from onecity.documents.corpus import generate, load_roster

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
    from onecity.documents.extract import DOC_TYPES

    docs = sub.add_parser("documents", help="read uploaded documents (OCR, fields, checks)").add_subparsers(
        dest="documents_command", required=True
    )
    r = docs.add_parser("read", help="OCR an image and extract its fields")
    r.add_argument("image")
    r.add_argument("--type", choices=DOC_TYPES, help="document type (detected when omitted)")
    r.add_argument("--json", action="store_true", help="print JSON")
    r.add_argument("--database", help="database URL of the OCR cache (default: ONECITY_DATABASE_URL)")
    r.add_argument("--no-cache", action="store_true", help="do not read or write the OCR cache")
    r.add_argument("--threads", type=int, default=2, help="onnxruntime threads (default 2)")
    r.set_defaults(func=cmd_read)
    g = docs.add_parser("generate", help="write sample documents with ground truth from a seeded registry")
    g.add_argument("--out", required=True, help="directory to write the images and truth.jsonl into")
    g.add_argument("--count", type=int, default=24)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--degraded", type=float, default=0.5, help="share of degraded scans")
    g.add_argument("--forged", type=float, default=0.25, help="share of forged documents")
    g.add_argument("--database", help="database URL of the seeded registry")
    g.set_defaults(func=cmd_generate)
