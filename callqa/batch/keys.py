"""Identity of a scoring: :func:`scoring_key` (config, rubric, shipped data, model, version)."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import callqa
from callqa.config import Config, config_to_dict
from callqa.files import sha256_file

# -- identity -----


def scoring_key(config: Config, *, model_id: str = "model") -> str:
    """Hash of everything that changes a scorecard apart from the audio.

    Parameters
    ----------
    config : Config
        The effective configuration of the call (manifest overrides applied). CPU thread
        counts, the device and ``[limits]`` are left out: they change speed or which files
        are refused, not results.
    model_id : str
        Identifies the transcriber beyond ``config.transcription`` ("model" for the
        configured Whisper model, the factory's qualified name for others).

    Returns
    -------
    str
        24 hex digits of the sha256 over the config, the rubric file, the built-in rubric and
        phrase files, ``model_id`` and the callqa version.
    """
    data = config_to_dict(config)
    data.pop("limits", None)  # input size caps refuse files, they do not change a scorecard
    transcription = dict(data.get("transcription", {}))
    for volatile in ("threads", "device"):
        transcription.pop(volatile, None)
    data["transcription"] = transcription
    rubric_path = config.rubric.path
    payload = {
        "config": data,
        "rubric": _file_digest(Path(rubric_path)) if rubric_path else None,
        "resources": _resource_digest(),
        "model": model_id,
        "version": callqa.__version__,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _file_digest(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return f"unreadable:{path}"


RESOURCE_FOLDERS = (  # shipped data that changes a scorecard
    ("callqa.scoring", "rubrics"),
    ("callqa.checks", "phrases"),
    ("callqa.measures", "data"),
    ("callqa.privacy", "data"),
    ("callqa.words", "data"),
)


def _resource_digest() -> str:
    """sha256 over the shipped rubrics, phrase packs and word lists (they change results)."""
    digest = hashlib.sha256()
    for package, folder in RESOURCE_FOLDERS:
        base = resources.files(package).joinpath(folder)
        if not base.is_dir():
            continue
        for item in sorted(base.iterdir(), key=lambda t: t.name):
            if item.is_file():
                digest.update(item.name.encode())
                digest.update(item.read_bytes())
    return digest.hexdigest()
