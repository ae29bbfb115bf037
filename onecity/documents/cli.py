"""Command: ``onecity documents read IMAGE``.

``read`` OCRs one image (or takes the cached result for the same bytes from the database's
OCR cache) and prints the type, the fields with their confidence, region and flags, and the
text lines; ``--json`` prints ``{"type": …, "fields": {name: {"value": …, "confidence": …}},
"text": [...]}``. Sample documents to read are printed by ``onecity synth documents``
(:mod:`onecity.synth.cli`).
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
    from onecity.core.db import Database, DatabaseMissing
    from onecity.core.errors import DomainError
    from onecity.documents.ocr import DbOcrCache, OcrCache, RapidOcrEngine
    from onecity.documents.pipeline import read

    path = Path(args.image)
    if not path.is_file():
        sys.stderr.write(f"{path}: no such file\n")
        return 2
    db = None
    if not args.no_cache:
        try:
            db = Database(args.database or settings.database_url)
        except DatabaseMissing:  # a scan read where no platform database is: without the cache
            db = None
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
    r.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1)")
    r.set_defaults(func=cmd_read)
