"""Streams (``stream_languages``, Italian by default) without a model: which calls go to
streams, how a channel's speech becomes streams, how streams are spread over the decoder's
lanes and how their words come back to call time.

Hand-made signals and timelines and a fake of the model; nothing loads Whisper (the real
model's streams are tested in tests/test_transcribe_e2e.py).
"""

from __future__ import annotations

import threading
import types
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from callqa.config import TranscriptionConfig, check_config
from callqa.errors import ConfigError
from callqa.transcription.call import transcribe_call
from callqa.transcription.faster import FasterWhisperTranscriber
from callqa.transcription.model import StreamTranscriber, WindowText
from callqa.transcription.windows import (
    STREAM_S,
    WINDOW_S,
    Piece,
    Window,
    decode_streams,
    spread,
)
from callqa.types import (
    SAMPLE_RATE,
    ModelInfo,
    Segment,
    Turn,
    Utterance,
    Word,
)
from tests.conftest import call_audio as _audio
from tests.conftest import stereo_activity as _stereo
from tests.conftest import tone_channel as _talk

SR = SAMPLE_RATE


@dataclass
class StreamFake:
    """A stream transcriber: one word per 0.5 s of audio wherever the signal is loud (above
    0.1, so leakage is not heard). Records what each method was given."""

    lanes: int = 2
    streams: list[list[float]] = field(default_factory=list)  # each call's stream lengths [s]
    windows: list[list[float]] = field(default_factory=list)  # each call's window lengths [s]

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(backend="fake", name="streams")

    def detect_language(self, audio: np.ndarray, candidates: object = ()) -> tuple[str, float]:
        return "it", 1.0

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        return _hear(audio)

    def transcribe_windows(
        self,
        windows: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> tuple[WindowText, ...]:
        self.windows.append([len(w) / SR for w in windows])
        return tuple(WindowText(_hear(w)) for w in windows)

    def transcribe_streams(
        self, streams: Sequence[np.ndarray], *, language: str
    ) -> tuple[tuple[Utterance, ...], ...]:
        self.streams.append([len(s) / SR for s in streams])
        return tuple(_hear(s) for s in streams)


def _hear(audio: np.ndarray) -> tuple[Utterance, ...]:
    words = []
    for i in range(int(len(audio) / SR / 0.5)):
        if np.max(np.abs(audio[int(i * 0.5 * SR) : int((i + 1) * 0.5 * SR)])) > 0.1:
            words.append(Word(f"w{i}", i * 0.5, i * 0.5 + 0.4))
    if not words:
        return ()
    return (Utterance("unknown", words[0].start, words[-1].end, "", tuple(words)),)


def test_italian_channels_are_decoded_as_one_stream_each() -> None:
    # left turns 1-3 s and 20-24 s, right turn 10-12 s (leak 0.01 elsewhere)
    # left stream:  [0.7, 3.3) + [19.7, 24.3) = 2.6 + 4.6 = 7.2 s; right: [9.7, 12.3) = 2.6 s
    left = _talk(30.0, [(1.0, 3.0), (20.0, 24.0)], leak=0.01)
    right = _talk(30.0, [(10.0, 12.0)], leak=0.01)
    activity = _stereo(Turn("left", 1.0, 3.0), Turn("right", 10.0, 12.0), Turn("left", 20.0, 24.0))
    fake = StreamFake()
    assert isinstance(fake, StreamTranscriber)
    tr = transcribe_call(_audio(left, right), fake, activity=activity, language="it")
    assert fake.streams == [[7.2, 2.6]] and fake.windows == []  # both channels in one call
    # the word heard 3.0-3.4 s into the left stream lies 0.4 s into its second piece: 20.1 s
    left_words = [(w.start, w.end) for w in tr.words if w.speaker == "left"]
    assert (20.1, 20.5) in left_words
    own = {"left": [(1.0, 3.0), (20.0, 24.0)], "right": [(10.0, 12.0)]}
    for w in tr.words:  # every word back in call time, inside its own channel's turns
        assert any(w.end > a - 0.3 and w.start < b + 0.3 for a, b in own[w.speaker]), w
    assert all(u.end - u.start < 5.0 for u in tr.segments)  # never across a cut


def test_only_stream_languages_are_decoded_as_streams() -> None:
    left = _talk(10.0, [(1.0, 3.0)], leak=0.01)
    right = _talk(10.0, [(4.0, 6.0)], leak=0.01)
    activity = _stereo(Turn("left", 1.0, 3.0), Turn("right", 4.0, 6.0))
    for language, config, streamed in (
        ("en", TranscriptionConfig(), False),
        ("it", TranscriptionConfig(stream_languages=()), False),
        ("nb", TranscriptionConfig(stream_languages=("no",)), True),  # "no" and "nb" are one
        ("it", TranscriptionConfig(decoding="sequential"), False),  # whole channels
    ):
        fake = StreamFake()
        tr = transcribe_call(_audio(left, right), fake, activity=activity, language=language,
                             config=config)  # fmt: skip
        assert bool(fake.streams) is streamed, (language, config)
        assert bool(fake.windows) is (not streamed and config.decoding == "batched")
        assert {w.speaker for w in tr.words} == {"left", "right"}


def test_empty_turns_of_a_stream_are_decoded_again_alone() -> None:
    # a stream transcriber that hears nothing in its streams: each turn of at least 1 s is
    # decoded again on its own, as packed windows' empty turns are
    @dataclass
    class Deaf(StreamFake):
        def transcribe_streams(
            self, streams: Sequence[np.ndarray], *, language: str
        ) -> tuple[tuple[Utterance, ...], ...]:
            self.streams.append([len(s) / SR for s in streams])
            return tuple(() for _ in streams)

    left = _talk(30.0, [(1.0, 3.0), (20.0, 22.0)])
    fake = Deaf()
    activity = _stereo(Turn("left", 1.0, 3.0), Turn("left", 20.0, 22.0))
    tr = transcribe_call(_audio(left, np.zeros_like(left)), fake, activity=activity,
                         language="it")  # fmt: skip
    assert fake.streams == [[5.2]]
    assert sorted(fake.windows[0]) == [3.0, 3.0]  # each turn alone, 0.5 s of context each side
    assert {round(w.start) for w in tr.words} >= {1, 20}


def _window(*durations: float) -> Window:
    pieces, at, used = [], 0.0, 0.0
    for d in durations:
        pieces.append(Piece(at, at + d, used))
        at, used = at + d + 5.0, used + d  # 5 s of silence between pieces in the call
    return Window(0, tuple(pieces))


def test_a_long_stream_is_cut_between_turns_to_fill_the_lanes() -> None:
    # 25 + 25 + 25 s (75 s > 2 windows): cut at the piece boundary nearest 37.5 s (25 and 50
    # are as near; the first is taken); the 50 s half is not cut again (not > 60 s)
    stream = _window(25.0, 25.0, 25.0)
    first, second = spread([stream], lanes=3)
    assert [p.duration for p in first.pieces] == [25.0]
    assert [(p.start, p.offset) for p in second.pieces] == [(30.0, 0.0), (60.0, 25.0)]
    assert second.to_call_time(30.0) == 65.0  # 5 s into the third piece, as before the cut
    assert spread([stream], lanes=1) == [stream]
    short = _window(20.0, 20.0, 10.0)  # 50 s: two windows at most, decoded in one stream
    assert short.duration <= 2 * WINDOW_S and spread([short], lanes=2) == [short]
    assert spread([_window(70.0)], lanes=2) == [_window(70.0)]  # one piece: nowhere to cut
    two = [_window(70.0, 10.0), _window(5.0)]  # as many streams as lanes: nothing cut
    assert spread(two, lanes=2) == two


def test_a_long_channel_becomes_streams_of_at_most_stream_s() -> None:
    # one 10 s turn every 20 s for 700 s: 35 turns of 10.6 s padded (the first 10.3 s, cut
    # at the start of the call), 370.7 s of speech; 27 more turns fit in the first stream
    turns = [(20.0 * k, 20.0 * k + 10.0) for k in range(35)]
    samples = _talk(700.0, turns)
    fake = StreamFake(lanes=1)
    packed = decode_streams(fake, {0: (samples, [Segment(a, b) for a, b in turns])},
                            language="it", pad_s=0.3)  # fmt: skip
    (lengths,) = fake.streams
    assert [round(x, 1) for x in lengths] == [round(10.3 + 27 * 10.6, 1), round(7 * 10.6, 1)]
    assert max(lengths) <= STREAM_S
    words = [w for u in packed.utterances[0] for w in u.words]
    assert words == sorted(words, key=lambda w: w.start) and words[-1].end <= 700.0


def test_stream_languages_must_be_language_codes() -> None:
    assert check_config(TranscriptionConfig(stream_languages=("it", "no")))
    with pytest.raises(ConfigError, match="stream_languages"):
        check_config(TranscriptionConfig(stream_languages=("italian",)))


def test_faster_whisper_decodes_streams_on_its_lanes_in_order() -> None:
    # a fake CTranslate2-backed model: each transcribe waits until two run at once (so two
    # lanes must decode at the same time), then returns one segment naming its stream
    barrier = threading.Barrier(2, timeout=5.0)
    seen: list[str] = []

    class Model:
        def transcribe(self, audio: np.ndarray, **options: object) -> tuple[list[object], None]:
            barrier.wait()
            seen.append(threading.current_thread().name)
            n = len(audio) / SR
            word = types.SimpleNamespace(word=f" s{n:g}", start=0.0, end=0.5, probability=0.9)
            segment = types.SimpleNamespace(
                text=f" s{n:g}", start=0.0, end=0.5, words=[word], seek=0,
                compression_ratio=1.0, no_speech_prob=0.0, avg_logprob=-0.1,
            )  # fmt: skip
            return [segment], None

    config = TranscriptionConfig()
    model = FasterWhisperTranscriber(Model(), config, ModelInfo("fake", "fake"), lanes=2)
    streams = [np.full(k * SR, 0.3, np.float32) for k in (3, 4)]
    out = model.transcribe_streams(streams, language="it")
    assert [u.text.strip() for (u,) in out] == ["s3", "s4"]  # in the streams' order
    assert len(set(seen)) == 2 and model.window_counts["streams"] == 2
