"""Speech packed into Whisper windows, and the words mapped back to the call's time.

Whisper's encoder always reads 30 s of audio, silence included. A channel of a call is mostly
silence (the other party talking, pauses, hold music), so decoding it whole pays for windows
of nothing. Here the speech turns of a channel, each widened by a pad, are cut out and laid end
to end into windows of at most :data:`WINDOW_S`; the windows of both channels of a stereo call
are then decoded together in batches (:mod:`callqa.transcription.batched`).

::

    speech turns (per channel) -> pack_windows -> Window (pieces: where each cut came from)
    Window + channel samples  -> window_audio  -> float32 array of at most 30 s
    utterances in window time -> to_call_time  -> utterances in call time, split at the cuts

A word keeps the speaker of its channel (stereo) and its time in the call; an utterance never
spans two cuts (the other party spoke, or nobody did, in between).

The languages of ``stream_languages`` (Italian) lay the cuts end to end the same way, into one
stream per channel, which Whisper decodes as the libraries decode a file
(:func:`decode_streams`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

import numpy as np

from callqa.transcription.model import StreamTranscriber, WindowTranscriber
from callqa.types import SAMPLE_RATE, UNKNOWN, Segment, Utterance, Word

log = logging.getLogger(__name__)

WINDOW_S = 30.0  # Whisper's encoder input: 3000 mel frames of 10 ms
SPLIT_FRAME_S = 0.05  # a turn longer than a window is cut at its quietest 50 ms frame
SPLIT_SEARCH = 0.5  # ... searched in the last half of the window
RETRY_ROUND = 4  # empty-turn windows decoded before the pass checks whether retries find words
STREAM_S = 300.0  # the most speech one stream holds: the libraries compute a stream's features
# all at once (10 MB of features and 19 MB of audio for 300 s), so longer speech is cut in streams


@dataclass(frozen=True)
class Piece:
    """One cut of a channel inside a window.

    Attributes
    ----------
    start, end : float [s]
        Where the cut lies in the channel (call time).
    offset : float [s]
        Where it starts inside the window.
    """

    start: float
    end: float
    offset: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Window:
    """Cuts of one channel laid end to end: at most :data:`WINDOW_S` long in all for a
    batched window, at most :data:`STREAM_S` for a stream (:func:`decode_streams`).

    Attributes
    ----------
    channel : int
        Index of the channel the cuts come from.
    pieces : tuple of Piece
        In time order; each starts where the previous one ends inside the window.
    """

    channel: int
    pieces: tuple[Piece, ...]

    @property
    def duration(self) -> float:
        """Length of the window's audio [s]."""
        last = self.pieces[-1]
        return last.offset + last.duration

    def to_call_time(self, t: float, *, piece: int | None = None) -> float:
        """Window time ``t`` [s] as call time, inside ``piece`` (default: the piece holding t)."""
        index = self.piece_at(t) if piece is None else piece
        p = self.pieces[index]
        return p.start + min(max(t - p.offset, 0.0), p.duration)

    def piece_at(self, t: float) -> int:
        """Index of the piece that holds window time ``t`` (the last piece starting at or
        before it; the first piece for times before 0)."""
        index = 0
        for i, p in enumerate(self.pieces):
            if p.offset <= t:
                index = i
        return index


class LazyMap(Sequence[np.ndarray]):
    """``[function(item) for item in items]``, each computed when it is read and not kept.

    The windows of a call are handed to the decoder this way, so only the batch being decoded
    is ever cut out of the channels (memory does not grow with the length of the call).
    """

    def __init__(self, items: Sequence[Any], function: Callable[[Any], np.ndarray]) -> None:
        self._items = items
        self._function = function

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(index, slice):
            return LazyMap(self._items[index], self._function)
        return self._function(self._items[index])


@dataclass(frozen=True)
class Packed:
    """The result of :func:`decode_packed`.

    Attributes
    ----------
    utterances : dict of channel index -> list of Utterance
        In call time, speaker "unknown", in time order.
    language : (str, float) or None
        Whisper's language ID on one of the windows (``identify``), as (code, probability).
    """

    utterances: dict[int, list[Utterance]]
    language: tuple[str, float] | None = None


