"""Batched decoding without a model: packing speech into windows, mapping words back to the
call, the second-pass rule, batch planning, out-of-memory splitting, threads and devices.

Every test uses hand-made signals and timelines and fakes of the model; nothing loads Whisper.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from callqa.config import TranscriptionConfig
from callqa.scoring.confidence import language_contradiction
from callqa.transcription import faster
from callqa.transcription.adaptive import WindowScores, second_pass_reason
from callqa.transcription.batched import (
    BatchedDecoder,
    DecodedWindow,
    default_batch_size,
    is_out_of_memory,
    plan_batches,
)
from callqa.transcription.call import transcribe_call
from callqa.transcription.model import WindowText, WindowTranscriber
from callqa.transcription.windows import (
    LazyMap,
    Piece,
    Window,
    decode_turns,
    pack_windows,
    speech_spans,
    split_long,
    to_call_time,
    window_audio,
)
from callqa.types import (
    SAMPLE_RATE,
    ModelInfo,
    Segment,
    SpeechActivity,
    Turn,
    Utterance,
    Word,
)
from tests.conftest import call_audio as _audio
from tests.conftest import stereo_activity as _stereo_activity
from tests.conftest import tone_channel as _talk

SR = SAMPLE_RATE


@dataclass
class WindowFake:
    """A window transcriber: one word per 0.5 s of a window wherever its signal is not zero.

    Records every call, so tests see what was decoded and how it was batched.
    """

    calls: list[list[np.ndarray]] = field(default_factory=list)
    careful: list[bool] = field(default_factory=list)  # each call's ``careful``
    whole: int = 0  # calls of the sequential ``transcribe``
    heard: tuple[str, float] = ("en", 0.9)  # the language ID of a window (``identify``)
    detections: int = 0  # calls of ``detect_language`` (an extra pass over the audio)

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(backend="fake", name="windows")

    def detect_language(self, audio: np.ndarray, candidates: object = ()) -> tuple[str, float]:
        self.detections += 1
        return "en", 1.0

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        self.whole += 1
        return self._hear(audio)

    def transcribe_windows(
        self,
        windows: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> tuple[WindowText, ...]:
        self.calls.append(list(windows))
        self.careful.append(careful)
        heard = [self.heard] if identify else []
        return tuple(WindowText(self._hear(w), heard.pop() if heard else None) for w in windows)

    def hears(self, word: Word, window_s: float) -> bool:
        """Whether a word of a window ``window_s`` long is heard (subclasses miss some)."""
        return True

    def _hear(self, audio: np.ndarray) -> tuple[Utterance, ...]:
        words = []
        for i in range(int(len(audio) / SR / 0.5)):
            a, b = int(i * 0.5 * SR), int((i + 1) * 0.5 * SR)
            word = Word(f"w{i}", i * 0.5, i * 0.5 + 0.4)
            if np.any(audio[a:b] != 0) and self.hears(word, len(audio) / SR):
                words.append(word)
        if not words:
            return ()
        return (Utterance("unknown", words[0].start, words[-1].end, "", tuple(words)),)


# --------------------------------------------------------------------------- packing


def test_speech_spans_widen_clip_and_merge() -> None:
    # turns:  [1.0, 2.0)  [2.4, 3.0)  [9.8, 10.0)   pad 0.3, call 10 s
    # wide:   [0.7, 2.3)  [2.1, 3.3)  [9.5, 10.0)   -> the first two merge
    turns = [Segment(2.4, 3.0), Segment(1.0, 2.0), Segment(9.8, 10.0), Segment(5.0, 5.0)]
    spans = speech_spans(turns, pad_s=0.3, duration_s=10.0)
    assert [(round(s.start, 3), round(s.end, 3)) for s in spans] == [(0.7, 3.3), (9.5, 10.0)]


def test_long_turn_is_cut_at_its_quietest_point() -> None:
    # 70 s of tone with silent 50 ms gaps at 22 s and 47 s: each part <= 30 s, cut in the gaps
    x = _talk(70.0, [(0.0, 22.0), (22.05, 47.0), (47.05, 70.0)])
    parts = split_long(Segment(0.0, 70.0), x)
    assert [(round(p.start, 2), round(p.end, 2)) for p in parts] == [
        (0.0, 22.05),
        (22.05, 47.05),
        (47.05, 70.0),
    ]
    assert all(p.duration <= 30.0 for p in parts)


def test_pack_windows_fills_windows_in_time_order() -> None:
    x = np.zeros(100 * SR, np.float32)
    spans = [Segment(0.0, 10.0), Segment(20.0, 35.0), Segment(50.0, 58.0), Segment(60.0, 61.0)]
    windows = pack_windows(1, spans, x)
    assert [w.channel for w in windows] == [1, 1]
    assert windows[0].pieces == (Piece(0.0, 10.0, 0.0), Piece(20.0, 35.0, 10.0))
    assert windows[1].pieces == (Piece(50.0, 58.0, 0.0), Piece(60.0, 61.0, 8.0))
    assert [w.duration for w in windows] == [25.0, 9.0]


def test_window_audio_joins_the_cuts() -> None:
    ramp = np.arange(10 * SR, dtype=np.float32)
    window = Window(0, (Piece(1.0, 2.0, 0.0), Piece(5.0, 5.5, 1.0)))
    joined = window_audio(window, ramp)
    np.testing.assert_array_equal(
        joined, np.concatenate([ramp[SR : 2 * SR], ramp[5 * SR : 5 * SR + SR // 2]])
    )


def test_words_go_back_to_call_time_and_split_at_cuts() -> None:
    # window:  0 ------- 2.0 | 2.0 ----- 3.0        pieces: call 10-12 s, then call 20-21 s
    # words:   a [0.5,0.9)  b [1.8,2.3) (middle 2.05: second piece)  c [2.5,2.9)
    window = Window(0, (Piece(10.0, 12.0, 0.0), Piece(20.0, 21.0, 2.0)))
    words = (Word("a", 0.5, 0.9), Word("b", 1.8, 2.3), Word("c", 2.5, 2.9))
    utt = Utterance("unknown", 0.4, 3.0, "a b c", words, avg_logprob=-0.2)
    out = to_call_time(window, [utt])
    assert [[(w.text, w.start, w.end) for w in u.words] for u in out] == [
        [("a", 10.5, 10.9)],
        [("b", 20.0, 20.3), ("c", 20.5, 20.9)],  # b starts in the first piece: kept in its own
    ]
    assert [(u.start, u.end, u.text, u.avg_logprob) for u in out] == [
        (10.5, 10.9, "a", -0.2),
        (20.0, 20.9, "b c", -0.2),
    ]
    whole = to_call_time(window, [Utterance("unknown", 0.4, 1.0, "A.", (words[0],))])
    assert [(u.start, u.end, u.text) for u in whole] == [(10.4, 11.0, "A.")]


def test_lazy_windows_are_cut_only_when_read() -> None:
    cut: list[int] = []

    def make(i: int) -> np.ndarray:
        cut.append(i)
        return np.full(3, i, np.float32)

    lazy = LazyMap([0, 1, 2, 3], make)
    assert len(lazy) == 4 and cut == []
    assert lazy[2][0] == 2.0 and cut == [2]
    assert [a[0] for a in lazy[1:3]] == [1.0, 2.0] and cut == [2, 1, 2]


def test_no_window_is_longer_than_whisper_reads() -> None:
    """A 100 s monologue of a 10-minute call: every window handed to the model is at most
    30 s, and the monologue's words come back across the cuts in call time."""
    mono = _talk(600.0, [(200.0, 300.0)])
    activity = SpeechActivity(turns=(Turn("spk0", 200.0, 300.0),), method="hand",
                              speakers=("spk0",))  # fmt: skip
    fake = WindowFake()
    tr = transcribe_call(_audio(mono), fake, activity=activity, language="en")
    lengths = [len(w) / SR for call in fake.calls for w in call]
    assert max(lengths) <= 30.0 and sum(lengths[:4]) == pytest.approx(100.6, abs=0.01)
    assert min(w.start for w in tr.words) >= 199.7 and max(w.end for w in tr.words) <= 300.3
    assert len(tr.words) >= 190  # one word per 0.5 s of the 100.6 s decoded


