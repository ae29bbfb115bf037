"""The simulation's report as one self-contained HTML page: the goals, then charts per day, district, department.

Drawn as inline SVG (no script, no CDN, no file beside it): it opens from disk, in a mail, on a
machine without a network. Labels are in Chinese and English.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

#: The issue's goals for a simulated month: (section, figure, comparison, target, words).
GOALS: tuple[tuple[str, str, str, float, str], ...] = (
    ("services", "prefilled_field_share", ">=", 0.90, "表单字段预填比例 / prefilled form fields"),
    ("services", "first_time_pass_rate", ">=", 0.98, "一次办成率 / first-time pass"),
    ("services", "within_time_limit_rate", "==", 1.0, "按时办结率（期内到期）/ within the time limit (due in the run)"),
    ("operations", "closed_on_time_rate", ">=", 0.995, "城运案件按时结案率 / operations cases closed on time"),
    ("operations", "misrouted", "==", 0, "派错部门 / misrouted operations cases"),
    ("services", "proactive_false_offers", "==", 0, "误推送的免申即享 / offers to the ineligible"),
)
COLOURS = ("#1f6feb", "#d4380d", "#389e0d", "#8250df", "#bf8700", "#0e7490")
WIDTH = 760


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _bundle_name(code: str) -> str:
    from onecity.core.errors import NotFound
    from onecity.services import catalogue

    try:
        b = catalogue.bundle(code)
    except NotFound:
        return code
    return f"{b.name} / {b.name_en}"


def _bundles_expected(bundles: dict[str, dict[str, Any]], run_days: float) -> str:
    """A caption under the bundles' chart: how many applications the run's life events were expected
    to bring each bundle, so a rare one with none (a new restaurant is ~1.6 a month at 1:1000) is
    read as chance, not as a fault."""
    expected = [
        (code, v["expected_per_day_at_this_scale"] * run_days)
        for code, v in bundles.items()
        if isinstance(v.get("expected_per_day_at_this_scale"), int | float)
    ]
    if not expected or not run_days:
        return ""
    shown = " · ".join(f"{_e(_bundle_name(code))} {n:.1f}" for code, n in expected)
    words = "按本次运行的生命事件预期的申请数 / applications expected from the run's life events"
    return f"<figcaption>{words}: {shown}</figcaption>"


def _met(value: Any, op: str, target: float) -> bool | None:
    if not isinstance(value, int | float):
        return None
    return value >= target if op == ">=" else value == target


def _lines(title: str, days: list[str], series: list[tuple[str, list[float | None]]], *, rate: bool) -> str:
    """A line chart over the days (rates 0–1 on a fixed axis, counts from 0 to their maximum)."""
    h, left, top, bottom = 240, 48, 28, 40
    plot_w, plot_h = WIDTH - left - 16, h - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top_value = 1.0 if rate else math.ceil(max(values + [1.0]) / 4) * 4  # whole-number ticks
    low = 0.0
    if rate and values:
        low = max(0.0, min(0.8, min(values) - 0.05))
    n = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / ((top_value - low) or 1))

    parts = [f'<svg viewBox="0 0 {WIDTH} {h}" role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>']
    for k in range(5):
        v = low + (top_value - low) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - 16}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{(f'{v:.0%}' if rate else f'{v:,.0f}')}</text>"
        )
    step = max(1, len(days) // 10)
    for i, d in enumerate(days):
        if i % step == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{h - 22}" text-anchor="middle" font-size="11">{_e(d[5:])}</text>')
    for j, (name, vs) in enumerate(series):
        colour = COLOURS[j % len(COLOURS)]
        points = [(x(i), y(v)) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour}"/>')
        parts.append(
            f'<rect x="{left + 170 * j}" y="{h - 12}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 170 * j + 14}" y="{h - 3}" font-size="11">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars(title: str, rows: Sequence[tuple[str, float | None]], *, rate: bool = False) -> str:
    """Horizontal bars, one a row, the value written at its end; a row with no value (a rate of
    nothing: a district that decided no case) gets no bar and a dash, not a bar of 0 %."""
    left, row_h = 230, 20
    h = 20 + row_h * len(rows)
    top_value = 1.0 if rate else max([v for _, v in rows if v is not None] + [1.0])
    plot_w = WIDTH - left - 70
    parts = [f'<svg viewBox="0 0 {WIDTH} {h}" role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>']
    for i, (label, v) in enumerate(rows):
        yy = 10 + i * row_h
        w = 0.0 if v is None else plot_w * v / top_value
        shown = "—" if v is None else (f"{v:.1%}" if rate else f"{v:,.0f}")
        parts.append(
            f'<text x="{left - 8}" y="{yy + 13}" text-anchor="end" font-size="12">{_e(label)}</text>'
            f'<rect x="{left}" y="{yy + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{COLOURS[0]}"/>'
            f'<text x="{left + w + 6:.1f}" y="{yy + 13}" font-size="11">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: dict[str, dict[str, Any]], label: str) -> str:
    cols = (
        ("submitted", "受理申请 / submitted"),
        ("decided", "办结 / decided"),
        ("first_time_pass_rate", "一次办成 / first-time pass"),
        ("within_time_limit_rate", "按时 / on time"),
        ("prefilled_field_share", "预填 / prefilled"),
        ("ops_closed", "城运结案 / ops closed"),
        ("ops_closed_on_time_rate", "城运按时 / ops on time"),
        ("proactive_offers", "免申即享推送 / offers"),
    )
    head = "".join(f"<th>{_e(t)}</th>" for _, t in cols)
    body = []
    for key, r in rows.items():
        name = r.get("name_en") and f"{r.get('name')} / {r.get('name_en')}" or r.get("name", key)
        cells = []
        for c, _ in cols:
            v = r.get(c)
            cells.append(f"<td>{'—' if v is None else (f'{v:.1%}' if isinstance(v, float) else f'{v:,}')}</td>")
        body.append(f"<tr><th scope='row'>{_e(name)}</th>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th>{_e(label)}</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


#: The first day's offers are drawn apart when they exceed the busiest later day this many times.
BACKLOG_FACTOR = 5


def _offers_chart(day_keys: list[str], series: Callable[[str], list[float | None]]) -> str:
    """Offers and take-ups per day. The first day's full scan offers every benefit the city was
    already owed (tens of thousands); the days after, only new eligibility (births, birthdays,
    new firms). Drawn on one axis the first day flattens the rest to zero, so when it dwarfs them
    it is written beside the chart and the line starts on the second day."""
    offers, accepted = series("proactive_offers"), series("proactive_accepted")
    later = [v for v in offers[1:] if v is not None]
    caption = ""
    if len(later) >= 2 and offers[0] is not None and offers[0] > BACKLOG_FACTOR * max(later + [1.0]):
        n, took = f"{offers[0]:,.0f}", f"{accepted[0] or 0:,.0f}"
        caption = (
            f"<figcaption>首日全量筛查推送 {n} 份、领取 {took} 份（未画出，以免压平其余各日）"
            f" / the first day's full scan: {n} offers, {took} accepted"
            " (not drawn, so that the other days show)</figcaption>"
        )
        offers, accepted = [None, *offers[1:]], [None, *accepted[1:]]
    return caption + _lines(
        "offers per day", day_keys, [("推送 / offers", offers), ("领取 / accepted", accepted)], rate=False
    )


def _partial(sim: dict[str, Any]) -> str:
    """A notice above the goals when the report is a long run's checkpoint, not its end."""
    if not sim.get("partial"):
        return ""
    return (
        f'<p class="partial" role="status">未完成的运行：以下是截至 {_e(sim.get("end", ""))}（已模拟 '
        f"{_e(sim.get('hours', ''))} 小时）的中间结果，目标按已运行部分判断。<br>"
        f"Partial run: the figures so far, up to {_e(sim.get('end', ''))} ({_e(sim.get('hours', ''))} h simulated); "
        "the goals are judged on the part that ran.</p>\n"
    )