def decode_packed(
    transcriber: WindowTranscriber,
    channels: Mapping[int, tuple[np.ndarray, Sequence[Segment]]],
    *,
    language: str,
    pad_s: float,
    identify: bool = False,
    tail_min_s: float | None = None,
) -> Packed:
    """Transcribe the speech turns of several channels in one batched decode.

    Whisper can end a window early: it writes the end of text while speech is still to come,
    and the window's last turns get no words. Decoding a channel whole, the libraries start
    the next window where the text stopped (their ``seek``); here, with ``tail_min_s``, the
    audio of each window after its last word, when it is at least ``tail_min_s`` + ``pad_s``
    long and the window got some words, is packed again into windows of its own and decoded
    in a second batch (:func:`unread_tail`), with the full beam at once (``careful``: greedy
    decoding already cut these short, and greedy failed every tail of the sample and real
    calls measured, 3 of 3). A window without any word is not decoded again
    (the same audio would give the same nothing); its turns are left to the empty-turn pass.

    Parameters
    ----------
    transcriber : WindowTranscriber
    channels : mapping of channel index -> (samples, turns)
        Each channel's 16 kHz float32 samples and its speech turns [s].
    language : str
        Whisper's code to decode in.
    pad_s : float >= 0 [s]
        Audio kept on each side of a turn.
    identify : bool
        Also run Whisper's language ID on one window (see ``WindowTranscriber``).
    tail_min_s : float >= 0 or None [s]
        Decode again what follows a window's last word when it is this long (plus the pad);
        None: never.
    """
    windows: list[Window] = []
    for index, (samples, turns) in channels.items():
        spans = speech_spans(turns, pad_s=pad_s, duration_s=len(samples) / SAMPLE_RATE)
        windows += pack_windows(index, spans, samples)
    out: dict[int, list[Utterance]] = {index: [] for index in channels}
    if not windows:
        return Packed(out)
    decoded = transcriber.transcribe_windows(
        audios_of(windows, channels), language=language, identify=identify
    )
    texts = list(zip(windows, decoded, strict=True))
    if tail_min_s is not None:
        rest = [
            again
            for window, text in texts
            if (tail := unread_tail(window, text.utterances, tail_min_s + pad_s))
            for again in pack_windows(window.channel, tail, channels[window.channel][0])
        ]
        if rest:
            more = transcriber.transcribe_windows(
                audios_of(rest, channels), language=language, careful=True
            )
            texts += zip(rest, more, strict=True)
            log.info("%d windows ended early: their last %.1f s decoded again", len(rest),
                     sum(w.duration for w in rest))  # fmt: skip
    for window, text in texts:
        out[window.channel].extend(to_call_time(window, text.utterances))
    for utterances in out.values():
        utterances.sort(key=lambda u: u.start)
    heard = next((text.language for text in decoded if text.language is not None), None)
    return Packed(out, heard)


def decode_streams(
    transcriber: StreamTranscriber,
    channels: Mapping[int, tuple[np.ndarray, Sequence[Segment]]],
    *,
    language: str,
    pad_s: float,
) -> Packed:
    """Transcribe the speech turns of several channels as streams (``stream_languages``).

    Each channel's turns, widened by ``pad_s``, are laid end to end as for packed windows,
    but into streams of up to :data:`STREAM_S` that Whisper decodes the way the libraries
    decode a file: 30 s at a time, each window starting where the text stopped, so no window
    boundary is fixed before decoding. The streams are decoded one per lane of the
    transcriber at a time (with the default single lane, one after the other); when a call has
    fewer streams than lanes, the longest stream of more than two windows is cut at the pause
    between turns nearest its middle (:func:`spread`).
    The words come back to call time as from a window (:func:`to_call_time`). ``channels``,
    ``language`` and ``pad_s`` are those of :func:`decode_packed`.
    """
    streams: list[Window] = []
    for index, (samples, turns) in channels.items():
        spans = speech_spans(turns, pad_s=pad_s, duration_s=len(samples) / SAMPLE_RATE)
        streams += pack_windows(index, spans, samples, max_s=STREAM_S)
    streams = spread(streams, transcriber.lanes)
    out: dict[int, list[Utterance]] = {index: [] for index in channels}
    if streams:
        decoded = transcriber.transcribe_streams(audios_of(streams, channels), language=language)
        for stream, heard in zip(streams, decoded, strict=True):
            out[stream.channel].extend(to_call_time(stream, heard))
    for utterances in out.values():
        utterances.sort(key=lambda u: u.start)
    return Packed(out)