# --------------------------------------------------------------------------- transcribe_call


def test_stereo_windows_of_both_channels_are_decoded_in_one_batch() -> None:
    # timeline (s): 0    2    4    6    8    10 ... 40
    # left  turns:  [====)         [====)                  (leak 0.01 everywhere else)
    # right turns:       [==)                      [====)  at 36-38 s
    left = _talk(40.0, [(0.0, 2.0), (6.0, 8.0)], leak=0.01)
    right = _talk(40.0, [(2.0, 3.0), (36.0, 38.0)], leak=0.01)
    activity = _stereo_activity(Turn("left", 0.0, 2.0), Turn("right", 2.0, 3.0),
                                Turn("left", 6.0, 8.0), Turn("right", 36.0, 38.0))  # fmt: skip
    fake = WindowFake()
    assert isinstance(fake, WindowTranscriber)
    tr = transcribe_call(_audio(left, right), fake, activity=activity, language="en")
    assert fake.whole == 0 and len(fake.calls) == 1  # one batched decode, no whole channel
    assert [len(w) / SR for w in fake.calls[0]] == [4.9, 4.2]  # turns + 0.3 s pads, per channel
    own = {"left": [(0.0, 2.0), (6.0, 8.0)], "right": [(2.0, 3.0), (36.0, 38.0)]}
    for w in tr.words:
        assert any(w.end > a - 0.3 and w.start < b + 0.3 for a, b in own[w.speaker]), w
    assert {w.speaker for w in tr.words} == {"left", "right"}
    assert max(w.end for w in tr.words if w.speaker == "right") > 36.0  # call time, not window
    assert all(u.end - u.start < 4.0 for u in tr.segments)  # never across a cut


