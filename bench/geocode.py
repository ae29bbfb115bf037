"""How often the geocoder puts an address in the right grid, and how long a lookup takes.

Addresses are drawn from the gazetteer itself (a seeded sample of its lanes and village groups,
each with a made-up house number behind it) and written the way callers say them, spoiled on
purpose; each spoiled form is geocoded and its answer compared with the grid of the entry it
was made from:

* ``exact`` — 徐汇区天平路街道长寿路405弄27号;
* ``one_typo`` — one character of the words (district, township, road or village) replaced by
  another from the gazetteer's own names, dropped, or swapped with its neighbour;
* ``no_house_number`` — 徐汇区天平路街道长寿路405弄 (the number inside the lane left out);
* ``no_district`` — 天平路街道长寿路405弄27号;
* ``pinyin`` — ``xuhuiqu tianpinglujiedao changshoulu 405 nong 27 hao``;
* ``typo_no_house_number`` — both at once;
* ``road_and_number_only`` — 长寿路405弄: the same road runs through many townships; reported, no goal;
* ``no_lane_number`` — 徐汇区天平路街道长寿路: a road, not a place; reported, no goal (a road
  crosses several grids; the answer is the road's middle).

Figures per form: ``placed_right`` (the geocoder was sure enough to give one answer —
:meth:`Geocoder.place`, what Open311 uses — and it lies in the right grid), ``placed_wrong``,
``refused`` (it gave suggestions only), ``top1_right`` and ``top5_right`` (the right grid among the
first suggestions: what the call-taker picks from). Goal: ``placed_right`` ≥ 0.95 for one typo,
a missing house number and pinyin. Latency: one ``geocode`` call (suggestions), in process.

The city: a scratch SQLite database seeded with ``onecity seed`` at ``--scale`` (geography,
registries, gazetteer), or ``--database URL`` of one already seeded.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pypinyin import lazy_pinyin

from bench._common import Stopwatch, emit, log, parser, sqlite_url, summary_ms
from onecity.core import migrate
from onecity.core.db import Database
from onecity.core.identity.principal import system_principal
from onecity.hub.geography.geocode import Geocoder, Record

NAME = "geocode"
MARKER = {"lane": "弄", "group": "组"}
MARKER_PY = {"lane": "nong", "group": "zu"}
GOAL_FORMS = ("one_typo", "no_house_number", "pinyin")


class Sample:
    """One gazetteer entry written as a caller would, with the pieces the spoilers need."""

    def __init__(self, record: Record, district: str, township: str, house: int) -> None:
        self.record, self.district, self.township, self.house = record, district, township, house
        assert record.street is not None and record.number is not None
        self.street, self.number = record.street, record.number
        self.marker = MARKER[record.kind]

    def words(self) -> str:
        return self.district + self.township + self.street

    def text(self, words: str | None = None, *, house: bool = True, district: bool = True) -> str:
        w = words if words is not None else self.words()
        if not district:
            w = w.removeprefix(self.district)
        return f"{w}{self.number}{self.marker}" + (f"{self.house}号" if house else "")


def samples(coder: Geocoder, n: int, rng: np.random.Generator) -> list[Sample]:
    """``n`` lanes and village groups of the gazetteer, drawn with ``rng``, with a house number each."""
    pool = [r for r in coder.records if r.kind in MARKER and r.street and r.number is not None]
    picks = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    out = []
    for i in sorted(int(k) for k in picks):
        r = pool[i]
        district = coder.division(r.district_code or "")
        township = coder.division(r.township_code or "")
        if district is None or township is None:
            continue
        out.append(Sample(r, district.name, township.name, int(rng.integers(1, 60))))
    return out


def typo(words: str, pool: str, rng: np.random.Generator) -> str:
    """One character of ``words`` replaced, dropped, or swapped with the next one."""
    i = int(rng.integers(len(words)))
    how = int(rng.integers(3))
    if how == 0:
        other = words[i]
        while other == words[i]:
            other = pool[int(rng.integers(len(pool)))]
        return words[:i] + other + words[i + 1 :]
    if how == 1 and len(words) > 2:
        return words[:i] + words[i + 1 :]
    j = min(i + 1, len(words) - 1) if i < len(words) - 1 else i - 1
    a, b = sorted((i, j))
    return words[:a] + words[b] + words[a] + words[b + 1 :]


def spoil(sample: Sample, form: str, pool: str, rng: np.random.Generator) -> str:
    if form == "exact":
        return sample.text()
    if form == "one_typo":
        return sample.text(typo(sample.words(), pool, rng))
    if form == "no_house_number":
        return sample.text(house=False)
    if form == "no_district":
        return sample.text(district=False)
    if form == "typo_no_house_number":
        return sample.text(typo(sample.words(), pool, rng), house=False)
    if form == "pinyin":
        parts = ["".join(lazy_pinyin(x)) for x in (sample.district, sample.township, sample.street)]
        kind = MARKER_PY[sample.record.kind]
        return " ".join([*parts, str(sample.number), kind, str(sample.house), "hao"])
    if form == "road_and_number_only":
        return f"{sample.street}{sample.number}{sample.marker}"
    if form == "no_lane_number":
        return sample.words()
    raise ValueError(form)


FORMS = (
    "exact",
    "one_typo",
    "no_house_number",
    "no_district",
    "pinyin",
    "typo_no_house_number",
    "road_and_number_only",
    "no_lane_number",
)


def evaluate(coder: Geocoder, items: list[Sample], form: str, rng: np.random.Generator) -> dict[str, Any]:
    """Placement shares of one spoiled form over the samples, and the lookups' latency."""
    pool = "".join(sorted({c for r in coder.records if r.kind in ("road", "township", "district") for c in r.name}))
    right = wrong = refused = top1 = top5 = 0
    lat: list[float] = []
    for s in items:
        text = spoil(s, form, pool, rng)
        t0 = time.perf_counter()
        suggestions = coder.geocode(text, limit=5)
        lat.append(time.perf_counter() - t0)
        best, _ = coder.place(text)
        truth = s.record.grid_code
        if best is None:
            refused += 1
        elif best.record.grid_code == truth:
            right += 1
        else:
            wrong += 1
        top1 += bool(suggestions) and suggestions[0].record.grid_code == truth
        top5 += any(m.record.grid_code == truth for m in suggestions)
    n = max(1, len(items))
    return {
        "n": len(items),
        "placed_right": round(right / n, 4),
        "placed_wrong": round(wrong / n, 4),
        "refused": round(refused / n, 4),
        "top1_right": round(top1 / n, 4),
        "top5_right": round(top5 / n, 4),
        **summary_ms(lat),
    }


