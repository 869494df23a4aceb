"""The coach's call report (HTML) and the Markdown summary, on a hand-made scorecard.

tests/data/report/card_en.json is a hand-written scorecard of a 52 s English call: the agent
interrupts twice (competitive, at 12.6 s and 24.8 s), the customer backchannels once (39.8 s),
one 4.6 s silence (31.0-35.6 s), three failed items, two of them auto-fail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from callqa import report
from callqa.cli_report import register
from callqa.errors import AudioError, CallQAError

CARD_PATH = Path(__file__).parent / "data" / "report" / "card_en.json"
EVIL = "<script>alert(1)</script> then </script><!-- & done"


@pytest.fixture()
def card() -> dict[str, Any]:
    return json.loads(CARD_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _data_block(html: str) -> str:
    match = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert match, "report data block missing"
    return match.group(1)


def _data(html: str) -> dict[str, Any]:
    return json.loads(_data_block(html))


def _short_wav(path: Path, seconds: float = 2.0, sr: int = 8000) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.2 * np.sin(2 * np.pi * 220 * t), sr, subtype="PCM_16")
    return path


# ---------------------------------------------------------------- content


def test_scores_sections_items_and_tips_are_shown(card: dict[str, Any]) -> None:
    html = report.render_call_report(card, audio_src=None)
    assert '<div class="score-value" id="overall-score">58</div>' in html
    for sec in card["sections"]:
        assert f'id="sec-{sec["id"]}"' in html
        assert sec["title"] in html
        for item in sec["items"]:
            assert f'<li class="item v-{item["verdict"]}" id="item-{item["id"]}"' in html
    assert "Let the customer finish their sentence" in html  # a fail's tip
    assert "no raised voice measured on the agent" in html  # an na's reason
    assert html.count('<span class="badge auto">auto-fail</span>') == 2
    assert '<span class="chip fail">3 failed</span>' in html
    assert '<span class="chip pass">5 passed</span>' in html


def test_evidence_is_highlighted_in_the_transcript_and_linked(card: dict[str, Any]) -> None:
    html = report.render_call_report(card, audio_src=None)
    # check 0 (hear.no_interruptions), evidence 0 quotes the whole agent line at 12.6 s
    assert '<mark id="ev-0-0" class="ev m-fail"' in html
    assert re.search(r'<mark id="ev-0-0"[^>]*>Okay, what&#39;s your account number\?</mark>', html)
    assert 'href="#ev-0-0" data-t="12.6"' in html
    # "I'm really frustrated" is highlighted inside the customer's line, not the whole line
    assert re.search(r'and <mark id="ev-3-0"[^>]*>I&#39;m really frustrated</mark> because', html)
    # seg-5 is cited by "Calm down, that's not my department" (hear.no_interruptions) and by
    # three phrases (language.positive); the two phrases inside the first quote link to its mark
    line = re.search(r'<li class="line sp-agent[^"]*" id="seg-5".*?</li>', html, re.S)
    assert line is not None
    assert re.findall(r'<mark id="(ev-\d-\d)"', line.group(0)) == ["ev-0-1", "ev-6-2"]
    assert 'href="#ev-0-1" data-t="24.8" data-target="ev-0-1" id="link-ev-6-0"' in html
    assert 'href="#ev-0-1" data-t="24.8" data-target="ev-0-1" id="link-ev-6-1"' in html
    assert 'href="#ev-6-2" data-t="24.8" data-target="ev-6-2" id="link-ev-6-2"' in html


def test_evidence_without_text_points_at_its_line() -> None:
    segments = [{"speaker": "customer", "start": 19.4, "end": 26.0, "text": "I am upset"}]
    assert report._locate(
        {"speaker": "customer", "start": 19.5, "end": 30.0, "text": ""}, segments
    ) == (0, None, None)
    assert (
        report._locate({"speaker": "agent", "start": 19.5, "end": 20.0, "text": "x"}, segments)
        is None
    )
    assert (
        report._locate({"speaker": "customer", "start": 40.0, "end": 41.0, "text": "x"}, segments)
        is None
    )
    assert report._locate(
        {"speaker": "customer", "start": 19.0, "end": 20.0, "text": "AM UP"}, segments
    ) == (0, 2, 7)


def test_timeline_marks_come_from_dynamics(card: dict[str, Any]) -> None:
    data = _data(report.render_call_report(card, audio_src=None))
    timeline = data["timeline"]
    assert [(e["start"], e["by"], e["kind"]) for e in timeline["interruptions"]] == [
        (12.6, "agent", "competitive"),
        (24.8, "agent", "competitive"),
    ]
    assert [(e["start"], e["by"]) for e in timeline["backchannels"]] == [(39.8, "customer")]
    assert timeline["silences"] == [{"start": 31.0, "end": 35.6}]
    assert len(timeline["turns"]) == len(card["transcript"]["segments"])  # no dynamics turns
    assert data["labels"] == {"agent": "Agent", "customer": "Customer"}


def test_moments_list_one_entry_per_interruption_and_silence(card: dict[str, Any]) -> None:
    html = report.render_call_report(card, audio_src=None)
    assert html.count('<li class="moment interruption by-agent">') == 2
    assert html.count('<li class="moment silence">') == 1
    assert "Agent interrupted customer (competitive, 1.2 s overlap)" in html


def test_dynamics_turns_are_preferred_when_present(card: dict[str, Any]) -> None:
    card["metrics"]["dynamics"]["turns"] = [{"speaker": "agent", "start": 0.5, "end": 4.0}]
    assert _data(report.render_call_report(card, audio_src=None))["timeline"]["turns"] == [
        {"speaker": "agent", "start": 0.5, "end": 4.0}
    ]


def test_voice_contours_break_at_pauses() -> None:
    voice = {"agent": {"contour_t": [1.0, 1.5, 2.0, 5.0], "contour_f0_hz": [100, None, 110, 120],
                       "contour_level_db": [-20, -21, -22, -23]}}  # fmt: skip
    contours = report._contours({"metrics": {"voice": voice}})
    assert contours == [
        {"speaker": "agent", "t": [1.0, 1.5, 2.0, 3.5, 5.0],
         "f0": [100.0, None, 110.0, None, 120.0], "level": [-20.0, -21.0, -22.0, None, -23.0]}
    ]  # fmt: skip


# ---------------------------------------------------------------- escaping


def test_transcript_text_is_escaped_everywhere(card: dict[str, Any]) -> None:
    card["transcript"]["segments"][0]["text"] = EVIL
    card["checks"][0]["evidence"][0]["text"] = EVIL
    card["metrics"]["dynamics"]["interruptions"][0]["words"] = EVIL
    card["call_id"] = "</title><script>alert(2)</script>"
    html = report.render_call_report(card, audio_src=None)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; then &lt;/script&gt;&lt;!-- &amp; done" in html
    block = _data_block(html)
    assert "<" not in block and ">" not in block  # no "</script>" or "<!--" inside the JSON
    assert json.loads(block)["timeline"]["interruptions"][0]["text"] == EVIL
    # the page has exactly the script elements the template writes
    assert html.count("<script") == 3


def test_script_json_escapes_html_breakers() -> None:
    text = str(report.script_json({"a": "</script><!--&\u2028"}))
    assert text == '{"a": "\\u003c/script\\u003e\\u003c!--\\u0026\\u2028"}'
    assert json.loads(text) == {"a": "</script><!--&\u2028"}


# ---------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "strip",
    [
        lambda c: c["metrics"].update(dynamics=None, voice=None),
        lambda c: c.pop("metrics"),
        lambda c: c.update(checks=[], sections=[]),
        lambda c: c.update(transcript={"language": "en", "segments": []}),
        lambda c: c.update(score=None, duration_s=None, model=None, source=None, warnings=None),
        lambda c: [s.pop("words") for s in c["transcript"]["segments"]],
    ],
    ids=["no-dynamics-voice", "no-metrics", "no-checks", "no-transcript", "nones", "no-words"],
)
def test_missing_parts_still_render(card: dict[str, Any], strip: Any) -> None:
    strip(card)
    html = report.render_call_report(card, audio_src=None)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert card["call_id"] in html


def test_minimal_card_says_what_is_missing() -> None:
    html = report.render_call_report({"call_id": "c1"}, audio_src=None)
    assert 'id="no-voice">No voice measures in this scorecard.' in html
    assert "No conversation dynamics in this scorecard" in html
    assert "No transcript." in html
    assert "No audio in this report" in html


def test_checks_missing_from_sections_are_listed(card: dict[str, Any]) -> None:
    card["sections"] = card["sections"][:1]
    html = report.render_call_report(card, audio_src=None)
    assert 'id="sec-other"' in html and 'id="item-language.positive"' in html


# ---------------------------------------------------------------- files and audio


def test_write_embeds_audio_as_data_uri(card: dict[str, Any], tmp_path: Path) -> None:
    wav = _short_wav(tmp_path / "call.wav")
    out = report.write_call_report(card, tmp_path / "r.html", audio_path=wav)
    html = out.read_text(encoding="utf-8")
    match = re.search(
        r'<audio id="audio" controls preload="auto" src="data:audio/wav;base64,([^"]+)"', html
    )
    assert match
    import base64

    assert base64.b64decode(match.group(1)) == wav.read_bytes()


def test_write_links_audio_relative_to_the_report(card: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "audio dir").mkdir()
    (tmp_path / "reports").mkdir()
    wav = _short_wav(tmp_path / "audio dir" / "call 1.wav")
    out = report.write_call_report(
        card, tmp_path / "reports" / "r.html", audio_path=wav, link_audio=True
    )
    assert 'src="../audio%20dir/call%201.wav"' in out.read_text(encoding="utf-8")


def test_large_audio_is_reencoded_to_opus(
    card: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wav = _short_wav(tmp_path / "call.wav", seconds=3.0)
    monkeypatch.setattr(report, "EMBED_MAX_BYTES", 1000)
    uri = report.audio_data_uri(wav)
    assert uri.startswith("data:audio/ogg;base64,")
    import base64

    assert base64.b64decode(uri.split(",", 1)[1])[:4] == b"OggS"


def test_missing_audio_is_an_audio_error(card: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="cannot read audio"):
        report.write_call_report(card, tmp_path / "r.html", audio_path=tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="audio file not found"):
        report.write_call_report(
            card, tmp_path / "r.html", audio_path=tmp_path / "nope.wav", link_audio=True
        )


def test_shared_assets_write_plotly_once(card: dict[str, Any], tmp_path: Path) -> None:
    out = report.write_call_report(card, tmp_path / "a.html", shared_assets=True)
    html = out.read_text(encoding="utf-8")
    assert '<script src="plotly.min.js"></script>' in html
    assert len(html) < 200_000  # the 4.8 MB bundle is not inlined
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    inline = report.render_call_report(card, audio_src=None)
    assert len(inline) > 4_000_000 and "plotly.min.js" not in inline.split("<body", 1)[1][:10000]


def test_load_scorecard_rejects_non_scorecards(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"x": 1}', encoding="utf-8")
    with pytest.raises(CallQAError, match="cannot read scorecard"):
        report.load_scorecard(tmp_path / "a.json")
    with pytest.raises(CallQAError, match="not a callqa scorecard"):
        report.load_scorecard(tmp_path / "b.json")


def test_report_from_json_finds_audio_beside_it(card: dict[str, Any], tmp_path: Path) -> None:
    card["source"]["path"] = "/elsewhere/en_poor.wav"
    (tmp_path / "x.json").write_text(json.dumps(card), encoding="utf-8")
    _short_wav(tmp_path / "en_poor.wav")
    out = report.report_from_input(tmp_path / "x.json", tmp_path / "r.html", link_audio=True)
    assert 'src="en_poor.wav"' in out.read_text(encoding="utf-8")


# ---------------------------------------------------------------- Markdown


def test_markdown_summary(card: dict[str, Any]) -> None:
    md = report.render_markdown(card)
    lines = md.splitlines()
    assert lines[0] == "**Call en\\_poor\\_0001** — score **58/100**"
    assert lines[1] == "0:52 · en · stereo, agent left"
    assert "| Hear the customer out | 33 | No interruptions |" in lines
    assert "| Lead to a resolution | 100 | — |" in lines
    assert (
        "- **No interruptions** — Let the customer finish their sentence before you speak; note "
        "your question and ask it at the pause. (0:12 Agent: “Okay, what's your account number?”)"
    ) in lines
    assert sum(line.startswith("- **") for line in lines) == 3


def test_markdown_escapes_table_breakers(card: dict[str, Any]) -> None:
    card["sections"][0]["title"] = "Hear | out <b>"
    card["checks"][0]["evidence"][0]["text"] = "a|b\nc"
    md = report.render_markdown(card)
    assert "| Hear \\| out \\<b\\> | 33 |" in md
    assert "“a\\|b c”" in md


def test_markdown_of_an_empty_card() -> None:
    assert report.render_markdown({"call_id": "c"}).startswith("**Call c** — score **–/100**")


# ---------------------------------------------------------------- CLI


def test_cli_report_from_json(cli: typer.Typer, card: dict[str, Any], tmp_path: Path) -> None:
    src = tmp_path / "x.json"
    src.write_text(json.dumps(card), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(src), "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / "c.html")
    assert "en_poor_0001" in (tmp_path / "c.html").read_text(encoding="utf-8")


def test_cli_report_bad_json_is_error_1(cli: typer.Typer, tmp_path: Path) -> None:
    src = tmp_path / "x.json"
    src.write_text('{"a": 1}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(src), "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {src} is not a callqa scorecard (no call_id)")


def test_cli_report_missing_input_is_usage_error(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "none.json")])
    assert result.exit_code == 2


def test_cli_help_has_examples(cli: typer.Typer) -> None:
    for command, example in (("report", "callqa report x.json --out call.html"),
                             ("dashboard", "callqa dashboard --store callqa.duckdb")):  # fmt: skip
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and example in result.output
