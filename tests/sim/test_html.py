"""The simulation's HTML report: self-contained, the goals judged, a chart per figure."""

from __future__ import annotations

import re

from onecity.sim.html import render


def _report() -> dict[str, object]:
    day = {
        "submitted": 10,
        "decided": 8,
        "approved": 7,
        "first_time_pass_rate": 0.875,
        "within_time_limit_rate": 1.0,
        "prefilled_field_share": 0.91,
        "ops_closed": 4,
        "ops_closed_on_time_rate": 0.75,
        "proactive_offers": 3,
        "proactive_accepted": 1,
    }
    return {
        "simulation": {"start": "2026-06-01T00:00:00+08:00", "end": "2026-06-03T00:00:00+08:00", "hours": 48},
        "services": {
            "prefilled_field_share": 0.91,
            "first_time_pass_rate": 0.95,
            "within_time_limit_rate": 1.0,
            "proactive_false_offers": 0,
            "bundles": {"have-a-baby": {"applications": 2}, "moving-house": {"applications": 0}},
        },
        "operations": {"closed_on_time_rate": 0.99, "misrouted": 0},
        "breakdown": {
            "per_day": {"2026-06-01": day, "2026-06-02": {**day, "submitted": 12}},
            "per_district": {"310104000000": {"name": "徐汇区 <b>", **day}},
            "per_department": {"sh-psb": {"name": "市公安局", "name_en": "Public Security", **day}},
        },
    }


def test_the_report_is_one_page_with_nothing_fetched_and_every_goal_judged() -> None:
    page = render(_report())
    assert not re.search(r"""(src|href)=["']?https?:""", page), "nothing is fetched from the network"
    assert "<script" not in page
    assert page.count("<svg") == 7  # per day (3), per district (2), per department, bundles
    rows = re.findall(r"<tr class='(ok|no)'>", page)
    assert rows.count("no") == 2  # first-time pass 0.95 < 0.98, operations 0.99 < 0.995
    assert rows.count("ok") == 4
    assert "徐汇区 &lt;b&gt;" in page and "<b>" not in page.split("<body>")[1]  # names escaped
    assert "市公安局 / Public Security" in page and "出生一件事 / Have a baby" in page


def test_a_district_that_decided_nothing_shows_a_dash_not_a_rate_of_zero() -> None:
    """Chongming decided no case in the month: its first-time pass is no figure, not 0.0 %."""
    report = _report()
    breakdown = report["breakdown"]
    assert isinstance(breakdown, dict)
    idle = {**breakdown["per_district"]["310104000000"], "name": "崇明区", "decided": 0, "first_time_pass_rate": None}
    breakdown["per_district"]["310151000000"] = idle
    page = render(report)
    chart = page.split("<title>first-time pass per district</title>")[1].split("</svg>")[0]
    assert "崇明区" in chart and "—" in chart and "0.0%" not in chart


def test_the_first_days_full_scan_is_written_not_drawn_when_it_would_flatten_the_month() -> None:
    """A month's first night offers every benefit already owed (47,800 in the first month run);
    later days a few hundred. The chart starts on the second day and says what the first held."""
    report = _report()
    breakdown = report["breakdown"]
    assert isinstance(breakdown, dict)
    day = breakdown["per_day"]["2026-06-01"]
    breakdown["per_day"] = {
        "2026-06-01": {**day, "proactive_offers": 47800, "proactive_accepted": 900},
        "2026-06-02": {**day, "proactive_offers": 310},
        "2026-06-03": {**day, "proactive_offers": 280},
    }
    page = render(report)
    chart = page.split("<h2>免申即享")[1].split("</section>")[0]
    assert "47,800" in chart and "first day's full scan" in chart and "全量筛查" in chart
    assert ">312<" in chart and ">47,800<" not in chart  # the axis tops at the later days, not the first
    breakdown["per_day"]["2026-06-01"]["proactive_offers"] = 400  # no backlog: every day drawn
    assert "full scan" not in render(report)


def test_a_checkpoint_says_it_is_partial_and_rare_bundles_show_what_was_expected() -> None:
    """A month's report is rewritten each simulated day: until the run ends it says so above the
    goals, in both languages. Each bundle's bar shows the applications the run's life events were
    expected to bring, so a rare bundle with none is read as chance, not as a fault."""
    report = _report()
    assert "Partial run" not in render(report) and "未完成" not in render(report)
    sim = report["simulation"]
    services = report["services"]
    assert isinstance(sim, dict) and isinstance(services, dict)
    sim["partial"] = True
    services["bundles"]["open-restaurant"] = {"applications": 0, "expected_per_day_at_this_scale": 0.055}
    page = render(report)
    notice = page.split('<p class="partial"')[1].split("</p>")[0]
    assert "未完成的运行" in notice and "Partial run" in notice and "48 h simulated" in notice
    assert page.index('class="partial"') < page.index("<h2>目标 / goals</h2>")
    caption = page.split("<title>bundle applications</title>")[1].split("</figcaption>")[0]
    assert "expected from the run's life events: 我要开饭店 / Open a restaurant 0.1" in caption  # 0.055 × 2 days
    assert "Have a baby" not in caption.split("</svg>")[1]  # no expectation given: none shown
