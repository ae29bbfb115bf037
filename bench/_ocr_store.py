"""A benchmark's OCR on disk, so a long run of ``documents_ocr`` can be interrupted and continued,
and re-scored after a change to extraction without recognising every page again.

:class:`StoredEngine` wraps an engine: every ``recognise`` (a page, the band under a seal) and
``recognise_line`` (a second look at one line) is kept in a SQLite file under the hash of the
image's pixels and the engine's settings; the same image asked again is answered from the file.
A second look that extraction now places elsewhere is a new crop, so it is recognised for real
(and stored). The seconds a document took when it was first read for real are kept beside it
(table ``documents``), so the speed figures of a continued run are those measured, never the
cache's.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from PIL import Image

from onecity.documents.ocr import OcrEngine, OcrResult


def _key(kind: str, settings: str, image: Image.Image) -> str:
    h = hashlib.sha256(f"{kind}:{settings}:{image.mode}:{image.width}x{image.height}:".encode())
    h.update(image.tobytes())
    return h.hexdigest()


class Store:
    """The SQLite file: recognitions by key, and each document's measured seconds."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS documents (family TEXT, seed INTEGER, idx INTEGER, settings TEXT,"
            " seconds REAL, cpu_seconds REAL, pages INTEGER, load1 REAL, PRIMARY KEY (family, seed, idx, settings))"
        )

    def get(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO calls VALUES (?, ?)", (key, json.dumps(value, ensure_ascii=False)))

    def timing(self, family: str, seed: int, index: int, settings: str) -> tuple[float, float, int, float] | None:
        row = self.db.execute(
            "SELECT seconds, cpu_seconds, pages, load1 FROM documents"
            " WHERE family = ? AND seed = ? AND idx = ? AND settings = ?",
            (family, seed, index, settings),
        ).fetchone()
        return None if row is None else (float(row[0]), float(row[1]), int(row[2]), float(row[3]))

    def record(
        self, family: str, seed: int, index: int, settings: str, seconds: float, cpu: float, pages: int, load1: float
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (family, seed, index, settings, seconds, cpu, pages, load1),
        )

    def close(self) -> None:
        self.db.close()


class StoredEngine:
    """``engine`` answered from ``store`` when it has seen the image; ``misses`` counts real recognitions."""

    def __init__(self, engine: OcrEngine, store: Store, settings: str) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings
        self.name = engine.name
        self.misses = 0

    def recognise(self, image: Image.Image) -> OcrResult:
        key = _key("page", self.settings, image)
        hit = self.store.get(key)
        if hit is not None:
            return OcrResult.from_json(hit)
        self.misses += 1
        result = self.engine.recognise(image)
        self.store.put(key, result.as_json())
        return result

    def recognise_line(self, image: Image.Image) -> tuple[str, float]:
        key = _key("line", self.settings, image)
        hit = self.store.get(key)
        if hit is not None:
            return str(hit[0]), float(hit[1])
        self.misses += 1
        text, score = self.engine.recognise_line(image)
        self.store.put(key, [text, score])
        return text, score
