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
from callqa.privacy.identifiers import display_path
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
    specs: Sequence[str | Path],
    *,
    max_manifest_bytes: int | None = None,
    exclude: Sequence[Path] = (),
) -> InputSet:
    """Expand files, directories (recursively), globs and manifest CSVs into calls.

    Parameters
    ----------
    specs : sequence of str or Path
        A ``.csv`` file is a manifest (:func:`read_manifest`); a directory contributes every
        audio file below it (others are counted in ``ignored_files``); a pattern with ``*``,
        ``?`` or ``[`` that is not an existing path is a glob (``**`` recurses); anything else
        is one file. A named file that is missing or not audio becomes a call with a
        ``problem``, and so does a folder below a directory that cannot be read.
    exclude : sequence of Path
        Folders whose files a directory or glob never contributes: the batch's own output
        folder (its ``*.redacted.flac`` copies would be scored as new calls on the next run).

    Returns
    -------
    InputSet
        Calls in the order given (directories and globs sorted by path); a file named twice
        appears once.
    """
    calls: list[CallInput] = []
    ignored = 0
    skip = tuple(resolved(p) for p in exclude)
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found, skipped, unread = _walk(path, skip)
            calls.extend(CallInput(p) for p in found)
            calls.extend(CallInput(d, problem=why) for d, why in unread)
            ignored += skipped
        elif path.suffix.lower() == ".csv" and path.is_file():
            calls.extend(read_manifest(path, max_bytes=max_manifest_bytes))
        elif not path.exists() and glob.has_magic(str(spec)):
            matches = sorted(glob.glob(str(spec), recursive=True))
            if not matches:
                calls.append(CallInput(path, problem=f"no file matches {spec}"))
            found = [Path(m) for m in matches if not _inside(Path(m), skip)]
            sub = collect_inputs(found, max_manifest_bytes=max_manifest_bytes, exclude=exclude)
            calls.extend(sub.calls)
            ignored += sub.ignored_files
        else:
            calls.append(CallInput(path, problem=_file_problem(path)))
    return InputSet(calls=tuple(_unique_paths(calls)), ignored_files=ignored)


def _walk(root: Path, skip: Sequence[Path] = ()) -> tuple[list[Path], int, list[tuple[Path, str]]]:
    """Audio files below ``root`` (sorted), the number of other files (os.scandir: fast), and
    the folders that could not be read, each with why (a folder of calls left unread must not
    pass for an empty one)."""
    found: list[Path] = []
    ignored = 0
    unread: list[tuple[Path, str]] = []

    def refused(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        unread.append((where, f"cannot read folder {where}: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=refused):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not _inside(here / d, skip)]
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                found.append(Path(dirpath, name))
            else:
                ignored += 1
    return sorted(found), ignored, unread


def _inside(path: Path, folders: Sequence[Path]) -> bool:
    """True when ``path`` is one of ``folders`` (resolved) or below one."""
    if not folders:
        return False
    where = resolved(path)
    return any(where == f or f in where.parents for f in folders)


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
    """Each file once, where it was first named, with the details a manifest gives it: a folder
    named before the manifest that lists its files had dropped every manifest column.

    Raises
    ------
    BatchUsageError
        Two manifest rows give one file different details (which call id or agent is it?).
    """
    kept: dict[Path, CallInput] = {}
    for call in calls:
        key = resolved(call.path)
        first = kept.setdefault(key, call)
        if first is call or call == first or not _details(call):
            continue
        if _details(first):
            raise BatchUsageError(
                f"{display_path(call.path)} is listed twice with different details (call_id, "
                "agent_id, team, ...); list each file once"
            )
        kept[key] = call
    yield from kept.values()


def _details(call: CallInput) -> bool:
    """True when a manifest gave ``call`` anything beyond its path."""
    return any(
        (call.call_id, call.agent_id, call.team, call.language, call.agent_channel,
         call.call_date, call.metadata)
    )  # fmt: skip


def resolved(path: Path) -> Path:
    """``path`` with symlinks resolved; as given when it cannot be (missing, a symlink loop)."""
    try:
        return path.resolve() if path.exists() else path
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return path


def read_manifest(
    path: Path, *, max_bytes: int | None = None, row_problems: bool = False
) -> list[CallInput]:
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
    row_problems : bool
        A row with a bad cell (a malformed date) becomes a call with a ``problem`` instead of
        an error for the whole file (``callqa nightly``: one bad row must not hold back the
        night's other calls); a row without a path is then left out.

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
        return _manifest_rows(path, text, row_problems)
    except csv.Error as exc:
        raise BatchUsageError(f"manifest {path} is not a CSV file ({exc})") from exc


def _manifest_rows(path: Path, text: str, row_problems: bool = False) -> list[CallInput]:
    reader = csv.DictReader(io.StringIO(text), delimiter=csv_delimiter(text))
    fields = [f.strip() for f in reader.fieldnames or ()]
    if "path" not in fields:
        raise BatchUsageError(
            f"manifest {path} has no 'path' column (columns: {', '.join(fields) or 'none'}); "
            "the first row must be a header such as: path,call_id,agent_id,team"
        )
    calls = []
    for n, row in enumerate(reader, start=2):
        try:
            calls.append(_manifest_row(path, n, row))
        except BatchUsageError as exc:
            audio = _row_path(path, row)
            if not row_problems:
                raise
            if audio is not None:
                calls.append(CallInput(audio, problem=str(exc)))
    ids = Counter(c.call_id for c in calls if c.call_id)
    dupes = sorted(i for i, n in ids.items() if n > 1)
    if dupes:
        raise BatchUsageError(f"manifest {path}: call_id used twice: {', '.join(dupes[:5])}")
    return calls


def _manifest_row(manifest: Path, line: int, row: Mapping[str | None, Any]) -> CallInput:
    values = _cells(row)
    audio = _row_path(manifest, row)
    if audio is None:
        raise BatchUsageError(f"manifest {manifest} line {line}: empty path")
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


def _cells(row: Mapping[str | None, Any]) -> dict[str, str]:
    return {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}


def _row_path(manifest: Path, row: Mapping[str | None, Any]) -> Path | None:
    """The row's file (relative to the manifest's folder unless absolute); None when empty."""
    given = _cells(row).get("path")
    if not given:
        return None
    audio = Path(given)
    return audio if audio.is_absolute() else manifest.parent / audio


def _is_iso_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True
