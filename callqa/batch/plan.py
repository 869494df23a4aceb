"""The plan: ids, audio hashes and scoring keys of the inputs; duplicates and already-scored
calls are skipped."""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from callqa.batch import store
from callqa.batch.engines import Status, one_line
from callqa.batch.inputs import BatchUsageError, CallInput
from callqa.batch.keys import scoring_key
from callqa.batch.options import BatchOptions
from callqa.config import Config, RedactionConfig, replace_config
from callqa.errors import CallQAError
from callqa.files import UnsafeFileError, load_json, read_capped, sha256_file
from callqa.privacy.identifiers import display_path, redact_identifier, redact_path, traceable_id

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
    shown: CallInput | None = None  # what the outputs say about the input (identifiers redacted)
    size: int = 0  # bytes, from hash_inputs (0 for an input it could not read)
    # the entry with the same audio and settings, scored instead, and the other way round (not
    # in repr or ==: they point at each other)
    same_as: Entry | None = field(default=None, repr=False, compare=False)
    copies: list[Entry] = field(default_factory=list, repr=False, compare=False)

    @property
    def public(self) -> CallInput:
        """The input as outputs show it: :attr:`shown`, or the input itself before planning."""
        return self.shown or self.call


def assign_ids(entries: Sequence[Entry], redaction: RedactionConfig) -> None:
    """Give every entry its final call id and the redacted form of its input (:attr:`shown`).

    Call after :func:`hash_inputs`: a redacted id carries the recording's sha256 (see
    :func:`callqa.privacy.identifiers.traceable_id`).
    """
    ids = call_ids([e.call for e in entries], [e.sha256 for e in entries], redaction)
    for e, call_id in zip(entries, ids, strict=True):
        e.call_id = call_id
        e.shown = shown_input(e.call, redaction)


EARLIER_CARD_BYTES = 64 << 20  # an earlier scorecard in calls/ read for its sha256


def avoid_earlier_ids(
    entries: Sequence[Entry], calls_dir: Path | None, store_path: Path | None, timeout_s: float
) -> None:
    """Rename a call whose id an earlier run gave to other audio: ``<id>-<8 hex digits of its
    sha256>``.

    Ids are unique within a run (:func:`call_ids`), but a contact centre reuses file names
    (``call001.ogg`` every day): the second night's ``calls/call001.json`` had replaced the
    first night's, and the store held two ``call001`` rows pointing at one file. An id is taken
    when the store holds it for another recording, or ``calls/<id>.json`` is another
    recording's scorecard (one that cannot be read counts as taken: it is never overwritten).
    The same recording keeps its id (``--force`` rewrites its own scorecard).
    """
    named = [e for e in entries if e.sha256 and e.status is None]
    held = store.recordings_of(store_path, {e.call_id for e in named}, timeout_s=timeout_s)
    taken = {e.call_id for e in named}
    for e in named:
        assert e.sha256 is not None
        others = held.get(e.call_id, set()) - {e.sha256}
        if others or _other_card(calls_dir, e.call_id, e.sha256):
            new = f"{e.call_id}-{e.sha256[:8]}"
            e.call_id = new if new not in taken else f"{new}-{e.index}"
            taken.add(e.call_id)


def _other_card(calls_dir: Path | None, call_id: str, sha256: str) -> bool:
    """True when ``calls_dir/<call_id>.json`` exists and is not ``sha256``'s scorecard."""
    if calls_dir is None:
        return False
    path = calls_dir / f"{call_id}.json"
    try:
        if not path.is_file():
            return path.exists()
        card = load_json(read_capped(path, EARLIER_CARD_BYTES))
        return not (isinstance(card, dict) and (card.get("source") or {}).get("sha256") == sha256)
    except (OSError, ValueError, UnsafeFileError, AttributeError):
        return True


def shown_input(call: CallInput, redaction: RedactionConfig) -> CallInput:
    """``call`` with its path, agent, team and manifest values through the detector."""

    def text(value: str | None) -> str | None:
        return None if value is None else redact_identifier(value, redaction)

    return replace(
        call,
        path=Path(redact_path(call.path, redaction)),
        call_id=text(call.call_id),
        agent_id=text(call.agent_id),
        team=text(call.team),
        metadata=tuple((text(k) or "", text(v) or "") for k, v in call.metadata),
        problem=text(call.problem),
    )


def call_ids(
    calls: Sequence[CallInput],
    sha256s: Sequence[str | None] | None = None,
    redaction: RedactionConfig | None = None,
) -> list[str]:
    """Manifest ids, else the file stem; redacted, made file-name safe, then made unique.

    Uniqueness is checked on the final, safe ids: two manifest ids that only become equal
    when made safe ("x/y" and "x_y") are a usage error; a stem used twice gets 8 hex digits of
    its audio's sha256 (of its redacted path's sha1 when it cannot be read), and any id still
    repeated a counter ("-2", "-3").

    Raises
    ------
    BatchUsageError
        Two manifest ids become the same file name.
    """
    hashes = list(sha256s) if sha256s is not None else [None] * len(calls)
    red = redaction or RedactionConfig(enabled=False)
    ids = [
        safe_call_id(traceable_id(c.call_id or c.path.stem, sha, red))
        for c, sha in zip(calls, hashes, strict=True)
    ]
    _no_manifest_clash(calls, ids)
    counts = Counter(ids)
    out = []
    for call, sha, call_id in zip(calls, hashes, ids, strict=True):
        if not call.call_id and counts[call_id] > 1:
            # unreadable (no sha256): the redacted path's, so no digest leads back to a name
            shown = redact_path(call.path, red)
            digest = sha or hashlib.sha1(shown.encode()).hexdigest()
            call_id = f"{call_id}-{digest[:8]}"
        out.append(call_id)
    return _numbered(out)


