"""OCR and extraction on generated scans: clean and degraded licences, a forged check character,
the content-hash cache, the CLI's JSON and a run with the network switched off."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from onecity.core.db import Database
from onecity.core.errors import InvalidInput
from onecity.documents.extract import Extraction
from onecity.documents.ocr import DbOcrCache, OcrResult, content_hash, decode_image, recognise_bytes
from onecity.documents.pipeline import Reader, read
from onecity.synth.corpus import FIELDS, Generator, Roster, Sample
from tests.documents.conftest import Ocr
from tests.hub.registries.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]


def _read(sample: Sample, ocr: Ocr, doc_type: str | None = None) -> Extraction:
    return read(sample.image, doc_type, engine=ocr.engine, cache=ocr.cache).extraction


def test_a_clean_licence_reads_every_field(corpus_roster: Roster, ocr: Ocr) -> None:
    sample = Generator(corpus_roster, seed=21).sample(0, "business_licence")
    ex = _read(sample, ocr)
    assert ex.doc_type == "business_licence" and ex.type_confidence > 0.5
    assert {k: ex.value(k) for k in FIELDS["business_licence"]} == sample.fields()
    code = ex.fields["uscc"]
    assert code.flags == [] and code.confidence > 0.9
    # the region is where the layout printed the code (within a few pixels)
    assert code.box is not None and all(abs(a - b) < 12 for a, b in zip(code.box, sample.regions["uscc"], strict=True))


def test_a_degraded_licence_still_gets_the_credit_code(corpus_roster: Roster, ocr: Ocr) -> None:
    sample = Generator(corpus_roster, seed=22).sample(1, "business_licence", degradations=("rotation", "jpeg"))
    ex = _read(sample, ocr)
    assert ex.doc_type == "business_licence"
    assert ex.value("uscc") == sample.truth["uscc"] and ex.fields["uscc"].flags == []


def test_a_wrong_check_character_is_flagged_never_corrected(corpus_roster: Roster, ocr: Ocr) -> None:
    sample = Generator(corpus_roster, seed=23).sample(2, "business_licence", forgery="bad_check_digit")
    assert sample.holder_identifier is not None and sample.truth["uscc"] != sample.holder_identifier
    code = _read(sample, ocr, "business_licence").fields["uscc"]
    assert code.value == sample.truth["uscc"]  # what is printed, not the valid code it "should" be
    assert "check_failed" in code.flags
    assert f"expected {sample.holder_identifier[-1]}" in code.notes[0]


def test_an_id_card_is_detected_and_read(corpus_roster: Roster, ocr: Ocr) -> None:
    sample = Generator(corpus_roster, seed=24).sample(3, "id_card")
    ex = _read(sample, ocr)
    assert ex.doc_type == "id_card"
    assert ex.value("id_number") == sample.truth["id_number"] and ex.value("name") == sample.truth["name"]
    assert ex.value("birth_date") == sample.truth["birth_date"]


def test_the_same_bytes_are_recognised_once(corpus_roster: Roster, ocr: Ocr, db: Database) -> None:
    sample = Generator(corpus_roster, seed=21).sample(0, "business_licence")  # usually read in the first test
    recognise_bytes(sample.image, ocr.engine, ocr.cache)
    memo, cached = recognise_bytes(sample.image, ocr.engine, ocr.cache)
    assert cached
    cache = DbOcrCache(db)
    assert cache.get(content_hash(sample.image), ocr.engine.name) is None
    cache.put(content_hash(sample.image), memo)
    cache.put(content_hash(sample.image), memo)  # a second worker finishing the same image is harmless
    again, cached = recognise_bytes(sample.image, ocr.engine, cache)
    assert cached and again == memo


def test_the_reader_works_off_the_calling_thread(corpus_roster: Roster, ocr: Ocr) -> None:
    """``Reader.submit`` returns a future at once; the work runs in the pool's thread."""
    import threading

    sample = Generator(corpus_roster, seed=24).sample(3, "id_card")  # read by an earlier test: cached
    seen: list[str] = []

    class Spy:
        name = ocr.engine.name

        def recognise(self, image: Image.Image) -> OcrResult:
            raise AssertionError("served from the cache, never recognised again")

        def recognise_line(self, image: Image.Image) -> tuple[str, float]:
            seen.append(threading.current_thread().name)
            return ocr.engine.recognise_line(image)

    read(sample.image, engine=ocr.engine, cache=ocr.cache)  # make sure it is cached
    with Reader(lambda: Spy(), cache=ocr.cache) as reader:
        future = reader.submit(sample.image)
        reading = future.result(timeout=60)
    assert reading.cached and reading.extraction.value("id_number") == sample.truth["id_number"]
    assert all(name.startswith("onecity-documents") for name in seen)


