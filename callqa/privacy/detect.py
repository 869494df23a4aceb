"""Find personal data in a transcript: :func:`find_pii`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from callqa.config import (
    ADDRESS,
    CARD,
    EMAIL,
    IBAN,
    NAME,
    NATIONAL_ID,
    PHONE,
    RedactionConfig,
)
from callqa.languages import closest_supported
from callqa.privacy.finders import (
    Found,
    find_addresses,
    find_card_extras,
    find_cued_numbers,
    find_emails,
    find_names,
    find_phones,
    find_validated,
)
from callqa.privacy.spans import PiiPiece, PiiSpan
from callqa.privacy.streams import Basis, Tok, basis, number_blocks, speaker_streams, word_set
from callqa.types import (
    Transcript,
)


def find_pii(transcript: Transcript, config: RedactionConfig | None = None) -> tuple[PiiSpan, ...]:
    """Find personal data in a transcript.

    Parameters
    ----------
    transcript : Transcript
        Segments with or without word times; each speaker's segments are searched as one
        stream (pauses up to ``config.join_gap_s`` seconds do not end a number).
    config : RedactionConfig, optional
        Which types to find; defaults to :class:`RedactionConfig` ().

    Returns
    -------
    tuple of PiiSpan
        In time order; empty when ``config.enabled`` is False.
    """
    config = config or RedactionConfig()
    if not config.enabled:
        return ()
    bases = tuple(basis(s) for s in transcript.segments)
    spans: list[PiiSpan] = []
    for stream in speaker_streams(transcript, bases, config):
        for found in _merge(_find_in_stream(stream, transcript.language, config.active_types)):
            spans.append(_to_span(found, stream, transcript, bases))
    if len({s.speaker for s in transcript.segments}) > 1:
        # a diarization error can split a number between two speaker labels: numbers with
        # check digits are also searched in the whole call, in time order
        checked = config.active_types & {CARD, IBAN, NATIONAL_ID}
        mixed = _mixed_stream(transcript, bases, config)
        for found in _merge(_find_in_stream(mixed, transcript.language, checked)):
            span = _to_span(found, mixed, transcript, bases)
            if not _covered(span, spans):
                spans.append(span)
    return tuple(sorted(spans, key=lambda s: (s.start, s.end, s.speaker)))


def _mixed_stream(
    transcript: Transcript, bases: Sequence[Basis], config: RedactionConfig
) -> list[Tok]:
    """Every speaker's tokens in segment order (one stream, whatever the speaker labels)."""
    single = dataclasses.replace(
        transcript, segments=tuple(dataclasses.replace(s, speaker="") for s in transcript.segments)
    )
    out: list[Tok] = []
    for stream in speaker_streams(single, bases, config):
        if out:  # a long pause: a token that ends every number
            out.append(Tok("|", "|", -1, 0, 0, None, True))
        out.extend(stream)
    return out


def _covered(span: PiiSpan, spans: Sequence[PiiSpan]) -> bool:
    """True when a piece of ``span`` overlaps a piece of one of ``spans`` (found already)."""
    return any(
        q.segment == p.segment and q.char_start < p.char_end and p.char_start < q.char_end
        for other in spans
        for q in other.pieces
        for p in span.pieces
    )


def _find_in_stream(stream: Sequence[Tok], language: str, types: frozenset[str]) -> list[Found]:
    language = closest_supported(language)
    blocks = number_blocks(stream, language)
    found: list[Found] = []
    for block in blocks:
        found.extend(find_validated(stream, block, types))
    taken = [(f.start, f.end) for f in found]
    for block in blocks:
        cued = [f for f in find_cued_numbers(stream, block, taken) if f.type in types]
        found.extend(cued)
        taken += [(f.start, f.end) for f in cued]
    cards = [f for f in found if f.type == CARD]
    extras = find_card_extras(stream, blocks, cards, taken, types) if cards else []
    found.extend(extras)
    taken += [(f.start, f.end) for f in extras]
    if PHONE in types:
        for block in blocks:
            found.extend(find_phones(stream, block, taken, language))
    if EMAIL in types:
        found.extend(find_emails(stream, language))
    if NAME in types:
        found.extend(find_names(stream))
    if ADDRESS in types:
        found.extend(find_addresses(stream, language))
    return found


def _merge(found: Sequence[Found]) -> list[Found]:
    """Overlapping detections become one, typed as the longer one."""
    merged: list[Found] = []
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            longer = last if last.end - last.start >= f.end - f.start else f
            merged[-1] = Found(longer.type, last.start, max(last.end, f.end), longer.kind)
        else:
            merged.append(f)
    return merged


def _to_span(
    found: Found, stream: Sequence[Tok], transcript: Transcript, bases: Sequence[Basis]
) -> PiiSpan:
    tokens = stream[found.start : found.end]
    pieces: list[PiiPiece] = []
    times: list[tuple[float, float]] = []
    segments = [t.segment for t in tokens if _substantive(t)] or [t.segment for t in tokens]
    for segment in dict.fromkeys(segments):
        own = [t for t in tokens if t.segment == segment]
        words = [t.word for t in own if t.word is not None]
        seg = transcript.segments[segment]
        if words and seg.words:
            piece = PiiPiece(
                segment, own[0].char_start, own[-1].char_end, min(words), max(words) + 1
            )
            times.append((seg.words[min(words)].start, seg.words[max(words)].end))
        else:
            piece = PiiPiece(segment, own[0].char_start, own[-1].char_end)
            times.append((seg.start, seg.end))
        pieces.append(piece)
    speaker = transcript.segments[pieces[0].segment].speaker
    start = min(t[0] for t in times)
    end = max(t[1] for t in times)
    return PiiSpan(found.type, speaker, start, end, tuple(pieces), found.kind)


def _substantive(tok: Tok) -> bool:
    """A token worth redacting: not a filler ("mm-hm") or a lone mark between number parts."""
    return (tok.text.isalnum() and tok.norm not in word_set("filler")) or tok.text in "@+"
