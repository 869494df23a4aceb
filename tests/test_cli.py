"""The command line: help texts with examples, exact error messages and exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import click
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from callqa.cli.app import app
from tests.conftest import write_wav

runner = CliRunner()
SR = 16_000


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_help_lists_every_command_with_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in (
        "score",
        "batch",
        "report",
        "dashboard",
        "rubric",
        "nightly",
        "export",
        "stats",
        "models",
    ):
        assert command in result.output
    for path in _command_paths(typer.main.get_command(app)):
        sub = run(*path, "--help")
        assert sub.exit_code == 0, path
        assert "example" in sub.output.lower(), f"{' '.join(path)} --help has no example"


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
    return paths


def test_no_arguments_prints_help() -> None:
    result = run()
    assert "Usage" in result.output


def test_score_needs_a_call_or_a_transcript() -> None:
    result = run("score")
    assert result.exit_code == 2
    assert "Error: give either a CALL audio file or --transcript FILE" in result.output


def test_score_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = run("score", str(tmp_path / "x.wav"), "--format", "xml")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda p: p.write_bytes(b""),
            "Error: x.wav: empty file (0 bytes); re-export the recording",
        ),
        (
            lambda p: p.write_text("hello"),
            "Error: x.wav: not an audio file (ffmpeg found no audio "
            "stream); supported: wav, flac, ogg, oga, opus, mp3, m4a, aac, webm",
        ),
        (
            lambda p: write_wav(p, [np.zeros(SR * 2, np.float32)]),
            "Error: x.wav: silent (peak below -60 dBFS in every channel); check the recording",
        ),
        (
            lambda p: write_wav(p, [np.full(SR // 2, 0.1, np.float32)]),
            "Error: x.wav: 0.50 s long, shorter than 1 s; nothing to score",
        ),
    ],
)
def test_bad_audio_exits_1_with_one_line(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.wav"
    make(path)
    result = run("score", str(path))
    assert result.exit_code == 1
    assert result.output.strip() == message


def test_missing_file_exits_1(tmp_path: Path) -> None:
    result = run("score", str(tmp_path / "none.wav"))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'none.wav'}: no such file"


def test_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    """Exit 2 in every command: a bad config file is a mistake in how callqa was called."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[call]\nspeed = 2\n")
    result = run("score", "--transcript", str(tmp_path / "t.json"), "--config", str(cfg))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {cfg}: unknown key 'call.speed'")


TRANSCRIPT = {
    "language": "en",
    "segments": [
        {
            "speaker": "agent",
            "start": 0.0,
            "end": 3.0,
            "text": "Thank you for calling Nordic Telecom, my name is Anna, how can I help you?",
        },
        {
            "speaker": "customer",
            "start": 3.5,
            "end": 8.0,
            "text": "My internet keeps dropping every evening and I am really fed up with it.",
        },
        {
            "speaker": "agent",
            "start": 8.5,
            "end": 14.0,
            "text": "I'm so sorry about that. So your connection drops every evening. "
            "I will send a technician tomorrow morning.",
        },
        {"speaker": "customer", "start": 14.5, "end": 16.0, "text": "Great, thanks."},
        {
            "speaker": "agent",
            "start": 16.5,
            "end": 19.0,
            "text": "Is there anything else I can help you with? Thank you for calling.",
        },
    ],
}


def test_score_transcript_json_and_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "call.json"
    path.write_text(json.dumps(TRANSCRIPT))
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    out = tmp_path / "card.json"
    result = run("score", "--transcript", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    card = json.loads(out.read_text())
    assert card["channels"] == 0 and card["model"]["backend"] == "transcript-file"
    verdicts = {c["id"]: c["verdict"] for c in card["checks"]}
    assert verdicts["open.greeting"] == "pass"
    assert verdicts["action.next_step"] == "pass"
    assert verdicts["hear.no_interruptions"] == "na"  # no audio: dynamics cannot be measured
    table = run("score", "--transcript", str(path))
    assert table.exit_code == 0
    assert "open.greeting" in table.output and "score" in table.output


def test_language_flag_overrides_the_transcript_file(tmp_path: Path) -> None:
    """--language used to be ignored with --transcript: the file's "en" won."""
    path = tmp_path / "call.json"
    path.write_text(json.dumps(TRANSCRIPT))
    out = tmp_path / "card.json"
    result = run("score", "--transcript", str(path), "--language", "no", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["language"] == "nb"


def test_score_transcript_markdown(tmp_path: Path) -> None:
    path = tmp_path / "call.json"
    path.write_text(json.dumps(TRANSCRIPT))
    result = run("score", "--transcript", str(path), "--format", "md")
    assert result.exit_code == 0
    assert result.output.startswith("**Call call** — score **")
    assert "| Section | Score | Failed items |" in result.output


def test_unwritable_out_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "call.json"
    path.write_text(json.dumps(TRANSCRIPT))
    result = run(
        "score", "--transcript", str(path), "--out", str(tmp_path / "no" / "dir" / "c.json")
    )
    assert result.exit_code == 1
    assert "Error: cannot write" in result.output


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("callqa tried to open a network connection")


def test_config_show_prints_loadable_toml(tmp_path: Path) -> None:
    from callqa.config import Config, load_config

    result = run("config", "show")
    assert result.exit_code == 0
    path = tmp_path / "c.toml"
    path.write_text(result.output)
    assert load_config(path) == Config()
