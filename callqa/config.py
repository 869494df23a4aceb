"""Configuration: defaults in code, a TOML file over them, CLI flags over the file.

Each stage owns its settings as a frozen dataclass with defaults (``TranscriptionConfig`` in
:mod:`callqa.transcribe`, ``DynamicsConfig`` in :mod:`callqa.dynamics`, ``VoiceConfig`` in
:mod:`callqa.voice`, ``RedactionConfig`` in :mod:`callqa.redact`). A config file has one table
per stage plus ``[call]``::

    [call]
    agent_channel = "left"      # left | right | auto
    language = "nb"             # omit for auto-detection

    [transcription]
    backend = "faster-whisper"

Unknown tables or keys are an error, and so is a value of the wrong type.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callqa.dynamics import DynamicsConfig
from callqa.errors import ConfigError
from callqa.redact import RedactionConfig
from callqa.transcribe import TranscriptionConfig, normalize_language
from callqa.voice import VoiceConfig

AGENT_CHANNELS = ("left", "right", "auto")


@dataclass(frozen=True)
class CallConfig:
    """How to read a call.

    Attributes
    ----------
    agent_channel : {"left", "right", "auto"}
        Stereo only: which channel carries the agent; "auto" decides from what is said.
    language : str or None
        ISO 639-1 code to force ("en", "nb"/"no", "fi", "it", "sl", ...); None detects it.
    max_duration_s : float > 0 [s]
        Longer recordings are refused before decoding (default 2 h: the decoded audio and
        the per-word data of a call grow by about 55 MB per audio minute, so a 2-hour call
        already needs some 6.6 GB per worker; benchmarks/results/batch.md).
    """

    agent_channel: str = "left"
    language: str | None = None
    max_duration_s: float = 2 * 3600.0


@dataclass(frozen=True)
class RubricConfig:
    """Which rubric scores the call (None: the built-in default, callqa/rubrics/default.toml)."""

    path: str | None = None


@dataclass(frozen=True)
class Config:
    """Every setting of a scoring run."""

    call: CallConfig = field(default_factory=CallConfig)
    transcription: TranscriptionConfig = field(default_factory=TranscriptionConfig)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    redaction: RedactionConfig = field(default_factory=RedactionConfig)
    rubric: RubricConfig = field(default_factory=RubricConfig)


def load_config(path: Path | None = None) -> Config:
    """Read a TOML config file over the defaults (None: the defaults).

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or has an unknown table/key or a wrongly typed value.
    """
    if path is None:
        return Config()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return _validated(_build(Config, data, where=str(path)))


def replace_config(config: Config, **dotted: Any) -> Config:
    """A copy with ``section__key=value`` settings replaced; ``None`` values are ignored.

    ``replace_config(cfg, call__language="fi", transcription__threads=2)``
    """
    updates: dict[str, dict[str, Any]] = {}
    for key, value in dotted.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        updates.setdefault(section, {})[name] = value
    new = config
    for section, values in updates.items():
        new = dataclasses.replace(
            new, **{section: dataclasses.replace(getattr(new, section), **values)}
        )
    return _validated(new)


def config_to_dict(config: Config) -> dict[str, Any]:
    """The config as plain data (stable key order), e.g. for hashing or ``--show-config``."""
    return dataclasses.asdict(config)


def config_hash(config: Config) -> str:
    """Short sha256 of the config's plain-data form: equal configs give equal hashes."""
    text = json.dumps(config_to_dict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _validated(config: Config) -> Config:
    if config.call.agent_channel not in AGENT_CHANNELS:
        raise ConfigError(
            f"agent_channel must be one of {', '.join(AGENT_CHANNELS)}, "
            f"not {config.call.agent_channel!r}"
        )
    language = normalize_language(config.call.language)
    if language != config.call.language:
        config = dataclasses.replace(
            config, call=dataclasses.replace(config.call, language=language)
        )
    return config


def _build(cls: type, table: dict[str, Any], *, where: str, prefix: str = "") -> Any:
    """Instantiate dataclass ``cls`` from a TOML table, refusing unknown keys and wrong types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{where}: unknown key '{name}' (known: {known})")
        default = getattr(defaults, key)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: '{name}' must be a table")
            kwargs[key] = _build(type(default), value, where=where, prefix=f"{name}.")
        else:
            kwargs[key] = _coerce(value, default, name=name, where=where)
    return cls(**kwargs)


def _coerce(value: Any, default: Any, *, name: str, where: str) -> Any:
    """Check ``value`` against the type of its default; ints are accepted for floats."""
    if default is None or value is None:
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, int | float):
        return float(value)
    elif isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    elif isinstance(value, type(default)):
        return value
    raise ConfigError(
        f"{where}: '{name}' must be {type(default).__name__}, "
        f"not {type(value).__name__} ({value!r})"
    )


def to_toml(config: Config) -> str:
    """The config as a TOML document that :func:`load_config` reads back to an equal config.

    Keys whose value is None (meaning "automatic") are written as comments.
    """
    lines: list[str] = []
    for section, table in config_to_dict(config).items():
        lines.append(f"[{section}]")
        for key, value in table.items():
            if value is None:
                lines.append(f"# {key} = (automatic)")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string
