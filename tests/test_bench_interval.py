"""The word error interval of benchmarks/bench_throughput.py, from known answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_throughput as bt

OURS, REF = "ours", "bare"


def rows(diffs: list[int], words: int = 50, group: str = "g") -> list[dict[str, object]]:
    return [{"group": group, OURS: [10 + d, words], REF: [10, words]} for d in diffs]


def test_same_difference_on_every_clip_has_no_spread() -> None:
    d, low, high, n = bt.paired_difference(rows([5] * 6), OURS, REF, "g")
    assert (d, low, high, n) == (pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.1), 6)


def test_differences_both_ways_give_an_interval_around_zero() -> None:
    d, low, high, n = bt.paired_difference(rows([4, -4] * 5), OURS, REF, "g")
    assert d == pytest.approx(0.0)
    assert low < -0.02 and high > 0.02  # +-4 words of 50 per clip: far wider than 0.01
    assert n == 10


def test_only_the_group_asked_for_is_drawn() -> None:
    mixed = rows([1] * 5, group="a") + rows([-3] * 5, group="b")
    assert bt.paired_difference(mixed, OURS, REF, "a")[0] == pytest.approx(0.02)
    assert bt.paired_difference(mixed, OURS, REF, "b")[0] == pytest.approx(-0.06)


def test_small_groups_get_no_interval_table() -> None:
    few = rows([1] * (bt.INTERVAL_MIN_CLIPS - 1), group="few")
    many = rows([1] * bt.INTERVAL_MIN_CLIPS, group="many")
    text = "\n".join(bt.interval_lines(few + many, [OURS, REF], REF))
    assert "on many" in text and "on few" not in text
    assert f"| {OURS} | +0.020 | +0.020 to +0.020 | {bt.INTERVAL_MIN_CLIPS} |" in text
