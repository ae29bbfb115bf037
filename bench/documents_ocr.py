"""Reading uploaded documents on two families of printings: field accuracy on clean and degraded
scans, forgery detection, seconds per page (goals, on the family not used for tuning: ≥ 98 %
exact key fields on clean scans, ≥ 97 % on degraded ones; every forged check character flagged
and none corrected; ≤ 2.5 s a page p50 on two cores).

The corpus is generated from a registry seeded for the run (``onecity seed`` at 1:5000 into a
scratch SQLite database), once per family (``--families a,b``): family A is the original
printings, family B the independently designed one (other page sizes, forms, faces, label
wordings; phone-photo and photocopier degradations; a tenth delivered as PDF). Six document
types in turn, about half degraded (one or two degradations of the family), a quarter forged
(wrong check character, someone else's number, a name not the registry's, an expired or
revoked certificate, a hand-edited date). Each page is read by the real pipeline — rapidocr 3
(no cache), type detection, extraction — and cross-checked against the registry as a
city-level reviewer would.

Figures: per-field exact-match accuracy (clean / degraded, by type, by degradation), type
detection accuracy, forged documents detected (any failed check) by kind, genuine documents
with a failed check (false alarms, each a document an officer would look at for nothing), and
**forged documents the common risk table rates "low"** — the ones that could be approved
unattended if an item allowed it: the goal is 0. Seconds per page are measured with the
engine warm.

**Decisions**: each document is then handed to services' AI pre-review as the one upload of
an application by the document's own holder (the firm or person it names, with the form
prefilled from the registry as a real draft is) for an item that may be approved unattended;
an application letter applies for the senior citizen card, whose eligibility table runs on
the holder's registry record. ``prereview.review_document`` and ``prereview.conclude`` are
the functions the ``services.prereview`` consumer runs. Figures: outcomes for forged,
ineligible and genuine applications, and **false unattended approvals** (forged or
ineligible yet approved unattended: the goal is 0).

A long run is resumable: with ``--store`` (the default ``var/bench/documents_ocr.sqlite``) every
recognition and each document's measured seconds are kept on disk (``bench/_ocr_store.py``), and
so is the seeded registry; run again, it answers from the file what it has read and continues,
or re-scores a change to extraction without recognising the pages again. The families are read
in turn, document by document, so a run stopped by ``--minutes`` has read both alike.

Baselines, same run: the cross-checks on the *true* field values (perfect reading) — the
detection rate OCR is compared with (ratio = detection with OCR / with perfect reading); and
the same pages served from the OCR cache by content hash (ratio = OCR seconds / cached seconds;
the cached read still pays extraction and any second look at a missed value).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from bench._common import Stopwatch, emit, log, parser, ratio, sqlite_url
from bench._ocr_store import Store, StoredEngine

NAME = "documents_ocr"
ON = date(2026, 1, 1)
PURPOSE = "benchmark of document pre-review"


def _pct(ok: int, total: int) -> float | None:
    return round(100.0 * ok / total, 2) if total else None


def _wilson(ok: int, total: int) -> list[float] | None:
    """The 95 % Wilson interval of a proportion, in per cent: how far a figure from ``total`` trials can be trusted."""
    if not total:
        return None
    z = 1.96
    p = ok / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * ((p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5) / (1 + z * z / total)
    return [round(100 * (centre - half), 2), round(100 * min(1.0, centre + half), 2)]


IDENTIFIERS = ("uscc", "id_number", "seller_uscc", "buyer_uscc")


class Tally:
    """The figures of one family."""

    def __init__(self, types: tuple[str, ...]) -> None:
        self.types = types
        self.fields: dict[str, Counter[str]] = defaultdict(Counter)  # group → ok/total
        self.by_field: dict[str, Counter[str]] = defaultdict(Counter)  # type.field → clean/degraded ok/total
        self.misses: list[dict[str, Any]] = []
        self.forged: dict[str, Counter[str]] = defaultdict(Counter)
        self.genuine = Counter[str]()
        self.check_digit = Counter[str]()  # forged check characters: detected, kept as printed, corrected
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self.cached_seconds: list[float] = []
        self.pages: list[int] = []
        self.types_ok = 0
        self.low_risk_forged: list[dict[str, Any]] = []
        self.decisions: dict[str, Counter[str]] = defaultdict(Counter)
        self.false_unattended: list[dict[str, Any]] = []
        self.samples = 0
        self.docs = Counter[str]()  # documents by clean / degraded
        self.stored = 0  # documents whose every recognition came from the store (no seconds measured)
        self.loads: list[float] = []  # the 1-minute load average when each measured page was read
        self.pdfs = Counter[str]()
        self.refused: list[dict[str, Any]] = []  # uploads the reader refused (too large, not readable)
        self.skipped = 0  # documents not in the store, skipped by --stored-only

    def acc(self, group: str) -> float | None:
        return _pct(self.fields[group]["ok"], self.fields[group]["total"])

    def ci(self, group: str) -> list[float] | None:
        return _wilson(self.fields[group]["ok"], self.fields[group]["total"])

    def documents(self, group: str) -> int:
        return self.docs[group]

    def figures(self) -> dict[str, Any]:
        forged_total = sum(c["total"] for c in self.forged.values())
        detected = sum(c["detected"] for c in self.forged.values())
        return {
            "documents": self.samples,
            "documents_skipped_not_in_store": self.skipped,
            "refused_uploads": self.refused,
            "pdf_documents": dict(self.pdfs),
            "field_accuracy_clean_pct": self.acc("clean"),
            "field_accuracy_degraded_pct": self.acc("degraded"),
            "field_accuracy_clean_ci95": self.ci("clean"),
            "field_accuracy_degraded_ci95": self.ci("degraded"),
            "fields_clean": self.fields["clean"]["total"],
            "fields_degraded": self.fields["degraded"]["total"],
            "documents_clean": self.docs["clean"],
            "documents_degraded": self.docs["degraded"],
            "documents_answered_from_store": self.stored,
            "type_detection_pct": _pct(self.types_ok, self.samples),
            "by_type": {
                t: {"clean_pct": self.acc(f"clean:{t}"), "degraded_pct": self.acc(f"degraded:{t}")} for t in self.types
            },
            # every group's [exact, scored] fields: runs over parts of the range add up exactly
            "field_counts": {k: [c["ok"], c["total"]] for k, c in sorted(self.fields.items())},
            "field_counts_by_field": {k: dict(v) for k, v in sorted(self.by_field.items())},
            "by_degradation_pct": {k[4:]: self.acc(k) for k in sorted(self.fields) if k.startswith("deg:")},
            "by_degradation_fields": {
                k[4:]: self.fields[k]["total"] for k in sorted(self.fields) if k.startswith("deg:")
            },
            "by_field_pct": {
                k: {
                    "clean": _pct(v["clean_ok"], v["clean"]),
                    "degraded": _pct(v["degraded_ok"], v["degraded"]),
                    "n": v["clean"] + v["degraded"],
                    "n_clean": v["clean"],
                    "n_degraded": v["degraded"],
                }
                for k, v in sorted(self.by_field.items())
            },
            "forged": forged_total,
            "forged_detected_pct": _pct(detected, forged_total),
            "forged_detected_by_kind": {
                k: {"detected": c["detected"], "of": c["total"]} for k, c in sorted(self.forged.items())
            },
            "forged_check_digit": dict(self.check_digit),
            "forged_rated_low_risk": len(self.low_risk_forged),
            "forged_rated_low_risk_cases": self.low_risk_forged[:10],
            "genuine": self.genuine["total"],
            "genuine_false_alarm_pct": _pct(self.genuine["false_alarm"], self.genuine["total"]),
            "genuine_rated_low_risk_pct": _pct(self.genuine["low_risk"], self.genuine["total"]),
            "decisions": {g: dict(c) for g, c in sorted(self.decisions.items())},
            "false_unattended_approvals": len(self.false_unattended),
            "false_unattended_approval_cases": self.false_unattended[:10],
            "genuine_approved_unattended_pct": _pct(
                self.decisions["genuine"]["approve_unattended"], sum(self.decisions["genuine"].values())
            ),
            "seconds_per_page": round(statistics.mean(self.seconds), 3) if self.seconds else None,
            "seconds_per_page_p50": round(statistics.median(self.seconds), 3) if self.seconds else None,
            "cpu_seconds_per_page_p50": round(statistics.median(self.cpu_seconds), 3) if self.cpu_seconds else None,
            "seconds_per_page_p90": round(sorted(self.seconds)[int(0.9 * (len(self.seconds) - 1))], 3)
            if self.seconds
            else None,
            "pages_timed": len(self.seconds),
            "seconds_each": [round(x, 3) for x in self.seconds],  # to merge runs over parts of the range
            "cpu_seconds_each": [round(x, 3) for x in self.cpu_seconds],
            "load_each": [round(x, 1) for x in self.loads],
            "load_average_while_timed": [
                round(min(self.loads), 1),
                round(statistics.median(self.loads), 1),
                round(max(self.loads), 1),
            ]
            if self.loads
            else None,
            "misses": self.misses,
        }


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--documents", type=int, default=500, help="documents per family")
    p.add_argument("--families", default="a,b", help="families to read: a, b or a,b")
    p.add_argument("--seed", type=int, default=1, help="the registry's seed, and the corpus's unless --corpus-seed")
    p.add_argument(
        "--corpus-seed",
        type=int,
        default=None,
        help="the printings' seed: another set of documents from the same registry (a tuning set, seed 7)",
    )
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads (1: a second one spin-waits under load)")
    p.add_argument("--first", type=int, default=0, help="first document index to read (to split a run over processes)")
    p.add_argument("--last", type=int, default=None, help="last document index to read (inclusive)")
    p.add_argument("--minutes", type=float, default=None, help="stop the run after this long (a loaded machine)")
    p.add_argument(
        "--store",
        default="var/bench/documents_ocr.sqlite",
        help="keep every recognition and each document's measured seconds in this SQLite file, so an"
        " interrupted run continues where it stopped and a change to extraction is re-scored without"
        " recognising the pages again ('' for none; --quick keeps none unless given)",
    )
    p.add_argument(
        "--stored-only",
        action="store_true",
        help="score only the documents the store has read (re-scoring a run that was cut short, or read"
        " by several processes over parts of the range); the others are skipped, not read",
    )
    args = p.parse_args()
    scale = 0.0002
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    if args.quick:
        args.documents, scale, families = 3, 0.0001, ["b"]
        if "--store" not in sys.argv:
            args.store = ""

    import onecity.hub.registries.service  # noqa: F401  (registers the seeding action the seed checks)
    from onecity.core import migrate
    from onecity.core.db import Database
    from onecity.core.errors import InvalidInput
    from onecity.core.identity.principal import Principal, system_principal
    from onecity.core.identity.roles import PrincipalKind, Role
    from onecity.documents.crosscheck import crosscheck, failed, risk_facts
    from onecity.documents.extract import from_values
    from onecity.documents.ocr import MemoryOcrCache, RapidOcrEngine, decode_image
    from onecity.documents.pipeline import read
    from onecity.documents.rules import decide
    from onecity.hub.registries.identifiers import InvalidIdentifier, validate_resident_id, validate_uscc
    from onecity.synth.corpus import FIELDS, CannotForge, Generator, load_roster, plan
    from onecity.synth.registries.seed import seed

    def valid(value: str | None) -> bool:
        if not value:
            return False
        try:
            (validate_uscc if not value[:17].isdigit() else validate_resident_id)(value)
        except InvalidIdentifier:
            return False
        return True

    reviewer = Principal(
        kind=PrincipalKind.STAFF,
        id="bench-reviewer",
        name="reviewer",
        roles=frozenset({Role.REVIEWER}),
        division_code="310000000000",
    )
    tallies: dict[str, Tally] = {}
    with sqlite_url(NAME) as url:
        scratch = Path(url.removeprefix("sqlite:///"))
        # the seeded registry is kept beside the store (seeding takes minutes on a loaded machine):
        # a continued run starts from a copy of it, and its own audit rows never reach the kept one
        kept = (
            Path(args.store).with_name(f"{Path(args.store).stem}-registry-{scale:g}-{args.seed}.db")
            if args.store
            else None
        )
        if kept is not None and kept.exists():
            log(f"the registry seeded at {scale:g} × Shanghai by an earlier run: {kept}")
            shutil.copyfile(kept, scratch)
            db = Database(url)
            migrate.upgrade(db)
        else:
            db = Database(url)
            log(f"seeding a registry at {scale:g} × Shanghai…")
            migrate.upgrade(db)
            seed(db, scale, args.seed, system_principal("bench"), out=None)
            if kept is not None:
                db.dispose()
                shutil.copyfile(scratch, kept.with_suffix(".partial"))
                kept.with_suffix(".partial").replace(kept)
                db = Database(url)
        with db.sessions() as session:
            roster = load_roster(session, seed=args.seed)
        rapid = RapidOcrEngine(threads=args.threads)
        settings = f"det{RapidOcrEngine.DETECTOR_SIDE}"
        store = Store(Path(args.store)) if args.store else None
        engine: Any = StoredEngine(rapid, store, settings) if store is not None else rapid
        cache = MemoryOcrCache()
        if not args.quick:  # load the models before timing
            warm = Generator(roster, seed=args.seed + 1000).sample(0, "id_card")
            rapid.recognise(decode_image(warm.image))
        last = args.documents - 1 if args.last is None else min(args.last, args.documents - 1)
        printing = args.seed if args.corpus_seed is None else args.corpus_seed
        gens = {f: Generator(roster, seed=printing, family=f) for f in families}
        plans = {f: plan(last + 1, printing, family=f) for f in families}
        for f in families:
            tallies[f] = Tally(tuple(FIELDS))
        started = time.monotonic()
        done = 0
        # the families in turn, document by document: a run cut short has read both alike
        for index in range(args.first, last + 1):
            if args.minutes is not None and time.monotonic() - started > 60 * args.minutes:
                log(f"  stopped after {args.minutes:g} minutes, before document {index}")
                break
            for family in families:
                t = tallies[family]
                gen = gens[family]
                _, doc_type, degradations, forgery = plans[family][index]
                if args.stored_only and (store is None or store.timing(family, printing, index, settings) is None):
                    t.skipped += 1
                    continue
                # a tenth of family b arrives as PDF: clean pages exported with a text layer, degraded ones scanned
                pdf = None
                if family == "b" and index % 10 == 9:
                    pdf = "scan" if degradations else "text"
                try:
                    sample = gen.sample(index, doc_type, degradations=degradations, forgery=forgery, pdf=pdf)
                except CannotForge:
                    sample = gen.sample(index, doc_type, degradations=degradations, pdf=pdf)
                if pdf:
                    t.pdfs[pdf] += 1
                t.samples += 1
                cpu = time.process_time()
                misses = getattr(engine, "misses", 0)
                try:
                    with Stopwatch() as sw:
                        reading = read(sample.image, engine=engine, cache=cache)
                except InvalidInput as refused:  # e.g. a generated scan PDF over the 15 MB limit: counted, not fatal
                    t.refused.append({"i": index, "type": doc_type, "reason": str(refused)})
                    continue
                measured = store.timing(family, printing, index, settings) if store is not None else None
                if measured is not None:  # read for real by an earlier run: its seconds, not the store's
                    t.seconds.append(measured[0])
                    t.cpu_seconds.append(measured[1])
                    t.loads.append(measured[3])
                elif pdf == "text" or store is None or getattr(engine, "misses", 0) > misses:
                    per_page = sw.seconds / reading.page_count
                    cpu_page = (time.process_time() - cpu) / reading.page_count
                    t.seconds.append(per_page)
                    t.cpu_seconds.append(cpu_page)
                    t.loads.append(os.getloadavg()[0])
                    if store is not None:
                        store.record(
                            family, printing, index, settings, per_page, cpu_page, reading.page_count, t.loads[-1]
                        )
                else:
                    t.stored += 1
                ex = reading.extraction
                with Stopwatch() as sw2:
                    read(sample.image, engine=engine, cache=cache)
                t.cached_seconds.append(sw2.seconds)
                t.types_ok += ex.doc_type == sample.doc_type
                if ex.doc_type != sample.doc_type:  # score the fields as the right type would have been read
                    ex = read(sample.image, sample.doc_type, engine=engine, cache=cache).extraction
                group = "clean" if sample.clean else "degraded"
                t.docs[group] += 1
                for name, truth in sample.fields().items():
                    ok = ex.value(name) == truth
                    for g in (group, f"{group}:{sample.doc_type}", *(f"deg:{d}" for d in sample.degradations)):
                        t.fields[g]["ok"] += ok
                        t.fields[g]["total"] += 1
                    key = f"{sample.doc_type}.{name}"
                    t.by_field[key][group] += 1
                    t.by_field[key][f"{group}_ok"] += ok
                    if not ok and len(t.misses) < 400:
                        t.misses.append(
                            {
                                "i": sample.index,
                                "field": key,
                                "truth": truth,
                                "read": ex.value(name),
                                "degradations": list(sample.degradations),
                            }
                        )
                if sample.forgery == "bad_check_digit":
                    printed = next((n for n in IDENTIFIERS if n in sample.truth and not valid(sample.truth[n])), None)
                    if printed is not None:
                        f = ex.fields.get(printed)
                        t.check_digit["forged"] += 1
                        t.check_digit["flagged"] += bool(f and "check_failed" in f.flags)
                        t.check_digit["kept_as_printed"] += bool(f and f.value == sample.truth[printed])
                        t.check_digit["corrected_into_a_valid_code"] += bool(f and valid(f.value))
                form = (
                    {"holder_id_number": sample.holder_identifier or ""}
                    if sample.doc_type == "real_estate_certificate"
                    else None
                )
                perfect = from_values(sample.doc_type, sample.fields(), confidence=0.99)
                with db.transaction() as session:
                    findings = crosscheck(session, reviewer, ex, on=ON, purpose=PURPOSE, form=form)
                    ideal = crosscheck(session, reviewer, perfect, on=ON, purpose=PURPOSE, form=form)
                risk = decide("document_risk", risk_facts(ex, findings)).outputs["risk"]
                with db.transaction() as session:
                    outcome, eligible = _decision(session, roster, reviewer, sample, reading, sw.seconds)
                dgroup = "forged" if sample.forgery else "ineligible" if not eligible else "genuine"
                t.decisions[dgroup][outcome] += 1
                if dgroup != "genuine" and outcome == "approve_unattended":
                    t.false_unattended.append(
                        {"i": sample.index, "type": sample.doc_type, "forgery": sample.forgery, "eligible": eligible}
                    )
                if sample.forgery:
                    c = t.forged[sample.forgery]
                    c["total"] += 1
                    c["detected"] += bool(failed(findings))
                    c["detected_perfect_reading"] += bool(failed(ideal))
                    if risk == ["low"]:
                        t.low_risk_forged.append(
                            {"i": sample.index, "type": sample.doc_type, "forgery": sample.forgery}
                        )
                else:
                    t.genuine["total"] += 1
                    t.genuine["false_alarm"] += bool(failed(findings))
                    t.genuine["false_alarm_perfect_reading"] += bool(failed(ideal))
                    t.genuine["low_risk"] += risk == ["low"]
                done += 1
                if t.samples % 25 == 0:  # interim figures: a long run cut short still says something
                    log(
                        f"  {time.strftime('%H:%M:%S')} family {family}: {t.samples} documents"
                        f" ({t.stored} answered from the store, {time.monotonic() - started:.0f} s),"
                        f" p50 {statistics.median(t.seconds or [0]):.2f} s/page"
                        f" (cpu {statistics.median(t.cpu_seconds or [0]):.2f}, load {os.getloadavg()[0]:.1f});"
                        f" fields clean {t.acc('clean')} %, degraded {t.acc('degraded')} %;"
                        f" false unattended approvals {len(t.false_unattended)}"
                    )
        db.dispose()
        if store is not None:
            store.close()

    per_family = {f: t.figures() for f, t in tallies.items()}
    every = list(tallies.values())
    seconds = [s for t in every for s in t.seconds]
    cpu_seconds = [s for t in every for s in t.cpu_seconds]
    cached = [s for t in every for s in t.cached_seconds]
    forged_total = sum(c["total"] for t in every for c in t.forged.values())
    detected = sum(c["detected"] for t in every for c in t.forged.values())
    detected_perfect = sum(c["detected_perfect_reading"] for t in every for c in t.forged.values())
    genuine_total = sum(t.genuine["total"] for t in every)

    def total(group: str, key: str) -> int:
        return sum(t.fields[group][key] for t in every)

    figures: dict[str, Any] = {
        "documents": sum(t.samples for t in every),
        "families": per_family,
        "field_accuracy_clean_pct": _pct(total("clean", "ok"), total("clean", "total")),
        "field_accuracy_degraded_pct": _pct(total("degraded", "ok"), total("degraded", "total")),
        "fields_clean": total("clean", "total"),
        "fields_degraded": total("degraded", "total"),
        "forged": forged_total,
        "forged_detected_pct": _pct(detected, forged_total),
        "forged_rated_low_risk": sum(len(t.low_risk_forged) for t in every),
        "forged_check_digit_corrected": sum(t.check_digit["corrected_into_a_valid_code"] for t in every),
        "genuine": genuine_total,
        "decisions": {
            g: dict(sum((t.decisions[g] for t in every), Counter[str]()))
            for g in sorted({g for t in every for g in t.decisions})
        },
        "false_unattended_approvals": sum(len(t.false_unattended) for t in every),
        "seconds_per_page": round(statistics.mean(seconds), 3) if seconds else None,
        "seconds_per_page_p50": round(statistics.median(seconds), 3) if seconds else None,
        "cpu_seconds_per_page_p50": round(statistics.median(cpu_seconds), 3) if cpu_seconds else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    baseline = {
        "forged_detected_perfect_reading_pct": _pct(detected_perfect, forged_total),
        "genuine_false_alarm_perfect_reading_pct": _pct(
            sum(t.genuine["false_alarm_perfect_reading"] for t in every), genuine_total
        ),
        "cached_seconds_per_page": round(statistics.mean(cached), 4) if cached else None,
    }
    ratios = {
        "detection_vs_perfect_reading": ratio(detected, detected_perfect),
        "ocr_vs_cached_seconds": ratio(figures["seconds_per_page"] or 0.0, baseline["cached_seconds_per_page"] or 0.0),
    }
    for family, f in per_family.items():
        table(family, f)
    emit(
        NAME,
        {
            "documents_per_family": args.documents,
            "families": families,
            "first": args.first,
            "last": last,
            "minutes": args.minutes,
            "seed": args.seed,
            "corpus_seed": args.corpus_seed,
            "threads": args.threads,
            "degraded_share": 0.5,
            "forged_share": 0.25,
            "on": ON.isoformat(),
        },
        figures,
        baseline,
        ratios,
    )


def table(family: str, f: dict[str, Any]) -> None:
    out = sys.stderr
    print(f"\n{NAME}, family {family}: {f['documents']} documents (PDFs {f['pdf_documents']})", file=out)
    for g in ("clean", "degraded"):
        print(
            f"  {'field accuracy, ' + g:<38} {f[f'field_accuracy_{g}_pct']} %"
            f"  (95 % CI {f[f'field_accuracy_{g}_ci95']};"
            f" {f[f'fields_{g}']} fields of {f[f'documents_{g}']} documents)",
            file=out,
        )
    print(f"  {'type detected':<38} {f['type_detection_pct']} %", file=out)
    for t, v in f["by_type"].items():
        print(f"    {t:<36} clean {v['clean_pct']} %   degraded {v['degraded_pct']} %", file=out)
    for d, v in f["by_degradation_pct"].items():
        print(f"    degraded by {d:<24} {v} %  ({f['by_degradation_fields'][d]} fields)", file=out)
    for k, v in f["by_field_pct"].items():
        print(
            f"    field {k:<40} clean {v['clean']} % (n {v['n_clean']})"
            f"   degraded {v['degraded']} % (n {v['n_degraded']})",
            file=out,
        )
    print(f"  {'forged detected':<38} {f['forged_detected_pct']} % of {f['forged']}", file=out)
    for k, v in f["forged_detected_by_kind"].items():
        print(f"    {k:<36} {v['detected']}/{v['of']}", file=out)
    print(f"  {'forged check characters':<38} {f['forged_check_digit']}", file=out)
    print(f"  {'forged rated low risk (goal 0)':<38} {f['forged_rated_low_risk']}", file=out)
    print(f"  {'genuine with a failed check':<38} {f['genuine_false_alarm_pct']} % of {f['genuine']}", file=out)
    for group, outcomes in f["decisions"].items():
        print(
            f"  {'pre-review of ' + group + ' applications':<38} "
            + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
            file=out,
        )
    print(f"  {'false unattended approvals (goal 0)':<38} {f['false_unattended_approvals']}", file=out)
    print(
        f"  {'seconds per page (OCR + extraction)':<38} p50 {f['seconds_per_page_p50']} "
        f"(cpu p50 {f['cpu_seconds_per_page_p50']}; p90 {f['seconds_per_page_p90']}; mean {f['seconds_per_page']};"
        f" {f['pages_timed']} pages timed at load {f['load_average_while_timed']})",
        file=out,
    )


#: The items a benchmark application is for: an unattended item with no eligibility table (a firm's
#: or person's document), and the senior citizen card (an application letter, with eligibility).
PLAIN_ITEM = "310000-20-00083-001"
SENIOR_ITEM = "310000-20-00072-001"
FIRM_TYPES = ("business_licence", "food_business_licence", "invoice")


def _decision(session: Any, roster: Any, reviewer: Any, sample: Any, reading: Any, seconds: float) -> tuple[str, bool]:
    """Pre-review ``sample`` as the one upload of an application by its own holder: (outcome, eligible)."""
    import dataclasses

    from onecity.documents.rules import senior_citizen_card
    from onecity.services import catalogue
    from onecity.services import prereview as pre
    from onecity.services.models import Case

    holder = sample.holder_identifier or ""
    form: dict[str, str] = {}
    eligibility = None
    if sample.doc_type in FIRM_TYPES:
        firm = roster.firm(holder)
        case = Case(
            number="BENCH",
            item_code=PLAIN_ITEM,
            applicant_kind="legal_person",
            applicant_identifier=holder,
            person_id=None,
            form=form,
        )
        if firm is not None:
            form.update(uscc=firm.uscc, firm_name=firm.name, legal_rep=firm.legal_rep)
        it = dataclasses.replace(catalogue.item(PLAIN_ITEM), unattended=True)
    else:
        person = roster.person(holder)
        letter = sample.doc_type == "application_letter"
        it = catalogue.item(SENIOR_ITEM if letter else PLAIN_ITEM)
        case = Case(
            number="BENCH",
            item_code=it.code,
            applicant_kind="person",
            applicant_identifier=holder,
            person_id=None,
            form=form,
        )
        if person is not None:
            form.update(applicant_name=person.name, id_number=person.id_number)
        if sample.doc_type == "real_estate_certificate" and sample.certificate_number:
            form["property_certificate_no"] = sample.certificate_number
        if letter:
            eligibility = senior_citizen_card(session, reviewer, holder, on=ON, purpose=PURPOSE)
        else:
            it = dataclasses.replace(it, unattended=True)
    read = pre.Read(reading, seconds)
    review = pre.review_document(session, case, "upload", sample.doc_type, f"bench-{sample.index}", read, on=ON)
    conclusion = pre.conclude(it, [review], unread=[], eligibility=eligibility, changed=[])
    eligible = eligibility is None or bool(eligibility.outputs.get("eligible"))
    return str(conclusion.outcome.value), eligible


if __name__ == "__main__":
    main()
