"""Find personal data in a transcript: :func:`find_pii`."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Sequence

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
    Taken,
    find_addresses,
    find_card_extras,
    find_cued_numbers,
    find_emails,
    find_names,
    find_phones,
    find_validated,
)
from callqa.privacy.spans import PiiPiece, PiiSpan
from callqa.privacy.streams import (
    Basis,
    Tok,
    basis,
    number_blocks,
    number_units,
    run_tokens,
    speaker_runs,
    windows,
    word_set,
)
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
    for run in speaker_runs(transcript, config):
        stream = run_tokens(run, bases)
        spans += _search(stream, transcript, bases, config.active_types)
    if len({s.speaker for s in transcript.segments}) > 1:
        # a diarization error can split a number between two speaker labels: numbers with
        # check digits are also searched in the whole call, in time order
        checked = config.active_types & {CARD, IBAN, NATIONAL_ID}
        claimed = _Claimed(spans)
        mixed = _mixed_stream(transcript, bases, config)
        spans += [s for s in _search(mixed, transcript, bases, checked) if not claimed.overlaps(s)]
    return tuple(sorted(spans, key=lambda s: (s.start, s.end, s.speaker)))


def _search(
    stream: Iterable[Tok], transcript: Transcript, bases: Sequence[Basis], types: frozenset[str]
) -> list[PiiSpan]:
    """The spans of one token stream, searched window by window (bounded memory however long
    the stream; each detection is kept by the window it starts in)."""
    spans: list[PiiSpan] = []
    for window, own_start, own_end in windows(stream):
        for found in _merge(_find_in_stream(window, transcript.language, types)):
            if own_start <= found.start < own_end:
                spans.append(_to_span(found, window, transcript, bases))
    return spans


def _mixed_stream(
    transcript: Transcript, bases: Sequence[Basis], config: RedactionConfig
) -> Iterator[Tok]:
    """Every speaker's tokens in segment order (one stream, whatever the speaker labels)."""
    single = dataclasses.replace(
        transcript, segments=tuple(dataclasses.replace(s, speaker="") for s in transcript.segments)
    )
    for n, run in enumerate(speaker_runs(single, config)):
        if n:  # a long pause: a token that ends every number
            yield Tok("|", "|", -1, 0, 0, None, True)
        yield from run_tokens(run, bases)


class _Claimed:
    """The character ranges of spans found already, per segment, for overlap tests in
    O(log n) (pieces found in one stream never overlap each other)."""

    def __init__(self, spans: Sequence[PiiSpan]) -> None:
        ranges: dict[int, list[tuple[int, int]]] = {}
        for span in spans:
            for q in span.pieces:
                ranges.setdefault(q.segment, []).append((q.char_start, q.char_end))
        self._starts: dict[int, list[int]] = {}
        self._reach: dict[int, list[int]] = {}  # running maximum of the ends, in start order
        for segment, pairs in ranges.items():
            pairs.sort()
            self._starts[segment] = [a for a, _ in pairs]
            self._reach[segment] = list(itertools.accumulate((b for _, b in pairs), max))

    def overlaps(self, span: PiiSpan) -> bool:
        """True when a piece of ``span`` overlaps a piece of a span found already."""
        for p in span.pieces:
            starts = self._starts.get(p.segment)
            if not starts:
                continue
            k = bisect.bisect_left(starts, p.char_end) - 1  # the last range starting before
            if k >= 0 and self._reach[p.segment][k] > p.char_start:
                return True
        return False


def _find_in_stream(stream: Sequence[Tok], language: str, types: frozenset[str]) -> list[Found]:
    language = closest_supported(language)
    units = number_units(stream, language)
    blocks = number_blocks(stream, language, units)
    found: list[Found] = []
    for block in blocks:
        found.extend(find_validated(stream, block, types))
    taken = Taken(len(stream))
    for f in found:
        taken.add(f.start, f.end)
    for block in blocks:
        cued = [f for f in find_cued_numbers(stream, block, taken) if f.type in types]
        found.extend(cued)
        for f in cued:
            taken.add(f.start, f.end)
    cards = [f for f in found if f.type == CARD]
    extras = find_card_extras(stream, blocks, cards, taken, types) if cards else []
    found.extend(extras)
    for f in extras:
        taken.add(f.start, f.end)
    if PHONE in types:
        for block in blocks:
            found.extend(find_phones(stream, block, taken, language))
    if EMAIL in types:
        found.extend(find_emails(stream, units))
    if NAME in types:
        found.extend(find_names(stream))
    if ADDRESS in types:
        found.extend(find_addresses(stream, units))
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
