"""Reading transcript files: callqa JSON and WebVTT, with one-line errors for bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from callqa.errors import TranscriptError
from callqa.transcription.files import read_transcript

DATA = Path(__file__).resolve().parent / "data" / "checks"


def test_json_transcript() -> None:
    t = read_transcript(DATA / "call_en.json")
    assert (t.language, t.language_source, len(t.segments)) == ("en", "file", 3)
    assert [s.speaker for s in t.segments] == ["agent", "customer", "agent"]
    words = t.segments[1].words
    assert [w.text for w in words] == ["My", "parcel", "never", "arrived."]
    assert words[2].probability == 0.9 and words[2].speaker == "customer"


def test_words_are_spread_when_missing() -> None:
    seg = read_transcript(DATA / "call_en.json").segments[0]
    assert len(seg.words) == 11
    assert seg.words[0].start == 0.0 and seg.words[-1].end == pytest.approx(3.0)
    step = 3.0 / 11
    assert seg.words[1].start == pytest.approx(step, abs=1e-3)


def test_vtt_with_voice_tags() -> None:
    t = read_transcript(DATA / "call_nb.vtt")
    assert t.language == "nb"  # "no" is read as Bokmål
    assert [s.speaker for s in t.segments] == ["agent", "customer", "unknown"]
    assert t.segments[1].text == "Pakken min har ikke kommet."
    assert (t.segments[1].start, t.segments[1].end) == (2.8, 5.0)
    assert t.segments[2].start == 65.0 and t.segments[2].end == 67.25


TEAMS_VTT = """WEBVTT

NOTE exported from a meeting tool: people's names in the voice tags

00:00:01.000 --> 00:00:04.000 align:start
<v Sam Jones>Hello, thank you for calling Acme, this is Sam. How can I help you?</v>

a1b2c3-4
00:00:04.500 --> 00:00:09.000
<v Kari Nordmann>My parcel never arrived and I am really annoyed about it.</v>

