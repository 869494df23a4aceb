"""The plan: ids, audio hashes and scoring keys of the inputs; duplicates and already-scored
calls are skipped."""

from __future__ import annotations

import hashlib
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callqa.batch import store
from callqa.batch.engines import Status, one_line
from callqa.batch.inputs import CallInput
from callqa.batch.keys import scoring_key
from callqa.batch.options import BatchOptions
from callqa.config import Config, replace_config
from callqa.errors import CallQAError
from callqa.files import sha256_file

# -- the plan -----


@dataclass
class Entry:
    """One input's progress through the batch (mutable bookkeeping of the parent process)."""

    index: int
    call: CallInput
    call_id: str
    status: Status | None = None
    reason: str = ""
    sha256: str | None = None
    key: str | None = None
    card: dict[str, Any] | None = None
    config: Config | None = None
    scorecard_path: str | None = None


def call_ids(calls: Sequence[CallInput]) -> list[str]:
    """Manifest ids, else the file stem; a stem used by two files gets a path-hash suffix."""
    stems = [safe_call_id(c.call_id or c.path.stem) for c in calls]
    counts = Counter(s for c, s in zip(calls, stems, strict=True) if not c.call_id)
    ids = []
    for call, stem in zip(calls, stems, strict=True):
        if not call.call_id and counts[stem] > 1:
            stem = f"{stem}-{hashlib.sha1(str(call.path).encode()).hexdigest()[:8]}"
        ids.append(stem)
    return ids


def safe_call_id(text: str) -> str:
    """A call id usable as a file name: no path separators, NUL or leading dots."""
    cleaned = "".join("_" if ch in '/\\\0:*?"<>|' or ord(ch) < 32 else ch for ch in text).strip()
    return cleaned.lstrip(".") or "call"


def _call_config(config: Config, call: CallInput) -> Config:
    return replace_config(
        config, call__language=call.language, call__agent_channel=call.agent_channel
    )


def hash_inputs(entries: Sequence[Entry], store_path: Path | None, timeout_s: float) -> None:
    """Fill ``sha256`` of every readable input (cached by path, size and mtime in the store)."""
    stats: dict[str, tuple[int, int]] = {}
    for e in entries:
        if e.status is None:
            try:
                st = e.call.path.stat()
            except OSError as exc:
                e.status, e.reason = "failed", f"cannot read {e.call.path}: {exc.strerror}"
                continue
            if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
                e.status, e.reason = "failed", f"not a regular file: {e.call.path}"
                continue
            stats[str(e.call.path.resolve())] = (st.st_size, st.st_mtime_ns)
    cached: dict[str, str] = {}
    if store_path is not None:
        files = [(p, s, m) for p, (s, m) in stats.items()]
        cached = store.cached_hashes(store_path, files, timeout_s=timeout_s)
    fresh = []
    for e in entries:
        if e.status is not None:
            continue
        resolved = str(e.call.path.resolve())
        try:
            e.sha256 = cached.get(resolved) or sha256_file(e.call.path)
        except OSError as exc:
            e.status, e.reason = "failed", f"cannot read {e.call.path}: {exc.strerror or exc}"
            continue
        if resolved not in cached:
            fresh.append((resolved, *stats[resolved], e.sha256))
    if store_path is not None:
        store.remember_hashes(store_path, fresh, timeout_s=timeout_s)


def plan(
    entries: Sequence[Entry],
    config: Config,
    model_id: str,
    store_path: Path | None,
    options: BatchOptions,
) -> list[Entry]:
    """Key each call, mark duplicates and already-scored calls; return the calls to score."""
    first_by_key: dict[tuple[str, str], Entry] = {}
    for e in entries:
        if e.status is not None or e.sha256 is None:
            continue
        try:
            e.config = _call_config(config, e.call)
        except CallQAError as exc:
            e.status, e.reason = "failed", one_line(str(exc))
            continue
        e.key = scoring_key(e.config, model_id=model_id)
        first = first_by_key.setdefault((e.sha256, e.key), e)
        if first is not e:
            e.status, e.reason = "skipped", f"same audio as {first.call_id} ({first.call.path})"
    done: set[tuple[str, str]] = set()
    if store_path is not None and not options.force:
        done = store.scored_keys(store_path, first_by_key, timeout_s=options.store_timeout_s)
    for k in done:
        first_by_key[k].status, first_by_key[k].reason = "skipped", "already scored"
    return [e for e in first_by_key.values() if e.status is None]
