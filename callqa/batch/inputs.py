"""What a batch scores: files, folders, globs and manifest CSVs expanded into :class:`CallInput`."""

from __future__ import annotations

import csv
import glob
import io
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from callqa.audio.load import SUPPORTED_EXTENSIONS
from callqa.config import LimitsConfig
from callqa.errors import CallQAError
from callqa.files import UnsafeFileError, csv_delimiter, read_capped
from callqa.transcription.files import TRANSCRIPT_EXTENSIONS

AUDIO_EXTENSIONS = SUPPORTED_EXTENSIONS  # one list: what the decoder reads
MANIFEST_FIELDS = ("path", "call_id", "agent_id", "team", "language", "agent_channel", "call_date")


class BatchUsageError(CallQAError):
    """The batch was asked for something impossible (bad manifest, unknown engine): exit 2."""


@dataclass(frozen=True)
class CallInput:
    """One call to score, with what the manifest says about it.

    Attributes
    ----------
    path : Path
        The recording, or a transcript file (``.json``, ``.vtt``: scored without audio).
    call_id, agent_id, team, language, agent_channel, call_date : str or None
        From the manifest; ``call_id`` defaults to the file name without extension,
        ``language``/``agent_channel`` override the config for this call only,
        ``call_date`` is ``YYYY-MM-DD``.
    metadata : tuple of (str, str)
        Other manifest columns, kept in the outputs as ``meta_<name>``.
    problem : str or None
        Why this input cannot be scored at all (not an audio file, not found); such inputs
        become ``failed`` rows without reaching a worker.
    """

    path: Path
    call_id: str | None = None
    agent_id: str | None = None
    team: str | None = None
    language: str | None = None
    agent_channel: str | None = None
    call_date: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class InputSet:
    """The calls found in the inputs, and how many other files the directories held."""

    calls: tuple[CallInput, ...]
    ignored_files: int = 0  # non-audio files met while walking directories (not failures)


