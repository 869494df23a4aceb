"""A scripted :class:`~callqa.transcription.call.Transcriber` for tests (no model, no torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callqa.types import SAMPLE_RATE, ModelInfo, Utterance, Word


@dataclass(frozen=True)
class FakeTranscriber:
    """Returns the same scripted words for every channel, spread over the audio's voiced part.

    Parameters
    ----------
    text : str
        The words to "hear" in each channel with sound above -50 dBFS.
    language : str
        What :meth:`detect_language` answers.
    """

    text: str = "hello thank you for calling how can I help you today"
    language: str = "en"

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(backend="fake", name="fake", weights_sha256=None)

    def detect_language(
        self, audio: np.ndarray, candidates: Sequence[str] = ()
    ) -> tuple[str, float]:
        """``language`` for sure, or, when it is not among ``candidates``, the first of them
        with probability 0."""
        if not candidates or self.language in candidates:
            return self.language, 1.0
        return candidates[0], 0.0

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        duration = len(audio) / SAMPLE_RATE
        if duration == 0 or float(np.max(np.abs(audio), initial=0.0)) < 10 ** (-50 / 20):
            return ()
        return (_spread(self.text.split(), 0.0, duration),)


def _spread(tokens: Sequence[str], start: float, end: float) -> Utterance:
    step = (end - start) / max(1, len(tokens))
    words = tuple(
        Word(text=t, start=start + i * step, end=start + (i + 0.8) * step)
        for i, t in enumerate(tokens)
    )
    return Utterance(speaker="unknown", start=start, end=end, text=" ".join(tokens), words=words)
