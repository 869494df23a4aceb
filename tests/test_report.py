"""The coach's call report (HTML) and the Markdown summary, on a hand-made scorecard.

tests/data/report/card_en.json is a hand-written scorecard of a 52 s English call: the agent
interrupts twice (competitive, at 12.6 s and 24.8 s), the customer backchannels once (39.8 s),
one 4.6 s silence (31.0-35.6 s), three failed items, two of them auto-fail.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from callqa.cli.report import register
from callqa.errors import AudioError, CallQAError, ScorecardError
from callqa.outputs import html as html_helpers
from callqa.outputs import markdown, media, report, sources
from callqa.privacy.audio import redact_card_audio
from callqa.scoring.scorecard import from_dict, read_json, to_dict
from callqa.types import Evidence, Utterance

CARD_PATH = Path(__file__).parent / "data" / "report" / "card_en.json"
EVIL = "<script>alert(1)</script> then </script><!-- & done"
PLANTED = "4532015112830366"  # Visa test number (Luhn-valid), as in tests/test_redact_e2e.py
GROUPS = " ".join(PLANTED[i : i + 4] for i in range(0, 16, 4))
SAID = f"thank you for calling yes my card is {GROUPS} that is all thank you for your help today"
SPEECH = (
    "Thank you for calling the support line, this is Anna. Yes, I would like to pay the "
    "invoice with my card today, and then I would like to close the account, thank you."
)


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
    segments = [Utterance("customer", 19.4, 26.0, "I am upset")]
    assert report._locate(Evidence("customer", 19.5, 30.0, ""), segments) == (0, None, None)
    assert report._locate(Evidence("agent", 19.5, 20.0, "x"), segments) is None
    assert report._locate(Evidence("customer", 40.0, 41.0, "x"), segments) is None
    assert report._locate(Evidence("customer", 19.0, 20.0, "AM UP"), segments) == (0, 2, 7)


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


def test_only_competitive_overlaps_are_drawn_as_interruptions(card: dict[str, Any]) -> None:
    """An echo is an overlap with its kind named, not an interruption (docs/metrics.md)."""
    card = copy.deepcopy(card)
    card["metrics"]["dynamics"]["interruptions"][0]["kind"] = "echo"
    data = _data(report.render_call_report(card, audio_src=None))
    timeline = data["timeline"]
    assert [e["start"] for e in timeline["interruptions"]] == [24.8]
    assert [(e["start"], e["kind"]) for e in timeline["overlaps"]] == [(12.6, "echo")]
    assert [m["start"] for m in report._moments(timeline) if m["kind"] == "interruption"] == [24.8]


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
    contour = report._contour("agent", [1.0, 1.5, 2.0, 5.0], [100, None, 110, 120],
                              [-20, -21, -22, -23])  # fmt: skip
    assert contour == {
        "speaker": "agent", "t": [1.0, 1.5, 2.0, 3.5, 5.0],
        "f0": [100, None, 110, None, 120], "level": [-20, -21, -22, None, -23],
    }  # fmt: skip


def test_contours_come_from_the_typed_voice_measures(card: dict[str, Any]) -> None:
    data = _data(report.render_call_report(card, audio_src=None))
    speakers = [c["speaker"] for c in data["contours"]]
    assert speakers == [s["speaker"] for s in card["metrics"]["voice"]["speakers"]
                        if s["contour_t"]]  # fmt: skip


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
    text = str(html_helpers.script_json({"a": "</script><!--&\u2028"}))
    assert text == '{"a": "\\u003c/script\\u003e\\u003c!--\\u0026\\u2028"}'
    assert json.loads(text) == {"a": "</script><!--&\u2028"}


# ---------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "strip",
    [
        lambda c: c["metrics"].update(dynamics=None, voice=None),
        lambda c: c.update(checks=[], sections=[]),
        lambda c: c.update(transcript={"language": "en", "segments": []}),
        lambda c: c.update(score=None, roles=None, redaction=None),
        lambda c: [c.pop(k, None) for k in ("warnings", "auto_failed", "created_at", "timings_s")],
        lambda c: [s.pop("words") for s in c["transcript"]["segments"]],
    ],
    ids=["no-dynamics-voice", "no-checks", "no-transcript", "nones", "older-card", "no-words"],
)
def test_missing_parts_still_render(card: dict[str, Any], strip: Any) -> None:
    """What a scorecard may lack (an older one, one of a transcript) renders; see below for
    what it may not."""
    strip(card)
    html = report.render_call_report(card, audio_src=None)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert card["call_id"] in html


@pytest.mark.parametrize(
    ("strip", "message"),
    [
        (lambda c: c.pop("metrics"), "scorecard: missing 'metrics'"),
        (lambda c: c.update(model=None), "scorecard.model: expected an object, not NoneType"),
        (lambda c: c.update(score="high"), "scorecard.score: expected float, not str"),
    ],
)
def test_a_malformed_scorecard_is_refused_with_one_line(
    card: dict[str, Any], strip: Any, message: str
) -> None:
    strip(card)
    with pytest.raises(ScorecardError) as info:
        report.render_call_report(card, audio_src=None)
    assert str(info.value) == message


def _minimal_card() -> dict[str, Any]:
    """A scorecard of a transcript file with nothing in it."""
    return {
        "call_id": "c1", "source": {"path": "c1.json", "sha256": "0" * 64}, "duration_s": 0.0,
        "language": "en", "channels": 0, "agent_channel": None,
        "model": {"backend": "transcript-file", "name": "json"},
        "transcript": {"language": "en", "segments": []}, "metrics": {"duration_s": 0.0},
        "checks": [], "sections": [], "score": None,
    }  # fmt: skip


def test_minimal_card_says_what_is_missing() -> None:
    html = report.render_call_report(_minimal_card(), audio_src=None)
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
    monkeypatch.setattr(media, "EMBED_MAX_BYTES", 1000)
    uri = media.audio_data_uri(wav)
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
    assert '<script src="plotly-basic.min.js"></script>' in html
    assert len(html) < 200_000  # the bundle is not inlined
    assert (tmp_path / "plotly-basic.min.js").stat().st_size > 1_000_000


def test_a_report_is_small(card: dict[str, Any]) -> None:
    """Plotly's basic bundle (scatter and bar), not the full 4.8 MB one with maps and 3-D."""
    inline = report.render_call_report(card, audio_src=None)
    assert 1_100_000 < len(inline.encode("utf-8")) < 1_400_000
    assert "plotly.js (basic - minified) v" in inline