def measure(coder: Geocoder, n: int, seed: int = 1, forms: tuple[str, ...] = FORMS) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    items = samples(coder, n, rng)
    return {form: evaluate(coder, items, form, np.random.default_rng([seed, i])) for i, form in enumerate(forms)}


def seeded(url: str, scale: float) -> None:
    from onecity.synth.registries.seed import seed

    db = Database(url)
    try:
        migrate.upgrade(db)
        seed(db, scale, 1, system_principal("bench"), out=None)
    finally:
        db.dispose()


def run(url: str, n: int, scale: float | None) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if scale is not None:
        log(f"{NAME}: seeding a city at scale {scale:g} (geography, registries, gazetteer)")
        with Stopwatch() as sw:
            seeded(url, scale)
        figures["seed_seconds"] = round(sw.seconds, 1)
    db = Database(url)
    try:
        with db.sessions() as session, Stopwatch() as sw:
            coder = Geocoder.from_session(session)
        figures["load_seconds"] = round(sw.seconds, 2)
        figures["entries"] = len(coder)
        log(f"  gazetteer: {len(coder):,} entries, loaded in {sw.seconds:.2f} s; {n} samples per form")
        results = measure(coder, n)
        for form, f in results.items():
            log(
                f"  {form:22} right {f['placed_right']:.3f} wrong {f['placed_wrong']:.3f} refused {f['refused']:.3f}"
                f"  top1 {f['top1_right']:.3f} top5 {f['top5_right']:.3f}  p50 {f['p50_ms']} ms p99 {f['p99_ms']} ms"
            )
        figures["forms"] = results
        figures["goal_met"] = all(results[f]["placed_right"] >= 0.95 for f in GOAL_FORMS if f in results)
    finally:
        db.dispose()
    return figures


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--database", help="an already seeded database (default: seed a scratch SQLite)")
    p.add_argument("--scale", type=float, default=None, help="seed scale (default 0.001; 0.0002 with --quick)")
    p.add_argument("--samples", type=int, default=None, help="addresses per form (default 1000; 100 with --quick)")
    args = p.parse_args()
    n = args.samples or (100 if args.quick else 1000)
    scale = args.scale or (0.0002 if args.quick else 0.001)
    t0 = time.perf_counter()
    if args.database:
        figures = run(args.database, n, None)
    else:
        with sqlite_url("geocode") as url:
            figures = run(url, n, scale)
    figures["wall_seconds"] = round(time.perf_counter() - t0, 1)
    emit(
        NAME,
        {
            "samples_per_form": n,
            "scale": None if args.database else scale,
            "database": "given" if args.database else "sqlite",
        },
        figures,
    )


if __name__ == "__main__":
    main()
