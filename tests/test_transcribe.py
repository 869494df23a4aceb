"""transcribe_call, speaker assignment, language codes and segment guards, with no model.

Every test here uses :class:`callqa.transcription.fake.FakeTranscriber` or a recording fake and
hand-made speech activity; nothing imports torch or a Whisper library.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from callqa.config import TranscriptionConfig, check_config
from callqa.errors import ConfigError
from callqa.languages import from_whisper, parse_language, pick, to_whisper
from callqa.transcription.call import (
    assign_speakers,
    drop_outside_speech,
    empty_turns,
    keep_words_inside,
    mask_outside,
    speaker_at,
    speech_sample,
    transcribe_call,
    turn_coverage,
)
from callqa.transcription.fake import FakeTranscriber
from callqa.transcription.guards import (
    LoopTracker,
    SegmentScores,
    compression_ratio,
    is_silent,
    keep_segment,
    to_utterance,
)
from callqa.transcription.wer import normalize_text, wer
from callqa.types import (
    SAMPLE_RATE,
    CallAudio,
    ModelInfo,
    Segment,
    SpeechActivity,
    Transcript,
    Turn,
    Utterance,
    Word,
)

SR = SAMPLE_RATE


def _tone(seconds: float, level: float = 0.3, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _audio(*channels: np.ndarray) -> CallAudio:
    return CallAudio(channels=channels, source=None, sha256="0" * 64, original_sample_rate=SR)


def _with_speech(total_s: float, spans: list[tuple[float, float]], leak: float = 0.0) -> np.ndarray:
    """A channel of ``total_s`` seconds: a tone inside ``spans``, ``leak`` level elsewhere."""
    x = np.full(int(total_s * SR), leak, dtype=np.float32)
    for start, end in spans:
        x[int(start * SR) : int(end * SR)] = _tone(end - start)
    return x


@dataclass
class RecordingFake:
    """A transcriber that records what it was given and answers with fixed words per second."""

    words_per_s: float = 2.0
    language: str = "en"
    seen: list[np.ndarray] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    detect_inputs: list[np.ndarray] = field(default_factory=list)

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(backend="fake", name="recording")

    def detect_language(self, audio: np.ndarray, candidates: object = ()) -> tuple[str, float]:
        self.detect_inputs.append(audio)
        return self.language, 0.75

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        """One word every 1/words_per_s seconds wherever the signal is not zero."""
        self.seen.append(audio)
        self.languages.append(language)
        step = 1.0 / self.words_per_s
        words = []
        for i in range(int(len(audio) / SR / step)):
            a, b = int(i * step * SR), int((i + 1) * step * SR)
            if np.any(audio[a:b] != 0):
                words.append(Word(f"w{i}", i * step, i * step + 0.8 * step))
        if not words:
            return ()
        return (Utterance("unknown", words[0].start, words[-1].end, "", tuple(words)),)


@dataclass
class ShortSightedFake(RecordingFake):
    """Hears only the first ``horizon_s`` seconds of what it is given, as Whisper decoding a
    whole channel skips a short reply after a long silence."""

    horizon_s: float = 5.0

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        found = super().transcribe(audio, language=language)
        words = tuple(w for u in found for w in u.words if w.end <= self.horizon_s)
        return (Utterance("unknown", words[0].start, words[-1].end, "", words),) if words else ()


# --------------------------------------------------------------------------- language codes


@pytest.mark.parametrize(
    ("given", "ours", "whisper"),
    [("no", "nb", "no"), ("nb", "nb", "no"), ("NB", "nb", "no"), (" en ", "en", "en"),
     ("sl", "sl", "sl"), ("fi", "fi", "fi")],
)  # fmt: skip
def test_language_codes(given: str, ours: str, whisper: str) -> None:
    assert parse_language(given) == ours
    assert to_whisper(given) == whisper
    assert from_whisper(whisper) == ours


def test_auto_language_and_unknown_code() -> None:
    assert parse_language(None) is None
    assert parse_language("auto") is None
    assert parse_language("") is None
    with pytest.raises(ConfigError, match=r"unknown language 'xx': use an ISO 639-1 code"):
        parse_language("xx")


def test_check_config_rejects_bad_choices() -> None:
    check_config(TranscriptionConfig())
    with pytest.raises(ConfigError, match=r"transcription\.backend must be one of faster-whisper"):
        check_config(TranscriptionConfig(backend="whisper.cpp"))
    with pytest.raises(ConfigError, match=r"transcription\.crosstalk must be one of"):
        check_config(TranscriptionConfig(crosstalk="maybe"))
    with pytest.raises(ConfigError, match="beam_size"):
        check_config(TranscriptionConfig(beam_size=0))


def test_language_is_forced_in_one_place_only(tmp_path: Path) -> None:
    from dataclasses import fields

    from callqa.config import load_config

    assert "language" not in {f.name for f in fields(TranscriptionConfig)}
    path = tmp_path / "callqa.toml"
    path.write_text('[transcription]\nlanguage = "fi"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'transcription\.language'"):
        load_config(path)
    path.write_text('[call]\nlanguage = "klingon"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown language 'klingon'"):
        load_config(path)


def test_config_is_toml_friendly() -> None:
    from dataclasses import fields

    allowed = (str, int, float, bool, tuple, type(None))
    for f in fields(TranscriptionConfig):
        assert isinstance(getattr(TranscriptionConfig(), f.name), allowed), f.name


# --------------------------------------------------------------------------- transcribe_call


def test_forced_language_no_becomes_nb() -> None:
    fake = RecordingFake()
    tr = transcribe_call(_audio(_tone(2.0)), fake, activity=None, language="no")
    assert (tr.language, tr.language_source, tr.language_probability) == ("nb", "forced", None)
    assert fake.languages == ["no"]  # Whisper is asked for its own code
    # forcing still asks what Whisper hears, so a contradiction can be reported
    assert len(fake.detect_inputs) == 1
    assert tr.detected_language is not None


def test_detected_language_reported_as_nb() -> None:
    tr = transcribe_call(_audio(_tone(2.0)), FakeTranscriber(language="no"), activity=None,
                         language=None)  # fmt: skip
    assert (tr.language, tr.language_source, tr.language_probability) == ("nb", "detected", 1.0)


def test_language_id_among_candidates() -> None:
    """Whisper base took the synthetic Norwegian sample for Latin, a language without a phrase
    pack; ``detect_languages`` makes language ID choose among the ones a centre serves."""
    probs = {"la": 0.31, "no": 0.2, "en": 0.1, "da": 0.05}
    assert pick(probs) == ("la", 0.31)
    code, share = pick(probs, ("nb", "en"))
    assert code == "nb" and share == pytest.approx(0.2 / 0.3)
    assert pick(probs, ("fi", "sl")) == ("fi", 0.0)  # Whisper gave them nothing
    cfg = TranscriptionConfig(detect_languages=("nb", "en"))
    heard_latin = FakeTranscriber(language="la")
    tr = transcribe_call(_audio(_tone(2.0)), heard_latin, activity=None, language=None, config=cfg)
    assert (tr.language, tr.language_source) == ("nb", "detected")
    tr = transcribe_call(_audio(_tone(2.0)), heard_latin, activity=None, language=None)
    assert tr.language == "la"  # any language by default
    with pytest.raises(ConfigError, match=r"transcription\.detect_languages: 'xx'"):
        check_config(TranscriptionConfig(detect_languages=("nb", "xx")))


def test_faster_whisper_language_id_among_candidates() -> None:
    from callqa.transcription.faster import FasterWhisperTranscriber

    class Model:
        def detect_language(self, audio: np.ndarray) -> tuple[str, float, list]:  # type: ignore[type-arg]
            return "la", 0.31, [("la", 0.31), ("no", 0.2), ("en", 0.1)]

    model = FasterWhisperTranscriber(Model(), TranscriptionConfig(), ModelInfo("fw", "stub"))
    speech = _tone(2.0)
    assert model.detect_language(speech) == ("la", 0.31)
    code, share = model.detect_language(speech, ("nb", "en"))
    assert code == "nb" and share == pytest.approx(2 / 3)


def test_language_is_detected_on_speech_only() -> None:
    # left speaks 1-2 s (level 0.1), right 3-4 s (level 0.2); everything else is silence
    left = np.zeros(5 * SR, np.float32)
    right = np.zeros(5 * SR, np.float32)
    left[SR : 2 * SR] = 0.1
    right[3 * SR : 4 * SR] = 0.2
    activity = SpeechActivity(
        turns=(Turn("right", 3.0, 4.0), Turn("left", 1.0, 2.0)),
        method="hand",
        speakers=("left", "right"),
        channel_map=(("left", 0), ("right", 1)),
    )
    sample = speech_sample(_audio(left, right), activity)
    expected = np.concatenate([np.full(SR, 0.1), np.full(SR, 0.2)]).astype(np.float32)
    np.testing.assert_array_equal(sample, expected)
    assert len(speech_sample(_audio(left, right), activity, max_s=1.5)) == int(1.5 * SR)


def test_detection_without_activity_uses_the_whole_mix() -> None:
    x = _tone(3.0)
    np.testing.assert_array_equal(speech_sample(_audio(x), None), x)


def test_stereo_labels_channels_and_drops_crosstalk() -> None:
    # timeline (s):  0    1    2    3    4    5    6
    # left  speech:  [=========)                       own turn 0-2
    # right speech:            [leak]  [=========)     own turn 3-5
    left = _with_speech(6.0, [(0.0, 2.0)], leak=0.01)
    right = _with_speech(6.0, [(3.0, 5.0)], leak=0.01)
    activity = SpeechActivity(
        turns=(Turn("left", 0.0, 2.0), Turn("right", 3.0, 5.0)),
        method="hand",
        speakers=("left", "right"),
        channel_map=(("left", 0), ("right", 1)),
    )
    fake = RecordingFake()
    tr = transcribe_call(_audio(left, right), fake, activity=activity, language="en")
    assert {u.speaker for u in tr.segments} == {"left", "right"}
    tol = TranscriptionConfig().crosstalk_tolerance_s
    for word in tr.words:
        own = (0.0, 2.0) if word.speaker == "left" else (3.0, 5.0)
        assert word.end > own[0] - tol and word.start < own[1] + tol, word
    # the fake "hears" the leak everywhere, so without the guard every channel has 12 words
    off = transcribe_call(_audio(left, right), RecordingFake(), activity=activity,
                          language="en", config=TranscriptionConfig(crosstalk="off"))  # fmt: skip
    assert len(off.words) == 24
    assert len(tr.words) < len(off.words)
    assert [s.start for s in tr.segments] == sorted(s.start for s in tr.segments)


def test_mask_mode_zeroes_outside_own_turns() -> None:
    left = _with_speech(4.0, [(1.0, 2.0)], leak=0.01)
    right = _with_speech(4.0, [(2.5, 3.5)], leak=0.01)
    activity = SpeechActivity(
        turns=(Turn("left", 1.0, 2.0), Turn("right", 2.5, 3.5)), method="hand",
        speakers=("left", "right"), channel_map=(("left", 0), ("right", 1)),
    )  # fmt: skip
    fake = RecordingFake()
    config = TranscriptionConfig(crosstalk="mask", crosstalk_tolerance_s=0.0)
    transcribe_call(_audio(left, right), fake, activity=activity, language="en", config=config)
    seen_left = fake.seen[0]
    assert not np.any(seen_left[:SR]) and not np.any(seen_left[2 * SR :])
    np.testing.assert_array_equal(seen_left[SR : 2 * SR], left[SR : 2 * SR])


def test_channel_without_own_turns_or_sound_is_not_decoded() -> None:
    talk = _with_speech(3.0, [(0.5, 2.5)])
    activity = SpeechActivity(turns=(Turn("left", 0.5, 2.5),), method="hand",
                              speakers=("left", "right"))  # fmt: skip
    fake = RecordingFake()
    transcribe_call(_audio(talk, talk.copy()), fake, activity=activity, language="en")
    assert len(fake.seen) == 1  # right has no turn of its own: only its leak would be decoded
    fake = RecordingFake()
    tr = transcribe_call(_audio(np.zeros(3 * SR, np.float32)), fake, activity=None, language="en")
    assert fake.seen == [] and tr.segments == ()


def test_mono_with_diarization_assigns_speakers() -> None:
    # words every 0.5 s over 0-4 s; spk0 talks 0-2 s, spk1 2-4 s
    activity = SpeechActivity(
        turns=(Turn("spk0", 0.0, 2.0), Turn("spk1", 2.0, 4.0)), method="hand",
        speakers=("spk0", "spk1"),
    )  # fmt: skip
    tr = transcribe_call(_audio(_tone(4.0)), RecordingFake(), activity=activity, language="en")
    assert [u.speaker for u in tr.segments] == ["spk0", "spk1"]
    assert [len(u.words) for u in tr.segments] == [4, 4]
    assert all(w.speaker == u.speaker for u in tr.segments for w in u.words)


def test_mono_without_diarization_stays_unknown() -> None:
    activity = SpeechActivity(turns=(Turn("unknown", 0.0, 4.0),), method="hand",
                              speakers=("unknown",))  # fmt: skip
    tr = transcribe_call(_audio(_tone(4.0)), RecordingFake(), activity=activity, language="en")
    assert {w.speaker for w in tr.words} == {"unknown"}


# --------------------------------------------------------------------------- assign_speakers


def _utt(*words: tuple[str, float, float]) -> Utterance:
    ws = tuple(Word(t, s, e) for t, s, e in words)
    return Utterance("unknown", ws[0].start, ws[-1].end, " ".join(w.text for w in ws), ws)


def test_assign_speakers_splits_at_changes() -> None:
    # time (s):  0    1    2    3    4    5    6
    # spk0:      [=========)
    # spk1:                [====)
    # spk0:                          [====)
    # words:     a    b     c  d      e  f          g (7.0-7.2, after every turn)
    turns = [Turn("spk0", 0.0, 2.0), Turn("spk1", 2.0, 3.0), Turn("spk0", 4.0, 5.0)]
    utt = _utt(("a", 0.1, 0.5), ("b", 1.0, 1.4), ("c", 2.1, 2.4), ("d", 2.6, 2.9),
               ("e", 4.1, 4.4), ("f", 4.6, 4.9), ("g", 7.0, 7.2))  # fmt: skip
    out = assign_speakers(Transcript("en", (utt,)), turns)
    assert [(u.speaker, u.text) for u in out.segments] == [
        ("spk0", "a b"),
        ("spk1", "c d"),
        ("spk0", "e f g"),  # g overlaps nothing: the nearest turn (spk0, ends 5.0) takes it
    ]
    assert out.language == "en"


def test_speaker_at_prefers_most_overlap() -> None:
    turns = [Turn("spk0", 0.0, 1.0), Turn("spk1", 0.9, 3.0)]
    assert speaker_at(0.8, 1.5, turns) == "spk1"  # 0.6 s with spk1 vs 0.2 s with spk0
    assert speaker_at(0.1, 0.5, turns) == "spk0"
    assert speaker_at(3.5, 3.6, turns) == "spk1"  # nearest


def test_assign_speakers_keeps_whisper_text_when_one_speaker() -> None:
    utt = Utterance("unknown", 0.0, 1.0, "Hello, there.", (Word("Hello,", 0.0, 0.4),
                    Word("there.", 0.5, 1.0)))  # fmt: skip
    out = assign_speakers(Transcript("en", (utt,)), [Turn("spk1", 0.0, 2.0)])
    assert out.segments[0].text == "Hello, there." and out.segments[0].speaker == "spk1"


# --------------------------------------------------------------------------- guards


def test_keep_words_inside_drops_leaked_words() -> None:
    utt = _utt(("in", 1.0, 1.3), ("edge", 2.1, 2.2), ("out", 3.0, 3.3))
    kept = keep_words_inside([utt], [Segment(0.5, 2.0)], tolerance_s=0.3)
    assert [w.text for w in kept[0].words] == ["in", "edge"]
    assert kept[0].text == "in edge" and kept[0].end == 2.2
    assert keep_words_inside([utt], [Segment(5.0, 6.0)], tolerance_s=0.3) == ()


def test_drop_outside_speech_only_drops_wholly_outside_segments() -> None:
    heard = _utt(("yes", 1.0, 1.2), ("thanks", 4.0, 4.3))
    ghost = _utt(("you", 8.0, 8.3))
    kept = drop_outside_speech([heard, ghost], [Segment(0.5, 2.0)], tolerance_s=0.3)
    assert kept == (heard,)


def test_mask_outside() -> None:
    x = np.ones(4 * SR, np.float32)
    y = mask_outside(x, (Segment(1.0, 2.0),), pad_s=0.5, sample_rate=SR)
    assert y[: int(0.5 * SR)].sum() == 0 and y[int(2.5 * SR) :].sum() == 0
    assert y[int(0.5 * SR) : int(2.5 * SR)].min() == 1.0


@pytest.mark.parametrize(
    ("nsp", "logprob", "ratio", "kept"),
    [
        (0.09, -0.28, 1.35, True),  # en_jfk, real speech
        (0.65, -0.53, 1.58, True),  # en_mono's first window, synthetic speech at 8 kHz
        (0.78, -0.88, 1.40, True),  # sl_call, synthetic Slovenian speech
        (0.85, -0.94, 1.75, False),  # "Det er veldig veldig ..." in -40 dBFS noise
        (0.98, -0.77, 2.33, False),  # the same loop in digital silence after speech
        (0.801, -0.78, 0.27, False),  # "You" in that silence (English), just above 0.8
        (0.56, -1.63, 0.20, False),  # "So" on a 1 kHz tone, every temperature failed
        (0.10, -0.30, 3.10, False),  # a repetition loop
        (0.70, -0.30, 1.20, True),  # confident text despite a high no-speech probability
    ],
)
def test_keep_segment(nsp: float, logprob: float, ratio: float, kept: bool) -> None:
    c = TranscriptionConfig()
    scores = SegmentScores(no_speech_prob=nsp, avg_logprob=logprob, compression_ratio=ratio)
    assert (
        keep_segment(
            scores,
            log_prob_threshold=c.log_prob_threshold,
            compression_ratio_threshold=c.compression_ratio_threshold,
            silence_no_speech_threshold=c.silence_no_speech_threshold,
            silence_log_prob_threshold=c.silence_log_prob_threshold,
        )
        is kept
    )


def test_to_utterance_strips_and_skips_empty() -> None:
    u = to_utterance(" Hello there.", 0.0, 1.0, [(" Hello", 0.0, 0.4, 0.9), (" ", 0.4, 0.5, 0.1),
                                                 (" there.", 0.5, 1.2, 0.8)])  # fmt: skip
    assert u is not None
    assert u.text == "Hello there." and [w.text for w in u.words] == ["Hello", "there."]
    assert u.end == 1.2 and u.words[0].probability == pytest.approx(0.9)
    assert to_utterance("  ", 0.0, 1.0, []) is None


def test_is_silent() -> None:
    assert is_silent(np.zeros(100, np.float32), -50.0)
    assert is_silent(np.full(100, 0.001, np.float32), -50.0)  # -60 dBFS
    assert not is_silent(np.full(100, 0.01, np.float32), -50.0)  # -40 dBFS


def test_importing_backends_loads_no_model_library() -> None:
    code = (
        "import sys, callqa.transcription.call, callqa.transcription.faster, "
        "callqa.transcription.openai;"
        "heavy = {'torch', 'whisper', 'ctranslate2', 'faster_whisper'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- WER


def test_wer_known_answers() -> None:
    assert normalize_text("Hello, World! Don't") == ["hello", "world", "don't"]
    assert wer("the cat sat", "The cat, sat.") == 0.0
    assert wer("the cat sat on the mat", "the cat sit on mat") == pytest.approx(2 / 6)
    assert wer("a b", "a b c d") == 1.0  # two insertions over two reference words
    assert wer("", "") == 0.0
    assert wer("Stortingets møte er lovlig satt", "stortingets møte er lovlig satt") == 0.0
    assert wer("a b c", "") == 1.0 and wer("", "a b") == 2.0


def test_wer_of_a_whole_call_is_fast() -> None:
    """5000 reference words, every 10th substituted and every 20th dropped: WER 0.15 exactly,
    in well under a second (jiwer's alignment; a word-level Python loop took 16 s)."""
    import time

    ref = [f"w{i % 300}" for i in range(5000)]
    hyp = ["x" if i % 10 == 0 else w for i, w in enumerate(ref) if i % 20 != 5]
    start = time.perf_counter()
    assert wer(" ".join(ref), " ".join(hyp)) == pytest.approx((500 + 250) / 5000)
    assert time.perf_counter() - start < 1.0


def test_compression_ratio_of_one_segment() -> None:
    assert compression_ratio("") == 0.0
    assert compression_ratio(" Hello.") < 1.0  # zlib's header outweighs short text
    sentence = " At least, you know, they all call me a Yankee down here."
    assert compression_ratio(sentence) < 1.2
    loop = " Man," + " taklič," * 12 + " taklič."
    assert compression_ratio(loop) > TranscriptionConfig().compression_ratio_threshold


def test_loop_tracker_keeps_first_occurrence_in_a_looping_window() -> None:
    # Whisper base on the synthetic Norwegian call: one sentence as segment after segment
    # (window ratio 10.56), then a new window with ordinary text.
    loops = LoopTracker(threshold=2.4)
    sentence = " Ja, jeg kan ikke skjøp den jorden."
    marks = [
        loops.repeats(2400, 10.56, " Ja."),
        loops.repeats(2400, 10.56, sentence),
        loops.repeats(2400, 10.56, sentence),
        loops.repeats(2400, 10.56, " ja, jeg  kan ikke skjøp den jorden."),
        loops.repeats(2400, 10.56, ""),
        loops.repeats(5400, 0.58, " Har du det?"),
        loops.repeats(5400, 0.58, " Har du det?"),  # repeats in a window that does not loop
    ]
    assert marks == [False, False, True, True, True, False, False]


# --------------------------------------------------------------------------- empty turns


def _skipping_call() -> tuple[CallAudio, SpeechActivity]:
    # timeline (s):  0    2         7    8.5  9   9.6  10
    # left speech:   [====)         [====)    [==)          turns 0-2, 7-8.5, 9-9.6 (tone to 9.5)
    # right:         silent
    left = _with_speech(10.0, [(0.0, 2.0), (7.0, 8.5), (9.0, 9.5)])
    turns = (Turn("left", 0.0, 2.0), Turn("left", 7.0, 8.5), Turn("left", 9.0, 9.6))
    activity = SpeechActivity(turns=turns, method="hand", speakers=("left", "right"),
                              channel_map=(("left", 0), ("right", 1)))  # fmt: skip
    return _audio(left, np.zeros_like(left)), activity


def test_a_turn_the_first_pass_left_empty_is_decoded_again() -> None:
    audio, activity = _skipping_call()
    fake = ShortSightedFake()
    tr = transcribe_call(audio, fake, activity=activity, language="en")
    assert [len(x) / SR for x in fake.seen] == [10.0, 2.5]  # the channel, then 6.5-9.0 s
    mids = [0.5 * (w.start + w.end) for w in tr.words]
    assert any(7.0 <= m <= 8.5 for m in mids)  # the skipped turn has its words now
    assert all(0.0 <= m <= 2.0 or 7.0 <= m <= 8.5 for m in mids)  # nothing from the context
    assert not any(9.0 <= m <= 9.6 for m in mids)  # under 1 s: not decoded again
    cover = turn_coverage(activity.turns, tr, 1.0)
    assert (cover.turns, cover.empty, cover.empty_share) == (2, 0, 0.0)


def test_turn_coverage_counts_turns_left_without_words() -> None:
    audio, activity = _skipping_call()
    config = TranscriptionConfig(empty_turn_pass=False)
    tr = transcribe_call(audio, ShortSightedFake(), activity=activity, language="en",
                         config=config)  # fmt: skip
    cover = turn_coverage(activity.turns, tr, 1.0)
    assert (cover.turns, cover.empty, cover.empty_share) == (2, 1, 0.5)
    assert cover.empty_turns == (Turn("left", 7.0, 8.5),)


def test_empty_turns_uses_word_midpoints() -> None:
    words = (Word("a", 0.0, 1.4), Word("b", 3.0, 3.2))  # midpoints 0.7 and 3.1
    utt = (Utterance("left", 0.0, 3.2, "a b", words),)
    turns = (Segment(0.9, 2.0), Segment(2.5, 3.5), Segment(4.0, 4.5))
    assert empty_turns(turns, utt, 1.0) == (Segment(0.9, 2.0),)


def test_word_times_are_clamped_to_the_call() -> None:
    @dataclass
    class Early(RecordingFake):
        def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
            w = (Word("hi", -0.4, 0.3), Word("there", 1.5, 2.4))
            return (Utterance("unknown", -0.4, 2.4, "hi there", w),)

    tr = transcribe_call(_audio(_tone(2.0)), Early(), activity=None, language="en")
    assert [(w.start, w.end) for w in tr.words] == [(0.0, 0.3), (1.5, 2.0)]
    assert (tr.segments[0].start, tr.segments[0].end) == (0.0, 2.0)
