"""The team dashboard, on hand-made store rows (tests/data/report/rows.json).

The rows: agent a1 (teamA) has four calls on 1-4 Nov scoring 80, 90, 60, 70; b2 (teamB) has
one scored call (50) and one unscored call without a call date (scored 5 Nov); an agent whose
id is ``<script>alert(1)</script>`` (teamB) has one call (40). The aggregates are checked in
the browser (tests/test_browser.py); here, the reduction to page data, escaping, links, files
and the command.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from callqa.cli.report import register
from callqa.errors import StoreError
from callqa.outputs import dashboard

ROWS_PATH = Path(__file__).parent / "data" / "report" / "rows.json"


@pytest.fixture()
def rows() -> list[dict[str, Any]]:
    return json.loads(ROWS_PATH.read_text(encoding="utf-8"))


def _data_block(html: str) -> str:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html)
    assert match, "dashboard data block missing"
    return match.group(1)


def test_rows_are_reduced_to_page_data(rows: list[dict[str, Any]]) -> None:
    calls, titles = dashboard.dashboard_rows(rows, report_links={"c1": "r/c1.html"})
    assert [c["id"] for c in calls] == ["c1", "c2", "c5", "c3", "c7", "c4", "c6"]  # by date
    c1 = calls[0]
    assert c1 == {
        "id": "c1", "agent": "a1", "team": "teamA", "date": "2025-11-01", "dated": True,
        "scored": "2025-11-01T21:00:00+00:00", "score": 80.0, "talk": 0.5, "interruptions": 0,
        "failed": ["hear.no_interruptions"], "href": "r/c1.html",
        "items": {"hear.no_interruptions": 0, "language.positive": 1}, "review": 0,
        "machine": 80.0, "human": 0, "changed": 0,
        "calmer": None,
    }  # fmt: skip
    c6 = calls[-1]
    assert c6["date"] == "2025-11-05"  # no call date: the day it was scored
    assert c6["dated"] is False  # so it takes no part in the agent's trend
    assert c6["score"] is None and c6["interruptions"] is None and c6["href"] == ""
    # titles from the scorecard where given, else readable ids
    assert titles == {"hear.no_interruptions": "No interruptions", "language.positive": "Positive"}


def test_customer_ended_calmer_comes_from_the_outcome_item(rows: list[dict[str, Any]]) -> None:
    """1 when outcome.customer_calmer passed, 0 when it failed, None when not judged (na or
    not in the rubric): the dashboard's share counts only the judged calls."""
    item = {"id": dashboard.CALMER, "section": "outcome", "title": "Calmer", "weight": 1.0,
            "score": None, "auto_fail": False}  # fmt: skip
    verdicts = {"c1": "pass", "c2": "fail", "c3": "na"}
    for row in rows:
        if row["call_id"] in verdicts:
            verdict = verdicts[row["call_id"]]
            score = {"pass": 1.0, "fail": 0.0}.get(verdict)
            row["scorecard"]["sections"].append(
                {"id": "outcome", "title": "Outcome", "score": None,
                 "items": [{**item, "verdict": verdict, "score": score}]}
            )  # fmt: skip
    calls, _ = dashboard.dashboard_rows(rows)
    calmer = {c["id"]: c["calmer"] for c in calls}
    assert calmer == {"c1": 1, "c2": 0, "c3": None, "c4": None, "c5": None, "c6": None,
                      "c7": None}  # fmt: skip


def test_missing_agent_and_dates() -> None:
    calls, _ = dashboard.dashboard_rows([{"call_id": "x", "scored_at": "not a date"}])
    assert calls[0]["agent"] == dashboard.UNKNOWN_AGENT
    assert calls[0]["date"] == "" and calls[0]["team"] == ""


def test_page_holds_filters_and_escaped_data(rows: list[dict[str, Any]]) -> None:
    html = dashboard.render_dashboard(rows, report_links=None)
    assert '<input type="date" id="f-from" value="2025-11-01"' in html
    assert '<input type="date" id="f-to" value="2025-11-05"' in html
    assert '<option value="teamA">teamA</option><option value="teamB">teamB</option>' in html
    block = _data_block(html)
    assert "<" not in block and ">" not in block
    assert json.loads(block)["calls"][4]["agent"] == "<script>alert(1)</script>"
    assert "<script>alert" not in html
    assert html.count("<script") == 3