@dataclass
class ShortFake(WindowFake):
    """Hears nothing after the first ``limit_s`` seconds of a window (as Whisper can skip a
    short reply late in a window)."""

    limit_s: float = 4.0

    def hears(self, word: Word, window_s: float) -> bool:
        return word.end <= self.limit_s


@dataclass
class GapFake(WindowFake):
    """Hears nothing from ``gap[0]`` to ``gap[1]`` seconds into a window (as Whisper can skip
    a short reply between two others) and everything else."""

    gap: tuple[float, float] = (4.0, 6.9)

    def hears(self, word: Word, window_s: float) -> bool:
        return word.end <= self.gap[0] or word.start >= self.gap[1]


def test_turns_left_without_words_are_decoded_again_alone() -> None:
    # left turns 0-4, 10-12 and 20-23 s; packed with 0.3 s pads: [0, 4.3) + [9.7, 12.3) +
    # [19.7, 23.3) = 10.5 s. The fake hears nothing 4.0-6.9 s into a window, so the middle
    # turn gets no word; decoded again alone with 0.5 s either side ([9.5, 12.5): 3 s) it is
    # heard, and only the words whose midpoint lies inside [10, 12) are kept.
    left = _talk(30.0, [(0.0, 4.0), (10.0, 12.0), (20.0, 23.0)])
    right = np.zeros(int(30 * SR), np.float32)
    turns = (Turn("left", 0.0, 4.0), Turn("left", 10.0, 12.0), Turn("left", 20.0, 23.0))
    activity = _stereo_activity(*turns)
    fake = GapFake()
    tr = transcribe_call(_audio(left, right), fake, activity=activity, language="en")
    assert [[round(len(w) / SR, 2) for w in call] for call in fake.calls] == [[10.5], [3.0]]
    assert fake.careful == [False, True]  # the turn greedy missed gets the full beam at once
    middle = [w for w in tr.words if 9.0 <= w.start < 15.0]
    assert middle and all(10.0 <= 0.5 * (w.start + w.end) < 12.0 for w in middle)
    assert {w.speaker for w in tr.words} == {"left"}
    off = GapFake()
    config = TranscriptionConfig(empty_turn_pass=False)
    tr = transcribe_call(_audio(left, right), off, activity=activity, language="en", config=config)
    assert len(off.calls) == 1 and not [w for w in tr.words if 9.0 <= w.start < 15.0]


