"""Config files: where one is found, how it is read over the defaults (unknown keys, wrong
types and values out of range are errors), and how the settings are written back as TOML."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from callqa.config.settings import (
    AGENT_CHANNELS,
    CROSSTALK_GATES,
    MAX_CONFIG_BYTES,
    Config,
    check_config,
)
from callqa.errors import ConfigError
from callqa.files import UnsafeFileError, read_capped
from callqa.languages import parse_language
from callqa.ranges import check_ranges

log = logging.getLogger(__name__)


CONFIG_ENV = "CALLQA_CONFIG"  # names the config file
CONFIG_FILE = "callqa.toml"  # looked for in the current folder


def config_candidates() -> tuple[Path, ...]:
    """Where :func:`find_config` looks, first to last: ``$CALLQA_CONFIG``, ``./callqa.toml``,
    ``$XDG_CONFIG_HOME/callqa/config.toml`` (``~/.config/callqa/config.toml``)."""
    found = []
    named = os.environ.get(CONFIG_ENV)
    if named:
        found.append(Path(named).expanduser())
    found.append(Path(CONFIG_FILE))
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    found.append(Path(xdg) / "callqa" / "config.toml")
    return tuple(found)


def find_config() -> Path | None:
    """The config file the command line uses when ``--config`` is not given (None: defaults).

    ``$CALLQA_CONFIG`` must name an existing file; the other places are used when present.

    Raises
    ------
    ConfigError
        ``$CALLQA_CONFIG`` names a file that does not exist.
    """
    named = os.environ.get(CONFIG_ENV)
    if named and not Path(named).expanduser().is_file():
        raise ConfigError(f"${CONFIG_ENV} names {named}, which is not a file")
    for path in config_candidates():
        if path.is_file():
            log.info("config file: %s", path)
            return path
    return None


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
        data = tomllib.loads(read_capped(path, MAX_CONFIG_BYTES).decode("utf-8-sig"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} not found") from exc
    except UnsafeFileError as exc:
        raise ConfigError(f"config file {exc}; give a TOML file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({_first_line(exc)})") from exc
    return _validated(_build(Config, data, where=str(path)), where=str(path))


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


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def config_to_dict(config: Config) -> dict[str, Any]:
    """The config as plain data (stable key order), e.g. for hashing or ``--show-config``."""
    return dataclasses.asdict(config)


def config_hash(config: Config) -> str:
    """Short sha256 of the config's plain-data form: equal configs give equal hashes."""
    text = json.dumps(config_to_dict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_pairs(config: Config, where: str) -> None:
    """Settings that only make sense together."""
    d, v = config.dynamics, config.voice
    if d.vad_neg_threshold > d.vad_threshold:
        raise ConfigError(
            f"{where}dynamics.vad_neg_threshold ({d.vad_neg_threshold}) must not exceed "
            f"vad_threshold ({d.vad_threshold}): speech would end above where it starts"
        )
    if v.pitch_floor_hz >= v.pitch_ceiling_hz:
        raise ConfigError(
            f"{where}voice.pitch_floor_hz ({v.pitch_floor_hz}) must be below pitch_ceiling_hz "
            f"({v.pitch_ceiling_hz})"
        )
    if d.crosstalk_gate not in CROSSTALK_GATES:
        raise ConfigError(
            f"{where}dynamics.crosstalk_gate must be one of {', '.join(CROSSTALK_GATES)}, "
            f"not {d.crosstalk_gate!r}"
        )


def _validated(config: Config, *, where: str = "") -> Config:
    prefix = f"{where}: " if where else ""
    try:
        check_ranges(config_to_dict(config))
    except ValueError as exc:
        raise ConfigError(f"{prefix}{exc}") from exc
    _check_pairs(config, prefix)
    try:  # here, not first when the model loads: `config show` and every call see it at once
        check_config(config.transcription)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}") from exc
    if config.call.agent_channel not in AGENT_CHANNELS:
        raise ConfigError(
            f"agent_channel must be one of {', '.join(AGENT_CHANNELS)}, "
            f"not {config.call.agent_channel!r}"
        )
    language = parse_language(config.call.language)
    if language != config.call.language:
        config = dataclasses.replace(
            config, call=dataclasses.replace(config.call, language=language)
        )
    return config