def test_load_scorecard_rejects_non_scorecards(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"x": 1}', encoding="utf-8")
    with pytest.raises(CallQAError, match="is not JSON"):
        read_json(tmp_path / "a.json")
    with pytest.raises(CallQAError, match="not a callqa scorecard"):
        read_json(tmp_path / "b.json")
    with pytest.raises(CallQAError, match="cannot read scorecard"):
        read_json(tmp_path / "missing.json")


def test_report_from_json_finds_audio_beside_it(card: dict[str, Any], tmp_path: Path) -> None:
    card["source"]["path"] = "/elsewhere/en_poor.wav"
    wav = _short_wav(tmp_path / "en_poor.wav")
    card["source"]["sha256"] = hashlib.sha256(wav.read_bytes()).hexdigest()
    (tmp_path / "x.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.warns(UserWarning, match="original, unredacted audio"):
        out = sources.report_from_scorecard(
            tmp_path / "x.json", tmp_path / "r.html", link_audio=True
        )
    assert 'src="en_poor.wav"' in out.read_text(encoding="utf-8")


def test_report_from_json_hides_a_number_in_the_call_id_and_path(
    card: dict[str, Any], tmp_path: Path
) -> None:
    """A scorecard written with redaction off keeps the file's name, phone number and all: the
    recording is still found beside it by that name, and the page shows neither."""
    card["call_id"] = "call_+4791234567"
    card["source"]["path"] = "/calls/call_+4791234567.wav"
    wav = _short_wav(tmp_path / "call_+4791234567.wav")
    card["source"]["sha256"] = hashlib.sha256(wav.read_bytes()).hexdigest()
    (tmp_path / "x.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.warns(UserWarning, match="original, unredacted audio"):
        out = sources.report_from_scorecard(tmp_path / "x.json", tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    assert _embedded(html)[1] == wav.read_bytes()
    assert "4791234567" not in html and "call_[PHONE]" in html


def test_report_never_opens_a_path_a_scorecard_names(card: dict[str, Any], tmp_path: Path) -> None:
    """A crafted scorecard cannot make a shareable page carry a local file."""
    secret = tmp_path / "secret" / "shadow"
    secret.parent.mkdir()
    secret.write_bytes(b"root:$6$hash")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "shadow").write_bytes(b"root:$6$hash")  # same name next to it: still not audio
    card["source"]["path"] = str(secret)
    card["redaction"] = {"enabled": False, "counts": {}, "spans": [], "audio_path": str(secret)}
    (shared / "x.json").write_text(json.dumps(card), encoding="utf-8")
    out = sources.report_from_scorecard(shared / "x.json", shared / "r.html", warn=print)
    html = out.read_text(encoding="utf-8")
    assert (
        "No audio in this report" in html and base64.b64encode(b"root:$6$hash").decode() not in html
    )
    # an audio file of the recorded name beside it, but not the recorded recording: not used
    wav = _short_wav(shared / "shadow.wav")
    card["source"]["path"] = "/etc/shadow.wav"
    (shared / "x.json").write_text(json.dumps(card), encoding="utf-8")
    out = sources.report_from_scorecard(shared / "x.json", shared / "r.html", warn=print)
    assert "No audio in this report" in out.read_text(encoding="utf-8")
    assert sources.recording_beside(from_dict(card), shared) is None and wav.exists()


# ---------------------------------------------------------------- redacted audio
#
# A mono call of continuous synthetic speech (espeak-ng); the fake transcriber "hears" SAID
# spread evenly over it, so the planted card number falls in the middle of the speech.


@pytest.fixture(scope="module")
def spoken_call(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path_factory.mktemp("spoken") / "call.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(wav), SPEECH], check=True)
    return wav


@pytest.fixture(scope="module")
def card_spans(spoken_call: Path) -> list[tuple[float, float]]:
    """(start, end) of the planted card number, as found while scoring."""
    from callqa.pipeline import score_call_with_audio
    from callqa.transcription.fake import FakeTranscriber

    result = score_call_with_audio(spoken_call, transcriber=FakeTranscriber(text=SAID))
    spans = [(s.start, s.end) for s in result.pii if s.type == "card"]
    assert len(spans) == 1, result.pii
    return spans


@pytest.fixture()
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_transcriber`` returns the fake that hears SAID (no model is loaded)."""
    import callqa.transcription
    from callqa.transcription.fake import FakeTranscriber

    monkeypatch.setattr(
        callqa.transcription, "load_transcriber", lambda cfg: FakeTranscriber(text=SAID)
    )


def _embedded(html: str) -> tuple[str, bytes]:
    match = re.search(r'<audio id="audio"[^>]* src="data:([^;]+);base64,([^"]+)"', html)
    assert match, "no embedded audio"
    return match.group(1), base64.b64decode(match.group(2))


def _assert_silenced(data: bytes | Path, spans: list[tuple[float, float]], original: Path) -> None:
    """The planted spans are all zeros in ``data``, and the original had speech there."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    audio, sr = sf.read(source, dtype="float32", always_2d=True)
    from callqa.audio.load import load_audio

    before = load_audio(original).mix
    assert sr == 16_000 and len(audio) == len(before)
    for start, end in spans:
        a, b = int(start * sr), int(end * sr)
        assert b - a > sr // 2
        assert np.all(audio[a:b] == 0.0)
        assert np.abs(before[a:b]).max() > 0.05  # there was speech there
    assert np.count_nonzero(audio) > 0.5 * audio.size  # the rest is still audible


def _no_planted_text(html: str) -> None:
    assert PLANTED not in html and GROUPS not in html


def test_report_of_audio_embeds_the_redacted_copy(
    cli: typer.Typer, spoken_call: Path, card_spans: Any, fake_model: None, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(spoken_call), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    html = out.read_text(encoding="utf-8")
    mime, data = _embedded(html)
    assert mime == "audio/flac" and data != spoken_call.read_bytes()
    _assert_silenced(data, card_spans, spoken_call)
    _no_planted_text(html)
    assert not list(tmp_path.glob("*.flac"))  # the embedded copy was a temporary file


def test_report_of_audio_links_the_redacted_copy(
    cli: typer.Typer, spoken_call: Path, card_spans: Any, fake_model: None, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    args = ["report", str(spoken_call), "--out", str(out), "--link-audio"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert re.findall(r'<audio id="audio"[^>]* src="([^"]+)"', html) == ["r.redacted.flac"]
    _assert_silenced(tmp_path / "r.redacted.flac", card_spans, spoken_call)
    _no_planted_text(html)


def test_report_of_audio_with_redaction_off_embeds_the_original(
    cli: typer.Typer, spoken_call: Path, fake_model: None, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[redaction]\nenabled = false\n", encoding="utf-8")
    out = tmp_path / "r.html"
    args = ["report", str(spoken_call), "--out", str(out), "--config", str(config)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert _embedded(out.read_text(encoding="utf-8"))[1] == spoken_call.read_bytes()


def _score_json(spoken_call: Path, folder: Path, *extra: str) -> Path:
    """``callqa score CALL --format json --out x.json`` with the fake model, plus ``extra``."""
    from callqa.cli.app import app

    out = folder / "x.json"
    args = ["score", str(spoken_call), "--format", "json", "--out", str(out), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_report_of_scorecard_uses_its_redacted_copy(
    cli: typer.Typer, spoken_call: Path, card_spans: Any, fake_model: None, tmp_path: Path
) -> None:
    red = tmp_path / "red.flac"
    scorecard = _score_json(spoken_call, tmp_path, "--redact-audio", str(red))
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(scorecard), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    html = out.read_text(encoding="utf-8")
    assert _embedded(html)[1] == red.read_bytes()
    _assert_silenced(red, card_spans, spoken_call)
    _no_planted_text(html)


def test_report_of_scorecard_silences_its_recorded_spans(
    cli: typer.Typer, spoken_call: Path, card_spans: Any, fake_model: None, tmp_path: Path
) -> None:
    """No redacted copy referenced: the recorded span times are silenced in the original (here
    named with --audio: the recording is not next to the scorecard)."""
    scorecard = _score_json(spoken_call, tmp_path)
    assert json.loads(scorecard.read_text())["redaction"]["audio_path"] is None
    out = tmp_path / "r.html"
    audio = ["--audio", str(spoken_call)]
    result = CliRunner().invoke(cli, ["report", str(scorecard), "--out", str(out), *audio])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    _assert_silenced(_embedded(out.read_text(encoding="utf-8"))[1], card_spans, spoken_call)
    args = ["report", str(scorecard), "--out", str(out), "--link-audio", "--force", *audio]
    linked = CliRunner().invoke(cli, args)
    assert linked.exit_code == 0, linked.output
    assert 'src="r.redacted.flac"' in out.read_text(encoding="utf-8")
    _assert_silenced(tmp_path / "r.redacted.flac", card_spans, spoken_call)


def test_report_of_a_scorecard_written_without_redaction_redacts_it(
    cli: typer.Typer, spoken_call: Path, card_spans: Any, fake_model: None, tmp_path: Path
) -> None:
    """A scorecard scored with --no-redact holds the card number: the report finds it again,
    redacts it from the page and silences it in the audio, with no warning; with redaction
    off in the report's config the page shows it."""
    scorecard = _score_json(spoken_call, tmp_path, "--no-redact")
    assert GROUPS in scorecard.read_text(encoding="utf-8")
    out = tmp_path / "r.html"
    audio = ["--audio", str(spoken_call)]
    result = CliRunner().invoke(cli, ["report", str(scorecard), "--out", str(out), *audio])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    html = out.read_text(encoding="utf-8")
    _no_planted_text(html)
    assert "[CARD]" in html
    _assert_silenced(_embedded(html)[1], card_spans, spoken_call)
    config = tmp_path / "c.toml"
    config.write_text("[redaction]\nenabled = false\n", encoding="utf-8")
    args = ["report", str(scorecard), "--out", str(out), "--force", "--config", str(config)]
    shown = CliRunner().invoke(cli, [*args, *audio])
    assert shown.exit_code == 0, shown.output
    assert GROUPS in out.read_text(encoding="utf-8")


def test_a_redacted_scorecard_is_read_back_unchanged_and_an_edit_is_caught(
    spoken_call: Path, fake_model: None, tmp_path: Path
) -> None:
    """Redacted text holds nothing to find: the scorecard comes back as it was. A card number
    written into it by hand afterwards is found, added to the recorded spans, and the
    redacted copy it references (made without that span) is dropped."""
    from callqa.config import RedactionConfig

    red = tmp_path / "red.flac"
    path = _score_json(spoken_call, tmp_path, "--redact-audio", str(red))
    card = read_json(path)
    assert card.redaction is not None and card.redaction.counts == {"card": 1}
    assert sources.redact_read_card(card, RedactionConfig()) == card
    edited = json.loads(path.read_text(encoding="utf-8"))
    first = edited["transcript"]["segments"][0]
    first["text"] = f"{first['text']} my other card is {GROUPS}"
    first["words"] = []  # an edit of the text alone
    path.write_text(json.dumps(edited), encoding="utf-8")
    again = sources.redact_read_card(read_json(path), RedactionConfig())
    assert (
        GROUPS not in json.dumps(to_dict(again)) and "[CARD]" in again.transcript.segments[0].text
    )
    assert again.redaction is not None and again.redaction.counts == {"card": 2}
    assert len(again.redaction.spans) == 2 and again.redaction.audio_path is None


def test_report_of_unredacted_scorecard_warns_on_stderr(
    cli: typer.Typer, card: dict[str, Any], tmp_path: Path
) -> None:
    wav = _short_wav(tmp_path / "en_poor.wav")
    card["source"]["sha256"] = hashlib.sha256(wav.read_bytes()).hexdigest()
    (tmp_path / "x.json").write_text(json.dumps(card), encoding="utf-8")  # no "redaction"
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "x.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warning == [
        f"Warning: the report carries the original, unredacted audio {wav}: the scorecard "
        "references no redacted copy and records no redaction"
    ]
    assert _embedded(out.read_text(encoding="utf-8"))[1] == wav.read_bytes()


def test_scorecard_of_a_transcript_has_no_audio(card: dict[str, Any], tmp_path: Path) -> None:
    """Its source.path is the transcript file: neither played nor redacted, no warning."""
    transcript = tmp_path / "call.json"
    transcript.write_text('{"segments": []}', encoding="utf-8")
    card.update(channels=0, source={"path": str(transcript), "sha256": "0" * 64})
    card["model"] = {"backend": "transcript-file", "name": "json"}
    card["redaction"] = {"enabled": True, "counts": {"card": 1}, "spans": [
        {"type": "card", "speaker": "customer", "start": 1.0, "end": 2.0}]}  # fmt: skip
    (tmp_path / "x.json").write_text(json.dumps(card), encoding="utf-8")
    notes: list[str] = []
    out = sources.report_from_scorecard(tmp_path / "x.json", tmp_path / "r.html", warn=notes.append)
    assert "No audio in this report" in out.read_text(encoding="utf-8") and notes == []


def test_scorecard_without_spans_needs_no_copy(card: dict[str, Any], tmp_path: Path) -> None:
    card["redaction"] = {"enabled": True, "counts": {}, "spans": [], "audio_path": None}
    wav = _short_wav(tmp_path / "call.wav")
    assert redact_card_audio(from_dict(card), wav, tmp_path / "c.flac") == wav
    assert not (tmp_path / "c.flac").exists()


def test_counted_spans_without_times_are_an_error(card: dict[str, Any], tmp_path: Path) -> None:
    card["redaction"] = {"enabled": True, "counts": {"card": 1}, "spans": []}
    wav = _short_wav(tmp_path / "en_poor.wav")
    card["source"]["sha256"] = hashlib.sha256(wav.read_bytes()).hexdigest()
    (tmp_path / "x.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(CallQAError, match="counts 1 redacted spans but gives times for 0"):
        sources.report_from_scorecard(tmp_path / "x.json", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_other_recording_than_the_scorecards_is_flagged(
    card: dict[str, Any], tmp_path: Path
) -> None:
    wav = _short_wav(tmp_path / "call.wav")
    notes: list[str] = []
    sources._check_same_recording(
        from_dict(card), wav, notes.append
    )  # card_en.json's sha256 is made up
    assert notes and "is not the file this scorecard was made from" in notes[0]
    card["source"]["sha256"] = hashlib.sha256(wav.read_bytes()).hexdigest()
    notes.clear()
    sources._check_same_recording(from_dict(card), wav, notes.append)
    assert notes == []


# ---------------------------------------------------------------- Markdown


def test_markdown_summary(card: dict[str, Any]) -> None:
    md = markdown.render_markdown(card)
    lines = md.splitlines()
    assert lines[0] == "**Call en\\_poor\\_0001** — score **58/100**"
    assert lines[1] == "0:52 · en · stereo, agent left"
    assert lines[4] == "**Three things to work on**"
    assert lines[5].startswith("1. **No interruptions** — Let the customer finish")
    assert "| Hear the customer out | 33 | No interruptions | FAIL | — |" in lines
    talk = "|  |  | Let the customer talk | pass | agent did 46% of the talking; limit 60% |"
    assert talk in lines
    assert "|  |  | No raised voice | n/a | no raised voice measured on the agent |" in lines
    assert (
        "- **No interruptions** — Let the customer finish their sentence before you speak; note "
        "your question and ask it at the pause. (0:12 agent “Okay, what's your account number?”)"
    ) in lines
    assert sum(line.startswith("- **") for line in lines) == 3


def test_markdown_escapes_table_breakers(card: dict[str, Any]) -> None:
    card["sections"][0]["title"] = "Hear | out <b>"
    card["checks"][0]["evidence"][0]["text"] = "a|b\nc"
    card["transcript"]["segments"][2]["text"] = "a|b\nc"  # the line it quotes
    md = markdown.render_markdown(card)
    assert "| Hear \\| out \\<b\\> | 33 |" in md
    assert "“a\\|b c”" in md


def test_markdown_of_an_empty_card() -> None:
    assert markdown.render_markdown(_minimal_card()).startswith("**Call c1** — score **–/100**")


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


# ---------------------------------------------------------------- reads at a glance


def test_three_things_to_work_on_come_first(card: dict[str, Any]) -> None:
    """Auto-fail items first, then by points lost: 100 x weight x (1 - score) / judged weight
    (8 judged items, weight 9: acknowledge feelings costs 100 x 1 / 9 = 11 points)."""
    html = report.render_call_report(card, audio_src=None)
    focus = html.split('id="focus"', 1)[1].split("</section>", 1)[0]
    titles = re.findall(r'class="focus-title">([^<]+)<', focus)
    assert titles == ["No interruptions", "No blocking phrases", "Acknowledge feelings"]
    assert "+11 points" in focus and focus.count('class="badge auto"') == 2
    assert html.index('id="focus"') < html.index('class="overview"')


def test_the_number_behind_a_verdict_is_on_the_page(card: dict[str, Any]) -> None:
    html = report.render_call_report(card, audio_src=None)
    item = html.split('id="item-hear.talk_share"', 1)[1].split("</li>", 1)[0]
    assert '<p class="measure">agent did 46% of the talking; limit 60%</p>' in item
    assert "Agent pace" not in html  # this card has no pace: no empty fact


def test_weights_and_partial_scores_are_explained(card: dict[str, Any]) -> None:
    card["sections"][2]["items"][0].update(score=0.5)
    html = report.render_call_report(card, audio_src=None)
    item = html.split('id="item-hear.no_interruptions"', 1)[1].split("</li>", 1)[0]
    assert '<span class="weight" title="this item' in item and ">counts 2×<" in item
    assert "×2" not in html
    partial = html.split('id="item-resolution.next_step"', 1)[1].split("</li>", 1)[0]
    assert '<span class="partial">earned 50% of this item</span>' in partial
    legend = html.split('id="scorecard-legend"', 1)[1].split("</p>", 1)[0]
    assert "counts 2×" in legend and "earned 50%" in legend and "unanswered" in legend


def test_customer_lines_against_the_agent_are_labelled_unanswered(card: dict[str, Any]) -> None:
    html = report.render_call_report(card, audio_src=None)
    item = html.split('id="item-empathise.acknowledge"', 1)[1].split("</li>", 1)[0]
    assert '<span class="who unanswered"' in item and "<q>I&#39;m really frustrated</q>" in item
    passed = html.split('id="item-empathise.apology"', 1)[1].split("</li>", 1)[0]
    assert "unanswered" not in passed


def test_a_moment_that_was_not_said_is_not_quoted(card: dict[str, Any]) -> None:
    """hear.talk_share's evidence "longest agent monologue" is a label, not the agent's words."""
    card["checks"][1]["verdict"] = "fail"
    card["checks"][1]["evidence"] = [
        {"speaker": "agent", "start": 28.0, "end": 39.0, "text": "longest agent monologue"}
    ]
    html = report.render_call_report(card, audio_src=None)
    item = html.split('id="item-hear.talk_share"', 1)[1].split("</li>", 1)[0]
    assert '<span class="moment-label">longest agent monologue, 0:28–0:39</span>' in item
    assert "<q>longest agent monologue</q>" not in html


def test_every_mark_and_colour_has_a_legend(card: dict[str, Any]) -> None:
    html = report.render_call_report(card, audio_src=None)
    legend = html.split('id="transcript-legend"', 1)[1].split("</p>", 1)[0]
    for cls in ("m-fail", "m-pass", "m-na", "who agent", "who customer"):
        assert cls in legend
    timeline = html.split('class="card timeline-card"', 1)[1].split('id="timeline"', 1)[0]
    for name in ("Agent", "Customer", "Interruption", "Backchannel", "Overlap", "Silence"):
        assert name in timeline


def test_cli_report_never_replaces_a_page_silently(
    cli: typer.Typer, card: dict[str, Any], tmp_path: Path
) -> None:
    src = tmp_path / "en_poor.json"
    src.write_text(json.dumps(card), encoding="utf-8")
    first = CliRunner().invoke(cli, ["report", str(src)])
    assert first.exit_code == 0 and first.stdout.strip() == str(tmp_path / "en_poor.html")
    again = CliRunner().invoke(cli, ["report", str(src)])
    assert again.exit_code == 2
    assert again.output == (
        f"Error: {tmp_path / 'en_poor.html'} exists; add --force to replace it, or choose "
        "another --out\n"
    )
    assert CliRunner().invoke(cli, ["report", str(src), "--force"]).exit_code == 0


def test_cli_report_creates_the_out_folder(
    cli: typer.Typer, card: dict[str, Any], tmp_path: Path
) -> None:
    src = tmp_path / "x.json"
    src.write_text(json.dumps(card), encoding="utf-8")
    out = tmp_path / "no" / "dir" / "x.html"
    result = CliRunner().invoke(cli, ["report", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and oct(out.stat().st_mode & 0o777) in ("0o644", "0o664", "0o600")


def test_quotes_are_shortened_at_a_word_boundary() -> None:
    text = "Hello, I am calling because I want to change my contract before the end of the month"
    short = html_helpers.shorten(text, 40)
    assert short == "Hello, I am calling because I want to…"
    assert len(short) <= 40 and text.startswith(short[:-1])
    assert html_helpers.shorten("short  text", 40) == "short text"


def test_markdown_shows_a_partial_score(card: dict[str, Any]) -> None:
    """A section of two passes scoring 75 could not be reconciled: the table and the report
    say "earned 50% of this item", the Markdown did not."""
    item = next(i for s in card["sections"] for i in s["items"] if i["verdict"] == "pass")
    item["score"] = 0.5
    md = markdown.render_markdown(card)
    assert any("(earned 50% of this item)" in line for line in md.splitlines())


def test_markdown_names_an_auto_fail_by_its_title(card: dict[str, Any]) -> None:
    """The Markdown had shown the id (`positive.forbidden_phrases`) where the table and the
    report show the item's title."""
    item = card["sections"][0]["items"][0]
    card["auto_failed"] = [item["id"]]
    md = markdown.render_markdown(card)
    assert f"**Auto-fail:** {markdown._md(item['title'])}" in md.splitlines()


def test_a_score_never_rounds_into_the_next_band() -> None:
    """59.64 had shown "60" coloured poor (below 60), and 79.83 "80" coloured fair."""
    from callqa.outputs.html import band, score_text

    assert (score_text(59.64), band(59.64)) == ("59.6", "poor")
    assert (score_text(79.96), band(79.96)) == ("79.9", "fair")
    shown = [score_text(s) for s in (58.4, 60.0, 65.5, 100.0, None)]
    assert shown == ["58", "60", "66", "100", "–"]
