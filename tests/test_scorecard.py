"""The scorecard's JSON form: plain-data conversion and the published JSON Schema."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from callqa.scorecard import plain, schema
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
