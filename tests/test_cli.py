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


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("score", str(tmp_path / "none.wav"))
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {tmp_path / 'none.wav'}: no such file"


def test_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    """Exit 2 in every command: a bad config file is a mistake in how callqa was called."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[call]\nspeed = 2\n")
    (tmp_path / "t.json").write_text("{}")
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
    assert "Greets, introduces self" in table.output and "score" in table.output


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
    assert "| Section | Score | Item | Verdict | What was found |" in result.output


def test_out_folder_is_created_before_the_work(tmp_path: Path) -> None:
    path = tmp_path / "call.json"
    path.write_text(json.dumps(TRANSCRIPT))
    out = tmp_path / "no" / "dir" / "c.json"
    result = run("score", "--transcript", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["call_id"] == "call"


def test_unwritable_out_fails_before_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder that cannot be made is refused before scoring (nothing is lost)."""
    import callqa.pipeline

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("scored although the output could not be written")

    monkeypatch.setattr(callqa.pipeline, "score_transcript", never)
    path = tmp_path / "call.json"
    path.write_text(json.dumps(TRANSCRIPT))
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = run("score", "--transcript", str(path), "--out", str(blocker / "c.json"))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot create folder {blocker}: a file is in the way; choose another --out\n"
    )


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("callqa tried to open a network connection")


def test_config_show_prints_loadable_toml(tmp_path: Path) -> None:
    from callqa.config import Config, load_config

    result = run("config", "show")
    assert result.exit_code == 0
    path = tmp_path / "c.toml"
    path.write_text(result.output)
    assert load_config(path) == Config()


# ---------------------------------------------------------------- the first hour


def test_version_and_short_help() -> None:
    from callqa import __version__

    result = run("--version")
    assert result.exit_code == 0 and result.output == f"callqa {__version__}\n"
    for args in (("-h",), ("score", "-h"), ("rubric", "init", "-h"), ("config", "show", "-h")):
        assert run(*args).exit_code == 0, args


def test_python_m_callqa_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "callqa", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("callqa ")


def test_shell_completion_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer.completion

    # Typer finds the shell by walking up the process tree; a run with no shell above it
    # (a detached job) finds none, so the shell is given here.
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")
    assert "--install-completion" in run("--help").output
    shown = run("--show-completion")
    assert shown.exit_code == 0 and "complete" in shown.output, (shown.output, shown.exception)


def test_help_shows_no_type_after_plain_flags() -> None:
    for path in _command_paths(typer.main.get_command(app)):
        assert "<bool>" not in run(*path, "--help").output, path


QUIET_DEBUG = ["score", "batch", "nightly", "export", "report", "dashboard", "models prepare"]


@pytest.mark.parametrize("command", QUIET_DEBUG)
def test_quiet_and_debug_on_every_working_command(command: str) -> None:
    output = run(*command.split(), "--help").output
    assert "--quiet" in output and "--debug" in output


