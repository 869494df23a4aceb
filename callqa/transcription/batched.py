"""Batched, adaptive decoding of packed windows with faster-whisper's building blocks.

The windows (:mod:`callqa.transcription.windows`, at most 30 s of speech each, from both
channels of a call) are decoded in batches, each batch in four steps on the CTranslate2 model:

1. encode the batch once;
2. decode every window with ``first_beam_size`` (greedy by default), with timestamps;
3. align the words (faster-whisper's word timing: cross-attention and dynamic time warping),
   which also gives each word's probability, for the windows whose log-probability and
   compression ratio already passed (the others are decoded again: their words would be lost);
4. decode again with ``beam_size``, from the same encoder output, only the windows whose scores
   fail :func:`callqa.transcription.adaptive.second_pass_reason`, and align those again.

A ``careful`` decode (windows known to be hard: turns the first pass left without words) uses
``beam_size`` in step 2 and skips step 4. With ``identify``, the batch that holds the first
window also runs Whisper's language ID on its longest window, from the encoder output of step 1
(one decoder step instead of another 30 s encoder pass).

Batches run on ``lanes`` model replicas at once (Python threads; CTranslate2 releases the GIL
and its replicas share one copy of the weights). On a GPU a batch that runs out of memory is
split in two, and later batches stay at the smaller size. The segment guards are the
sequential adapter's (:class:`~callqa.transcription.guards.SegmentGuard`), applied per window.

This module and :mod:`callqa.transcription.faster` are the only ones that read faster-whisper's
objects on this path.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from callqa.config import TranscriptionConfig
from callqa.languages import to_whisper
from callqa.transcription.adaptive import WindowScores, second_pass_reason
from callqa.transcription.guards import SegmentGuard, compression_ratio, to_utterance
from callqa.types import SAMPLE_RATE, Utterance

log = logging.getLogger(__name__)

CPU_BATCH = 8  # windows per batch on a CPU (see default_batch_size)
GPU_BATCH = 16  # windows per batch on a GPU (halved while it runs out of memory)
CPU_ENCODE = 1  # windows encoded at a time on a CPU (see _Run._encode)
MEL_FRAMES = 3000  # Whisper's encoder input: 30 s of 10 ms frames
HOP = 160  # samples per mel frame at 16 kHz
TOKENS_PER_S = 13.0  # a window's text has at most this many tokens per second of its audio...
TOKENS_FLOOR = 24  # ... plus this many (docs/transcription.md, "Bounded decoding")
MAX_INITIAL_TIMESTAMP_INDEX = 50  # first timestamp within 1 s of the start (libraries' default)
PREPEND = "\"'“¿([{-"  # faster-whisper's defaults for merging punctuation into words
APPEND = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class DecodedWindow:
    """One window's result.

    Attributes
    ----------
    utterances : tuple of Utterance
        In window time, speaker "unknown", after the segment guards.
    scores : WindowScores
        Of the first pass (what the second-pass rule saw).
    second_pass : str or None
        Why the window was decoded again with ``beam_size`` (None: the first pass was kept).
    language : (str, float) or None
        Whisper's language ID on this window (Whisper's code, probability), for the one window
        an ``identify`` decode asks it of; None for the others.
    """

    utterances: tuple[Utterance, ...]
    scores: WindowScores
    second_pass: str | None = None
    language: tuple[str, float] | None = None


@dataclass
class _Decode:
    """One window's decode: segments (faster-whisper's dicts, with words after alignment) and
    the window's scores."""

    segments: list[dict[str, Any]]
    avg_logprob: float
    no_speech_prob: float
    ratio: float
    words: list[float] = field(default_factory=list)

    @property
    def scores(self) -> WindowScores:
        return WindowScores(self.avg_logprob, self.ratio, self.no_speech_prob, tuple(self.words))


def default_batch_size(device: str) -> int:
    """Windows per batch when ``batch_size = 0``.

    A decoder step costs nearly the same for 5 windows as for 9, so fewer, larger batches are
    faster: the 9 first-pass windows of the 245 s stereo benchmark call took 3.8-4.1 s as one
    batch and 4.3-4.6 s as two (5 + 4). Memory sets the limit on a CPU: each window of a batch
    holds about 35-50 MiB (its cross-attention cache). With batches of 10, that call peaked
    at 847 MiB instead of 703 MiB, and a 30-minute call scored with one thread at 810 MiB
    against 622 MiB for a 5-minute one (1.30x: memory no longer flat in the call's length),
    so the CPU batch stays at 8.
    """
    return GPU_BATCH if device == "cuda" else CPU_BATCH


