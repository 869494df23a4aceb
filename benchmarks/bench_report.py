"""Render the call report and the dashboard, time them, and take the documentation screenshots.

Usage (from the repository root)::

    python benchmarks/bench_report.py [--card SCORECARD.json] [--audio CALL.ogg] [--calls 5000]

Without ``--card`` the hand-made scorecard tests/data/report/card_en.json is used. Writes
benchmarks/results/report.md and docs/screenshots/{report,dashboard}.png (viewport shots,
1440x900, when /usr/bin/chromium and Playwright are present). The baseline in the table is
reading and inlining Plotly's bundle alone (the floor of any self-contained Plotly page).
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callqa.files import atomic_write_text  # noqa: E402
from callqa.outputs import dashboard, report  # noqa: E402
from callqa.scoring.scorecard import read_json  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def demo_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` made-up calls by 8 agents in 3 teams over 30 days (for timing and screenshots)."""
    rnd = random.Random(seed)
    agents = {"amira.h": ("Billing", 84), "bjorn.l": ("Billing", 71), "chiara.r": ("Billing", 66),
              "dani.k": ("Support", 88), "eero.v": ("Support", 58), "fatima.s": ("Support", 77),
              "goran.p": ("Retention", 62), "hilde.n": ("Retention", 80)}  # fmt: skip
    items = ["hear.no_interruptions", "empathise.acknowledge", "empathise.apology",
             "resolution.next_step", "take_action.ownership", "language.positive",
             "tone.not_monotone", "hear.talk_share"]  # fmt: skip
    start = datetime.date(2025, 10, 20)
    rows = []
    for i in range(n):
        agent = rnd.choice(list(agents))
        team, base = agents[agent]
        day = start + datetime.timedelta(days=rnd.randrange(30))
        drift = (day - start).days * (0.4 if agent in ("eero.v", "goran.p") else -0.1)
        score = max(0.0, min(100.0, rnd.gauss(base + drift, 9)))
        rows.append({
            "call_id": f"{day:%Y%m%d}-{i:05d}", "agent_id": agent, "team": team,
            "call_date": day.isoformat(), "scored_at": f"{day}T22:{i % 60:02d}:00+00:00",
            "score": round(score, 1), "sections": {},
            "agent_talk_share": round(rnd.uniform(0.35, 0.7), 3),
            "agent_interruptions": rnd.choice([0, 0, 1, 2, 3] if score < 70 else [0, 0, 1]),
            "failed_items": [it for it in items if rnd.random() < (100 - score) / 160],
        })  # fmt: skip
        rows[-1]["scorecard"] = {"sections": _sections(items, rows[-1]["failed_items"])}
    return rows


def _sections(items: list[str], failed: list[str]) -> list[dict[str, Any]]:
    """The rubric items of a made-up call (all judged; the failed ones fail)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        sid = item.split(".")[0]
        verdict = "fail" if item in failed else "pass"
        sec = out.setdefault(sid, {"id": sid, "title": sid, "score": None, "items": []})
        title = item.split(".")[1].replace("_", " ").capitalize()
        sec["items"].append({"id": item, "section": sid, "weight": 1.0, "verdict": verdict,
                             "score": float(verdict == "pass"), "title": title})  # fmt: skip
    return list(out.values())


def timed(fn: Any, repeat: int = 5) -> tuple[float, Any]:
    """Best wall time (s) of ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def browser_times(pages: dict[str, Path], shots: dict[str, Path]) -> dict[str, float]:
    """Seconds from navigation to the charts drawn, per page; saves viewport screenshots."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not CHROMIUM.is_file():
        return {}
    out = {}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=ARGS, headless=True,
            viewport={"width": 1440, "height": 900}, offline=True,
        )  # fmt: skip
        for name, path in pages.items():
            for _ in range(2):  # best of two: the first load also warms the browser
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_selector(".main-svg")
                out[name] = min(out.get(name, float("inf")), time.perf_counter() - t0)
            if name in shots:
                page.wait_for_timeout(300)
                page.screenshot(path=str(shots[name]))
            page.close()
        ctx.close()
    return out


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--card", type=Path, default=ROOT / "tests/data/report/card_en.json")
    parser.add_argument("--audio", type=Path, default=None)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    card = read_json(args.card)
    rows = demo_rows(args.calls)
    small = demo_rows(160)
    tmp = Path(tempfile.mkdtemp(prefix="bench_report."))
    base_s, _ = timed(lambda: report.plotly_js.__wrapped__())  # type: ignore[attr-defined]
    report_s, html = timed(lambda: report.render_call_report(card, audio_src=None))
    audio_src = report.audio_data_uri(args.audio) if args.audio else None
    atomic_write_text(tmp / "report.html", report.render_call_report(card, audio_src=audio_src))
    dash_s, dash = timed(lambda: dashboard.render_dashboard(rows), repeat=3)
    atomic_write_text(tmp / "dashboard.html", dash)
    links = {r["call_id"]: f"{r['call_id']}.html" for r in small[::3]}
    atomic_write_text(
        tmp / "dashboard_small.html", dashboard.render_dashboard(small, report_links=links)
    )
    shots_dir = ROOT / "docs" / "screenshots"
    shots = {"report": shots_dir / "report.png", "dashboard_small": shots_dir / "dashboard.png"}
    loads = browser_times(
        {"report": tmp / "report.html", "dashboard": tmp / "dashboard.html",
         "dashboard_small": tmp / "dashboard_small.html"}, shots,
    )  # fmt: skip
    n_segments = len(card.transcript.segments)
    lines = [
        "# Call report and dashboard: render and load times",
        "",
        f"Scorecard: `{_shown(args.card)}`"
        f" ({n_segments} transcript segments, {card.duration_s} s call); dashboard: "
        f"{args.calls} generated calls (8 agents, 30 days). Best of 5 (3 for the dashboard), "
        "this machine (2 cores). Browser: Debian Chromium headless, navigation to first chart.",
        "",
        "| what | time | x baseline | output size |",
        "|---|---:|---:|---:|",
        f"| baseline: read Plotly's basic bundle | {1000 * base_s:.1f} ms | 1.0 | 1.2 MB |",
        f"| render call report (no audio) | {1000 * report_s:.1f} ms | {report_s / base_s:.1f} | "
        f"{len(html) / 1e6:.2f} MB |",
        f"| render dashboard, {args.calls} calls | {1000 * dash_s:.1f} ms | "
        f"{dash_s / base_s:.1f} | "
        f"{len(dash) / 1e6:.2f} MB |",
    ]
    for name, seconds in loads.items():
        lines.append(f"| Chromium: open {name.replace('_', ' ')} | {1000 * seconds:.0f} ms | "
                     f"{seconds / base_s:.1f} | |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    atomic_write_text(ROOT / "benchmarks" / "results" / "report.md", text)
    print(text)
    print(json.dumps({k: str(v) for k, v in shots.items()}))


if __name__ == "__main__":
    main()
