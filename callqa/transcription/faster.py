"""faster-whisper (CTranslate2) as a :class:`~callqa.transcription.model.Transcriber`.

int8 on CPU, float16 on GPU by default; word timestamps always on. The default model is the
shipped ``base`` directory (:func:`callqa.transcription.weights.ensure_base_ct2`), loaded with the
Hugging Face hub switched offline so that no network call can happen.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from callqa.config import TranscriptionConfig
from callqa.errors import ModelError
from callqa.languages import from_whisper, pick, to_whisper
from callqa.transcription.batched import BatchedDecoder, DecodedWindow, default_batch_size
from callqa.transcription.guards import SegmentGuard, is_silent, to_utterance
from callqa.transcription.model import WindowText, resolve_threads
from callqa.transcription.weights import ResolvedModel, resolve_model
from callqa.transcription.windows import LazyMap
from callqa.types import ModelInfo, Utterance

BACKEND = "faster-whisper"


def pick_device(device: str) -> str:
    """ "cuda" or "cpu" for a configured device ("auto": cuda when CTranslate2 sees a GPU)."""
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def pick_compute_type(compute_type: str, device: str) -> str:
    """ "auto" -> int8 on CPU, float16 on GPU; anything else unchanged."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


def split_threads(config: TranscriptionConfig, device: str) -> tuple[int, int]:
    """(lanes, threads per lane): model replicas decoding at the same time, and the CPU
    threads of each.

    By default one lane with every thread, on a CPU as on a GPU (one CUDA stream): one
    replica decoding batches of 8 windows with 2 threads transcribed the stereo benchmark call
    in about 16.5 s, 2 replicas with one thread and 4 windows each in about 20.3 s; with
    batches of 8 the split itself hardly matters (docs/transcription.md, "Threads").
    ``parallel_windows`` asks for more lanes; on a CPU never more than threads. Sequential
    decoding has one window at a time to give, so one lane with every thread.
    """
    threads = resolve_threads(config.threads)
    if config.decoding == "sequential":
        return 1, threads
    if device == "cuda":
        return max(1, config.parallel_windows), threads
    lanes = min(threads, config.parallel_windows or 1)
    return lanes, max(1, threads // lanes)


class FasterWhisperTranscriber:
    """A loaded faster-whisper model with callqa's decoding settings.

    Build it with :meth:`load` (or :func:`callqa.transcription.load.load_transcriber`); it holds the
    model for the life of the process.
    """

    def __init__(
        self,
        model: Any,
        config: TranscriptionConfig,
        info: ModelInfo,
        *,
        lanes: int = 1,
        device: str = "cpu",
    ) -> None:
        self._model = model
        self._config = config
        self._info = info
        self._device = device
        batch = config.batch_size or default_batch_size(device)
        self._decoder = BatchedDecoder(model, config, lanes=lanes, batch_size=batch)
        self.window_counts: Counter[str] = Counter()  # windows decoded, and why decoded again

    @classmethod
    def load(cls, config: TranscriptionConfig) -> FasterWhisperTranscriber:
        """Resolve ``config.model`` and load it.

        Raises
        ------
        ModelError
            The weights cannot be found, verified or loaded.
        """
        resolved = resolve_model(config.model, BACKEND)
        if resolved.offline:
            os.environ["HF_HUB_OFFLINE"] = "1"  # read by huggingface_hub at import
        device = pick_device(config.device)
        lanes, threads = split_threads(config, device)
        model = _load_model(resolved, config, device=device, lanes=lanes, threads=threads)
        info = ModelInfo(backend=BACKEND, name=resolved.name, weights_sha256=resolved.sha256)
        return cls(model, config, info, lanes=lanes, device=device)

    @property
    def info(self) -> ModelInfo:
        """Backend, model name and weights checksum."""
        return self._info

    def reconfigured(self, config: TranscriptionConfig) -> FasterWhisperTranscriber:
        """This loaded model with other decoding settings (beams, thresholds, guards); the
        model, device, threads and lanes stay as loaded. Benchmarks compare decodings with it.
        """
        lanes, device = self.lanes, self._device
        return FasterWhisperTranscriber(self._model, config, self._info, lanes=lanes, device=device)

    def detect_language(
        self, audio: np.ndarray, candidates: Sequence[str] = ()
    ) -> tuple[str, float]:
        """Language of speech-only audio (first 30 s), Norwegian as "nb"; among ``candidates``
        when given (see :func:`callqa.languages.pick`)."""
        _, _, every = self._model.detect_language(audio=_mono16k(audio))
        return pick(dict(every), candidates)

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        """Transcribe one channel (16 kHz float32) in ``language``; see the protocol."""
        cfg = self._config
        if is_silent(audio, cfg.silence_dbfs):
            return ()
        segments, _ = self._model.transcribe(
            _mono16k(audio),
            language=to_whisper(language),
            beam_size=cfg.beam_size,
            best_of=cfg.best_of,
            temperature=list(cfg.temperatures),
            compression_ratio_threshold=cfg.compression_ratio_threshold,
            log_prob_threshold=cfg.log_prob_threshold,
            no_speech_threshold=cfg.no_speech_threshold,
            condition_on_previous_text=cfg.condition_on_previous_text,
            word_timestamps=True,
            vad_filter=False,  # callqa runs its own speech activity detection
        )
        guard = SegmentGuard(cfg)
        return tuple(u for u in (_convert(s, guard) for s in segments) if u is not None)

    @property
    def lanes(self) -> int:
        """Windows or streams decoded at the same time (model replicas)."""
        return self._decoder.lanes

    def transcribe_streams(
        self, streams: Sequence[np.ndarray], *, language: str
    ) -> tuple[tuple[Utterance, ...], ...]:
        """Transcribe streams of speech, one per decoder lane at a time; see the protocol
        (:class:`~callqa.transcription.model.StreamTranscriber`)."""
        self.window_counts["streams"] += len(streams)

        def one(index: int) -> tuple[Utterance, ...]:
            return self.transcribe(streams[index], language=language)

        lanes = min(self.lanes, len(streams))
        if lanes <= 1:
            return tuple(one(i) for i in range(len(streams)))
        with ThreadPoolExecutor(lanes, thread_name_prefix="callqa-stream") as pool:
            return tuple(pool.map(one, range(len(streams))))

    def transcribe_windows(
        self,
        windows: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> tuple[WindowText, ...]:
        """Transcribe packed windows (batched, adaptive); see the protocol."""
        decoded = self.decode_windows(windows, language=language, careful=careful,
                                      identify=identify)  # fmt: skip
        return tuple(WindowText(w.utterances, _language(w.language)) for w in decoded)

    def decode_windows(
        self,
        windows: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> list[DecodedWindow]:
        """:meth:`transcribe_windows` with each window's scores and second-pass reason."""
        decoded = self._decoder.decode(LazyMap(windows, _mono16k), language=language,
                                       careful=careful, identify=identify)  # fmt: skip
        self.window_counts["careful" if careful else "windows"] += len(decoded)
        self.window_counts.update(w.second_pass for w in decoded if w.second_pass)
        return decoded


def _language(heard: tuple[str, float] | None) -> tuple[str, float] | None:
    return (from_whisper(heard[0]), heard[1]) if heard else None


def _convert(segment: Any, guard: SegmentGuard) -> Utterance | None:
    if not guard.keep(
        segment.text,
        window=segment.seek,
        window_ratio=segment.compression_ratio,
        no_speech_prob=segment.no_speech_prob,
        avg_logprob=segment.avg_logprob,
    ):
        return None
    words = ((w.word, w.start, w.end, w.probability) for w in segment.words or ())
    return to_utterance(
        segment.text,
        segment.start,
        segment.end,
        words,
        avg_logprob=segment.avg_logprob,
        no_speech_prob=segment.no_speech_prob,
    )


def _load_model(
    resolved: ResolvedModel, config: TranscriptionConfig, *, device: str, lanes: int, threads: int
) -> Any:
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            resolved.location,
            device=device,
            compute_type=pick_compute_type(config.compute_type, device),
            cpu_threads=threads,
            num_workers=lanes,
            local_files_only=resolved.offline,
        )
    except (OSError, RuntimeError, ValueError) as exc:
        hint = (
            "the default model 'base' works offline"
            if not resolved.offline
            else "delete the callqa cache directory and run again"
        )
        raise ModelError(
            f"faster-whisper could not load model {resolved.name!r} ({exc}); {hint}"
        ) from exc


def _mono16k(audio: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(audio, dtype=np.float32)