def spread(streams: Sequence[Window], lanes: int) -> list[Window]:
    """``streams``, the longest cut in two until there are ``lanes`` of them.

    Only a stream of more than two windows (2 x :data:`WINDOW_S`) and more than one piece is
    cut, between two pieces (a pause between turns), the one nearest its middle: a shorter
    stream would be decoded as two short windows with less context each.
    """
    out = list(streams)
    while len(out) < lanes:
        longer = [i for i, w in enumerate(out) if w.duration > 2 * WINDOW_S and len(w.pieces) > 1]
        if not longer:
            break
        i = max(longer, key=lambda j: out[j].duration)
        out[i : i + 1] = halve(out[i])
    return out


def halve(window: Window) -> tuple[Window, Window]:
    """``window`` (of at least two pieces) as two, cut between the pieces nearest its middle;
    the second's offsets start again from 0."""
    middle = window.duration / 2
    cut = min(range(1, len(window.pieces)), key=lambda k: abs(window.pieces[k].offset - middle))
    rest = window.pieces[cut:]
    moved = tuple(replace(p, offset=p.offset - rest[0].offset) for p in rest)
    return Window(window.channel, window.pieces[:cut]), Window(window.channel, moved)


def unread_tail(
    window: Window, utterances: Sequence[Utterance], min_s: float
) -> tuple[Segment, ...]:
    """The stretches of ``window`` after its last word, in call time, when they last at least
    ``min_s`` [s] in all and the window has a word; else ().

    ``utterances`` are the window's, in window time."""
    last = max((w.end for u in utterances for w in u.words), default=None)
    if last is None or window.duration - last < min_s:
        return ()
    out = []
    for p in window.pieces:
        start = max(p.offset, last)
        if p.offset + p.duration - start > 0.0:
            out.append(Segment(p.start + (start - p.offset), p.end))
    return tuple(out)


def decode_turns(
    transcriber: WindowTranscriber,
    channels: Mapping[int, tuple[np.ndarray, Sequence[Segment]]],
    *,
    language: str,
    context_s: float,
    round_windows: int = RETRY_ROUND,
) -> dict[int, list[Utterance]]:
    """Decode each turn on its own, with ``context_s`` of audio either side, and keep the words
    whose midpoint lies inside the turn (the empty-turn pass of
    :mod:`callqa.transcription.call`, batched).

    Each turn gets a window of its own (a turn longer than :data:`WINDOW_S` is cut into
    several), so Whisper hears it without the speech a packed window puts around it; words of
    the context are dropped. The windows are decoded with ``careful`` (the full beam at once):
    these are turns greedy decoding already missed once, and greedy was unsure of every one of
    them on the calls measured (docs/transcription.md).

    The turns go longest first, in rounds of at least ``round_windows`` windows, and the pass
    stops after a round once fewer than half of the turns tried so far got words: on audio the
    model does not understand, each further retry costs a whole encoder pass and mostly finds
    nothing (the turns left are still counted as empty, and reported).

    Returns
    -------
    dict of channel index -> list of Utterance
        In call time, speaker "unknown", one utterance per turn that got words, in time order.
    """
    jobs = sorted(
        ((index, turn) for index, (_, turns) in channels.items() for turn in turns),
        key=lambda job: job[1].start - job[1].end,  # longest first (a stable sort)
    )
    out: dict[int, list[Utterance]] = {index: [] for index in channels}
    tried = found = 0
    while jobs and (tried == 0 or 2 * found >= tried):
        windows: list[Window] = []
        owners: list[tuple[int, Segment]] = []
        while jobs and len(windows) < max(1, round_windows):
            index, turn = jobs.pop(0)
            tried += 1
            for part in _turn_windows(turn, channels[index][0], context_s):
                windows.append(Window(index, (Piece(part.start, part.end, 0.0),)))
                owners.append((index, turn))
        found += _decode_turn_windows(transcriber, channels, windows, owners, language, out)
    if jobs:
        log.info("empty-turn pass stopped after %d of %d turns (words in %d): %d left empty",
                 tried, tried + len(jobs), found, len(jobs))  # fmt: skip
    for utterances in out.values():
        utterances.sort(key=lambda u: u.start)
    return out