def test_uploads_that_are_not_images_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not a readable image"):
        decode_image(b"%PDF-1.7 this is not a scan")
    with pytest.raises(InvalidInput, match="empty"):
        decode_image(b"")


def test_the_cli_prints_type_fields_and_text(
    corpus_roster: Roster, ocr: Ocr, sqlite_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = Generator(corpus_roster, seed=24).sample(3, "id_card")
    image = tmp_path / "card.png"
    image.write_bytes(sample.image)
    shutil.copy(sqlite_template, tmp_path / "cache.db")
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    # the page was recognised by an earlier test: hand its result to the CLI's cache (OCR is slow)
    result, _ = recognise_bytes(sample.image, ocr.engine, ocr.cache)
    cache_db = Database(url)
    DbOcrCache(cache_db).put(content_hash(sample.image), result)
    cache_db.dispose()
    assert run_cli(["documents", "read", str(image), "--json", "--database", url]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["type"] == "id_card" and isinstance(first["text"], list) and first["text"]
    assert set(first["fields"]) == set(FIELDS["id_card"])
    for f in first["fields"].values():
        assert set(f) >= {"value", "confidence"} and 0 <= f["confidence"] <= 1
    assert first["fields"]["id_number"]["value"] == sample.truth["id_number"]
    assert first["ocr"]["cached"] is True and first["sha256"] == content_hash(sample.image)
    assert run_cli(["documents", "read", str(image), "--json", "--type", "id_card", "--database", url]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["ocr"]["cached"] is True and second["fields"] == first["fields"]
    assert run_cli(["documents", "read", str(tmp_path / "missing.png"), "--no-cache"]) == 2


NETWORK_OFF = """
import socket, sys
from pathlib import Path
from onecity.documents.ocr import RapidOcrEngine
from onecity.documents.pipeline import Reader, read
try:
    socket.create_connection(("1.1.1.1", 443), timeout=2)
    print("NETWORK-UP")
except OSError:
    pass
reading = read(Path(sys.argv[1]).read_bytes(), engine=RapidOcrEngine(threads=1))
print(reading.extraction.doc_type, reading.extraction.value("uscc"))
"""


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    return subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False).returncode == 0


def test_the_pipeline_runs_with_the_network_off(corpus_roster: Roster, tmp_path: Path) -> None:
    """Under ``unshare -rn`` (a new network namespace with no interfaces up) the models load from
    the wheel and the page is read. Where user namespaces are not allowed, the same script runs
    with socket creation refused, which fails any download just the same."""
    sample = Generator(corpus_roster, seed=23).sample(2, "business_licence", forgery="bad_check_digit")
    image = tmp_path / "licence.png"
    image.write_bytes(sample.image)
    script = tmp_path / "offline.py"
    if _unshare_works():
        script.write_text(NETWORK_OFF)
        cmd = ["unshare", "-rn", sys.executable, str(script), str(image)]
    else:
        script.write_text(
            "import socket\n"
            "def _refuse(*a, **k):\n    raise OSError('network is off')\n"
            "socket.socket.connect = _refuse\nsocket.create_connection = _refuse\n" + NETWORK_OFF
        )
        cmd = [sys.executable, str(script), str(image)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "NETWORK-UP" not in proc.stdout
    assert proc.stdout.split()[-2:] == ["business_licence", sample.truth["uscc"]]