def render(report: dict[str, Any]) -> str:
    sim = report.get("simulation", {})
    b = report.get("breakdown", {})
    days = b.get("per_day", {})
    day_keys = list(days)
    goal_rows = []
    for section, key, op, target, words in GOALS:
        value = report.get(section, {}).get(key)
        met = _met(value, op, target)
        mark = "—" if met is None else ("✓ 达到 / met" if met else "✗ 未达到 / not met")
        shown = "—" if value is None else (f"{value:.4f}" if isinstance(value, float) else f"{value:,}")
        goal_rows.append(
            f"<tr class='{'' if met is None else ('ok' if met else 'no')}'><th scope='row'>{_e(words)}</th>"
            f"<td>{_e(shown)}</td><td>{_e(op)} {target:g}</td><td>{mark}</td></tr>"
        )
    bundles = report.get("services", {}).get("bundles", {})
    run_days = float(sim.get("hours") or 0) / 24
    bundle_rows = [(_bundle_name(code), float(v.get("applications", 0))) for code, v in bundles.items()]

    def series(key: str) -> list[float | None]:
        return [days[d].get(key) for d in day_keys]

    charts = [
        (
            "每日申请与办结 / applications and decisions per day",
            _lines(
                "cases per day",
                day_keys,
                [("受理 / submitted", series("submitted")), ("办结 / decided", series("decided"))],
                rate=False,
            ),
        ),
        (
            "每日比率 / rates per day",
            _lines(
                "rates per day",
                day_keys,
                [
                    ("一次办成 / first-time pass", series("first_time_pass_rate")),
                    ("按时 / on time", series("within_time_limit_rate")),
                    ("预填 / prefilled", series("prefilled_field_share")),
                    ("城运按时 / ops on time", series("ops_closed_on_time_rate")),
                ],
                rate=True,
            ),
        ),
        ("免申即享：每日推送与领取 / proactive offers and take-ups per day", _offers_chart(day_keys, series)),
        (
            "各区受理量 / cases per district",
            _bars(
                "cases per district",
                [(r["name"], float(r["submitted"])) for r in b.get("per_district", {}).values()],
            ),
        ),
        (
            "各区一次办成率 / first-time pass per district",
            _bars(
                "first-time pass per district",
                [
                    (r["name"], None if r["first_time_pass_rate"] is None else float(r["first_time_pass_rate"]))
                    for r in b.get("per_district", {}).values()
                ],
                rate=True,
            ),
        ),
        (
            "各部门办结量 / decisions per department",
            _bars(
                "decisions per department",
                [(r["name"], float(r["decided"])) for r in b.get("per_department", {}).values()],
            ),
        ),
        (
            "“一件事”申请 / bundle applications",
            _bars("bundle applications", bundle_rows) + _bundles_expected(bundles, run_days),
        ),
    ]
    figures = "".join(f"<section><h2>{_e(t)}</h2><figure>{svg}</figure></section>" for t, svg in charts)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>模拟城市报告 / Simulated city report</title>
