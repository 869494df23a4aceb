"""The baseline of benchmarks/bench_throughput.py: what a user writes by hand with faster-whisper.

Usage::

    python benchmarks/bare_faster_whisper.py MODEL_DIR AUDIO LANGUAGE THREADS

Loads the model (int8 on the CPU, ``THREADS`` threads) and transcribes every channel of
``AUDIO`` with beam 5, faster-whisper's own VAD filter and word timestamps; prints one JSON
line: the number of words per channel. No callqa code is imported, so the process holds only
what such a script holds.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

BEAM = 5


def load(model_dir: str, threads: int) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)


def channels(path: str) -> list[np.ndarray]:
    """The file's channels at 16 kHz (faster-whisper's own decoder)."""
    import soundfile as sf
    from faster_whisper import decode_audio

    if sf.info(path).channels == 2:
        return list(decode_audio(path, split_stereo=True))
    return [decode_audio(path)]


def transcribe(model: Any, audio: np.ndarray, language: str) -> list[tuple[str, float, float]]:
    """(word, start, end) of one channel: beam 5, VAD filter, word timestamps."""
    segments, _ = model.transcribe(
        audio, language=language, beam_size=BEAM, vad_filter=True, word_timestamps=True
    )
    return [(w.word.strip(), w.start, w.end) for s in segments for w in (s.words or [])]


def main() -> None:
    model_dir, path, language, threads = sys.argv[1:5]
    model = load(model_dir, int(threads))
    words = [len(transcribe(model, ch, language)) for ch in channels(path)]
    print(json.dumps({"words": words}))


if __name__ == "__main__":
    main()
