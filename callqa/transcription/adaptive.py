"""Which windows greedy decoding was unsure about: the rule for the second, beam-search pass.

Batched decoding (:mod:`callqa.transcription.batched`) decodes every window greedily first
(``first_beam_size``) and decodes again with ``beam_size`` only the windows whose own scores say
the greedy text is doubtful. This module holds the rule and nothing else; the decoder measures
the scores (:class:`WindowScores`), :func:`second_pass_reason` decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from callqa.config import TranscriptionConfig

LOW_WORD_PROBABILITY = 0.5  # a word below this is one the model more likely got wrong than right


@dataclass(frozen=True)
class WindowScores:
    """Whisper's own figures for one decoded window.

    Attributes
    ----------
    avg_logprob : float <= 0 [nats/token]
        Mean token log-probability of the window's text (the libraries' definition: the
        sequence's total log-probability over its length + 1).
    compression_ratio : float >= 0
        UTF-8 length of the window's text over its zlib-compressed length (a loop scores high).
    no_speech_prob : float in [0, 1]
        P(<|nospeech|>) at the start of the window.
    word_probabilities : tuple of float in [0, 1]
        Each word's probability (mean of its tokens' probabilities, from the word alignment).
    """

    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    word_probabilities: tuple[float, ...] = ()

    @property
    def low_word_share(self) -> float:
        """Share of the words below :data:`LOW_WORD_PROBABILITY` (0 without words)."""
        words = self.word_probabilities
        if not words:
            return 0.0
        return sum(p < LOW_WORD_PROBABILITY for p in words) / len(words)


def second_pass_reason(scores: WindowScores, config: TranscriptionConfig) -> str | None:
    """Why the window must be decoded again with ``config.beam_size``, or None.

    The reasons, checked in this order:

    - ``"log-prob"``: ``avg_logprob`` below ``redecode_log_prob``;
    - ``"loop"``: ``compression_ratio`` above ``redecode_compression_ratio``;
    - ``"words"``: more than ``redecode_low_word_share`` of the words below
      :data:`LOW_WORD_PROBABILITY`.

    Never when the first pass already used ``beam_size`` (``first_beam_size >= beam_size``).
    The thresholds and the data they were chosen on: docs/transcription.md.
    """
    if config.first_beam_size >= config.beam_size:
        return None
    if scores.avg_logprob < config.redecode_log_prob:
        return "log-prob"
    if scores.compression_ratio > config.redecode_compression_ratio:
        return "loop"
    if scores.low_word_share > config.redecode_low_word_share:
        return "words"
    return None
