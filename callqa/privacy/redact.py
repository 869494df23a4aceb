"""Apply redaction: placeholders in the transcript, the scorecard (evidence, details) and free
text; the scorecard's :class:`~callqa.types.RedactionSummary`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callqa.config import (
    RedactionConfig,
)
from callqa.privacy.detect import find_pii
from callqa.privacy.spans import PiiPiece, PiiSpan
from callqa.privacy.streams import basis
from callqa.scoring.scorecard import Scorecard
from callqa.types import (
    Evidence,
    RedactionSummary,
    SpanTime,
    Transcript,
    Utterance,
    Word,
)
from callqa.words.tokens import Token, tokenize


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
    for piece, placeholder in sorted(pieces, key=lambda p: -p[0].char_start):
        text = text[: piece.char_start] + placeholder + text[piece.char_end :]
    return dataclasses.replace(seg, text=text, words=_redact_words(seg.words, pieces))


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


@dataclass(frozen=True)
class _Surface:
    """The original text of one piece, who said it and when (what to look for in quotes)."""

    placeholder: str
    text: str
    tokens: tuple[str, ...]
    speaker: str
    start: float
    end: float


def _surfaces(transcript: Transcript, spans: Sequence[PiiSpan]) -> list[_Surface]:
    out = []
    for span in spans:
        for piece in span.pieces:
            seg = transcript.segments[piece.segment]
            text = basis(seg).text[piece.char_start : piece.char_end].strip()
            if text:
                tokens = tuple(t.text for t in tokenize(text))
                out.append(
                    _Surface(span.placeholder, text, tokens, seg.speaker, span.start, span.end)
                )
    return sorted(out, key=lambda p: -len(p.text))


def _replace_surfaces(text: str, surfaces: Sequence[_Surface], *, near: bool) -> str:
    """Replace each surface, and fragments of it (a quote that starts or ends mid-number).

    ``near``: the text was said by the surface's speaker at its time (an evidence quote), so
    a fragment may be a single token at the quote's edge; elsewhere a fragment needs two
    tokens with a digit, or three tokens.
    """
    for surface in surfaces:
        pattern = rf"(?<!\w){re.escape(surface.text)}(?!\w)"
        text = re.sub(pattern, surface.placeholder.replace("\\", r"\\"), text)
    runs: list[tuple[int, int, int, str]] = []
    quote = tokenize(text)
    for surface in surfaces:
        for i, k in _common_runs(quote, surface.tokens):
            if _fragment_ok(quote, i, k, near=near):
                runs.append((k, quote[i].start, quote[i + k - 1].end, surface.placeholder))
    taken: list[tuple[int, int, str]] = []
    for _, a, b, placeholder in sorted(runs, key=lambda r: (-r[0], r[1])):
        if all(b <= x or y <= a for x, y, _ in taken):
            taken.append((a, b, placeholder))
    for a, b, placeholder in sorted(taken, reverse=True):
        text = text[:a] + placeholder + text[b:]
    return text


def _common_runs(quote: Sequence[Token], tokens: Sequence[str]) -> Iterable[tuple[int, int]]:
    """(i, k) of the maximal runs ``quote[i:i+k] == tokens[j:j+k]`` (k >= 1, any j)."""
    for i in range(len(quote)):
        for j in range(len(tokens)):
            if i and j and quote[i - 1].text == tokens[j - 1]:
                continue  # not maximal: the run started earlier
            k = 0
            while i + k < len(quote) and j + k < len(tokens) and quote[i + k].text == tokens[j + k]:
                k += 1
            if k:
                yield i, k


def _fragment_ok(quote: Sequence[Token], i: int, k: int, *, near: bool) -> bool:
    words = [t.text for t in quote[i : i + k] if t.text.isalnum()]
    if not words:
        return False
    has_digit = any(c.isdigit() for w in words for c in w)
    if near:
        return len(words) >= 2 or has_digit or i == 0 or i + k == len(quote)
    return len(words) >= 3 or (len(words) >= 2 and has_digit)


def _scrub(
    text: str,
    surfaces: Sequence[_Surface],
    config: RedactionConfig,
    language: str,
    *,
    near: bool = False,
) -> str:
    return redact_text(_replace_surfaces(text, surfaces, near=near), language, config)


def _scrub_value(
    value: Any, surfaces: Sequence[_Surface], config: RedactionConfig, language: str
) -> Any:
    """Every string inside a JSON-like value, scrubbed."""
    if isinstance(value, str):
        return _scrub(value, surfaces, config, language)
    if isinstance(value, dict):
        return {k: _scrub_value(v, surfaces, config, language) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub_value(v, surfaces, config, language) for v in value)
    return value


def _evidence_surfaces(ev: Evidence, surfaces: Sequence[_Surface]) -> list[_Surface]:
    """Pieces said by the quote's speaker around the quote's time (1 s tolerance)."""
    return [
        s
        for s in surfaces
        if s.speaker == ev.speaker and s.start <= ev.end + 1.0 and ev.start - 1.0 <= s.end
    ]


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
    surfaces = _surfaces(card.transcript, spans)
    lang = card.language
    checks = tuple(
        dataclasses.replace(
            check,
            evidence=tuple(
                dataclasses.replace(
                    ev,
                    text=_scrub(ev.text, _evidence_surfaces(ev, surfaces), config, lang, near=True),
                )
                for ev in check.evidence
            ),
            details=_scrub_value(check.details, surfaces, config, lang),
        )
        for check in card.checks
    )
    return dataclasses.replace(
        card,
        transcript=redact_transcript(card.transcript, spans),
        checks=checks,
        warnings=tuple(_scrub(w, surfaces, config, lang) for w in card.warnings),
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
