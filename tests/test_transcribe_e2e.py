"""End to end with the shipped Whisper base model and real recordings (../shared/eval).

Models load once per session: faster-whisper through conftest's ``transcriber`` fixture,
openai-whisper (converted from the same weights) here.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from callqa.config import TranscriptionConfig
from callqa.transcription.call import transcribe_call
from callqa.transcription.load import load_transcriber
from callqa.transcription.model import Transcriber
from callqa.transcription.wer import normalize_text, wer
from callqa.types import SAMPLE_RATE, CallAudio, Transcript

pytestmark = pytest.mark.slow

JFK = (
    "And so my fellow Americans ask not what your country can do for you, ask what you can "
    "do for your country."
)
LIBRI_LEFT = (
    "He began a confused complaint against the wizard, who had vanished behind the curtain "
    "on the left."
)
LIBRI_RIGHT = "The horizon seems extremely distant."


def _load(path: Path) -> CallAudio:
    from callqa.audio.load import load_audio

    return load_audio(path)


def _text(tr: Transcript, speaker: str | None = None) -> str:
    return " ".join(w.text for w in tr.words if speaker is None or w.speaker == speaker)


@pytest.fixture(scope="session")
def openai_transcriber(model_cache: Path) -> Transcriber:
    """openai-whisper on the converted shipped weights (greedy), loaded once."""
    return load_transcriber(
        TranscriptionConfig(backend="openai-whisper", threads=2, beam_size=1, best_of=1)
    )


@pytest.fixture(scope="session")
def jfk(eval_dir: Path) -> CallAudio:
    return _load(eval_dir / "speech" / "en_jfk.flac")


def test_both_backends_hear_the_same_words(
    transcriber: Transcriber, openai_transcriber: Transcriber, jfk: CallAudio
) -> None:
    fast = transcribe_call(jfk, transcriber, activity=None, language="en")
    torch_ = transcribe_call(jfk, openai_transcriber, activity=None, language="en")
    assert normalize_text(_text(fast)) == normalize_text(_text(torch_))
    assert wer(JFK, _text(fast)) <= 0.05
    assert transcriber.info.backend == "faster-whisper"
    assert openai_transcriber.info.backend == "openai-whisper"
    for info in (transcriber.info, openai_transcriber.info):
        assert info.name == "base"
        assert info.weights_sha256 == (
            "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
        )
    # word times are inside the 11 s clip and in order
    starts = [w.start for w in fast.words]
    assert starts == sorted(starts) and starts[0] >= 0.0 and fast.words[-1].end <= 11.1


def test_stereo_sentences_on_their_own_channels(transcriber: Transcriber, eval_dir: Path) -> None:
    audio = _load(eval_dir / "calls" / "librispeech_stereo_two_speakers.wav")
    assert audio.n_channels == 2
    tr = transcribe_call(audio, transcriber, activity=None, language="en")
    assert {w.speaker for w in tr.words} == {"left", "right"}
    assert wer(LIBRI_LEFT, _text(tr, "left")) <= 0.10
    assert wer(LIBRI_RIGHT, _text(tr, "right")) <= 0.10


def test_default_model_loads_and_runs_without_network(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch, jfk: CallAudio
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for backend in ("faster-whisper", "openai-whisper"):
        fresh = load_transcriber(TranscriptionConfig(backend=backend, threads=2, beam_size=1))
        one_second = CallAudio((jfk.channels[0][SAMPLE_RATE : 2 * SAMPLE_RATE],), None, "", 16000)
        tr = transcribe_call(one_second, fresh, activity=None, language=None)
        assert tr.language_source == "detected"


def test_language_detection_on_clear_speech(transcriber: Transcriber, eval_dir: Path) -> None:
    for name, code in (("en_jfk.flac", "en"), ("it_leopard.wav", "it")):
        tr = transcribe_call(_load(eval_dir / "speech" / name), transcriber, activity=None,
                             language=None)  # fmt: skip
        assert (tr.language, tr.language_source) == (code, "detected")
        assert tr.language_probability is not None and tr.language_probability > 0.9


def test_forced_norwegian(transcriber: Transcriber, eval_dir: Path) -> None:
    # Reference: "Stortingets møte er lovlig satt". Whisper base's language ID calls this
    # 3.5 s clip English (p 0.66), so Norwegian must be forced; base then gets 2 of 5 words
    # right ("Stortinget smørte er lovlig soft", WER 0.6, benchmarks/results/transcribe.md).
    audio = _load(eval_dir / "speech" / "nb_npsc_short.mp3")
    tr = transcribe_call(audio, transcriber, activity=None, language="no")
    assert (tr.language, tr.language_source, tr.language_probability) == ("nb", "forced", None)
    words = normalize_text(_text(tr))
    assert words[-3:-1] == ["er", "lovlig"]
    assert wer(_reference(eval_dir / "speech" / "nb_npsc_short.txt"), _text(tr)) < 1.0


def _reference(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def test_noise_and_silence_give_no_words(transcriber: Transcriber) -> None:
    # Without the segment guards, Whisper base wrote "Det er veldig veldig veldig veldig
    # veldig." for this noise in Norwegian, and "You" for digital silence in English.
    noise = (np.random.default_rng(0).standard_normal(5 * SAMPLE_RATE) * 0.01).astype(np.float32)
    assert transcriber.transcribe(noise, language="no") == ()
    silence = CallAudio((np.zeros(5 * SAMPLE_RATE, np.float32),), None, "", 16000)
    assert transcribe_call(silence, transcriber, activity=None, language="en").segments == ()


def test_decoding_is_deterministic(transcriber: Transcriber, sample_calls: Path) -> None:
    # Robotic Slovenian that base cannot decode with confidence: under Whisper's temperature
    # fallback this window was decoded again by random sampling, and three runs gave three
    # different texts (0, 3 and 3 segments, no two alike). The default decodes once, at
    # temperature 0, so the same audio gives the same words and times every time.
    assert TranscriptionConfig().temperatures == (0.0,)
    customer = _load(sample_calls / "sl_call.ogg").channels[1][: 30 * SAMPLE_RATE]
    first = transcriber.transcribe(customer, language="sl")
    for _ in range(2):
        assert transcriber.transcribe(customer, language="sl") == first


def test_batched_windows_with_speech_activity(transcriber: Transcriber, eval_dir: Path) -> None:
    """The default path of ``callqa score``: speech turns packed into windows, both channels
    in one batch, greedy first. Each sentence stays on its own channel's speaker, and a second
    pass forced on every window gives exactly what beam 5 gives on every window (the same
    encoder output, decoded again)."""
    from dataclasses import replace

    from callqa.audio.activity import detect_activity
    from callqa.config import DynamicsConfig

    audio = _load(eval_dir / "calls" / "librispeech_stereo_two_speakers.wav")
    activity = detect_activity(audio, DynamicsConfig())
    base = TranscriptionConfig(threads=2)
    assert base.decoding == "batched"

    def run(config: TranscriptionConfig) -> tuple[Transcript, int, int]:
        model = transcriber.reconfigured(config)  # type: ignore[attr-defined]
        tr = transcribe_call(audio, model, activity=activity, language="en", config=config)
        counts = model.window_counts
        return tr, counts["windows"], sum(v for k, v in counts.items() if k != "windows")

    tr, windows, _ = run(base)
    assert windows == 2 and {w.speaker for w in tr.words} == {"left", "right"}
    # the forced language checked by language ID on a window it decoded (no extra pass)
    assert tr.detected_language == "en" and (tr.detected_probability or 0.0) > 0.9
    assert wer(LIBRI_LEFT, _text(tr, "left")) <= 0.10
    assert wer(LIBRI_RIGHT, _text(tr, "right")) <= 0.10
    assert all(0.0 <= w.start <= w.end <= audio.duration_s for w in tr.words)
    assert run(base)[0] == tr  # deterministic
    forced, _, again_all = run(replace(base, redecode_log_prob=0.0))
    beam, _, none_again = run(replace(base, first_beam_size=5))
    assert (again_all, none_again) == (2, 0)
    assert forced == beam


class _Recording:
    """The CTranslate2 model with every ``generate`` call's ``max_length`` kept."""

    def __init__(self, model: object) -> None:
        self._model = model
        self.max_lengths: list[int] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)

    def generate(self, *args: object, **kwargs: object) -> object:
        self.max_lengths.append(int(kwargs["max_length"]))  # type: ignore[call-overload]
        return self._model.generate(*args, **kwargs)  # type: ignore[attr-defined]


