"""Apply redaction: placeholders in the transcript, the scorecard (evidence, details) and free
text; the scorecard's :class:`~callqa.types.RedactionSummary`."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from callqa.config import (
    RedactionConfig,
)
from callqa.privacy.detect import find_pii
from callqa.privacy.spans import PiiPiece, PiiSpan
from callqa.privacy.streams import basis
from callqa.privacy.surfaces import Run, Surface, SurfaceIndex
from callqa.scoring.scorecard import Scorecard
from callqa.types import (
    Evidence,
    RedactionSummary,
    SpanTime,
    Transcript,
    Utterance,
    Word,
)
from callqa.words.tokens import iter_tokens, tokenize

T = TypeVar("T", bound="_Timed")


def redact_transcript(transcript: Transcript, spans: Sequence[PiiSpan]) -> Transcript:
    """The transcript with every span replaced by its placeholder in segment text and words.

    The words of a span become one word (the placeholder) from the first word's start to the
    last word's end, so timing survives.
    """
    by_segment: dict[int, list[tuple[PiiPiece, str]]] = {}
    for span in spans:
        for piece in span.pieces:
            by_segment.setdefault(piece.segment, []).append((piece, span.placeholder))
    segments = list(transcript.segments)
    for i, pieces in by_segment.items():
        segments[i] = _redact_segment(segments[i], pieces)
    return dataclasses.replace(transcript, segments=tuple(segments))


def _redact_segment(seg: Utterance, pieces: Sequence[tuple[PiiPiece, str]]) -> Utterance:
    pieces = _disjoint(pieces)
    text = basis(seg).text
    parts: list[str] = []
    at = 0
    for piece, placeholder in pieces:  # in text order, disjoint: one pass over the text
        parts += [text[at : piece.char_start], placeholder]
        at = piece.char_end
    parts.append(text[at:])
    return dataclasses.replace(seg, text="".join(parts), words=_redact_words(seg.words, pieces))


def _disjoint(pieces: Sequence[tuple[PiiPiece, str]]) -> list[tuple[PiiPiece, str]]:
    """Overlapping pieces of one segment joined (the first one's placeholder wins)."""
    out: list[tuple[PiiPiece, str]] = []
    for piece, placeholder in sorted(pieces, key=lambda p: p[0].char_start):
        if out and piece.char_start < out[-1][0].char_end:
            last, first_placeholder = out[-1]
            out[-1] = (_union(last, piece), first_placeholder)
        else:
            out.append((piece, placeholder))
    return out


def _union(a: PiiPiece, b: PiiPiece) -> PiiPiece:
    words = a.word_start is not None and b.word_start is not None
    return PiiPiece(
        a.segment,
        min(a.char_start, b.char_start),
        max(a.char_end, b.char_end),
        min(a.word_start, b.word_start) if words else None,  # type: ignore[type-var]
        max(a.word_end, b.word_end) if words else None,  # type: ignore[type-var]
    )


def _redact_words(
    words: Sequence[Word], pieces: Sequence[tuple[PiiPiece, str]]
) -> tuple[Word, ...]:
    replace_at: dict[int, tuple[int, str]] = {}
    for piece, placeholder in pieces:
        if piece.word_start is not None and piece.word_end is not None:
            replace_at[piece.word_start] = (piece.word_end, placeholder)
    out: list[Word] = []
    k = 0
    while k < len(words):
        if k in replace_at:
            end, placeholder = replace_at[k]
            covered = words[k:end]
            prob = min(w.probability for w in covered)
            out.append(Word(placeholder, covered[0].start, covered[-1].end, words[k].speaker, prob))
            k = end
        else:
            out.append(words[k])
            k += 1
    return tuple(out)


def redact_text(text: str, language: str = "en", config: RedactionConfig | None = None) -> str:
    """Free text with its personal data replaced by placeholders ("[CARD]", "[EMAIL]", ...).

    Parameters
    ----------
    text : str
        Any text (a quote, a note).
    language : str
        ISO 639-1 code for the number words ("no" means "nb").
    config : RedactionConfig, optional
        Which types; defaults to :class:`RedactionConfig` ().

    Returns
    -------
    str
        The text, unchanged when nothing was found or redaction is disabled.
    """
    if not text.strip():
        return text
    transcript = Transcript(language, (Utterance("unknown", 0.0, 0.0, text),))
    spans = find_pii(transcript, config)
    return redact_transcript(transcript, spans).segments[0].text if spans else text


def _surfaces(transcript: Transcript, spans: Sequence[PiiSpan]) -> list[Surface]:
    bases: dict[int, str] = {}
    out = []
    for span in spans:
        for piece in span.pieces:
            seg = transcript.segments[piece.segment]
            if piece.segment not in bases:
                bases[piece.segment] = basis(seg).text
            text = bases[piece.segment][piece.char_start : piece.char_end].strip()
            if text:
                tokens = tuple(t.text for t in tokenize(text))
                out.append(
                    Surface(span.placeholder, text, tokens, seg.speaker, span.start, span.end)
                )
    return out


def _replace_surfaces(text: str, index: SurfaceIndex, *, near: bool) -> str:
    """Replace each surface, and fragments of it (a quote that starts or ends mid-number).

    ``near``: the text was said by the surface's speaker at its time (an evidence quote), so
    a fragment may be a single token at the quote's edge; elsewhere a fragment needs two
    tokens with a digit, or three tokens. Overlapping runs are joined (the longer one's
    placeholder), so no token of a run is left in clear. One pass over the text.
    """
    if not index.surfaces:
        return text
    parts: list[str] = []
    at = 0
    region: list[Any] | None = None  # [char_start, char_end, longest run, placeholder]
    for run in index.runs(iter_tokens(text)):  # in text order, starts never decrease
        if not (run.whole or _fragment_ok(run, near=near)):
            continue
        if region is not None and run.char_start < region[1]:
            region[1] = max(region[1], run.char_end)
            if len(run.tokens) > region[2]:
                region[2:] = [len(run.tokens), run.surface.placeholder]
            continue
        if region is not None:
            parts += [text[at : region[0]], region[3]]
            at = region[1]
        region = [run.char_start, run.char_end, len(run.tokens), run.surface.placeholder]
    if region is not None:
        parts += [text[at : region[0]], region[3]]
        at = region[1]
    parts.append(text[at:])
    return "".join(parts)


def _fragment_ok(run: Run, *, near: bool) -> bool:
    words = [t for t in run.tokens if t.isalnum()]
    if not words:
        return False
    has_digit = any(c.isdigit() for w in words for c in w)
    if near:
        return len(words) >= 2 or has_digit or run.start == 0 or run.last
    return len(words) >= 3 or (len(words) >= 2 and has_digit)


class _Timed(Protocol):
    @property
    def speaker(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


class _ByTime(Generic[T]):
    """Items of each speaker, looked up by time (1 s tolerance) in O(log n + found)."""

    def __init__(self, items: Sequence[T]) -> None:
        self._by_speaker: dict[str, list[T]] = {}
        for item in sorted(items, key=lambda i: i.start):
            self._by_speaker.setdefault(item.speaker, []).append(item)
        self._starts = {k: [i.start for i in v] for k, v in self._by_speaker.items()}
        self._longest = max((i.end - i.start for i in items), default=0.0)

    def around(self, speaker: str, start: float, end: float) -> list[T]:
        """The items of ``speaker`` within 1 s of ``[start, end]``, in time order."""
        items = self._by_speaker.get(speaker, [])
        starts = self._starts.get(speaker, [])
        lo = bisect.bisect_left(starts, start - 1.0 - self._longest)
        hi = bisect.bisect_right(starts, end + 1.0)
        return [i for i in items[lo:hi] if start - 1.0 <= i.end]


class _Scrubber:
    """Scrubs the strings of one scorecard: the spans' surfaces (and fragments), then the text
    detector. Automata over the surfaces near a quote and detector results are cached, so a
    sentence quoted by several checks costs once; a quote that, once its surfaces are
    replaced, is part of its speaker's redacted segment text needs no detector pass (it says
    nothing the redacted transcript does not)."""

    def __init__(
        self,
        surfaces: Sequence[Surface],
        redacted: Transcript,
        config: RedactionConfig,
        language: str,
    ) -> None:
        self.config, self.language = config, language
        self.everywhere = SurfaceIndex(surfaces)
        self._surfaces = _ByTime(surfaces)
        self._segments = _ByTime(redacted.segments)
        self._near: dict[tuple[int, ...], SurfaceIndex] = {}
        self._detected: dict[str, str] = {}

    def text(self, text: str, *, near: SurfaceIndex | None = None) -> str:
        replaced = _replace_surfaces(text, near or self.everywhere, near=near is not None)
        if replaced not in self._detected:
            self._detected[replaced] = redact_text(replaced, self.language, self.config)
        return self._detected[replaced]

    def value(self, value: Any) -> Any:
        """Every string inside a JSON-like value, scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value

    def evidence(self, ev: Evidence) -> str:
        """An evidence quote, with fragments of the pieces its speaker said around its time
        (1 s tolerance)."""
        near = self._surfaces.around(ev.speaker, ev.start, ev.end)
        key = tuple(id(s) for s in near)
        if key not in self._near:
            self._near[key] = SurfaceIndex(near)
        replaced = _replace_surfaces(ev.text, self._near[key], near=True)
        segments = self._segments.around(ev.speaker, ev.start, ev.end)
        if replaced.strip() and any(replaced in seg.text for seg in segments):
            return replaced
        return self.text(ev.text, near=self._near[key])


def redact_scorecard(
    card: Scorecard, spans: Sequence[PiiSpan], config: RedactionConfig | None = None
) -> Scorecard:
    """The scorecard with every span replaced by its typed placeholder.

    Replaces the spans in the transcript's segment text and words, in evidence quotes and in
    every string in check ``details`` and ``warnings`` (by the spans' original text, then by
    :func:`redact_text` for anything quoted differently), and sets ``card.redaction``.

    Parameters
    ----------
    card : Scorecard
        Built from the unredacted transcript that ``spans`` were found in.
    spans : sequence of PiiSpan
        From :func:`find_pii` on ``card.transcript``.
    config : RedactionConfig, optional
        Used for the free-text pass; defaults to :class:`RedactionConfig` ().

    Returns
    -------
    Scorecard
        A new scorecard; ``card`` is not changed.
    """
    config = config or RedactionConfig()
    if not config.enabled:
        return dataclasses.replace(
            card, redaction=RedactionSummary(enabled=False, audio_mode=config.audio_mode)
        )
    redacted = redact_transcript(card.transcript, spans)
    scrub = _Scrubber(_surfaces(card.transcript, spans), redacted, config, card.language)
    checks = tuple(
        dataclasses.replace(
            check,
            evidence=tuple(
                dataclasses.replace(ev, text=scrub.evidence(ev)) for ev in check.evidence
            ),
            details=scrub.value(check.details),
        )
        for check in card.checks
    )
    return dataclasses.replace(
        card,
        transcript=redacted,
        checks=checks,
        warnings=tuple(scrub.text(w) for w in card.warnings),
        redaction=summarize(spans, config),
    )


def summarize(spans: Sequence[PiiSpan], config: RedactionConfig | None = None) -> RedactionSummary:
    """The :class:`RedactionSummary` of ``spans``: counts per type and times, no values."""
    config = config or RedactionConfig()
    counts: dict[str, int] = {}
    for span in spans:
        counts[span.type] = counts.get(span.type, 0) + 1
    times = tuple(SpanTime(s.type, s.speaker, round(s.start, 3), round(s.end, 3)) for s in spans)
    return RedactionSummary(config.enabled, counts, times, None, config.audio_mode)


def attach_audio_path(card: Scorecard, path: Path | str) -> Scorecard:
    """The scorecard with ``redaction.audio_path`` set to the redacted audio copy."""
    summary = card.redaction or RedactionSummary(enabled=True)
    return dataclasses.replace(card, redaction=dataclasses.replace(summary, audio_path=str(path)))
