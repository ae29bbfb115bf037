"""Reading uploaded documents: field accuracy on clean and degraded scans, forgery detection,
seconds per page (goals: ≥ 98 % exact fields on clean scans, ≥ 95 % on degraded ones).

The corpus is generated from a registry seeded for the run (``onecity seed`` at 1:5000 into a
scratch SQLite database): six document types in turn, about half of them degraded (one or two
of rotation, perspective, blur, noise, low light, JPEG, photocopy), a quarter forged (wrong
check character, someone else's number, a name not the registry's, an expired or revoked
certificate, a hand-edited date). Each page is read by the real pipeline — rapidocr 3 (no
cache), type detection, extraction — and cross-checked against the registry as a city-level
reviewer would.

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

Baselines, same run: the cross-checks on the *true* field values (perfect reading) — the
detection rate OCR is compared with (ratio = detection with OCR / with perfect reading); and
the same pages served from the OCR cache by content hash (ratio = OCR seconds / cached seconds;
the cached read still pays extraction and any second look at a missed value).
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from bench._common import Stopwatch, emit, log, parser, ratio, sqlite_url

NAME = "documents_ocr"
ON = date(2026, 1, 1)
PURPOSE = "benchmark of document pre-review"


def _pct(ok: int, total: int) -> float | None:
    return round(100.0 * ok / total, 2) if total else None


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--documents", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    p.add_argument("--first", type=int, default=0, help="first document index to read (to split a run over processes)")
    p.add_argument("--last", type=int, default=None, help="last document index to read (inclusive)")
    args = p.parse_args()
    scale = 0.0002
    if args.quick:
        args.documents, scale = 3, 0.0001

    import onecity.hub.registries.service  # noqa: F401  (registers the seeding action the seed checks)
    from onecity.core import migrate
    from onecity.core.db import Database
    from onecity.core.identity.principal import Principal, system_principal
    from onecity.core.identity.roles import PrincipalKind, Role
    from onecity.documents.crosscheck import crosscheck, failed, risk_facts
    from onecity.documents.extract import from_values
    from onecity.documents.ocr import MemoryOcrCache, RapidOcrEngine, recognise_bytes
    from onecity.documents.pipeline import read
    from onecity.documents.rules import decide
    from onecity.synth.corpus import FIELDS, generate, load_roster
    from onecity.synth.registries.seed import seed

    reviewer = Principal(
        kind=PrincipalKind.STAFF,
        id="bench-reviewer",
        name="reviewer",
        roles=frozenset({Role.REVIEWER}),
        division_code="310000000000",
    )
    with sqlite_url(NAME) as url:
        db = Database(url)
        log(f"seeding a registry at {scale:g} × Shanghai…")
        migrate.upgrade(db)
        seed(db, scale, args.seed, system_principal("bench"), out=None)
        with db.sessions() as session:
            roster = load_roster(session, seed=args.seed)
        engine = RapidOcrEngine(threads=args.threads)
        cache = MemoryOcrCache()
        if not args.quick:  # load the models before timing
            recognise_bytes(next(generate(roster, 1, args.seed + 1000)).image, engine)

        fields: dict[str, Counter[str]] = defaultdict(Counter)  # group → ok/total
        by_field: dict[str, Counter[str]] = defaultdict(Counter)
        misses: list[dict[str, Any]] = []
        forged: dict[str, Counter[str]] = defaultdict(Counter)
        genuine = Counter[str]()
        seconds: list[float] = []
        cached_seconds: list[float] = []
        types_ok = 0
        low_risk_forged: list[dict[str, Any]] = []
        decisions: dict[str, Counter[str]] = defaultdict(Counter)  # forged/ineligible/genuine → outcome
        false_unattended: list[dict[str, Any]] = []
        samples = 0
        last = args.documents - 1 if args.last is None else min(args.last, args.documents - 1)
        for sample in generate(roster, last + 1, args.seed):
            if sample.index < args.first:
                continue
            samples += 1
            with Stopwatch() as sw:
                reading = read(sample.image, engine=engine, cache=cache)
            seconds.append(sw.seconds)
            ex = reading.extraction
            with Stopwatch() as sw2:
                again = read(sample.image, engine=engine, cache=cache)
            assert again.cached
            cached_seconds.append(sw2.seconds)
            types_ok += ex.doc_type == sample.doc_type
            if ex.doc_type != sample.doc_type:  # score the fields as the right type would have been read
                ex = read(sample.image, sample.doc_type, engine=engine, cache=cache).extraction
            group = "clean" if sample.clean else "degraded"
            for name, truth in sample.fields().items():
                ok = ex.value(name) == truth
                for g in (group, f"{group}:{sample.doc_type}", *(f"deg:{d}" for d in sample.degradations)):
                    fields[g]["ok"] += ok
                    fields[g]["total"] += 1
                by_field[f"{sample.doc_type}.{name}"]["ok"] += ok
                by_field[f"{sample.doc_type}.{name}"]["total"] += 1
                if not ok and len(misses) < 60:
                    misses.append(
                        {
                            "i": sample.index,
                            "field": f"{sample.doc_type}.{name}",
                            "truth": truth,
                            "read": ex.value(name),
                            "degradations": list(sample.degradations),
                        }
                    )
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
            group = "forged" if sample.forgery else "ineligible" if not eligible else "genuine"
            decisions[group][outcome] += 1
            if group != "genuine" and outcome == "approve_unattended":
                false_unattended.append(
                    {"i": sample.index, "type": sample.doc_type, "forgery": sample.forgery, "eligible": eligible}
                )
            if sample.forgery:
                c = forged[sample.forgery]
                c["total"] += 1
                c["detected"] += bool(failed(findings))
                c["detected_perfect_reading"] += bool(failed(ideal))
                if risk == ["low"]:
                    low_risk_forged.append({"i": sample.index, "type": sample.doc_type, "forgery": sample.forgery})
            else:
                genuine["total"] += 1
                genuine["false_alarm"] += bool(failed(findings))
                genuine["false_alarm_perfect_reading"] += bool(failed(ideal))
                genuine["low_risk"] += risk == ["low"]
            if samples % 25 == 0:  # interim figures: a long run cut short still says something
                so_far = {g: _pct(fields[g]["ok"], fields[g]["total"]) for g in ("clean", "degraded")}
                caught, made = (sum(c[k] for c in forged.values()) for k in ("detected", "total"))
                log(
                    f"  {samples} documents, {statistics.mean(seconds):.2f} s/page; fields clean {so_far['clean']} %, "
                    f"degraded {so_far['degraded']} %; forged detected {caught}/{made}"
                    f"; forged rated low risk {len(low_risk_forged)}; genuine false alarms {genuine['false_alarm']}"
                    f"; false unattended approvals {len(false_unattended)}"
                )
        db.dispose()

    def acc(group: str) -> float | None:
        return _pct(fields[group]["ok"], fields[group]["total"])

    forged_total = sum(c["total"] for c in forged.values())
    detected = sum(c["detected"] for c in forged.values())
    detected_perfect = sum(c["detected_perfect_reading"] for c in forged.values())
    sec = statistics.mean(seconds)
    sec_cached = statistics.mean(cached_seconds)
    figures = {
        "documents": samples,
        "field_accuracy_clean_pct": acc("clean"),
        "field_accuracy_degraded_pct": acc("degraded"),
        "fields_clean": fields["clean"]["total"],
        "fields_degraded": fields["degraded"]["total"],
        "type_detection_pct": _pct(types_ok, samples),
        "by_type": {t: {"clean_pct": acc(f"clean:{t}"), "degraded_pct": acc(f"degraded:{t}")} for t in FIELDS},
        "by_degradation_pct": {k[4:]: acc(k) for k in sorted(fields) if k.startswith("deg:")},
        "worst_fields_pct": dict(
            sorted(((k, _pct(v["ok"], v["total"])) for k, v in by_field.items()), key=lambda kv: kv[1] or 0)[:8]
        ),
        "forged": forged_total,
        "forged_detected_pct": _pct(detected, forged_total),
        "forged_detected_by_kind": {
            k: {"detected": c["detected"], "of": c["total"]} for k, c in sorted(forged.items())
        },
        "forged_rated_low_risk": len(low_risk_forged),
        "forged_rated_low_risk_cases": low_risk_forged[:10],
        "genuine": genuine["total"],
        "genuine_false_alarm_pct": _pct(genuine["false_alarm"], genuine["total"]),
        "genuine_rated_low_risk_pct": _pct(genuine["low_risk"], genuine["total"]),
        "decisions": {g: dict(c) for g, c in sorted(decisions.items())},
        "false_unattended_approvals": len(false_unattended),
        "false_unattended_approval_cases": false_unattended[:10],
        "genuine_approved_unattended_pct": _pct(
            decisions["genuine"]["approve_unattended"], sum(decisions["genuine"].values())
        ),
        "seconds_per_page": round(sec, 3),
        "seconds_per_page_p50": round(statistics.median(seconds), 3),
        "misses_sample": misses[:25],
        "raw": {
            "fields": {k: dict(v) for k, v in fields.items()},
            "genuine": dict(genuine),
            "forged": {k: dict(v) for k, v in forged.items()},
            "types_ok": types_ok,
            "seconds_sum": round(sum(seconds), 3),
            "cached_seconds_sum": round(sum(cached_seconds), 4),
        },
    }
    baseline = {
        "forged_detected_perfect_reading_pct": _pct(detected_perfect, forged_total),
        "genuine_false_alarm_perfect_reading_pct": _pct(genuine["false_alarm_perfect_reading"], genuine["total"]),
        "cached_seconds_per_page": round(sec_cached, 4),
    }
    ratios = {
        "detection_vs_perfect_reading": ratio(detected, detected_perfect),
        "ocr_vs_cached_seconds": ratio(sec, sec_cached),
    }
    table(figures, baseline)
    emit(
        NAME,
        {
            "documents": args.documents,
            "first": args.first,
            "last": last,
            "seed": args.seed,
            "threads": args.threads,
            "degraded_share": 0.5,
            "forged_share": 0.25,
            "on": ON.isoformat(),
        },
        figures,
        baseline,
        ratios,
    )


def table(f: dict[str, Any], b: dict[str, Any]) -> None:
    out = sys.stderr
    print(f"\n{NAME}: {f['documents']} documents", file=out)
    print(
        f"  {'field accuracy, clean':<38} {f['field_accuracy_clean_pct']} %  ({f['fields_clean']} fields; goal 98)",
        file=out,
    )
    print(
        f"  {'field accuracy, degraded':<38} {f['field_accuracy_degraded_pct']} %  ({f['fields_degraded']} fields; "
        "goal 95)",
        file=out,
    )
    print(f"  {'type detected':<38} {f['type_detection_pct']} %", file=out)
    for t, v in f["by_type"].items():
        print(f"    {t:<36} clean {v['clean_pct']} %   degraded {v['degraded_pct']} %", file=out)
    for d, v in f["by_degradation_pct"].items():
        print(f"    degraded by {d:<24} {v} %", file=out)
    print(
        f"  {'forged detected':<38} {f['forged_detected_pct']} % of {f['forged']} "
        f"(perfect reading: {b['forged_detected_perfect_reading_pct']} %)",
        file=out,
    )
    for k, v in f["forged_detected_by_kind"].items():
        print(f"    {k:<36} {v['detected']}/{v['of']}", file=out)
    print(f"  {'forged rated low risk (goal 0)':<38} {f['forged_rated_low_risk']}", file=out)
    print(
        f"  {'genuine with a failed check':<38} {f['genuine_false_alarm_pct']} % of {f['genuine']} "
        f"(perfect reading: {b['genuine_false_alarm_perfect_reading_pct']} %)",
        file=out,
    )
    for group, outcomes in f["decisions"].items():
        print(
            f"  {'pre-review of ' + group + ' applications':<38} "
            + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
            file=out,
        )
    print(f"  {'false unattended approvals (goal 0)':<38} {f['false_unattended_approvals']}", file=out)
    print(f"  {'genuine approved unattended':<38} {f['genuine_approved_unattended_pct']} %", file=out)
    print(
        f"  {'seconds per page (OCR + extraction)':<38} {f['seconds_per_page']} (p50 {f['seconds_per_page_p50']}; "
        f"cached {b['cached_seconds_per_page']})",
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
    import hashlib

    from onecity.documents.rules import senior_citizen_card
    from onecity.services import catalogue
    from onecity.services import prereview as pre
    from onecity.services.models import Case, Document

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
    doc = Document(
        id=f"bench-{sample.index}",
        case_id="bench",
        material_code="upload",
        filename="scan",
        content_type=sample.media_type,
        size=len(sample.image),
        sha256=hashlib.sha256(sample.image).hexdigest(),
        content=sample.image,
    )
    pre.remember(reading, seconds)
    review = pre.review_document(session, case, "upload", sample.doc_type, doc, on=ON)
    conclusion = pre.conclude(it, [review], unread=[], eligibility=eligibility, changed=[])
    eligible = eligibility is None or bool(eligibility.outputs.get("eligible"))
    return str(conclusion.outcome.value), eligible


if __name__ == "__main__":
    main()