def _build(cls: type, table: dict[str, Any], *, where: str, prefix: str = "") -> Any:
    """Instantiate dataclass ``cls`` from a TOML table, refusing unknown keys and wrong types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
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
            kwargs[key] = _coerce(value, hints[key], name=name, where=where)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, *, name: str, where: str) -> Any:
    """Check ``value`` against the field's type (``str | None``, ``tuple[str, ...]``, ...);
    ints are accepted for floats.

    The type, not the default, decides: ``language = 5`` (default None) and
    ``backchannel_words = [1, 2]`` had passed, and then failed every call as an internal error.
    """
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = args[0]  # X | None: TOML has no null, so the value is an X
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list):
            what = f"{_kind(value)} ({_shown(value)})"
            raise ConfigError(f"{where}: '{name}' must be a list, not {what}")
        item = typing.get_args(hint)[0]
        return tuple(
            _coerce(v, item, name=f"{name}[{i}]", where=where) for i, v in enumerate(value)
        )
    return _scalar(value, hint, name=name, where=where)


def _kind(value: Any) -> str:
    if isinstance(value, dict | list):
        return "a table" if isinstance(value, dict) else "a list"
    return type(value).__name__


def _scalar(value: Any, kind: type, *, name: str, where: str) -> Any:
    """Check a scalar ``value`` against type ``kind`` (ints are accepted for floats)."""
    if kind is bool or isinstance(value, bool):
        if kind is bool and isinstance(value, bool):
            return value
    elif kind is float and isinstance(value, int | float):
        return float(value)
    elif isinstance(value, kind):
        return value
    raise ConfigError(
        f"{where}: '{name}' must be {kind.__name__}, not {_kind(value)} ({_shown(value)})"
    )


def _shown(value: Any) -> str:
    """``repr(value)``, at most 60 characters (a 10,000-character value is not echoed)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_toml(config: Config, *, comments: bool = False, source: Path | None = None) -> str:
    """The config as a TOML document that :func:`load_config` reads back to an equal config.

    Keys whose value is None (meaning "automatic") are written as comments. With ``comments``,
    each table and key is preceded by what it means (from the dataclass's docstring), and the
    first line says where the values come from (``source``: the file read, None: defaults).
    """
    lines: list[str] = []
    if comments:
        origin = f"defaults overridden by {source}" if source else "the defaults (no config file)"
        lines += [f"# callqa configuration: {origin}.", "# Every key: docs/configuration.md", ""]
    for section, table in config_to_dict(config).items():
        cls = type(getattr(config, section))
        docs = field_docs(cls) if comments else {}
        if comments:
            lines.append(f"# {_summary(cls)}")
        lines.append(f"[{section}]")
        for key, value in table.items():
            if key in docs:
                lines += [f"# {line}" for line in docs[key]]
            if value is None:
                lines.append(f"# {key} = (automatic)")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _summary(cls: type) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def field_docs(cls: type) -> dict[str, list[str]]:
    """Each field's description from the "Attributes" section of ``cls``'s numpy docstring:
    ``name : type`` then indented lines (``a, b : type`` documents both)."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    if "Attributes\n----------" not in doc:
        return {}
    body = doc.split("Attributes\n----------", 1)[1]
    docs: dict[str, list[str]] = {}
    current: list[str] = []
    for line in body.splitlines():
        if line and not line.startswith(" ") and " : " in line:
            names, kind = line.split(" : ", 1)
            current = [f"type: {kind.strip()}"]
            for name in names.split(","):
                docs[name.strip()] = current
        elif line.startswith(" ") and current:
            current.append(line.strip())
        elif line and not line.startswith(" "):
            break
    return docs


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string