00:09.500 --> 00:13.000
<v Sam Jones>I am so sorry about that. Let me check the tracking for you right now.</v>
"""


def test_vtt_with_people_s_names_gets_roles_from_what_they_say(tmp_path: Path) -> None:
    """Names in the voice tags had made every line "unknown" and every item "na"; they are
    labels now (the names are not kept), and scoring decides the roles as for a mono call."""
    from callqa.pipeline import score_transcript
    from callqa.scoring.scorecard import to_json

    path = tmp_path / "teams.vtt"
    path.write_text(TEAMS_VTT)
    t = read_transcript(path, language="en")
    assert [s.speaker for s in t.segments] == ["spk0", "spk1", "spk0"]
    card = score_transcript(t, source=path, sha256="0" * 64)
    assert [s.speaker for s in card.transcript.segments] == ["agent", "customer", "agent"]
    assert card.roles is not None and card.roles.method == "auto" and card.roles.agent == "spk0"
    assert card.roles.confidence > 0.55  # agent phrases, not only "spoke first"
    assert card.score is not None
    written = to_json(card)
    assert "Jones" not in written and "Kari" not in written and "Nordmann" not in written


@pytest.mark.parametrize(
    ("labels", "speakers"),
    [
        (("Agent", "Caller"), ["agent", "customer", "agent"]),
        (("Sam Jones", "Kari Nordmann"), ["spk0", "spk1", "spk0"]),
        (("Speaker 1", "Speaker 2"), ["spk0", "spk1", "spk0"]),
    ],
)
def test_vtt_with_name_prefixes(
    tmp_path: Path, labels: tuple[str, str], speakers: list[str]
) -> None:
    """Caption exports without voice tags write "Name: text"; the name is the speaker, not
    words the agent said."""
    a, b = labels
    cues = [
        (1, 4, a, "Hello, how can I help?"),
        (5, 9, b, "My bill is wrong."),
        (10, 12, a, "Sorry."),
    ]
    path = tmp_path / "zoom.vtt"
    path.write_text(
        "WEBVTT\nLanguage: en\n\n"
        + "".join(
            f"{i}\n00:00:{s:02d}.000 --> 00:00:{e:02d}.000\n{n}: {x}\n\n"
            for i, (s, e, n, x) in enumerate(cues)
        )
    )
    t = read_transcript(path)
    assert [s.speaker for s in t.segments] == speakers
    assert [s.text for s in t.segments] == ["Hello, how can I help?", "My bill is wrong.", "Sorry."]


def test_one_colon_is_text_not_a_speaker(tmp_path: Path) -> None:
    path = tmp_path / "x.vtt"
    path.write_text(
        "WEBVTT\nLanguage: en\n\n00:01.000 --> 00:02.000\nProblem: the router is down.\n\n"
        "00:03.000 --> 00:04.000\nI see.\n\n00:05.000 --> 00:06.000\nLet me check.\n"
    )
    t = read_transcript(path)
    assert [s.speaker for s in t.segments] == ["unknown"] * 3
    assert t.segments[0].text == "Problem: the router is down."


def test_language_argument_overrides(tmp_path: Path) -> None:
    t = read_transcript(DATA / "call_en.json", language="fi")
    assert t.language == "fi"
    vtt = tmp_path / "x.vtt"
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n<v agent>Hello\n")
    with pytest.raises(
        TranscriptError, match="add a 'Language: en' line under WEBVTT or pass --language"
    ):
        read_transcript(vtt)
    assert read_transcript(vtt, language="en").segments[0].text == "Hello"


def _json(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


SEG = {"speaker": "agent", "start": 0.0, "end": 1.0, "text": "Hi"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"segments": [SEG]}, 'no "language"; add e.g. "language": "en"'),
        ({"language": "en"}, 'expected an object with a "segments" list'),
        ({"language": "english", "segments": [SEG]}, "language must be an ISO 639-1 code"),
        (
            {"language": "en", "segments": [{**SEG, "speaker": "bob"}]},
            "segment 1: unknown speaker 'bob'",
        ),
        (
            {"language": "en", "segments": [{**SEG, "start": "0"}]},
            "segment 1: 'start' must be a number of seconds",
        ),
        (
            {"language": "en", "segments": [{**SEG, "start": 2.0}]},
            "segment 1: end (1.0) is before start (2.0)",
        ),
        (
            {"language": "en", "segments": [{**SEG, "text": None}]},
            "segment 1: 'text' must be a string",
        ),
        (
            {"language": "en", "segments": [SEG, {**SEG, "words": [{"text": "Hi", "start": 0}]}]},
            "segment 2, word 1: 'end' must be a number",
        ),
        ({"language": "en", "segments": [{**SEG, "words": "Hi"}]}, "'words' must be a list"),
    ],
)
def test_json_errors(tmp_path: Path, data: object, message: str) -> None:
    path = _json(tmp_path, data)
    with pytest.raises(TranscriptError) as err:
        read_transcript(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_not_json_and_missing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"language": "en",')
    with pytest.raises(TranscriptError, match=r"not valid JSON \(line 1"):
        read_transcript(bad)
    with pytest.raises(TranscriptError, match="not found"):
        read_transcript(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "WEBVTT\nLanguage: en\n\n00:00.000 -> 00:01.000\nhi\n",
            "line 4: cue without a 'start --> end' line",
        ),
        ("WEBVTT\nLanguage: en\n\n00:00.0 --> 00:01.000\nhi\n", "line 4: bad cue timing"),
        ("WEBVTT\nLanguage: en\n\n00:02.000 --> 00:01.000\nhi\n", "cue ends before it starts"),
    ],
)
def test_vtt_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.vtt"
    path.write_text(text)
    with pytest.raises(TranscriptError, match=message):
        read_transcript(path)


def test_vtt_must_start_with_header(tmp_path: Path) -> None:
    path = tmp_path / "t.vtt"
    path.write_text("00:00.000 --> 00:01.000\nhi\n")
    with pytest.raises(TranscriptError, match="must start with the line WEBVTT"):
        read_transcript(path)


def test_words_that_do_not_spell_the_text_give_way_to_it(tmp_path: Path) -> None:
    """The words said "hello there" and the text held a card number and an e-mail: the text
    was written unredacted to the scorecard, the report and the store."""
    from callqa.pipeline import score_transcript
    from callqa.scoring.scorecard import to_json

    said = "my card is 4539 1488 0343 6467 and mail jo.smith@example.com"
    path = _json(
        tmp_path,
        {
            "language": "en",
            "segments": [
                {"speaker": "agent", "start": 0, "end": 3, "text": "Hello, how can I help?",
                 "words": [{"text": "Hello,", "start": 0, "end": 0.5},
                           {"text": "help?", "start": 2.0, "end": 2.5}]},
                {"speaker": "customer", "start": 3, "end": 6, "text": said,
                 "words": [{"text": "hello", "start": 3.0, "end": 3.3},
                           {"text": "there", "start": 3.3, "end": 3.6}]},
            ],
        },
    )  # fmt: skip
    t = read_transcript(path)
    assert [w.text for w in t.segments[0].words] == ["Hello,", "help?"]  # they spell it: kept
    assert " ".join(w.text for w in t.segments[1].words) == said  # spread from the text
    written = to_json(score_transcript(t, source=path, sha256="0" * 64))
    assert "4539" not in written and "jo.smith" not in written


def test_a_transcript_is_bounded_in_cues_words_and_times(tmp_path: Path) -> None:
    """A 58 MB WebVTT of a million cues (inside the size cap) had run for hours; a 400-digit
    or 1e308 time had crashed the scoring with an overflow."""
    from callqa.transcription import files

    cues = "".join(f"00:00:{i % 60:02d}.000 --> 00:00:{i % 60:02d}.500\n<v Agent>hi\n\n"
                   for i in range(files.MAX_SEGMENTS + 1))  # fmt: skip
    many = tmp_path / "many.vtt"
    many.write_text("WEBVTT\nLanguage: en\n\n" + cues)
    with pytest.raises(TranscriptError, match="50,001 segments, 0 words; a transcript may hold"):
        read_transcript(many)
    for end, message in (("1e308", "'end' must be from 0 to 604800 s"),
                         ("1" + "0" * 400, "an integer of 401 digits"),
                         ("NaN", "NaN is not a JSON number")):  # fmt: skip
        path = tmp_path / "t.json"
        segment = '{"speaker": "agent", "start": 0, "end": ' + end + ', "text": "hi"}'
        path.write_text('{"language": "en", "segments": [' + segment + "]}")
        with pytest.raises(TranscriptError, match=re.escape(message)):
            read_transcript(path)


@pytest.mark.parametrize(
    ("timing", "ok"),
    [("00:00:01.000 --> 00:00:02.000", True), ("00:99:99.000 --> 01:00:00.000", False),
     ("9999999999:00:00.000 --> 9999999999:00:01.000", False)],
)  # fmt: skip
def test_vtt_times_are_clock_times(tmp_path: Path, timing: str, ok: bool) -> None:
    path = tmp_path / "t.vtt"
    path.write_text(f"WEBVTT\nLanguage: en\n\n{timing}\n<v Agent>hi\n")
    if ok:
        assert read_transcript(path).segments[0].end == 2.0
    else:
        with pytest.raises(TranscriptError, match="bad cue timing"):
            read_transcript(path)


def test_a_cue_right_under_the_header_is_kept(tmp_path: Path) -> None:
    """Without a blank line after the header the first cue was taken for a header line and
    dropped: 0 segments, 'score n/a', exit 0."""
    path = tmp_path / "t.vtt"
    path.write_text("WEBVTT\nLanguage: en\n00:00:00.000 --> 00:00:02.500\n<v Agent>hi there\n")
    assert [s.text for s in read_transcript(path).segments] == ["hi there"]


def test_a_utf16_transcript_is_named_so(tmp_path: Path) -> None:
    """Windows "Unicode" exports are UTF-16: the message had said "not UTF-8 text (byte 0)"."""
    path = tmp_path / "t.json"
    path.write_bytes('{"language": "en", "segments": []}'.encode("utf-16"))
    with pytest.raises(TranscriptError, match="is UTF-16 text; save it as UTF-8"):
        read_transcript(path)