def test_team_names_are_escaped_in_the_filter(rows: list[dict[str, Any]]) -> None:
    rows[0]["team"] = '"><img src=x onerror=alert(1)>'
    html = dashboard.render_dashboard(rows)
    assert "<img" not in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_empty_dashboard_renders() -> None:
    html = dashboard.render_dashboard([])
    assert 'id="empty">No scored calls in this selection.' in html


def test_report_links_found_in_a_folder(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "c1.html").write_text("x", encoding="utf-8")
    (tmp_path / "reports" / "c3.html").write_text("x", encoding="utf-8")
    links = dashboard.report_links_in(rows, tmp_path / "reports", tmp_path / "team.html")
    assert links == {"c1": "reports/c1.html", "c3": "reports/c3.html"}


def test_write_dashboard_with_shared_assets(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    out = dashboard.write_dashboard(rows, tmp_path / "team.html", shared_assets=True)
    html = out.read_text(encoding="utf-8")
    assert '<script src="plotly-basic.min.js"></script>' in html and len(html) < 200_000
    assert (tmp_path / "plotly-basic.min.js").is_file()


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_dashboard_reads_the_store(
    cli: typer.Typer, rows: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callqa.batch.store

    seen: dict[str, Any] = {}

    def fake_read_calls(store: Path, **kwargs: Any) -> list[dict[str, Any]]:
        seen.update(kwargs, store=store)
        return rows

    monkeypatch.setattr(callqa.batch.store, "read_calls", fake_read_calls)
    out = tmp_path / "team.html"
    args = ["dashboard", "--store", str(tmp_path / "s.duckdb"), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--since", "2025-11-01", "--team", "teamA"])
    assert result.exit_code == 0, result.output
    assert seen == {"store": tmp_path / "s.duckdb", "since": "2025-11-01", "until": None,
                    "team": "teamA", "timeout_s": 30.0}  # fmt: skip
    assert '"id": "c7"' in out.read_text(encoding="utf-8")


def test_cli_dashboard_store_error_is_exit_1(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callqa.batch.store

    def broken(store: Path, **kwargs: Any) -> list[dict[str, Any]]:
        raise StoreError("store is locked; try again later")

    monkeypatch.setattr(callqa.batch.store, "read_calls", broken)
    args = ["dashboard", "--store", str(tmp_path / "s.duckdb"), "--out", str(tmp_path / "t.html")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output == "Error: store is locked; try again later\n"


def test_cli_dashboard_bad_date_is_usage_error(cli: typer.Typer, tmp_path: Path) -> None:
    args = ["dashboard", "--store", str(tmp_path / "s.duckdb"), "--since", "yesterday"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "Error: --since must be a date like 2025-01-31, got 'yesterday'" in result.output


def test_rows_are_read_typed_at_the_edge(rows: list[dict[str, Any]]) -> None:
    """A store row whose scorecard sections are malformed is refused with one line."""
    from callqa.errors import ScorecardError

    rows[0]["scorecard"]["sections"][0]["items"][0]["verdict"] = "maybe"
    with pytest.raises(ScorecardError, match=r"^scorecard.sections\[0\].items\[0\].verdict"):
        dashboard.dashboard_rows(rows)


def test_page_has_export_and_pass_rate_by_item(rows: list[dict[str, Any]]) -> None:
    html = dashboard.render_dashboard(rows)
    assert '<button type="button" id="export-calls"' in html
    assert '<table class="rates" id="rates">' in html


def test_cli_dashboard_creates_the_out_folder(
    cli: typer.Typer, rows: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callqa.batch.store

    monkeypatch.setattr(callqa.batch.store, "read_calls", lambda store, **kw: rows)
    monkeypatch.setenv("CALLQA_STORE", str(tmp_path / "env.duckdb"))
    out = tmp_path / "a" / "b" / "team.html"
    result = CliRunner().invoke(cli, ["dashboard", "--out", str(out)])  # no --store needed
    assert result.exit_code == 0, result.output
    assert out.is_file()