def test_a_window_that_ends_early_is_decoded_again_from_its_last_word() -> None:
    # left turns 0-4 s and 10-12 s, packed into one 6.9 s window. The fake hears only the
    # first 4 s of a window (Whisper ending a window's text early), so its last word ends at
    # 3.9 s: the 3.0 s after it ([3.9, 4.3) + [9.7, 12.3) of the call) are packed again into
    # a window of their own and decoded with the full beam at once (greedy already cut it
    # short), as the libraries' sequential decoding starts its next window where the text
    # stopped. The second turn gets its words there, in call time, and needs no retry.
    left = _talk(20.0, [(0.0, 4.0), (10.0, 12.0)])
    right = np.zeros(int(20 * SR), np.float32)
    activity = _stereo_activity(Turn("left", 0.0, 4.0), Turn("left", 10.0, 12.0))
    fake = ShortFake()
    tr = transcribe_call(_audio(left, right), fake, activity=activity, language="en")
    assert [[round(len(w) / SR, 2) for w in call] for call in fake.calls] == [[6.9], [3.0]]
    assert fake.careful == [False, True]
    late = [w for w in tr.words if w.start >= 9.0]
    assert late and all(w.start >= 9.7 and w.end <= 12.3 for w in late)
    assert [u.start for u in tr.segments] == sorted(u.start for u in tr.segments)
    # A window with no word at all is not decoded again (the same audio, the same nothing):
    # its turns go straight to the empty-turn pass.
    deaf = HearsLongFake(min_s=99.0)
    transcribe_call(_audio(left, right), deaf, activity=activity, language="en")
    assert [[round(len(w) / SR, 2) for w in call] for call in deaf.calls] == [[6.9], [4.5, 3.0]]
    assert deaf.careful == [False, True]


@dataclass
class HearsLongFake(WindowFake):
    """Hears a window only when it is at least ``min_s`` long (as Whisper, on a voice it
    cannot follow, finds words in few of the turns it is given again)."""

    min_s: float = 0.0

    def hears(self, word: Word, window_s: float) -> bool:
        return window_s >= self.min_s


# ten empty turns of 1.0, 1.5, ..., 5.5 s on one channel, 8 s apart, in time order
RETRY_TURNS = tuple(Segment(8.0 * k, 8.0 * k + 1.0 + 0.5 * k) for k in range(10))


def _retry(fake: WindowFake) -> dict[int, list[Utterance]]:
    samples = _talk(80.0, [(t.start, t.end) for t in RETRY_TURNS])
    return decode_turns(fake, {0: (samples, RETRY_TURNS)}, language="en", context_s=0.5,
                        round_windows=4)  # fmt: skip


def test_empty_turns_are_retried_longest_first_until_retries_stop_finding_words() -> None:
    # Every retry finds words: all ten turns, longest first, in rounds of four windows; the
    # utterances come back in time order, one per turn.
    every = WindowFake()
    found = _retry(every)[0]
    lengths = [[round(len(w) / SR, 2) for w in call] for call in every.calls]
    # each turn + 0.5 s either side (the first turn starts the call: 1.5 s)
    assert lengths == [[6.5, 6.0, 5.5, 5.0], [4.5, 4.0, 3.5, 3.0], [2.5, 1.5]]
    assert all(every.careful)
    assert [round(u.start) for u in found] == [8 * k for k in range(10)]
    # No retry finds words: the first round is the last, the six shorter turns stay empty.
    deaf = HearsLongFake(min_s=99.0)
    assert _retry(deaf) == {0: []}
    assert [len(call) for call in deaf.calls] == [4]
    # Half of the first round finds words (the two longest): a second round is tried, and
    # with 2 of 8 turns heard the pass stops there.
    half = HearsLongFake(min_s=5.9)
    found = _retry(half)[0]
    assert [len(call) for call in half.calls] == [4, 4]
    assert [round(u.start) for u in found] == [64, 72]