def _turn_windows(turn: Segment, samples: np.ndarray, context_s: float) -> list[Segment]:
    """The window(s) that decode ``turn`` again: the turn and ``context_s`` either side,
    clipped to the channel, cut where longer than a window."""
    duration = len(samples) / SAMPLE_RATE
    span = Segment(max(0.0, turn.start - context_s), min(duration, turn.end + context_s))
    return split_long(span, samples) if span.end > span.start else []


def _decode_turn_windows(
    transcriber: WindowTranscriber,
    channels: Mapping[int, tuple[np.ndarray, Sequence[Segment]]],
    windows: list[Window],
    owners: list[tuple[int, Segment]],
    language: str,
    out: dict[int, list[Utterance]],
) -> int:
    """Decode one round of :func:`decode_turns`; the words inside each owner turn go to
    ``out``. Returns how many turns got words."""
    if not windows:
        return 0
    decoded = transcriber.transcribe_windows(
        audios_of(windows, channels), language=language, careful=True
    )
    heard: dict[tuple[int, Segment], list[Word]] = {}
    for window, owner, found in zip(windows, owners, decoded, strict=True):
        turn = owner[1]
        heard.setdefault(owner, []).extend(
            w
            for u in to_call_time(window, found.utterances)
            for w in u.words
            if turn.contains(0.5 * (w.start + w.end))
        )
    for (index, _), words in heard.items():
        if words:
            text = " ".join(w.text for w in words)
            out[index].append(
                Utterance(UNKNOWN, words[0].start, max(w.end for w in words), text, tuple(words))
            )
    return sum(bool(words) for words in heard.values())


def speech_spans(
    turns: Sequence[Segment], *, pad_s: float, duration_s: float
) -> tuple[Segment, ...]:
    """The stretches to decode: each turn widened by ``pad_s`` on both sides, clipped to the
    call, overlapping ones merged, in time order."""
    wide = sorted(
        Segment(max(0.0, t.start - pad_s), min(duration_s, t.end + pad_s))
        for t in turns
        if t.end > t.start
    )
    merged: list[Segment] = []
    for seg in wide:
        if seg.end <= seg.start:
            continue
        if merged and seg.start <= merged[-1].end:
            merged[-1] = Segment(merged[-1].start, max(merged[-1].end, seg.end))
        else:
            merged.append(seg)
    return tuple(merged)


def split_long(
    span: Segment, samples: np.ndarray, *, max_s: float = WINDOW_S, sample_rate: int = SAMPLE_RATE
) -> list[Segment]:
    """``span`` as consecutive parts of at most ``max_s`` seconds, each cut at the quietest
    :data:`SPLIT_FRAME_S` frame of the last half of the part (so a cut rarely falls in a word).
    """
    parts: list[Segment] = []
    start = span.start
    while span.end - start > max_s:
        cut = _quietest(samples, start + SPLIT_SEARCH * max_s, start + max_s, sample_rate)
        parts.append(Segment(start, cut))
        start = cut
    parts.append(Segment(start, span.end))
    return parts


def _quietest(samples: np.ndarray, lo: float, hi: float, sample_rate: int) -> float:
    frame = max(1, int(SPLIT_FRAME_S * sample_rate))
    a, b = int(lo * sample_rate), int(hi * sample_rate)
    n = (b - a) // frame
    if n < 1:
        return hi
    chunk = np.asarray(samples[a : a + n * frame], dtype=np.float64)
    if len(chunk) < n * frame:  # the channel ends early: cut at the window's end
        return hi
    energy = np.mean(chunk.reshape(n, frame) ** 2, axis=1)
    best = int(np.flatnonzero(energy == energy.min())[-1])  # the latest of equals: fuller windows
    return (a + (best + 1) * frame) / sample_rate