def plan_batches(n: int, batch_size: int, lanes: int) -> list[list[int]]:
    """Window indices 0..n-1 as consecutive batches of at most ``batch_size``, and at least as
    many batches as ``lanes`` (while there are windows), sizes as even as possible."""
    if n == 0:
        return []
    count = min(n, max(math.ceil(n / max(1, batch_size)), lanes))
    small, larger = divmod(n, count)  # the first ``larger`` batches take one window more
    sizes = [small + (k < larger) for k in range(count)]
    bounds = [0, *itertools.accumulate(sizes)]
    return [list(range(a, b)) for a, b in itertools.pairwise(bounds)]


def is_out_of_memory(error: BaseException) -> bool:
    """True for CTranslate2's (CUDA) out-of-memory errors."""
    text = str(error).lower()
    return "out of memory" in text or "cudaerrormemoryallocation" in text


class BatchedDecoder:
    """Decodes packed windows in batches with a loaded faster-whisper ``WhisperModel``.

    Parameters
    ----------
    model : faster_whisper.WhisperModel
    config : TranscriptionConfig
        Beams, second-pass thresholds and segment guards.
    lanes : int >= 1
        Batches decoded at the same time (the model's ``num_workers``).
    batch_size : int >= 1
        Windows per batch (lowered for good when a GPU runs out of memory).
    """

    def __init__(
        self, model: Any, config: TranscriptionConfig, *, lanes: int, batch_size: int
    ) -> None:
        self._model = model
        self._config = config
        self.lanes = max(1, lanes)
        self.batch_size = max(1, batch_size)
        self._lock = threading.Lock()

    def decode(
        self,
        audios: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> list[DecodedWindow]:
        """Decode windows (16 kHz float32, at most 30 s each) in ``language``; one result per
        window, in order. ``audios`` is read one batch at a time (a lazy sequence keeps only
        the windows being decoded in memory).

        ``careful``, or ``language`` in ``beam_first_languages``: the first pass uses
        ``beam_size`` (no second pass). ``identify``: language ID on the longest window of the
        batch holding window 0 (its ``language``)."""
        if not audios:
            return []
        config, whisper = self._config, to_whisper(language)
        if careful or whisper in {to_whisper(code) for code in config.beam_first_languages}:
            config = replace(config, first_beam_size=max(config.first_beam_size, config.beam_size))
        run = _Run(self._model, config, whisper, audios, identify=identify)
        batches = plan_batches(len(audios), self.batch_size, self.lanes)
        results: dict[int, DecodedWindow] = {}

        def work(indices: list[int]) -> None:
            results.update(self._fitted(run.decode_batch, indices))

        if self.lanes == 1 or len(batches) == 1:
            for indices in batches:
                work(indices)
        else:
            with ThreadPoolExecutor(self.lanes, thread_name_prefix="callqa-decode") as pool:
                list(pool.map(work, batches))
        out = [results[i] for i in range(len(audios))]
        again = sum(w.second_pass is not None for w in out)
        log.info("decoded %d windows (first beam %d), %d again with beam %d", len(out),
                 config.first_beam_size, again, config.beam_size)  # fmt: skip
        return out

    def _fitted(
        self, decode: Callable[[list[int]], dict[int, DecodedWindow]], indices: list[int]
    ) -> dict[int, DecodedWindow]:
        """``decode(indices)`` in batches of at most ``self.batch_size``, halving the batch size
        while the device runs out of memory (a single window that does not fit is an error)."""
        if len(indices) > self.batch_size:
            size = self.batch_size
            chunks = [indices[start : start + size] for start in range(0, len(indices), size)]
            out: dict[int, DecodedWindow] = {}
            for chunk in chunks:
                out.update(self._fitted(decode, chunk))
            return out
        try:
            return decode(indices)
        except RuntimeError as exc:
            if not is_out_of_memory(exc) or len(indices) == 1:
                raise
        with self._lock:
            self.batch_size = max(1, min(self.batch_size, len(indices) // 2))
        log.info("out of device memory: batches of %d windows from now on", self.batch_size)
        return self._fitted(decode, indices)


class _Run:
    """The per-call state of a decode: features, tokenizer, prompt, decoding options."""

    def __init__(
        self,
        model: Any,
        config: TranscriptionConfig,
        language: str,
        audios: Sequence[np.ndarray],
        *,
        identify: bool = False,
    ) -> None:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.model = model
        self.config = config
        self.tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language
        )
        self.prompt = model.get_prompt(self.tokenizer, [], without_timestamps=False)
        self.suppress = list(get_suppressed_tokens(self.tokenizer, [-1]))
        self._pad_or_trim = pad_or_trim
        self.audios = audios  # read one batch at a time: it may cut each window when asked
        self.durations: dict[int, float] = {}
        self.frames: dict[int, int] = {}
        self.identify = identify  # language ID in the batch that holds window 0

    def _features(self, indices: list[int]) -> np.ndarray:
        """Log-mel features of the windows ``indices`` (batch, 80, 3000); their durations and
        frame counts are kept. Only this batch's audio and features are held."""
        out = []
        for i in indices:
            audio = self.audios[i]
            self.durations[i] = len(audio) / SAMPLE_RATE
            self.frames[i] = min(MEL_FRAMES, math.ceil(len(audio) / HOP))
            mel = self.model.feature_extractor(audio)[..., :-1]
            out.append(self._pad_or_trim(mel, MEL_FRAMES))
        return np.ascontiguousarray(np.stack(out))

    def decode_batch(self, indices: list[int]) -> dict[int, DecodedWindow]:
        """Both passes over the windows ``indices``.

        Word alignment is only run on text that is kept or needs its word probabilities: a
        first pass already sent back by its log-probability or compression ratio is not
        aligned (its words would be thrown away)."""
        cfg = self.config
        encoded = self._encode(self._features(indices))
        rows = list(range(len(indices)))
        first = self._generate_in_parts(encoded, indices, rows, cfg.first_beam_size)
        reasons = [second_pass_reason(d.scores, cfg) for d in first]  # without words yet
        for k in rows:
            if reasons[k] is None:
                self._align(first[k], encoded[k : k + 1], indices[k])
                reasons[k] = second_pass_reason(first[k].scores, cfg)  # with words
        again = [k for k in rows if reasons[k]]
        final = list(first)
        second = self._generate_in_parts(encoded, indices, again, cfg.beam_size)
        for k, decoded in zip(again, second, strict=True):
            self._align(decoded, encoded[k : k + 1], indices[k])
            final[k] = decoded
        heard: dict[int, tuple[str, float]] = {}
        if self.identify and 0 in indices:
            k = max(range(len(indices)), key=lambda j: self.durations[indices[j]])
            heard[k] = self._identify(encoded[k : k + 1])
        return {
            i: DecodedWindow(self._utterances(final[k]), first[k].scores, reasons[k], heard.get(k))
            for k, i in enumerate(indices)
        }

    def _identify(self, encoded: np.ndarray) -> tuple[str, float]:
        """Whisper's most likely language of one encoded window (its code, probability)."""
        import ctranslate2

        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(encoded))
        token, probability = self.model.model.detect_language(view)[0][0]
        return token[2:-2], float(probability)  # "<|en|>" -> "en"

    def _encode(self, batch: np.ndarray) -> np.ndarray:
        """Encoder output of the batch, as a CPU copy (windows are picked from it for the
        second pass). On a CPU the windows are encoded one at a time: encoding them together
        is no faster there, and the encoder's attention scores (8 heads x 1500 x 1500 floats,
        72 MB per window) would all be held at once."""
        import ctranslate2

        step = len(batch) if self.model.model.device == "cuda" else CPU_ENCODE
        parts = []
        for start in range(0, len(batch), step):
            chunk = np.ascontiguousarray(batch[start : start + step])
            view = ctranslate2.StorageView.from_array(chunk)
            parts.append(np.array(self.model.model.encode(view, to_cpu=True)))
        return np.concatenate(parts)

    def _generate_in_parts(
        self, encoded: np.ndarray, indices: list[int], rows: list[int], beam: int
    ) -> list[_Decode]:
        """Decode the batch's ``rows`` with ``beam``, a batch's worth of hypotheses at a time
        (beams cost memory too: with beam 5, a batch of 4 windows is decoded one by one)."""
        per_call = max(1, len(indices) // beam)
        out: list[_Decode] = []
        for start in range(0, len(rows), per_call):
            chosen = rows[start : start + per_call]
            out += self._generate(_take(encoded, chosen), [indices[k] for k in chosen], beam)
        return out

    def _generate(self, encoded: np.ndarray, indices: list[int], beam: int) -> list[_Decode]:
        import ctranslate2

        encoded = np.ascontiguousarray(encoded)
        view = ctranslate2.StorageView.from_array(encoded)  # borrows ``encoded``'s memory
        results = self.model.model.generate(
            view,
            [list(self.prompt) for _ in indices],
            beam_size=beam,
            max_length=self.max_length(indices),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self.suppress,
            max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
        )
        return [self._segments(r, i) for r, i in zip(results, indices, strict=True)]

    def max_length(self, indices: list[int]) -> int:
        """The most tokens (prompt included) a decode of the windows ``indices`` may run to:
        :data:`TOKENS_FLOOR` + :data:`TOKENS_PER_S` per second of the longest window, never
        more than the model's limit. A short window stuck in a loop ("li li li ...") stops
        there instead of at the model's limit, and its compression ratio still flags it."""
        longest = max(self.durations[i] for i in indices)
        allowed = len(self.prompt) + TOKENS_FLOOR + math.ceil(TOKENS_PER_S * longest)
        return int(min(self.model.max_length, allowed))

    def _segments(self, result: Any, index: int) -> _Decode:
        """faster-whisper's segments of one window's tokens, and the window's scores."""
        tokens = list(result.sequences_ids[0])
        cum_logprob = result.scores[0] * len(tokens)  # length_penalty 1
        avg_logprob = cum_logprob / (len(tokens) + 1)
        text = self.tokenizer.decode(tokens).strip()
        segments = split_segments(self.model, self.tokenizer, tokens, self.durations[index],
                                  self.frames[index])  # fmt: skip
        return _Decode(segments, avg_logprob, float(result.no_speech_prob), compression_ratio(text))

    def _align(self, decoded: _Decode, encoded: np.ndarray, index: int) -> None:
        """Word times and probabilities (faster-whisper's own word timing, one window)."""
        import ctranslate2

        eot = self.tokenizer.eot
        if not any(t < eot for s in decoded.segments for t in s["tokens"]):
            for s in decoded.segments:
                s["words"] = []
            return
        encoded = np.ascontiguousarray(encoded)
        view = ctranslate2.StorageView.from_array(encoded)
        self.model.add_word_timestamps(
            [decoded.segments], self.tokenizer, view, self.frames[index], PREPEND, APPEND, 0.0
        )
        decoded.words = [float(w["probability"]) for s in decoded.segments for w in s["words"]]

    def _utterances(self, decoded: _Decode) -> tuple[Utterance, ...]:
        """The window's segments that pass the guards, as utterances (window time)."""
        cfg = self.config
        silent = (
            decoded.no_speech_prob > cfg.no_speech_threshold
            and decoded.avg_logprob <= cfg.log_prob_threshold
        )
        if silent:  # what the libraries skip as a window without speech
            return ()
        guard = SegmentGuard(cfg)
        out = []
        for s in decoded.segments:
            text = self.tokenizer.decode(s["tokens"])
            if s["start"] == s["end"] or not text.strip():
                continue
            if not guard.keep(text, window=0, window_ratio=decoded.ratio,
                              no_speech_prob=decoded.no_speech_prob,
                              avg_logprob=decoded.avg_logprob):  # fmt: skip
                continue
            words = ((w["word"], w["start"], w["end"], w["probability"]) for w in s["words"])
            utt = to_utterance(text, s["start"], s["end"], words, avg_logprob=decoded.avg_logprob,
                               no_speech_prob=decoded.no_speech_prob)  # fmt: skip
            if utt is not None:
                out.append(utt)
        return tuple(out)


def split_segments(
    model: Any, tokenizer: Any, tokens: list[int], duration: float, frames: int
) -> list[dict[str, Any]]:
    """One window's tokens as faster-whisper's segment dicts (window time).

    faster-whisper's own split leaves out the tokens after the last closed segment (in its
    sequential loop the next window starts there); a packed window has no next window, so
    they become a last segment that ends with the window.
    """
    segments, _, _ = model._split_segments_by_timestamps(
        tokenizer=tokenizer, tokens=tokens, time_offset=0.0, segment_size=frames,
        segment_duration=duration, seek=0,
    )  # fmt: skip
    used = sum(len(s["tokens"]) for s in segments)
    rest = tokens[used:]
    if any(t < tokenizer.eot for t in rest):
        start = segments[-1]["end"] if segments else 0.0
        if rest[0] >= tokenizer.timestamp_begin:  # the unfinished segment's own start
            start = (rest[0] - tokenizer.timestamp_begin) * model.time_precision
        segments.append({"seek": 0, "start": start, "end": max(start, duration), "tokens": rest})
    return list(segments)


def _take(encoded: np.ndarray, rows: list[int]) -> np.ndarray:
    return np.ascontiguousarray(encoded[rows])