def test_forced_language_is_checked_on_a_decoded_window_without_another_pass() -> None:
    # A forced language is checked against Whisper's language ID (a contradiction means a
    # translation). The batched path takes it from a window it decodes anyway; only a path
    # without windows pays for a separate pass over the speech.
    left = _talk(10.0, [(1.0, 3.0)])
    right = _talk(10.0, [(4.0, 6.0)])
    activity = _stereo_activity(Turn("left", 1.0, 3.0), Turn("right", 4.0, 6.0))
    fake = WindowFake(heard=("it", 0.97))
    tr = transcribe_call(_audio(left, right), fake, activity=activity, language="en")
    assert fake.detections == 0
    assert (tr.language_source, tr.detected_language, tr.detected_probability) == (
        "forced", "it", 0.97)  # fmt: skip
    assert language_contradiction(tr) is not None  # the warning a reviewer sees
    mono = WindowFake(heard=("nb", 0.8))
    mono_activity = SpeechActivity(turns=(Turn("spk0", 1.0, 3.0),), method="hand",
                                   speakers=("spk0",))  # fmt: skip
    tr = transcribe_call(_audio(left), mono, activity=mono_activity, language="no")
    assert (mono.detections, tr.detected_language, tr.detected_probability) == (0, "nb", 0.8)
    sequential = WindowFake(heard=("it", 0.97))
    config = TranscriptionConfig(decoding="sequential")
    tr = transcribe_call(_audio(left, right), sequential, activity=activity, language="en",
                         config=config)  # fmt: skip
    assert sequential.detections == 1 and tr.detected_language == "en"
    detected = WindowFake()
    tr = transcribe_call(_audio(left, right), detected, activity=activity, language=None)
    assert detected.detections == 1 and tr.detected_language is None  # detected, not forced


def test_sequential_decoding_and_crosstalk_off_decode_whole_channels() -> None:
    left = _talk(10.0, [(1.0, 3.0)], leak=0.01)
    right = _talk(10.0, [(4.0, 6.0)], leak=0.01)
    activity = _stereo_activity(Turn("left", 1.0, 3.0), Turn("right", 4.0, 6.0))
    for config in (
        TranscriptionConfig(decoding="sequential"),
        TranscriptionConfig(crosstalk="off"),
    ):
        fake = WindowFake()
        transcribe_call(_audio(left, right), fake, activity=activity, language="en", config=config)
        assert (fake.whole, fake.calls) == (2, [])
    fake = WindowFake()
    transcribe_call(_audio(left, right), fake, activity=None, language="en")
    assert (fake.whole, fake.calls) == (2, [])  # without speech activity: whole channels


def test_mono_windows_hold_every_speech_turn_and_speakers_are_assigned() -> None:
    mix = _talk(12.0, [(1.0, 3.0), (8.0, 10.0)])
    activity = SpeechActivity(turns=(Turn("spk0", 1.0, 3.0), Turn("spk1", 8.0, 10.0)),
                              method="hand", speakers=("spk0", "spk1"))  # fmt: skip
    fake = WindowFake()
    tr = transcribe_call(_audio(mix), fake, activity=activity, language="en")
    assert [len(w) / SR for w in fake.calls[0]] == [5.2]
    assert [u.speaker for u in tr.segments] == ["spk0", "spk1"]
    assert all(w.start >= 1.0 - 0.3 and w.end <= 3.3 for w in tr.segments[0].words)
    assert all(w.start >= 8.0 - 0.3 and w.end <= 10.3 for w in tr.segments[1].words)


# --------------------------------------------------------------------------- second pass


