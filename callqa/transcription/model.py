"""The speech-to-text model as callqa sees it: the :class:`Transcriber` protocol.

Backends (:mod:`callqa.transcription.faster`, :mod:`callqa.transcription.openai`) implement it;
:func:`callqa.transcription.load.load_transcriber` loads the configured one;
:mod:`callqa.transcription.fake` is a model-free stand-in for tests.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from callqa.types import ModelInfo, Utterance


class Transcriber(Protocol):
    """A loaded speech-to-text model.

    Implementations hold the model; load them once and pass them in (never load per call).
    """

    @property
    def info(self) -> ModelInfo:
        """Backend, model name and weights checksum, for the scorecard."""
        ...

    def detect_language(
        self, audio: np.ndarray, candidates: Sequence[str] = ()
    ) -> tuple[str, float]:
        """Language of speech-only audio.

        Parameters
        ----------
        audio : np.ndarray, shape=(n,), float32, 16 kHz
            Speech only (silence removed), at most 30 s are used.
        candidates : sequence of str
            Languages to choose from (ISO 639-1, "nb" for Norwegian); empty: any. With
            candidates the probability is the chosen one's share of theirs
            (:func:`callqa.languages.pick`).

        Returns
        -------
        (code, probability) : (str, float in [0, 1])
            ISO 639-1 code, Norwegian reported as "nb".
        """
        ...

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        """Transcribe one channel.

        Parameters
        ----------
        audio : np.ndarray, shape=(n,), float32, 16 kHz
        language : str
            ISO 639-1 code to decode in ("nb" for Norwegian).

        Returns
        -------
        tuple of Utterance
            Times in seconds from the start of ``audio``, words with times, speaker "unknown".
        """
        ...


@dataclass(frozen=True)
class WindowText:
    """What a window transcriber returns for one window.

    Attributes
    ----------
    utterances : tuple of Utterance
        Times in seconds from the start of the window, speaker "unknown".
    language : (str, float) or None
        Whisper's language ID on this window's audio, as (ISO 639-1 code, probability), when it
        was asked for (``identify``); None otherwise.
    """

    utterances: tuple[Utterance, ...]
    language: tuple[str, float] | None = None


@runtime_checkable
class WindowTranscriber(Transcriber, Protocol):
    """A transcriber that can also decode many short windows at once (batched decoding).

    :func:`callqa.transcription.call.transcribe_call` packs the speech turns of a call into
    windows (:mod:`callqa.transcription.windows`) and uses this when the transcriber has it.
    """

    def transcribe_windows(
        self,
        windows: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> tuple[WindowText, ...]:
        """Transcribe windows of at most 30 s each.

        Parameters
        ----------
        windows : sequence of np.ndarray, each shape=(n,), float32, 16 kHz
        language : str
            ISO 639-1 code to decode in ("nb" for Norwegian).
        careful : bool
            Decode every window with the full beam at once (windows known to be hard, such as
            turns an earlier pass left without words) instead of greedy first.
        identify : bool
            Also run language ID on one window (the longest of the first batch) from the
            encoding it is decoded from, so no extra pass over the audio is needed.

        Returns
        -------
        tuple of WindowText
            One per window, in order.
        """
        ...


@runtime_checkable
class StreamTranscriber(WindowTranscriber, Protocol):
    """A window transcriber that can also decode several long stretches of speech at once,
    each the way the libraries decode a file (the ``stream_languages`` of the configuration).
    """

    @property
    def lanes(self) -> int:
        """How many streams are decoded at the same time (at least 1)."""
        ...

    def transcribe_streams(
        self, streams: Sequence[np.ndarray], *, language: str
    ) -> tuple[tuple[Utterance, ...], ...]:
        """Transcribe each stream as :meth:`Transcriber.transcribe` transcribes a channel
        (30 s windows one after the other, each starting where the text stopped), several
        streams at the same time.

        Parameters
        ----------
        streams : sequence of np.ndarray, each shape=(n,), float32, 16 kHz
            Read one at a time when a decoder is free (a lazy sequence keeps only the streams
            being decoded in memory).
        language : str
            ISO 639-1 code to decode in ("nb" for Norwegian).

        Returns
        -------
        tuple of tuple of Utterance
            One per stream, in order; times in seconds from the start of the stream.
        """
        ...


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int) -> int:
    """``threads``, or the usable cores when 0."""
    return threads if threads > 0 else usable_cores()
