"""A long call in bounded blocks, so memory stays flat in the call's length.

::

    AudioScan (validated, nothing kept) -> plan_blocks -> Blocks (cut at quiet points)
                                        -> read_blocks -> one CallAudio per block, in order

A block is a *core* ``[start, end)`` (the samples it is responsible for: cores tile the call)
read with a *margin* on both sides, so a word, a speaker-embedding window or a pitch window at
a cut still sees its context. Cuts are placed in the longest pause near each nominal boundary
and aligned to :data:`ALIGN` samples, so the 32-ms VAD frames and the 10-ms voice hops of the
blocks line up with those of the whole call. :class:`VadStream` runs Silero over the call piece
by piece with its state carried, giving exactly the whole-call frame probabilities.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from callqa.audio.activity import (
    BLOCK_FRAMES,
    CONTEXT,
    FRAME,
    VadModel,
    frame_levels_db,
)
from callqa.audio.load import AudioScan, stream_audio
from callqa.types import SAMPLE_RATE, CallAudio

ALIGN = 2560  # samples (0.16 s): a whole number of VAD frames (512) and voice hops (160)
SEARCH_S = 60.0  # s; a cut may move this far before its nominal boundary to find a pause


@dataclass(frozen=True)
class Block:
    """One block of a call, in samples at 16 kHz.

    Attributes
    ----------
    start, end : int >= 0
        The core: the samples this block answers for (cores tile the call).
    lo, hi : int >= 0
        The samples read (``lo <= start``, ``hi >= end``): the core plus its margins.
    """

    start: int
    end: int
    lo: int
    hi: int

    @property
    def offset_s(self) -> float:
        """Call time (s) of the block audio's first sample."""
        return self.lo / SAMPLE_RATE

    @property
    def core_s(self) -> tuple[float, float]:
        """The core as call times (s)."""
        return self.start / SAMPLE_RATE, self.end / SAMPLE_RATE


