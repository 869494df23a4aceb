"""What the Whisper adapters share (segment guards, conversion to :class:`~callqa.types.Utterance`).

``faster`` wraps faster-whisper (CTranslate2), ``openai`` wraps openai-whisper (PyTorch).
They are the only modules that read Whisper's result objects; what they share lives here:
the conversion of one decoded segment to an :class:`~callqa.types.Utterance` and the
segment guards. Importing this package imports no model library.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from callqa.config import TranscriptionConfig
from callqa.types import UNKNOWN, Utterance, Word

__all__ = [
    "LoopTracker",
    "SegmentGuard",
    "SegmentScores",
    "compression_ratio",
    "guard_options",
    "is_silent",
    "keep_segment",
    "to_utterance",
]


@dataclass(frozen=True)
class SegmentScores:
    """Whisper's own quality figures for one decoded segment.

    Attributes
    ----------
    no_speech_prob : float in [0, 1]
        P(<|nospeech|>) at the start of the 30 s window.
    avg_logprob : float <= 0 [nats/token]
        Mean token log-probability.
    compression_ratio : float >= 0
        Of the segment's own text (:func:`compression_ratio`): high means repeated text.
    repeats_loop : bool
        The segment repeats an earlier segment (or is empty) in a window whose whole text
        loops (:class:`LoopTracker`).
    """

    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    repeats_loop: bool = False


def keep_segment(
    scores: SegmentScores,
    *,
    log_prob_threshold: float,
    compression_ratio_threshold: float,
    silence_no_speech_threshold: float,
    silence_log_prob_threshold: float,
) -> bool:
    """False for a segment that is most likely invented.

    Both libraries already skip a window whose ``no_speech_prob`` exceeds their
    ``no_speech_threshold`` while its ``avg_logprob`` is below ``log_prob_threshold``, and
    decode a window again at the next temperature when its compression ratio or log
    probability fails; when every temperature fails they still emit the last attempt.
    A segment is dropped when

    - its own compression ratio is above ``compression_ratio_threshold``, or it repeats an
      earlier segment of a window whose text is above it (a repetition loop),
    - its ``avg_logprob`` is below ``log_prob_threshold`` (every temperature failed), or
    - its ``no_speech_prob`` is above ``silence_no_speech_threshold`` and its ``avg_logprob``
      below ``silence_log_prob_threshold``. Measured with faster-whisper base: text invented
      in noise or silence ("Det er veldig veldig ...", "You") scored 0.80-0.98 / -0.77 to
      -0.94; speech below -0.5 never scored above 0.78 (synthetic Finnish, Norwegian and
      Slovenian 0.75-0.78 / -0.80 to -0.96; English 0.65-0.68 / -0.50 to -0.54). Whisper's
      0.6 would drop whole windows of such speech; speech activity removes text where no one
      spoke whatever its scores.
    """
    exhausted = (
        scores.compression_ratio > compression_ratio_threshold
        or scores.repeats_loop
        or scores.avg_logprob < log_prob_threshold
    )
    silent = (
        scores.no_speech_prob > silence_no_speech_threshold
        and scores.avg_logprob < silence_log_prob_threshold
    )
    return not (exhausted or silent)


def compression_ratio(text: str) -> float:
    """UTF-8 length of ``text`` over its zlib-compressed length, Whisper's repetition measure.

    Both libraries report this ratio for a whole 30 s window, so one looping segment would
    condemn the window's other segments with it (openai-whisper beam 5 on the real telephone
    clip: 15 correct segments and a run of empty ones, window ratio 2.71). The adapters
    measure each segment's own text instead: short normal text scores below 1, a loop such as
    "taklič, taklič, taklič, ..." far above Whisper's 2.4. Empty text scores 0. A loop spread
    over many short segments is caught by :class:`LoopTracker` instead.
    """
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class LoopTracker:
    """Marks the segments that repeat an earlier one in a looping window.

    Whisper can loop by emitting the same sentence as segment after segment (base on the
    synthetic Norwegian call: "Ja, jeg kan ikke skjøp den jorden." twelve times, window ratio
    10.6, each segment 0.84 on its own). In a window whose whole text compresses better than
    ``threshold`` the first occurrence of each text is kept and every repeat, and every empty
    segment, is marked; in other windows nothing is.

    Parameters
    ----------
    threshold : float [zlib ratio]
        ``TranscriptionConfig.compression_ratio_threshold``.
    """

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold
        self._window: int | None = None
        self._seen: set[str] = set()

    def repeats(self, window: int, window_ratio: float, text: str) -> bool:
        """True for a segment of window ``window`` (the library's seek) to drop as a repeat."""
        if window != self._window:
            self._window, self._seen = window, set()
        if window_ratio <= self._threshold:
            return False
        key = " ".join(text.lower().split())
        if not key or key in self._seen:
            return True
        self._seen.add(key)
        return False


class SegmentGuard:
    """The segment guards of one transcription pass, as both adapters apply them.

    Build one per decoded channel: it tracks the library's windows in order
    (:class:`LoopTracker`).
    """

    def __init__(self, config: TranscriptionConfig) -> None:
        self._options = guard_options(config)
        self._loops = LoopTracker(config.compression_ratio_threshold)

    def keep(
        self,
        text: str,
        *,
        window: int,
        window_ratio: float,
        no_speech_prob: float,
        avg_logprob: float,
    ) -> bool:
        """:func:`keep_segment` for one segment in the library's terms.

        Parameters
        ----------
        text : str
            The segment's text.
        window : int
            The library's ``seek`` of the 30 s window the segment came from [frames].
        window_ratio : float
            The library's compression ratio of that whole window.
        no_speech_prob, avg_logprob : float
            The window's scores, as the library reports them for the segment.
        """
        scores = SegmentScores(
            no_speech_prob=no_speech_prob,
            avg_logprob=avg_logprob,
            compression_ratio=compression_ratio(text),
            repeats_loop=self._loops.repeats(window, window_ratio, text),
        )
        return keep_segment(scores, **self._options)


def guard_options(config: TranscriptionConfig) -> dict[str, float]:
    """The :func:`keep_segment` thresholds from a config."""
    return {
        "log_prob_threshold": config.log_prob_threshold,
        "compression_ratio_threshold": config.compression_ratio_threshold,
        "silence_no_speech_threshold": config.silence_no_speech_threshold,
        "silence_log_prob_threshold": config.silence_log_prob_threshold,
    }


def is_silent(audio: np.ndarray, dbfs: float) -> bool:
    """True when the peak of ``audio`` stays below ``dbfs`` [dBFS] (decoding would invent)."""
    return float(np.max(np.abs(audio), initial=0.0)) < 10 ** (dbfs / 20)


def to_utterance(
    text: str,
    start: float,
    end: float,
    words: Iterable[tuple[str, float, float, float]],
    *,
    avg_logprob: float | None = None,
    no_speech_prob: float | None = None,
) -> Utterance | None:
    """One Whisper segment as an :class:`Utterance` (speaker "unknown").

    Parameters
    ----------
    text : str
        The segment text (leading space and surrounding whitespace are stripped).
    start, end : float [s]
        Segment bounds.
    words : iterable of (text, start, end, probability)
        Word timings; empty words (punctuation only after stripping) are skipped.
    avg_logprob, no_speech_prob : float or None
        Whisper's segment scores, kept for the transcript's reliability (rounded to 0.001).

    Returns
    -------
    Utterance or None
        None when the segment holds no text.
    """
    converted = tuple(
        Word(
            text=w.strip(),
            start=round(float(s), 3),
            end=round(float(e), 3),
            speaker=UNKNOWN,
            probability=float(p),
        )
        for w, s, e, p in words
        if w.strip()
    )
    clean = text.strip()
    if not clean and not converted:
        return None
    if converted:
        start, end = min(start, converted[0].start), max(end, converted[-1].end)
    return Utterance(
        speaker=UNKNOWN,
        start=round(float(start), 3),
        end=round(float(end), 3),
        text=clean or " ".join(w.text for w in converted),
        words=converted,
        avg_logprob=None if avg_logprob is None else round(float(avg_logprob), 3),
        no_speech_prob=None if no_speech_prob is None else round(float(no_speech_prob), 3),
    )