@pytest.mark.parametrize(
    ("logprob", "ratio", "probs", "reason"),
    [
        (-0.2, 1.5, (0.9, 0.8, 0.95), None),
        (-0.9, 1.5, (0.9, 0.8, 0.95), "log-prob"),
        (-0.2, 3.1, (0.9, 0.8, 0.95), "loop"),
        (-0.2, 1.5, (0.9, 0.3, 0.2, 0.95), "words"),  # half the words below 0.5
        (-0.2, 1.5, (), None),
    ],
)
def test_second_pass_rule(
    logprob: float, ratio: float, probs: tuple[float, ...], reason: str | None
) -> None:
    config = TranscriptionConfig(redecode_log_prob=-0.6, redecode_compression_ratio=2.4,
                                 redecode_low_word_share=0.3)  # fmt: skip
    scores = WindowScores(logprob, ratio, 0.01, probs)
    assert second_pass_reason(scores, config) == reason
    once = TranscriptionConfig(first_beam_size=5, beam_size=5, redecode_log_prob=-0.6)
    assert second_pass_reason(scores, once) is None  # the first pass already used the beam


@pytest.mark.parametrize(
    ("language", "careful", "beam_first", "first_beam"),
    [
        ("en", False, ("it",), 1),  # greedy first, beam 5 where it was unsure
        ("it", False, ("it",), 5),  # Italian's windows before streams: beam 5 at once
        ("it", False, (), 1),  # the list empty (the default): Italian greedy first
        ("no", False, ("nb",), 5),  # callqa's "nb" is Whisper's "no"
        ("en", True, ("it",), 5),  # a careful decode uses the full beam in any language
    ],
)
def test_first_pass_beam_by_language(
    monkeypatch: pytest.MonkeyPatch,
    language: str,
    careful: bool,
    beam_first: tuple[str, ...],
    first_beam: int,
) -> None:
    from callqa.transcription import batched

    beams: list[int] = []

    class Run:
        def __init__(self, model: object, config: TranscriptionConfig, *args: object,
                     **kwargs: object) -> None:  # fmt: skip
            beams.append(config.first_beam_size)

        def decode_batch(self, indices: list[int]) -> dict[int, DecodedWindow]:
            return {i: _window(i) for i in indices}

    monkeypatch.setattr(batched, "_Run", Run)
    config = TranscriptionConfig(beam_first_languages=beam_first)
    decoder = BatchedDecoder(object(), config, lanes=1, batch_size=4)
    out = decoder.decode([np.zeros(SR, np.float32)] * 2, language=language, careful=careful)
    assert len(out) == 2 and beams == [first_beam]


def test_beam_first_languages_must_be_language_codes() -> None:
    from callqa.config import check_config
    from callqa.errors import ConfigError

    assert check_config(TranscriptionConfig(beam_first_languages=("nb", "it", "sl")))
    for bad in ("xx", "auto", ""):
        with pytest.raises(ConfigError, match="beam_first_languages"):
            check_config(TranscriptionConfig(beam_first_languages=(bad,)))


def test_low_word_share() -> None:
    assert WindowScores(-0.1, 1.0, 0.0, (0.1, 0.49, 0.5, 0.9)).low_word_share == 0.5
    assert WindowScores(-0.1, 1.0, 0.0).low_word_share == 0.0


# --------------------------------------------------------------------------- batches


