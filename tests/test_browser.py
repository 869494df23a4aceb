"""The call report and the dashboard in a real browser (Debian's headless Chromium + Playwright).

Known answers: tests/data/report/card_en.json has 2 interruptions (agent, 12.6 s and 24.8 s),
one backchannel that is not an interruption, and transcript line ``seg-5`` starting at 24.8 s;
tests/data/report/rows.json gives agent a1 four calls scoring 80, 90, 60, 70 (mean 75, trend
-20: newer half 65 minus older half 85); "No interruptions" fails in c1 (1 Nov), c3 (3 Nov,
c7 passes) and c4 (4 Nov), so its pass rate by day is 0%, 100%, 50%, 0%, 100% (1-5 Nov).
The audio is a generated 53 s tone, so seeking has real media to move through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from callqa.outputs import dashboard, report

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
DATA = Path(__file__).parent / "data" / "report"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required", "--mute-audio",
]  # fmt: skip
EVIL = "<script>alert(1)</script> <img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1440, "height": 900},
            offline=True,
        )
        yield ctx
        ctx.close()


class Page:
    """A page plus everything it reported: console errors, page errors, dialogs."""

    def __init__(self, context: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)


@pytest.fixture(scope="module")
def card() -> dict[str, Any]:
    card: dict[str, Any] = json.loads((DATA / "card_en.json").read_text(encoding="utf-8"))
    card["transcript"]["segments"][1]["text"] = EVIL
    return card


@pytest.fixture(scope="module")
def report_page(context: Any, card: dict[str, Any], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("report")
    sr = 8000
    t = np.arange(53 * sr) / sr
    wav = folder / "call.wav"
    sf.write(wav, 0.1 * np.sin(2 * np.pi * 180 * t), sr, subtype="PCM_16")
    out = report.write_call_report(card, folder / "call.html", audio_path=wav)
    page = Page(context, out)
    page.page.wait_for_function("document.getElementById('audio').readyState >= 1")
    page.page.wait_for_selector("#timeline .main-svg")
    yield page
    page.page.close()


def test_report_loads_without_errors(report_page: Page, tmp_path: Path) -> None:
    assert report_page.errors == []
    assert report_page.js("document.querySelectorAll('#voice .main-svg').length") >= 1
    assert report_page.js("document.getElementById('audio').duration") == pytest.approx(53, abs=0.1)
    report_page.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def _current_time(page: Page) -> float:
    page.js("document.getElementById('audio').pause()")
    return float(page.js("document.getElementById('audio').currentTime"))


def test_clicking_a_transcript_line_plays_from_its_start(report_page: Page) -> None:
    report_page.page.click("#seg-5 .who")
    assert 24.8 <= _current_time(report_page) < 25.8
    report_page.page.click("#seg-9 .text")
    assert 41.8 <= _current_time(report_page) < 42.8


def test_clicking_evidence_plays_from_it_and_shows_the_words(report_page: Page) -> None:
    report_page.page.click("#link-ev-3-0")  # "I'm really frustrated", customer, 19.4 s
    assert 19.4 <= _current_time(report_page) < 20.4
    assert report_page.js("document.getElementById('ev-3-0').classList.contains('flash')")


def test_timeline_has_one_mark_per_interruption(report_page: Page, card: dict[str, Any]) -> None:
    expected = [
        e["start"]
        for e in card["metrics"]["dynamics"]["interruptions"]
        if e["kind"] != "backchannel"
    ]
    assert len(expected) == 2
    trace = "document.getElementById('timeline').data.find(t => t.meta === 'interruptions')"
    assert report_page.js(f"{trace}.x") == expected
    # drawn: the main plot (not the range slider's copy) has one marker per interruption
    drawn = report_page.js(
        "Array.from(document.querySelectorAll('#timeline .cartesianlayer .scatterlayer .trace'))"
        ".map(g => g.querySelectorAll('path.point').length)"
    )
    assert drawn[0] == len(expected)
    assert report_page.js("document.querySelectorAll('#moments .moment.interruption').length") == 2


def test_clicking_a_timeline_mark_plays_from_it(report_page: Page) -> None:
    point = report_page.page.locator(
        "#timeline .cartesianlayer .scatterlayer .trace:first-child path.point"
    ).nth(1)  # the 24.8 s interruption
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box is not None
    report_page.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    report_page.page.wait_for_timeout(150)
    assert 24.8 <= _current_time(report_page) < 25.8


def test_script_in_the_transcript_stays_text(report_page: Page) -> None:
    report_page.page.wait_for_timeout(200)
    assert report_page.dialogs == []
    assert report_page.page.inner_text("#seg-1 .text") == EVIL
    assert report_page.page.is_visible("#seg-1 .text")
    assert report_page.js("document.querySelectorAll('#lines img').length") == 0
    assert report_page.errors == []


# ---------------------------------------------------------------- dashboard


@pytest.fixture(scope="module")
def dashboard_page(context: Any, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("dashboard")
    rows = json.loads((DATA / "rows.json").read_text(encoding="utf-8"))
    out = dashboard.write_dashboard(rows, folder / "team.html", report_links={"c1": "c1.html"})
    page = Page(context, out)
    page.page.wait_for_selector("#hist .main-svg")
    yield page
    page.page.close()


def _agent_cells(page: Page, agent: str) -> dict[str, str]:
    return page.js(  # type: ignore[no-any-return]
        "(a) => Object.fromEntries(Array.from(Array.from(document.querySelectorAll("
        "'#agents tr.agent-row')).find(r => r.dataset.agent === a).cells)"
        ".map(c => [c.className.split(' ').pop(), c.innerText.trim()]))",
        agent,
    )


def test_dashboard_loads_with_known_aggregates(dashboard_page: Page, tmp_path: Path) -> None:
    assert dashboard_page.errors == [] and dashboard_page.dialogs == []
    kpi = {
        k: dashboard_page.page.inner_text(f"#k-{k}")
        for k in ("calls", "mean", "low", "talk", "int")
    }
    assert kpi == {"calls": "7", "mean": "65.0", "low": "33%", "talk": "50%", "int": "1.2"}
    a1 = _agent_cells(dashboard_page, "a1")
    assert (a1["c-calls"], a1["c-score"], a1["c-talk"], a1["c-ipc"]) == ("4", "75", "50%", "1.0")
    assert a1["c-trend"] == "▼ -20.0"
    assert a1["c-fails"].split("\n")[0] == "No interruptions · 3 of 4"  # a count, not a weight
    evil = _agent_cells(dashboard_page, "<script>alert(1)</script>")
    assert evil["c-agent"] == "<script>alert(1)</script>" and evil["c-trend"] == "–"
    dashboard_page.page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


def _agent_order(page: Page) -> list[str]:
    return page.js(  # type: ignore[no-any-return]
        "Array.from(document.querySelectorAll('#agents tr.agent-row')).map(r => r.dataset.agent)"
    )


def test_dashboard_table_sorts_in_the_page(dashboard_page: Page) -> None:
    assert _agent_order(dashboard_page) == ["a1", "b2", "<script>alert(1)</script>"]  # by mean
    dashboard_page.page.click("#agents th[data-key=calls]")
    assert _agent_order(dashboard_page)[0] == "a1"  # most calls first
    dashboard_page.page.click("#agents th[data-key=calls]")
    assert _agent_order(dashboard_page)[0] == "<script>alert(1)</script>"  # then fewest
    dashboard_page.page.click("#agents th[data-key=agent]")
    assert _agent_order(dashboard_page) == ["<script>alert(1)</script>", "a1", "b2"]


def test_dashboard_filters_by_team_and_date(dashboard_page: Page) -> None:
    page = dashboard_page.page
    page.select_option("#f-team", "teamA")
    assert page.inner_text("#k-calls") == "4" and _agent_order(dashboard_page) == ["a1"]
    page.click("#f-reset")
    page.fill("#f-from", "2025-11-03")
    page.dispatch_event("#f-from", "input")
    assert page.inner_text("#k-calls") == "4"  # c3, c4, c7 and c6 (scored 5 Nov)
    page.click("#f-reset")
    assert page.inner_text("#k-calls") == "7"


def test_dashboard_rows_link_to_call_reports(dashboard_page: Page) -> None:
    page = dashboard_page.page
    page.click("#agents tr.agent-row[data-agent=a1] td.c-agent")
    links = dashboard_page.js(
        "Array.from(document.querySelectorAll('#agents tr.detail a'), a => a.getAttribute('href'))"
    )
    assert links == ["c1.html"]
    href = dashboard_page.js("document.querySelector('#calls tr[data-call=c1] a').href")
    assert href.endswith("/c1.html")
    assert dashboard_page.errors == []


def test_report_opens_with_the_things_to_work_on(report_page: Page) -> None:
    page = report_page.page
    assert page.is_visible("#focus")
    items = page.locator("#focus .focus-title").all_inner_texts()
    assert items == ["No interruptions", "No blocking phrases", "Acknowledge feelings"]
    box = page.locator("#focus").bounding_box()
    assert box is not None and box["y"] < 400  # above the fold at 1440x900
    assert page.is_visible("#transcript-legend") and page.is_visible("#scorecard-legend")


def test_daily_chart_keeps_the_line_clear_of_the_bars(dashboard_page: Page) -> None:
    layout = dashboard_page.js("document.getElementById('daily').layout")
    top, bottom = layout["yaxis"]["domain"], layout["yaxis2"]["domain"]
    assert bottom[1] < top[0]  # the call counts sit below the mean-score line
    assert [t["type"] for t in dashboard_page.js("document.getElementById('daily').data")] == [
        "scatter", "bar"]  # fmt: skip


def test_daily_chart_ticks_are_whole_days_and_whole_calls(dashboard_page: Page) -> None:
    xs = dashboard_page.js(
        "Array.from(document.querySelectorAll('#daily .xtick text'), t => t.textContent)"
    )
    assert xs == ["01 Nov", "02 Nov", "03 Nov", "04 Nov", "05 Nov"]  # no 12:00, no wrapping
    counts = dashboard_page.js(
        "Array.from(document.querySelectorAll('#daily .y2tick text'), t => t.textContent)"
    )
    assert counts and all(c.isdigit() for c in counts)  # never 0.5 calls
    hist = dashboard_page.js(
        "Array.from(document.querySelectorAll('#hist .ytick text'), t => t.textContent)"
    )
    assert hist and all(c.isdigit() for c in hist)


def test_pass_rate_by_item_over_time(dashboard_page: Page) -> None:
    page = dashboard_page.page
    page.click("#f-reset")
    heads = dashboard_page.js(
        "Array.from(document.querySelectorAll('#rates thead th'), t => t.textContent)"
    )
    assert heads == ["Item", "2025-11-01", "2025-11-02", "2025-11-03", "2025-11-04", "2025-11-05"]
    cells = dashboard_page.js(
        "Array.from(document.querySelectorAll('#rates tr[data-item=\"hear.no_interruptions\"] td'),"
        " t => t.textContent)"
    )
    assert cells == ["No interruptions", "0%", "100%", "50%", "0%", "100%"]


def test_export_downloads_the_calls_shown(dashboard_page: Page, tmp_path: Path) -> None:
    page = dashboard_page.page
    page.click("#f-reset")
    page.select_option("#f-team", "teamA")
    with page.expect_download() as info:
        page.click("#export-calls")
    path = tmp_path / "calls.csv"
    info.value.save_as(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "call_date,call_id,agent_id,team,score,machine_score,agent_talk_share,"
        "agent_interruptions,customer_ended_calmer,failed_items,items_to_review,"
        "reviewed_items,overridden_items"
    )
    assert [ln.split(",")[1] for ln in lines[1:]] == ["c1", "c2", "c3", "c4"]
    assert lines[3].endswith('"hear.no_interruptions;language.positive",0,0,0')
    page.click("#f-reset")
    assert dashboard_page.errors == []


def test_sentiment_lanes_and_the_quarter_trend(
    context: Any, card: dict[str, Any], tmp_path: Path
) -> None:
    """Every segment with a sentiment is one bar in its party's lane, coloured by its score
    (the customer's -0.8 segments red, the agent's +0.9 green: full colour from 0.8); the trend
    chart draws each party's four quarters."""
    card = json.loads(json.dumps(card))
    segments = card["transcript"]["segments"]
    for i, seg in enumerate(segments):
        score = -0.8 if seg["speaker"] == "customer" else 0.9
        seg["sentiment"] = {"label": "negative" if score < 0 else "positive", "score": score}
        if i == 0:
            seg["sentiment"] = None  # a segment without one is not drawn
    reading = {"start": 0.0, "end": 10.0, "utterances": 1, "words": 5, "score": -0.5,
               "arousal": None, "combined": -0.5}  # fmt: skip
    card["sentiment"] = {
        "model": "test", "reason": None, "customer": None, "customer_reason": "too little",
        "parties": [{"speaker": sp, "overall": reading, "quarters": [reading, None, reading,
                     reading]} for sp in ("agent", "customer")],
    }  # fmt: skip
    out = report.write_call_report(card, tmp_path / "mood.html")
    page = Page(context, out)
    page.page.wait_for_selector("#mood .main-svg")
    assert page.errors == []
    lanes = page.js(
        "document.getElementById('timeline').data.filter(t => String(t.meta).startsWith('mood-'))"
        ".map(t => [t.meta, t.x.length, t.marker.color[t.marker.color.length - 1]])"
    )
    by_party = {meta: (n, color) for meta, n, color in lanes}
    read = [s for s in segments if s["sentiment"]]
    for party, color in (("agent", "rgb(22,163,74)"), ("customer", "rgb(220,38,38)")):
        n = sum(1 for s in read if s["speaker"] == party)
        assert by_party[f"mood-{party}"] == (n, color)
    trend = page.js("document.getElementById('mood').data.map(t => t.y)")
    assert trend == [[-0.5, None, -0.5, -0.5]] * 2
    page.page.close()