<style>
body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:24px auto;max-width:{WIDTH + 40}px;color:#1d1d1f}}
h1{{font-size:22px}} h2{{font-size:16px;margin-top:28px}} svg{{width:100%;height:auto}}
table{{border-collapse:collapse;font-size:12px;width:100%}}
th,td{{border-bottom:1px solid #e5e5e5;padding:4px 6px;text-align:right}}
th[scope=row],thead th:first-child{{text-align:left}}
tr.ok td:last-child{{color:#1a7f37}} tr.no td:last-child{{color:#cf222e}}
figure{{margin:0}} figcaption{{color:#555;font-size:12px;margin-bottom:4px}} .meta{{color:#555;font-size:13px}}
.partial{{background:#fff4e5;border-left:4px solid #bf8700;padding:8px 12px;font-size:13px}}
</style></head><body>
<h1>模拟城市报告 / Simulated city report</h1>
<p class="meta">{_e(sim.get("start", ""))} → {_e(sim.get("end", ""))} · {_e(sim.get("hours", ""))} h ·
规模 / scale {_e(sim.get("scale", ""))} · 种子 / seed {_e(sim.get("seed", ""))}</p>
{_partial(sim)}
<section><h2>目标 / goals</h2><table><thead><tr><th>指标 / figure</th><th>结果 / result</th><th>目标 / goal</th>
<th></th></tr></thead><tbody>{"".join(goal_rows)}</tbody></table></section>
{figures}
<section><h2>各区 / per district</h2>{_table(b.get("per_district", {}), "区 / district")}</section>
<section><h2>各部门 / per department</h2>{_table(b.get("per_department", {}), "部门 / department")}</section>
</body></html>
"""