def is_audio(path: Path) -> bool:
    """True when the file name ends in one of :data:`AUDIO_EXTENSIONS` (any case)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


def is_transcript(path: Path) -> bool:
    """True for a transcript file (``.json``, ``.vtt``, any case): scored without audio. Named
    files, globs and manifests may give transcripts; a folder is searched for audio only (it may
    hold other JSON files, such as scorecards)."""
    return path.suffix.lower() in TRANSCRIPT_EXTENSIONS


def collect_inputs(
    specs: Sequence[str | Path], *, max_manifest_bytes: int | None = None
) -> InputSet:
    """Expand files, directories (recursively), globs and manifest CSVs into calls.

    Parameters
    ----------
    specs : sequence of str or Path
        A ``.csv`` file is a manifest (:func:`read_manifest`); a directory contributes every
        audio file below it (others are counted in ``ignored_files``); a pattern with ``*``,
        ``?`` or ``[`` that is not an existing path is a glob (``**`` recurses); anything else
        is one file. A named file that is missing or not audio becomes a call with a
        ``problem``.

    Returns
    -------
    InputSet
        Calls in the order given (directories and globs sorted by path); a file named twice
        appears once.
    """
    calls: list[CallInput] = []
    ignored = 0
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found, skipped = _walk(path)
            calls.extend(CallInput(p) for p in found)
            ignored += skipped
        elif path.suffix.lower() == ".csv" and path.is_file():
            calls.extend(read_manifest(path, max_bytes=max_manifest_bytes))
        elif not path.exists() and glob.has_magic(str(spec)):
            matches = sorted(glob.glob(str(spec), recursive=True))
            if not matches:
                calls.append(CallInput(path, problem=f"no file matches {spec}"))
            found = [Path(m) for m in matches]
            sub = collect_inputs(found, max_manifest_bytes=max_manifest_bytes)
            calls.extend(sub.calls)
            ignored += sub.ignored_files
        else:
            calls.append(CallInput(path, problem=_file_problem(path)))
    return InputSet(calls=tuple(_unique_paths(calls)), ignored_files=ignored)


def _walk(root: Path) -> tuple[list[Path], int]:
    """Audio files below ``root`` (sorted) and the number of other files (os.scandir: fast)."""
    found: list[Path] = []
    ignored = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                found.append(Path(dirpath, name))
            else:
                ignored += 1
    return sorted(found), ignored


def _file_problem(path: Path) -> str | None:
    if not path.exists():
        return f"file not found: {path}"
    if not path.is_file():
        return f"not a regular file: {path}"
    if not is_audio(path) and not is_transcript(path):
        kinds = ", ".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        texts = " or ".join(e.lstrip(".") for e in TRANSCRIPT_EXTENSIONS)
        return (
            f"not an audio file (extension {path.suffix or 'none'}; expected {kinds}; "
            f"or a {texts} transcript)"
        )
    return None


def _unique_paths(calls: Sequence[CallInput]) -> Iterator[CallInput]:
    seen: set[Path] = set()
    for call in calls:
        key = resolved(call.path)
        if key not in seen:
            seen.add(key)
            yield call


def resolved(path: Path) -> Path:
    """``path`` with symlinks resolved; as given when it cannot be (missing, a symlink loop)."""
    try:
        return path.resolve() if path.exists() else path
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return path


def read_manifest(path: Path, *, max_bytes: int | None = None) -> list[CallInput]:
    """Read a manifest CSV: a ``path`` column plus optional call details and extra columns.

    Parameters
    ----------
    path : Path
        UTF-8 CSV (a BOM is accepted) with a header row. ``path`` is relative to the
        manifest's directory unless absolute. Optional columns: ``call_id``, ``agent_id``,
        ``team``, ``language``, ``agent_channel`` (left/right/auto), ``call_date``
        (YYYY-MM-DD); any other column is kept as metadata. Empty cells mean "not given".

    max_bytes : int > 0, optional
        Refuse a larger file unread (default ``[limits] max_manifest_bytes``, 64 MiB).

    Raises
    ------
    BatchUsageError
        No ``path`` column, an empty path, a bad date, a duplicate ``call_id``, a file that is
        too large, not a regular file, not UTF-8 or not CSV.
    """
    cap = max_bytes or LimitsConfig().max_manifest_bytes
    try:
        text = read_capped(path, cap).decode("utf-8-sig")
    except UnsafeFileError as exc:
        raise BatchUsageError(f"manifest {exc}") from exc
    except OSError as exc:
        raise BatchUsageError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BatchUsageError(
            f"manifest {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        ) from exc
    if "\0" in text:
        raise BatchUsageError(f"manifest {path} holds NUL characters: not a text CSV file")
    try:
        return _manifest_rows(path, text)
    except csv.Error as exc:
        raise BatchUsageError(f"manifest {path} is not a CSV file ({exc})") from exc


def _manifest_rows(path: Path, text: str) -> list[CallInput]:
    reader = csv.DictReader(io.StringIO(text), delimiter=csv_delimiter(text))
    fields = [f.strip() for f in reader.fieldnames or ()]
    if "path" not in fields:
        raise BatchUsageError(
            f"manifest {path} has no 'path' column (columns: {', '.join(fields) or 'none'}); "
            "the first row must be a header such as: path,call_id,agent_id,team"
        )
    calls = [_manifest_row(path, n, row) for n, row in enumerate(reader, start=2)]
    ids = Counter(c.call_id for c in calls if c.call_id)
    dupes = sorted(i for i, n in ids.items() if n > 1)
    if dupes:
        raise BatchUsageError(f"manifest {path}: call_id used twice: {', '.join(dupes[:5])}")
    return calls


def _manifest_row(manifest: Path, line: int, row: Mapping[str | None, Any]) -> CallInput:
    values = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
    if not values.get("path"):
        raise BatchUsageError(f"manifest {manifest} line {line}: empty path")
    audio = Path(values["path"])
    if not audio.is_absolute():
        audio = manifest.parent / audio
    call_date = values.get("call_date") or None
    if call_date and not _is_iso_date(call_date):
        raise BatchUsageError(
            f"manifest {manifest} line {line}: call_date {call_date!r} is not YYYY-MM-DD"
        )
    extra = tuple((k, v) for k, v in values.items() if k not in MANIFEST_FIELDS and k)
    return CallInput(
        path=audio,
        call_id=values.get("call_id") or None,
        agent_id=values.get("agent_id") or None,
        team=values.get("team") or None,
        language=values.get("language") or None,
        agent_channel=values.get("agent_channel") or None,
        call_date=call_date,
        metadata=extra,
        problem=_file_problem(audio),
    )


def _is_iso_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True
