"""Files: atomic writes (a reader sees the old file or the new one, never half of one),
content hashes, and capped reads of small input files."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same directory, fsync, then rename.

    Parameters
    ----------
    path : Path or str
        Destination; its directory must exist and be writable.
    data : bytes
        The complete new content.

    Returns
    -------
    Path
        ``path``.

    The file gets the mode a plain ``open()`` would give it (0644 under the usual umask 022),
    or keeps the mode of the file it replaces; the temp file's private 0600 never remains.
    """
    path = Path(path)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _mode_for(path: Path) -> int:
    """The mode of the file ``path`` replaces, else 0o666 less the process's umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temp file beside ``path`` for a writer that needs a file name (a streaming encoder).

    When the block ends without error the temp file is fsynced, given the mode
    :func:`atomic_write_bytes` gives, and renamed onto ``path``; otherwise it is removed.
    """
    path = Path(path)
    mode = _mode_for(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask (read by setting and restoring it, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`).

    A lone surrogate (from a file name that is not UTF-8, or a ``\\ud800`` JSON escape that
    slipped through) is written as its ``\\udXXX`` escape instead of failing the write.
    """
    return atomic_write_bytes(path, text.encode("utf-8", "backslashreplace"))


def sha256_file(path: Path | str, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in ``chunk``-byte blocks (about 1.5 GB/s).

    Raises
    ------
    OSError
        The file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class UnsafeFileError(ValueError):
    """A file that must not be read whole: larger than its cap, or not a regular file (a FIFO,
    a device such as /dev/zero, a directory)."""


def read_capped(path: Path | str, max_bytes: int) -> bytes:
    """The bytes of a small input file (config, rubric, phrase pack, manifest, transcript).

    Opened without blocking (a FIFO does not hang the caller), checked to be a regular file
    and at most ``max_bytes`` long before anything is read, and read with the cap again (a
    file that grows meanwhile is refused too): memory stays bounded whatever the path names.

    Raises
    ------
    UnsafeFileError
        Not a regular file, or larger than ``max_bytes``; the message names the path.
    OSError
        The file cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UnsafeFileError(f"{path} is {kind}")
        if info.st_size > max_bytes:
            raise UnsafeFileError(_too_large(path, info.st_size, max_bytes))
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UnsafeFileError(_too_large(path, len(data), max_bytes))
    return data


def _too_large(path: Path | str, size: int, cap: int) -> str:
    return f"{path} is {size:,} bytes, more than the {cap:,} bytes allowed"


CSV_DELIMITERS = (",", ";", "\t")  # ";" is what Excel writes where "," is the decimal comma


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV file's header line: "," unless the header holds none and holds a
    ";" (Excel's "CSV" in Norwegian, Finnish, Italian and Slovenian settings) or a tab."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    if "," in header:
        return ","
    return max(CSV_DELIMITERS, key=header.count) if any(d in header for d in ";\t") else ","


# A 245-s call's scorecard holds 1,228 objects and arrays and 6,503 commas: a 2-hour one some
# 36,000 and 190,000. These bounds are 50 times that (~150 MB of empty objects at most).
MAX_JSON_CONTAINERS = 2_000_000
MAX_JSON_ITEMS = 8_000_000
MAX_INT_DIGITS = 20  # no count, time or score in our files needs more


def load_json(data: bytes | str) -> object:
    """``json.loads`` with bounded memory and no values that later arithmetic chokes on.

    Counts the brackets and commas first (C speed), so 200 MB of ``[{},{},...]`` is refused
    before it is built (it had taken 5.4 GB); refuses NaN and Infinity (which JSON does not
    have; a NaN duration had crashed the report) and integers of more than 20 digits (a
    400-digit time had overflowed every float it met).

    Raises
    ------
    ValueError
        Not JSON, nested too deeply, or outside the bounds above: one line, for the caller to
        wrap in its own error.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    containers, items = raw.count(b"{") + raw.count(b"["), raw.count(b",")
    if containers > MAX_JSON_CONTAINERS or items > MAX_JSON_ITEMS:
        raise ValueError(f"{containers:,} objects and arrays, {items:,} items: not a call's")

    def constant(name: str) -> object:
        raise ValueError(f"{name} is not a JSON number")

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {len(text)} digits")
        return int(text)

    try:
        return json.loads(raw, parse_constant=constant, parse_int=integer)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