def test_score_help_lists_the_decoders_formats() -> None:
    from callqa.audio.load import SUPPORTED_EXTENSIONS

    output = " ".join(run("score", "--help").output.split())
    assert ", ".join(e.lstrip(".") for e in SUPPORTED_EXTENSIONS) in output


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "--since", "yesterday"],
        ["export", "--out", "x.csv", "--until", "31/01/2025"],
        ["dashboard", "--since", "yesterday"],
    ],
)
def test_a_bad_date_is_a_usage_error_everywhere(args: list[str], tmp_path: Path) -> None:
    result = run(*args, "--store", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 2
    assert (
        result.output.startswith("Error: --") and "must be a date like 2025-01-31" in result.output
    )


@pytest.mark.parametrize(
    "args",
    [
        ["score", "{missing}"],
        ["score", "--transcript", "{missing}"],
        ["report", "{missing}"],
        ["rubric", "check", "{missing}"],
        ["rubric", "show", "{missing}"],
        ["batch", "{missing}", "--backend", "fake", "--no-store"],
    ],
)
def test_a_missing_file_is_a_usage_error_everywhere(args: list[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.wav")
    result = run(*[a.replace("{missing}", missing) for a in args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {missing}: no such file")


@pytest.mark.parametrize(
    "command",
    [
        "score --transcript {t}",
        "batch {t} --backend fake",
        "nightly --inbox {d}",
        "report {t}",
        "config show",
    ],
)
def test_a_bad_config_is_a_usage_error_everywhere(command: str, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[call]\nspeed = 2\n")
    (tmp_path / "t.json").write_text(json.dumps(TRANSCRIPT))
    args = command.format(t=tmp_path / "t.json", d=tmp_path).split()
    result = run(*args, "--config", str(cfg))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {cfg}: unknown key 'call.speed'")


def test_a_bad_rubric_is_a_usage_error(tmp_path: Path) -> None:
    rubric = tmp_path / "r.toml"
    rubric.write_text('name = "x"\ncolour = 1\n')
    (tmp_path / "t.json").write_text(json.dumps(TRANSCRIPT))
    for args in (
        ["rubric", "check", str(rubric)],
        ["score", "--transcript", str(tmp_path / "t.json"), "--rubric", str(rubric)],
    ):
        result = run(*args)
        assert result.exit_code == 2, args
        assert result.output.startswith(f"Error: {rubric}: unknown key 'colour'")


def test_the_pipeline_logs_each_stage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from callqa import pipeline, stages
    from callqa.transcription.files import read_transcript

    (tmp_path / "t.json").write_text(json.dumps(TRANSCRIPT))
    with caplog.at_level(logging.INFO, logger="callqa"):
        path = tmp_path / "t.json"
        pipeline.score_transcript(read_transcript(path), source=path, sha256="0" * 64)
    said = [r.getMessage() for r in caplog.records if r.name == "callqa.stages"]
    assert said == [stages.STAGE_TEXT[s] for s in ("phrases", "sentiment", "checks", "redact")]


def test_score_shows_each_stage_as_its_status() -> None:
    """On a terminal, ``callqa score`` is never silent: each logged stage becomes the status."""
    import importlib
    import logging

    app_module = importlib.import_module("callqa.cli.app")

    class Status:
        def __init__(self) -> None:
            self.shown: list[str] = []

        def update(self, text: str) -> None:
            self.shown.append(text)

    status = Status()
    handler = app_module._StageHandler(status)
    for level, text in (
        (logging.INFO, "loading faster-whisper model 'base'"),
        (logging.DEBUG, "decode took 0.10 s"),
        (logging.INFO, "transcribing"),
    ):
        handler.handle(logging.LogRecord("callqa.pipeline", level, "", 0, text, None, None))
    assert status.shown == ["loading faster-whisper model 'base' …", "transcribing …"]


def test_debug_logs_every_stage_with_its_time(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps(TRANSCRIPT))
    result = run("score", "--transcript", str(tmp_path / "t.json"), "--debug", "--format", "json")
    assert result.exit_code == 0
    assert "callqa.stages DEBUG: checks took" in result.stderr
    assert json.loads(result.stdout)["call_id"] == "t"  # stdout stays data


def test_quiet_score_prints_only_the_data(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps(TRANSCRIPT))
    out = tmp_path / "c.md"
    result = run("score", "--transcript", str(tmp_path / "t.json"), "--out", str(out), "--quiet")
    assert result.exit_code == 0 and result.output == "" and out.read_text().startswith("**Call")


def test_terminal_scorecard_has_verdicts_numbers_and_tips(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps(TRANSCRIPT))
    wide = runner.invoke(app, ["score", "--transcript", str(tmp_path / "t.json")],
                         env={"COLUMNS": "220"})  # fmt: skip
    text = wide.output
    rows = {line.split()[0] for line in text.splitlines() if line.strip()}
    assert {"pass", "FAIL", "n/a"} <= rows  # a verdict column
    assert "Greets, introduces self and company, offers help" in " ".join(text.split())
    assert "found: greeting, name and company, offer of help" in " ".join(text.split())
    assert "→ " in text  # a failed item's coaching tip
    table = text.split("what was found")[1].splitlines()[2:-2]
    assert table and not any(line.strip() == "" for line in table)  # no blank rows


def test_config_show_explains_every_key(tmp_path: Path) -> None:
    import dataclasses

    from callqa.config import Config

    text = run("config", "show").output
    assert text.startswith("# callqa configuration: the defaults (no config file).")
    lines = text.splitlines()
    for section in dataclasses.fields(Config):
        for f in dataclasses.fields(section.type if isinstance(section.type, type) else
                                    type(getattr(Config(), section.name))):  # fmt: skip
            at = next(i for i, ln in enumerate(lines) if ln.split(" = ")[0].lstrip("# ") == f.name)
            assert lines[at - 1].startswith("# "), f"{section.name}.{f.name} has no comment"


def test_config_is_found_without_config_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$CALLQA_CONFIG, then ./callqa.toml, then $XDG_CONFIG_HOME/callqa/config.toml."""
    xdg = tmp_path / "xdg"
    (xdg / "callqa").mkdir(parents=True)
    (xdg / "callqa" / "config.toml").write_text('[call]\nlanguage = "fi"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.chdir(tmp_path)
    assert 'language = "fi"' in run("config", "show").output
    (tmp_path / "callqa.toml").write_text('[call]\nlanguage = "it"\n')
    assert 'language = "it"' in run("config", "show").output
    named = tmp_path / "named.toml"
    named.write_text('[call]\nlanguage = "sl"\n')
    monkeypatch.setenv("CALLQA_CONFIG", str(named))
    shown = run("config", "show").output
    assert 'language = "sl"' in shown and f"overridden by {named}" in shown.splitlines()[0]
    monkeypatch.setenv("CALLQA_CONFIG", str(tmp_path / "gone.toml"))
    result = run("config", "show")
    assert result.exit_code == 2 and "names" in result.output and "not a file" in result.output


def test_make_test_names_missing_tools_and_how_to_get_them(tmp_path: Path) -> None:
    """.ci/test-tools (run by `make test`): installs as root, else one line per missing tool."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = {"PATH": str(tmp_path), "CALLQA_NO_INSTALL": "1", "CHROMIUM": str(tmp_path / "none")}
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, str(root / ".ci" / "test-tools")], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert [ln.split(",")[0] for ln in lines] == [
        "missing: espeak-ng", "missing: chromium", "missing: ffmpeg"]  # fmt: skip
    assert all("install it with: sudo apt-get install -y " in ln for ln in lines)


def test_an_error_quoting_personal_data_is_redacted(tmp_path: Path) -> None:
    """`score` printed a bad field's card number on stderr (batch redacts its reasons)."""
    path = tmp_path / "t.json"
    segment = {"speaker": "4539 1488 0343 6467", "start": 0, "end": 1, "text": "hi"}
    path.write_text(json.dumps({"language": "en", "segments": [segment]}))
    result = run("score", "--transcript", str(path))
    assert result.exit_code == 1 and "unknown speaker '[CARD]'" in result.output
    assert "4539" not in result.output
    raw = run("score", "--transcript", str(path), "--no-redact")
    assert "unknown speaker '4539 1488 0343 6467'" in raw.output  # asked for as it is