def plan_blocks(
    n_samples: int,
    block_s: float,
    busy: Sequence[tuple[float, float]],
    *,
    margin_s: float = 0.0,
    search_s: float = SEARCH_S,
) -> tuple[Block, ...]:
    """Cut a call of ``n_samples`` into blocks of at most ``block_s`` (plus margins).

    Parameters
    ----------
    n_samples : int >= 0
    block_s : float > 0 [s]
        Longest core.
    busy : sequence of (start, end) [s]
        Speech (any speaker). Each cut goes in the middle of the longest pause within
        ``search_s`` (and half a block) before its nominal boundary; at the boundary itself
        when there is none.
    margin_s : float >= 0 [s]
        Extra audio read before and after each core.

    Returns
    -------
    tuple of Block
        One block when the call fits in one (``lo == start == 0``, ``hi == end == n``).
    """
    step = max(ALIGN, int(block_s * SAMPLE_RATE) // ALIGN * ALIGN)
    cuts = [0]
    while n_samples - cuts[-1] > step:
        cuts.append(_cut(cuts[-1], cuts[-1] + step, busy, search_s))
    cuts.append(n_samples)
    margin = int(np.ceil(margin_s * SAMPLE_RATE / ALIGN)) * ALIGN
    return tuple(
        Block(start=a, end=b, lo=max(0, a - margin), hi=min(n_samples, b + margin))
        for a, b in itertools.pairwise(cuts)
    )


def _cut(previous: int, nominal: int, busy: Sequence[tuple[float, float]], search_s: float) -> int:
    """An aligned cut in ``(previous, nominal]``: the middle of the longest pause found (the
    boundary itself when that pause reaches it)."""
    t1 = nominal / SAMPLE_RATE
    t0 = max((previous + nominal) / 2 / SAMPLE_RATE, t1 - search_s)  # a core of half a block
    best, best_len = nominal, 0.0
    for gap_start, gap_end in _pauses(busy, t0, t1):
        if gap_end - gap_start > best_len:  # a pause that reaches the boundary: cut there
            best_len = gap_end - gap_start
            at = t1 if gap_end >= t1 else (gap_start + gap_end) / 2
            best = int(at * SAMPLE_RATE) // ALIGN * ALIGN
    return best if previous < best <= nominal else nominal


def _pauses(
    busy: Sequence[tuple[float, float]], t0: float, t1: float
) -> Iterator[tuple[float, float]]:
    """Stretches of ``[t0, t1]`` outside every ``busy`` interval."""
    at = t0
    for start, end in sorted(busy):
        if end <= at:
            continue
        if start >= t1:
            break
        if start > at:
            yield at, start
        at = max(at, end)
    if at < t1:
        yield at, t1


def read_blocks(scan: AudioScan, blocks: Sequence[Block]) -> Iterator[CallAudio]:
    """Decode the call once and hand out each block's audio (``[lo, hi)``) in order.

    Each block is decoded into one array of its own size; only what the next block shares with
    it (the margins) and a decoded piece's part past its end are carried over, so memory holds
    one block at a time.
    """
    pieces = stream_audio(scan)
    carry, at = np.zeros((scan.n_channels, 0), dtype=np.float32), 0  # samples [at, at + len)
    try:
        for i, block in enumerate(blocks):
            out = np.empty((scan.n_channels, block.hi - block.lo), dtype=np.float32)
            skip = max(0, block.lo - at)
            filled = min(max(0, carry.shape[1] - skip), out.shape[1])
            out[:, :filled] = carry[:, skip : skip + filled]
            extra = carry[:, skip + filled :]  # decoded past this block's end
            while filled < out.shape[1] and (chunk := next(pieces, None)) is not None:
                take = min(chunk.shape[1], out.shape[1] - filled)
                out[:, filled : filled + take] = chunk[:, :take]
                filled += take
                extra = chunk[:, take:]
            out = out[:, :filled]
            yield CallAudio(
                channels=tuple(out),
                source=scan.source,
                sha256=scan.sha256,
                original_sample_rate=scan.original_sample_rate,
            )
            at = blocks[i + 1].lo if i + 1 < len(blocks) else block.lo + filled
            carry = np.concatenate((out[:, at - block.lo :], extra), axis=1)
            del out
    finally:
        pieces.close()


class VadStream:
    """Silero VAD probabilities and frame levels of one channel, fed piece by piece.

    Frames are grouped into ONNX calls of :data:`BLOCK_FRAMES` from the start of the call and
    the recurrent state and frame context are carried, so the result equals
    :func:`callqa.audio.activity.speech_probabilities` on the whole channel.
    """

    def __init__(self, vad: VadModel) -> None:
        self.vad = vad
        self.pending = np.zeros(0, dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)
        self.hidden = np.zeros((1, 1, 128), dtype=np.float32)
        self.cell = np.zeros((1, 1, 128), dtype=np.float32)
        self.probs: list[np.ndarray] = []
        self.levels: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        """Add the next samples (float32, 16 kHz)."""
        group, start = BLOCK_FRAMES * FRAME, 0
        if len(self.pending):  # complete the group left over from the last piece first
            start = group - len(self.pending)
            self.pending = np.concatenate((self.pending, samples[:start]))
            if len(self.pending) < group:
                return
            self._run(self.pending)
        while len(samples) - start >= group:
            self._run(samples[start : start + group])
            start += group
        self.pending = np.array(samples[start:], dtype=np.float32)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and levels (dBFS) of every 32-ms frame, shape=(n_frames,) each."""
        if len(self.pending):
            self._run(self.pending)
            self.pending = self.pending[:0]
        if not self.probs:
            return np.zeros(0, dtype=np.float32), np.zeros(0)
        return np.concatenate(self.probs), np.concatenate(self.levels)

    def _run(self, samples: np.ndarray) -> None:
        n_frames = (len(samples) + FRAME - 1) // FRAME
        frames = np.zeros((n_frames, FRAME), dtype=np.float32)
        frames.reshape(-1)[: len(samples)] = samples
        context = np.concatenate((self.context[None, :], frames[:-1, -CONTEXT:]))
        windows = np.concatenate((context, frames), axis=1)
        probs, self.hidden, self.cell = self.vad.session.run(
            ["speech_probs", "hn", "cn"],
            {"input": windows, "h": self.hidden, "c": self.cell},
        )
        self.context = frames[-1, -CONTEXT:].copy()
        self.probs.append(np.asarray(probs, dtype=np.float32).reshape(-1))
        self.levels.append(frame_levels_db(samples, n_frames))
