"""The scorecard's JSON form: plain-data conversion and the published JSON Schema."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from callqa.errors import ScorecardError
from callqa.scoring.scorecard import Scorecard, from_dict, plain, read_json, schema, to_dict
from callqa.types import Evidence, Segment


def test_plain_converts_dataclasses_tuples_numpy_and_rounds() -> None:
    value = {"e": Evidence("agent", np.float32(1.23456), 2.0, "hi"), "t": (np.int64(3), Path("/a"))}
    assert plain(value) == {
        "e": {"speaker": "agent", "start": 1.235, "end": 2.0, "text": "hi"},
        "t": [3, "/a"],
    }


def test_plain_turns_nan_into_null() -> None:
    assert plain([math.nan, math.inf, 1.0]) == [None, None, 1.0]


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(schema())


def test_schema_rejects_na_with_a_score() -> None:
    check_schema = {"$defs": schema()["$defs"], "$ref": "#/$defs/check"}
    validator = Draft202012Validator(check_schema)
    bad = {
        "id": "open.greeting",
        "verdict": "na",
        "score": 1.0,
        "evidence": [],
        "tip": "",
        "details": {},
        "confidence": None,
    }
    assert not validator.is_valid(bad)
    good = {**bad, "score": None}
    assert validator.is_valid(good)


@pytest.mark.parametrize(
    ("a", "b", "overlap"), [((0, 2), (1, 3), 1.0), ((0, 1), (1, 2), 0.0), ((0, 5), (1, 2), 1.0)]
)
def test_segment_intersection(
    a: tuple[float, float], b: tuple[float, float], overlap: float
) -> None:
    assert Segment(*a).intersection(Segment(*b)) == overlap
    assert Segment(*a).overlaps(Segment(*b)) == (overlap > 0)


# --------------------------------------------------------------------------- from_dict


HAND_MADE = Path(__file__).parent / "data" / "report" / "card_en.json"


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON form of a scorecard the pipeline made (every measure present)."""
    from conftest import clip

    from callqa.pipeline import score_call
    from callqa.transcription.fake import FakeTranscriber

    call = clip(tmp_path_factory.mktemp("card") / "call.wav", 0.0, 25.0)
    return to_dict(score_call(call, transcriber=FakeTranscriber()))


def _cards() -> list[Path]:
    return [HAND_MADE]


@pytest.mark.parametrize("source", ["pipeline", "hand-made"])
def test_from_dict_reads_back_what_to_dict_wrote(source: str, scored: dict[str, Any]) -> None:
    data = scored if source == "pipeline" else json.loads(HAND_MADE.read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data))  # through JSON text, as read from a file
    card = from_dict(data)
    assert isinstance(card, Scorecard) and card.call_id == data["call_id"]
    again = to_dict(card)
    assert to_dict(from_dict(again)) == again  # a fixed point after one round
    assert again["score"] == data["score"]
    for mine, theirs in zip(again["checks"], data["checks"], strict=True):
        assert {k: mine[k] for k in theirs} == theirs  # only what an older scorecard lacks added


def test_from_dict_refuses_what_is_not_a_scorecard() -> None:
    good = json.loads(_cards()[0].read_text(encoding="utf-8"))
    with pytest.raises(ScorecardError, match="a scorecard is a JSON object"):
        from_dict([good])
    broken = json.loads(json.dumps(good))
    broken["checks"][0]["verdict"] = "maybe"
    with pytest.raises(ScorecardError, match=r"scorecard.checks\[0\].verdict: 'maybe'"):
        from_dict(broken)
    broken = json.loads(json.dumps(good))
    broken["duration_s"] = "long"
    with pytest.raises(ScorecardError, match=r"scorecard\.duration_s: expected float, not str"):
        from_dict(broken)
    del broken["call_id"]
    with pytest.raises(ScorecardError, match="missing 'call_id'"):
        from_dict(broken)


def test_from_dict_fills_optional_parts_of_an_older_scorecard() -> None:
    good = json.loads(_cards()[0].read_text(encoding="utf-8"))
    old = {k: v for k, v in good.items() if k not in ("roles", "redaction", "warnings")}
    card = from_dict(old)
    assert card.roles is None and card.redaction is None and card.warnings == ()


def test_read_json_gives_one_line_for_bad_files(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ScorecardError) as info:
        read_json(deep)
    assert "\n" not in str(info.value)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000)
    with pytest.raises(ScorecardError, match="2,000 bytes, more than the 1,000 bytes allowed"):
        read_json(big, max_bytes=1000)
