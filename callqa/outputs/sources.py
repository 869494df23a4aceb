"""Which audio the report of a scorecard file may carry.

A scorecard is a file people pass around, so the paths inside it are not trusted: the audio a
report embeds is either the file the user named (``--audio``) or a file that sits next to the
scorecard and is what the scorecard says it is (the recording by its sha256, the redacted copy
by its name and type). And the report never carries the original recording where the
scorecard lists personal data:

- a scorecard that references a redacted copy (``redaction.audio_path``, written by
  ``callqa score --redact-audio``) plays that copy when no audio is given;
- otherwise the scorecard's recorded span times (``redaction.spans``) are silenced in a copy
  of the audio; a scorecard that records no redaction gets the original, with a warning.

Nor is the text of a scorecard trusted to be redacted: it may have been written with redaction
off, by another version or edited by hand. With redaction on, it is searched again before the
page is rendered (:func:`redact_read_card`), and what is found is redacted in the text and
silenced in the audio, as in a scored call.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from callqa.audio.load import SUPPORTED_EXTENSIONS
from callqa.config import RedactionConfig
from callqa.files import sha256_file
from callqa.outputs.media import REDACTED_SUFFIX
from callqa.outputs.report import write_call_report
from callqa.privacy.audio import recorded_spans, redact_card_audio
from callqa.privacy.detect import find_pii
from callqa.privacy.identifiers import redact_card_identifiers
from callqa.privacy.redact import redact_scorecard
from callqa.scoring.final import HumanVerdict
from callqa.scoring.scorecard import Scorecard, read_json

Warn = Callable[[str], None]


def report_from_scorecard(
    source: Path,
    out: Path,
    *,
    audio: Path | None = None,
    link_audio: bool = False,
    redaction: RedactionConfig | None = None,
    warn: Warn | None = None,
    human: Mapping[str, HumanVerdict] | None = None,
    auto_fail_cap: float = 0.0,
) -> Path:
    """Write the report of a scorecard JSON file.

    Parameters
    ----------
    source : Path
        A scorecard ``.json`` file.
    out : Path
        The HTML file to write.
    audio : Path or None
        The call's audio, as the user named it. By default the redacted copy the scorecard
        references, else its recording, when either lies next to the JSON file.
    link_audio : bool
        Reference the audio file instead of embedding it; a redacted copy is then written
        beside ``out`` as ``<out stem>.redacted.flac``.
    redaction : RedactionConfig, optional
        Padding and tone of a redacted copy made here.
    warn : callable taking str, optional
        Receives one-line warnings (default: :func:`warnings.warn`).
    human, auto_fail_cap
        Reviewers' verdicts to show beside callqa's
        (:func:`callqa.outputs.report.render_call_report`).

    Raises
    ------
    CallQAError
        Unreadable scorecard, audio that cannot be read, decoded, redacted or re-encoded.
    """
    source, out = Path(source), Path(out)
    red = redaction or RedactionConfig()
    card = redact_read_card(read_json(source), red)
    with tempfile.TemporaryDirectory(prefix="callqa-report-") as tmp:
        folder = out.parent if link_audio else Path(tmp)
        copy_path = folder / f"{out.stem}{REDACTED_SUFFIX}"
        chosen = scorecard_audio(card, source.parent, audio, copy_path, red, warn or _warn)
        return write_call_report(
            redact_card_identifiers(card, red),  # after the recording was found by name
            out,
            audio_path=chosen,
            link_audio=link_audio,
            human=human,
            auto_fail_cap=auto_fail_cap,
        )


def redact_read_card(card: Scorecard, config: RedactionConfig) -> Scorecard:
    """A scorecard read from a file, with the personal data found in its transcript now
    redacted (segment text, words, evidence, details, warnings), as a scored call's is.

    Its :class:`~callqa.types.RedactionSummary` then lists the spans found, after any it
    recorded, so the report silences them in the audio too. A redacted copy it references is
    dropped when something new is found: the copy was made without those spans, so the
    report silences every span in the recording instead (or carries no audio when the
    recording is not there). A scorecard written with redaction on is found to hold nothing
    and comes back as it was; with redaction off (``config.enabled`` False), ``card``.
    """
    if not config.enabled:
        return card
    spans = find_pii(card.transcript, config)
    if not spans:
        return card
    recorded = card.redaction if card.redaction is not None and card.redaction.enabled else None
    found = redact_scorecard(card, spans, config)
    if recorded is None or found.redaction is None:
        return found
    counts = dict(recorded.counts)
    for kind, n in found.redaction.counts.items():
        counts[kind] = counts.get(kind, 0) + n
    times = sorted((*recorded.spans, *found.redaction.spans), key=lambda t: (t.start, t.end))
    summary = replace(recorded, counts=counts, spans=tuple(times), audio_path=None)
    return replace(found, redaction=summary)


def scorecard_audio(
    card: Scorecard,
    folder: Path,
    audio: Path | None,
    copy_path: Path,
    redaction: RedactionConfig,
    warn: Warn,
) -> Path | None:
    """The audio a scorecard's report carries (see the module docstring)."""
    copy = redacted_copy_beside(card, folder)
    if audio is None and copy is not None:
        return copy
    audio = audio if audio is not None else recording_beside(card, folder)
    if audio is None or (copy is not None and audio.resolve() == copy.resolve()):
        return audio
    if recorded_spans(card) is None:
        warn(
            f"the report carries the original, unredacted audio {audio}: the scorecard "
            "references no redacted copy and records no redaction"
        )
        return audio
    _check_same_recording(card, audio, warn)
    return redact_card_audio(
        card, audio, copy_path, pad_s=redaction.audio_pad_s, tone_hz=redaction.tone_hz
    )


def recording_beside(card: Scorecard, folder: Path) -> Path | None:
    """The scorecard's recording, when a file of that name lies in ``folder`` and its sha256
    is the one the scorecard records (None otherwise, and for scorecards of transcripts)."""
    if card.model.backend == "transcript-file" or card.channels == 0:
        return None
    found = _file_in(folder, card.source.path, SUPPORTED_EXTENSIONS)
    if found is None or not card.source.sha256:
        return None
    try:
        return found if sha256_file(found) == card.source.sha256 else None
    except OSError:
        return None


def redacted_copy_beside(card: Scorecard, folder: Path) -> Path | None:
    """The redacted copy the scorecard references (``redaction.audio_path``), when a FLAC or
    WAV file of that name lies in ``folder``."""
    name = card.redaction.audio_path if card.redaction is not None else None
    return _file_in(folder, name, (".flac", ".wav"))


def _file_in(folder: Path, name: str | None, suffixes: tuple[str, ...]) -> Path | None:
    """``folder / basename(name)`` when it is a regular file with one of ``suffixes`` that
    resolves inside ``folder`` (no other path from a scorecard is ever opened)."""
    if not name:
        return None
    base = Path(name.replace("\\", "/")).name
    if not base or Path(base).suffix.lower() not in suffixes:
        return None
    candidate = folder / base
    try:
        inside = candidate.resolve().parent == folder.resolve()
    except (OSError, RuntimeError):
        return None
    return candidate if inside and candidate.is_file() else None


def _check_same_recording(card: Scorecard, audio: Path, warn: Warn) -> None:
    """Warn when ``audio`` is not the file the scorecard was made from (spans may not line up)."""
    expected = card.source.sha256
    if expected and sha256_file(audio) != expected:
        warn(
            f"{audio} is not the file this scorecard was made from (sha256 differs): the "
            "silenced spans line up only if it is the same recording in another format"
        )


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=4)
