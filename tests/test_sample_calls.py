"""The bundled sample calls: what the issue asks of them, and that their truth is their audio."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from callqa.audio.load import load_audio, probe

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_calls"
STEMS = ("en_good", "en_poor", "it_call", "nb_call", "fi_call", "sl_call", "en_mono")


def truth(stem: str) -> dict:  # type: ignore[type-arg]
    return json.loads((SAMPLES / f"{stem}.truth.json").read_text(encoding="utf-8"))


def test_the_set_covers_the_languages_and_a_mono_call() -> None:
    found = sorted(p.stem for p in SAMPLES.glob("*.ogg"))
    assert found == sorted(STEMS)
    languages = {truth(s)["language"] for s in STEMS}
    assert languages == {"en", "it", "nb", "fi", "sl"}
    assert [s for s in STEMS if truth(s)["channels"] == 1] == ["en_mono"]


@pytest.mark.parametrize("stem", STEMS)
def test_each_call_is_small_synthetic_and_matches_its_sidecar(stem: str) -> None:
    path = SAMPLES / f"{stem}.ogg"
    t = truth(stem)
    assert t["synthetic"] is True and "espeak-ng" in t["generator"]
    assert path.stat().st_size < 400_000, "keep the audio small (a few hundred KB)"
    assert 30.0 <= t["duration_s"] <= 90.0
    info = probe(path)
    assert info.channels == t["channels"]
    call = load_audio(path)
    assert abs(call.duration_s - t["duration_s"]) < 0.05
    turns = t["turns"]
    assert all(0.0 <= u["start"] < u["end"] <= t["duration_s"] for u in turns)
    assert {u["speaker"] for u in turns} == {"agent", "customer"}


@pytest.mark.parametrize("stem", STEMS)
def test_talk_time_and_share_follow_from_the_turns(stem: str) -> None:
    """``talk_s`` is the union of each speaker's scripted speech; the share follows from it."""
    t = truth(stem)
    for speaker, talk in t["talk_s"].items():
        spans = sorted((u["start"], u["end"]) for u in t["turns"] if u["speaker"] == speaker)
        union, end = 0.0, -1.0
        for a, b in spans:
            union += max(0.0, b - max(a, end))
            end = max(end, b)
        assert union == pytest.approx(talk, abs=0.01)
    share = t["talk_s"]["agent"] / (t["talk_s"]["agent"] + t["talk_s"]["customer"])
    assert share == pytest.approx(t["agent_talk_share"], abs=0.001)


def test_good_and_poor_calls_script_the_behaviours_the_checks_look_for() -> None:
    good, poor = truth("en_good")["behaviours"], truth("en_poor")["behaviours"]
    for behaviour in ("greeting", "paraphrase", "apology", "empathy", "next_step", "closing"):
        assert good[behaviour], behaviour
        assert not poor[behaviour], behaviour
    assert good["agent_interrupts"] == 0 and poor["agent_interrupts"] >= 2
    assert "calm down" in poor["forbidden_phrases"]
    assert "that's not my department" in poor["forbidden_phrases"]
    assert truth("en_good")["agent_talk_share"] <= 0.6  # lets the customer talk


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_generator_reproduces_the_committed_truth(tmp_path: Path) -> None:
    """The script committed next to the calls rebuilds them: same timeline, same sidecar."""
    subprocess.run(
        [sys.executable, str(SAMPLES / "generate.py"), "--out", str(tmp_path), "en_poor"],
        check=True,
        capture_output=True,
    )
    rebuilt = (tmp_path / "en_poor.truth.json").read_text(encoding="utf-8")
    assert rebuilt == (SAMPLES / "en_poor.truth.json").read_text(encoding="utf-8")