def test_decoding_is_bounded_by_the_length_of_the_window(
    transcriber: Transcriber, jfk: CallAudio
) -> None:
    """A 3 s window may decode 24 + 13 x 3 tokens after the prompt, not the model's 448 (a
    repetition loop on a short turn stops early); a 30 s window 24 + 390, more than the 224
    tokens a loop ran to on the benchmark calls."""
    import types

    from callqa.transcription.batched import BatchedDecoder, _Run

    whisper = transcriber._model  # type: ignore[attr-defined]
    ct2 = _Recording(whisper.model)
    proxy = types.SimpleNamespace(**{k: getattr(whisper, k) for k in dir(whisper)
                                     if not k.startswith("__")})  # fmt: skip
    proxy.model = ct2
    decoder = BatchedDecoder(proxy, TranscriptionConfig(), lanes=1, batch_size=4)
    short = jfk.channels[0][: 3 * SAMPLE_RATE]
    decoded = decoder.decode([short], language="en")
    prompt = len(_Run(proxy, TranscriptionConfig(), "en", [short]).prompt)
    assert ct2.max_lengths[0] == prompt + 24 + 39 < whisper.max_length
    assert decoded[0].utterances  # the bound leaves room for what was said: "And so my fellow"
    ct2.max_lengths.clear()
    decoder.decode([np.tile(jfk.channels[0], 3)[: 30 * SAMPLE_RATE]], language="en")
    assert ct2.max_lengths[0] == min(whisper.max_length, prompt + 24 + 390) > prompt + 224