@pytest.mark.parametrize(
    ("n", "size", "lanes", "expected"),
    [
        (8, 4, 2, [[0, 1, 2, 3], [4, 5, 6, 7]]),
        (5, 8, 2, [[0, 1, 2], [3, 4]]),  # both lanes get work
        (9, 4, 1, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
        (1, 4, 2, [[0]]),
        (0, 4, 2, []),
    ],
)
def test_plan_batches(n: int, size: int, lanes: int, expected: list[list[int]]) -> None:
    assert plan_batches(n, size, lanes) == expected


def _window(i: int) -> DecodedWindow:
    return DecodedWindow((), WindowScores(-0.1, 1.0, 0.0), None)


def test_batches_are_halved_while_the_device_runs_out_of_memory() -> None:
    seen: list[list[int]] = []

    def decode(indices: list[int]) -> dict[int, DecodedWindow]:
        seen.append(indices)
        if len(indices) > 3:
            raise RuntimeError("CUDA failed with error out of memory")
        return {i: _window(i) for i in indices}

    decoder = BatchedDecoder(object(), TranscriptionConfig(), lanes=1, batch_size=16)
    out = decoder._fitted(decode, list(range(10)))
    assert sorted(out) == list(range(10))
    assert decoder.batch_size == 2  # 10 -> 5 -> 2: later batches stay small
    assert seen[:3] == [list(range(10)), [0, 1, 2, 3, 4], [0, 1]]

    def broken(indices: list[int]) -> dict[int, DecodedWindow]:
        raise RuntimeError("invalid argument")

    with pytest.raises(RuntimeError, match="invalid"):  # other errors are not retried
        BatchedDecoder(object(), TranscriptionConfig(), lanes=1, batch_size=4)._fitted(
            broken, [0, 1]
        )
    assert is_out_of_memory(RuntimeError("cudaErrorMemoryAllocation"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


# --------------------------------------------------------------------------- threads, device


@pytest.mark.parametrize(
    ("threads", "parallel", "decoding", "device", "expected"),
    [
        (2, 0, "batched", "cpu", (1, 2)),  # one lane with every thread
        (2, 2, "batched", "cpu", (2, 1)),  # two replicas, one thread each
        (4, 2, "batched", "cpu", (2, 2)),
        (1, 0, "batched", "cpu", (1, 1)),
        (3, 8, "batched", "cpu", (3, 1)),  # never more lanes than threads
        (2, 0, "sequential", "cpu", (1, 2)),  # one window at a time: every thread on it
        (2, 0, "batched", "cuda", (1, 2)),  # one CUDA stream
        (2, 3, "batched", "cuda", (3, 2)),
    ],
)
def test_split_threads(
    threads: int, parallel: int, decoding: str, device: str, expected: tuple[int, int]
) -> None:
    config = TranscriptionConfig(threads=threads, parallel_windows=parallel, decoding=decoding)
    assert faster.split_threads(config, device) == expected


def test_gpu_is_used_when_ctranslate2_sees_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA path with the probe faked (no GPU here): float16, batches of 16, one lane."""
    probe = types.SimpleNamespace(get_cuda_device_count=lambda: 1)
    monkeypatch.setitem(sys.modules, "ctranslate2", probe)
    assert faster.pick_device("auto") == "cuda"
    assert faster.pick_compute_type("auto", "cuda") == "float16"
    assert default_batch_size("cuda") == 16
    probe.get_cuda_device_count = lambda: 0
    assert faster.pick_device("auto") == "cpu"
    assert faster.pick_compute_type("auto", "cpu") == "int8"
    assert default_batch_size("cpu") == 8
    assert faster.pick_device("cpu") == "cpu"


def test_model_is_loaded_for_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``FasterWhisperTranscriber.load`` asks faster-whisper for, on a (faked) GPU and on
    the CPU: device, compute type, threads and replicas."""
    loaded: list[dict[str, object]] = []

    class Model:
        def __init__(self, location: str, **kwargs: object) -> None:
            loaded.append(kwargs)

    resolved = faster.ResolvedModel(kind="ct2-dir", location="/m", name="base", sha256="x")
    monkeypatch.setattr(faster, "resolve_model", lambda name, backend: resolved)
    monkeypatch.setitem(sys.modules, "faster_whisper", types.SimpleNamespace(WhisperModel=Model))
    probe = types.SimpleNamespace(get_cuda_device_count=lambda: 1)
    monkeypatch.setitem(sys.modules, "ctranslate2", probe)
    gpu = faster.FasterWhisperTranscriber.load(TranscriptionConfig(threads=2))
    probe.get_cuda_device_count = lambda: 0
    faster.FasterWhisperTranscriber.load(TranscriptionConfig(threads=2))
    assert [
        (k["device"], k["compute_type"], k["cpu_threads"], k["num_workers"]) for k in loaded
    ] == [
        ("cuda", "float16", 2, 1),
        ("cpu", "int8", 2, 1),
    ]
    assert gpu._decoder.batch_size == 16