def _no_manifest_clash(calls: Sequence[CallInput], ids: Sequence[str]) -> None:
    given = Counter(i for c, i in zip(calls, ids, strict=True) if c.call_id)
    for call_id, n in given.items():
        if n > 1:
            raw = [display_path(c.call_id or "") for c, i in zip(calls, ids, strict=True)]
            named = sorted({r for r, i in zip(raw, ids, strict=True) if i == call_id})
            raise BatchUsageError(
                f"manifest call_ids {', '.join(repr(r) for r in named[:5])} all become the file "
                f'name {call_id!r}; give ids that differ in more than / \\ : * ? " < > | and '
                "control characters"
            )


def _numbered(ids: Sequence[str]) -> list[str]:
    seen: Counter[str] = Counter()
    taken = set(ids)
    out = []
    for call_id in ids:
        seen[call_id] += 1
        if seen[call_id] > 1:
            n = seen[call_id]
            while f"{call_id}-{n}" in taken:
                n += 1
            taken.add(f"{call_id}-{n}")
            call_id = f"{call_id}-{n}"
        out.append(call_id)
    return out


MAX_ID_BYTES = 150  # a call id in UTF-8; file names allow 255 bytes, minus ".redacted.flac"


def safe_call_id(text: str) -> str:
    """A call id usable as a file name: printable, no path separators, NUL or leading dots,
    at most :data:`MAX_ID_BYTES` bytes (a longer id keeps its start and 8 hex digits of the
    sha1 of the whole)."""
    text = display_path(text)
    cleaned = "".join("_" if _unsafe(ch) else ch for ch in text).strip()
    cleaned = cleaned.lstrip(".") or "call"
    if len(cleaned.encode("utf-8")) <= MAX_ID_BYTES:
        return cleaned
    digest = hashlib.sha1(cleaned.encode("utf-8")).hexdigest()[:8]
    head = cleaned.encode("utf-8")[: MAX_ID_BYTES - 9].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def _unsafe(ch: str) -> bool:
    """A path separator, a character Windows refuses, a control character, or an invisible
    format character: U+202E (right-to-left override) before "gnp.exe.json" had made the file
    read "nosj.exe.png" in a listing."""
    return ch in '/\\\0:*?"<>|' or ord(ch) < 32 or unicodedata.category(ch) in ("Cc", "Cf")


def _call_config(config: Config, call: CallInput) -> Config:
    return replace_config(
        config, call__language=call.language, call__agent_channel=call.agent_channel
    )


def file_key(st: os.stat_result) -> str:
    """What the hash cache knows a file by: device and inode ("2049:1234567"), not its path,
    which may hold personal data (a renamed file keeps its entry, and its size and mtime)."""
    return f"{st.st_dev}:{st.st_ino}"


def hash_inputs(entries: Sequence[Entry], store_path: Path | None, timeout_s: float) -> None:
    """Fill ``sha256`` of every readable input (cached by device and inode, size and mtime in
    the store)."""
    stats: dict[str, tuple[int, int]] = {}
    keys: dict[int, str] = {}
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
            stats[file_key(st)] = (st.st_size, st.st_mtime_ns)
            keys[e.index] = file_key(st)
            e.size = st.st_size
    cached: dict[str, str] = {}
    if store_path is not None:
        files = [(p, s, m) for p, (s, m) in stats.items()]
        cached = store.cached_hashes(store_path, files, timeout_s=timeout_s)
    fresh = []
    for e in entries:
        if e.status is not None:
            continue
        key = keys[e.index]
        try:
            e.sha256 = cached.get(key) or sha256_file(e.call.path)
        except OSError as exc:
            e.status, e.reason = "failed", f"cannot read {e.call.path}: {exc.strerror or exc}"
            continue
        if key not in cached:
            fresh.append((key, *stats[key], e.sha256))
    if store_path is not None:
        store.remember_hashes(store_path, fresh, timeout_s=timeout_s)


def largest_first(entries: Sequence[Entry]) -> list[Entry]:
    """``entries`` in the order to start them: the largest files first (ties in input order).

    The longest calls start first so that none of them starts last and holds the whole batch
    while the other workers sit idle (longest-processing-time-first scheduling). The file
    size (``Entry.size``, read by :func:`hash_inputs`) stands for the length: no file is parsed
    here (a folder of one format, as contact centres export, sorts by length).
    """
    return sorted(entries, key=lambda e: -e.size)


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
            e.same_as = first  # its outcome is the first one's: decided when that one is
            first.copies.append(e)
    done: set[tuple[str, str]] = set()
    if store_path is not None and not options.force:
        done = store.scored_keys(store_path, first_by_key, timeout_s=options.store_timeout_s)
    for k in done:
        first_by_key[k].status, first_by_key[k].reason = "skipped", "already scored"
    for e in entries:
        if e.same_as is not None and e.same_as.status is not None:
            follow(e)
    return [e for e in first_by_key.values() if e.status is None]


def follow(e: Entry) -> None:
    """Give ``e``, a second file with the audio of ``e.same_as``, that entry's outcome: skipped
    when it was scored or skipped, failed with its reason when it failed (two copies of a broken
    file are two failed rows, not one failure and a skip)."""
    first = e.same_as
    assert first is not None and first.status is not None
    said = f"same audio as {first.call_id} ({first.public.path})"
    if first.status == "failed":
        e.status, e.reason = "failed", f"{said}, which failed: {first.reason}"
    else:
        e.status, e.reason = "skipped", said


def copies_of(first: Entry) -> list[Entry]:
    """The entries waiting on ``first``'s outcome (:func:`follow`), from its own list: a scan
    of every entry per finished call had made a batch of n calls cost n² steps."""
    return [e for e in first.copies if e.status is None]