def test_italian_streams_decode_both_channels_at_once(sample_calls: Path) -> None:
    """Italian goes to streams (``stream_languages``): one per channel, decoded on two lanes
    (``parallel_windows = 2``; the default is one lane) at the same time, with the words each
    stream gets when decoded alone, and every word back in its channel's turns in call time."""
    from callqa.audio.activity import detect_activity
    from callqa.config import DynamicsConfig
    from callqa.transcription.windows import STREAM_S, pack_windows, speech_spans, window_audio

    audio = _load(sample_calls / "it_call.ogg")
    activity = detect_activity(audio, DynamicsConfig())
    config = TranscriptionConfig(threads=2, parallel_windows=2)
    model = load_transcriber(config)
    assert model.lanes == 2 and "it" in config.stream_languages
    tr = transcribe_call(audio, model, activity=activity, language="it", config=config)
    assert model.window_counts["streams"] == 2 and model.window_counts["windows"] == 0
    streams = []
    for index in range(2):
        own = [t.segment for t in activity.turns if activity.channel_of(t.speaker) == index]
        spans = speech_spans(own, pad_s=config.crosstalk_tolerance_s, duration_s=audio.duration_s)
        (stream,) = pack_windows(index, spans, audio.channels[index], max_s=STREAM_S)
        streams.append(window_audio(stream, audio.channels[index]))
    together = model.transcribe_streams(streams, language="it")
    assert together == tuple(model.transcribe(s, language="it") for s in streams)
    agent = normalize_text(_text(tr, "left"))  # the agent is on the left channel
    assert agent[0] == "buongiorno" and "grazie" in agent
    assert "perfetto" in normalize_text(_text(tr, "right"))
    turns = {
        label: [t for t in activity.turns if t.speaker == label] for label in ("left", "right")
    }
    for w in tr.words:
        near = (t.start - 0.3 <= 0.5 * (w.start + w.end) <= t.end + 0.3 for t in turns[w.speaker])
        assert any(near), w
