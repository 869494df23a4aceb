"""Config files: defaults, overrides, and exact errors for unknown keys and wrong types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callqa.config import Config, config_hash, load_config, replace_config
from callqa.errors import ConfigError
from callqa.languages import parse_language


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callqa.toml"
    path.write_text(text)
    return path


def test_defaults_without_file() -> None:
    cfg = load_config(None)
    assert cfg == Config()
    assert cfg.call.agent_channel == "left" and cfg.call.language is None
    assert cfg.transcription.backend == "faster-whisper"


def test_file_overrides_defaults_and_aliases_norwegian(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[call]\nagent_channel = "right"\nlanguage = "no"\n'))
    assert cfg.call.agent_channel == "right"
    assert cfg.call.language == "nb"


def test_unknown_table_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[cal]\nlanguage = 'fi'\n")
    with pytest.raises(
        ConfigError,
        match=r"unknown key 'cal' \(known: call, dynamics, limits, redaction, "
        r"rubric, transcription, voice\)",
    ):
        load_config(path)


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[call]\nlanguag = 'fi'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: unknown key 'call.languag' (known: agent_channel,")


def test_wrong_type_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[call]\nmax_duration_s = 'long'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: 'call.max_duration_s' must be float, not str ('long')"


def test_bad_agent_channel(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match="agent_channel must be one of left, right, auto, not 'centre'"
    ):
        load_config(write(tmp_path, "[call]\nagent_channel = 'centre'\n"))


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[call\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_cli_flags_override_file_and_none_keeps_value() -> None:
    cfg = replace_config(Config(), call__language="FI", call__agent_channel=None)
    assert cfg.call.language == "fi" and cfg.call.agent_channel == "left"


def test_hash_changes_with_any_setting() -> None:
    base = Config()
    assert config_hash(base) == config_hash(Config())
    assert config_hash(base) != config_hash(replace_config(base, call__language="it"))


@pytest.mark.parametrize(
    ("given", "expected"), [("auto", None), (None, None), ("NO", "nb"), ("sl", "sl")]
)
def test_normalize_language(given: str | None, expected: str | None) -> None:
    assert parse_language(given) == expected


def test_toml_round_trip(tmp_path: Path) -> None:
    from callqa.config import to_toml

    cfg = replace_config(Config(), call__language="sl", call__agent_channel="auto")
    path = write(tmp_path, to_toml(cfg))
    assert load_config(path) == cfg


def test_every_setting_is_documented_with_its_default() -> None:
    """docs/configuration.md has one row per key of every section, showing the current default."""
    import dataclasses
    from pathlib import Path

    from callqa.config import Config

    doc = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    cfg = Config()
    for section in dataclasses.fields(cfg):
        assert f"### `[{section.name}]`" in doc, section.name
        values = getattr(cfg, section.name)
        for field in dataclasses.fields(values):
            default = getattr(values, field.name)
            rows = [r for r in doc.splitlines() if r.startswith(f"| `{field.name}` |")]
            assert rows, f"[{section.name}] {field.name} is not documented"
            if isinstance(default, int | float) and not isinstance(default, bool):
                assert any(f"`{default!r}`" in r for r in rows), (section.name, field.name)


def test_backchannel_words_are_listed_once() -> None:
    from callqa.config import BACKCHANNEL_WORDS

    assert len(BACKCHANNEL_WORDS) == len(set(BACKCHANNEL_WORDS))
    assert {"mhm", "ok", "ja", "aha", "ah"} <= set(BACKCHANNEL_WORDS)  # shared ones kept once


def test_every_setting_is_documented_where_it_is_defined() -> None:
    """``config show`` comments come from these docstrings: none may be missing."""
    import dataclasses

    from callqa.config import Config, field_docs

    for section in dataclasses.fields(Config):
        cls = type(getattr(Config(), section.name))
        docs = field_docs(cls)
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in docs]
        assert missing == [], f"[{section.name}] lacks docs for {missing}"


def test_commented_config_reads_back_equal(tmp_path: Path) -> None:
    from callqa.config import Config, load_config, to_toml

    path = tmp_path / "c.toml"
    path.write_text(to_toml(Config(), comments=True))
    assert load_config(path) == Config()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[dynamics]\nvad_threshold = 2", "dynamics.vad_threshold must be > 0 and < 1, not 2.0"),
        ("[voice]\ncontour_step_s = 0", "voice.contour_step_s must be >= 0.01 and <= 60, not 0.0"),
        ("[voice]\nn_parts = 1000000000", "voice.n_parts must be >= 1 and <= 100, not 1000000000"),
        ("[voice]\nn_parts = 1e9", "'voice.n_parts' must be int, not float"),
        ("[call]\nmax_duration_s = -1", "call.max_duration_s must be > 0 and <= 604800, not -1.0"),
        ("[call]\nmax_duration_s = inf", "call.max_duration_s must be > 0 and <= 604800, not inf"),
        ("[redaction]\naudio_pad_s = nan", "redaction.audio_pad_s must be >= 0 and <= 10, not nan"),
        ("[transcription]\ntemperatures = [0.0, 7.0]", "temperatures must be >= 0 and <= 1"),
        ("[limits]\nmax_rubric_bytes = 0", "limits.max_rubric_bytes must be >= 1"),
        ("[dynamics]\nvad_threshold = 0.3", "vad_neg_threshold (0.35) must not exceed"),
        ("[voice]\npitch_floor_hz = 500.0", "pitch_floor_hz (500.0) must be below"),
        ("[dynamics]\ncrosstalk_gate = 'loud'", "crosstalk_gate must be one of leak, dominance"),
        # the type decides, not the default: these had passed and failed every call later
        ("[call]\nlanguage = 5", "'call.language' must be str, not int (5)"),
        ("[call]\nlanguage = {a = 1}", "'call.language' must be str, not a table"),
        ("[rubric]\npath = 5", "'rubric.path' must be str, not int (5)"),
        ("[dynamics]\nbackchannel_words = [1, 2]", "'dynamics.backchannel_words[0]' must be str"),
        ("[transcription]\ndetect_languages = [[1]]", "'transcription.detect_languages[0]'"),
        ("[transcription]\ntemperatures = 0.5", "'transcription.temperatures' must be a list"),
        ("[transcription]\ndevice = 'tpu'", "transcription.device must be one of auto, cpu"),
        ("[transcription]\ntemperatures = []", "temperatures needs at least one value"),
        ("[call]\nlanguage = '" + "x" * 10_000 + "'", "call.language is longer than 4096"),
    ],
)
def test_values_out_of_range_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = write(tmp_path, toml + "\n")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_every_numeric_setting_has_a_range() -> None:
    """RANGES covers every int and float key (each element of a list of numbers), and every
    range is listed in docs/configuration.md; the defaults are inside."""
    from callqa.config import config_to_dict
    from callqa.ranges import RANGES, check_ranges

    numeric = set()
    for section, table in config_to_dict(Config()).items():
        for key, value in table.items():
            items = value if isinstance(value, list | tuple) else [value]
            if any(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
                numeric.add(f"{section}.{key}")
    assert numeric == set(RANGES)
    check_ranges(config_to_dict(Config()))
    doc = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    for name, allowed in RANGES.items():
        assert f"| `{name}` | {allowed} |" in doc, name


def test_flags_are_range_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"transcription.threads must be >= 0 and <= 1024"):
        replace_config(Config(), transcription__threads=-3)


def test_config_file_that_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file /dev/zero is not a regular file"):
        load_config(Path("/dev/zero"))
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    with pytest.raises(
        ConfigError, match=r"big.toml is 1,048,579 bytes, more than the 1,048,576 bytes allowed"
    ):
        load_config(big)


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a BOM: the file had been 'not valid TOML'."""
    path = tmp_path / "c.toml"
    path.write_bytes("\ufeff[call]\nlanguage = 'nb'\n".encode())
    assert load_config(path).call.language == "nb"