def pack_windows(
    channel: int,
    spans: Sequence[Segment],
    samples: np.ndarray,
    *,
    max_s: float = WINDOW_S,
    sample_rate: int = SAMPLE_RATE,
) -> list[Window]:
    """Lay the spans of one channel end to end into windows of at most ``max_s`` seconds.

    Parameters
    ----------
    channel : int
        The channel's index (kept in each window).
    spans : sequence of Segment
        From :func:`speech_spans`: in time order, not overlapping.
    samples : np.ndarray, shape=(n,), float32
        The channel (used to cut turns longer than a window at a quiet point).

    Returns
    -------
    list of Window
        In time order; a window holds whole spans (a span longer than ``max_s`` is cut first).
    """
    windows: list[Window] = []
    pieces: list[Piece] = []
    used = 0.0
    for span in spans:
        for part in split_long(span, samples, max_s=max_s, sample_rate=sample_rate):
            if pieces and used + part.duration > max_s:
                windows.append(Window(channel, tuple(pieces)))
                pieces, used = [], 0.0
            pieces.append(Piece(part.start, part.end, used))
            used += part.duration
    if pieces:
        windows.append(Window(channel, tuple(pieces)))
    return windows


def window_audio(
    window: Window, samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """The window's audio: its pieces cut from ``samples`` and joined, float32."""
    cuts = [
        samples[round(p.start * sample_rate) : round(p.end * sample_rate)] for p in window.pieces
    ]
    return np.ascontiguousarray(np.concatenate(cuts), dtype=np.float32)


def audios_of(
    windows: Sequence[Window], channels: Mapping[int, tuple[np.ndarray, Sequence[Segment]]]
) -> LazyMap:
    """Each window's audio (:func:`window_audio` of its channel's samples), cut when read."""
    return LazyMap(windows, lambda w: window_audio(w, channels[w.channel][0]))


def to_call_time(window: Window, utterances: Sequence[Utterance]) -> list[Utterance]:
    """Utterances decoded from ``window`` (window time) in call time, split at the cuts.

    Each word goes to the piece that holds its middle; its start and end are moved into that
    piece's place in the call (and kept inside it). Consecutive words of one piece stay one
    utterance; an utterance whose words fall in two pieces becomes two. An utterance without
    words is placed by its start.
    """
    out: list[Utterance] = []
    for utt in utterances:
        if not utt.words:
            i = window.piece_at(utt.start)
            out.append(
                replace(
                    utt,
                    start=_r(window.to_call_time(utt.start, piece=i)),
                    end=_r(window.to_call_time(utt.end, piece=i)),
                )
            )
            continue
        runs: list[tuple[int, list[Word]]] = []
        for w in utt.words:
            i = window.piece_at(0.5 * (w.start + w.end))
            moved = replace(
                w,
                start=_r(window.to_call_time(w.start, piece=i)),
                end=_r(window.to_call_time(w.end, piece=i)),
            )
            if runs and runs[-1][0] == i:
                runs[-1][1].append(moved)
            else:
                runs.append((i, [moved]))
        if len(runs) == 1:  # keep Whisper's own text and segment bounds
            i, words = runs[0]
            start = min(window.to_call_time(utt.start, piece=i), words[0].start)
            end = max(window.to_call_time(utt.end, piece=i), words[-1].end)
            out.append(replace(utt, start=_r(start), end=_r(end), words=tuple(words)))
        else:
            out.extend(_from_run(utt, words) for _, words in runs)
    return out


def _from_run(original: Utterance, words: list[Word]) -> Utterance:
    return replace(
        original,
        start=words[0].start,
        end=max(w.end for w in words),
        text=" ".join(w.text for w in words),
        words=tuple(words),
    )


def _r(t: float) -> float:
    return round(float(t), 3)
