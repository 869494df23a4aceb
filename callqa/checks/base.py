"""What every check receives and returns.

A check is a function ``(CheckContext) -> CheckResult``. The rubric decides which checks run,
with which parameters (``ctx.params``, from the rubric item's ``params`` table), and how their
scores are weighted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from callqa.measures.metrics import CallMetrics
from callqa.sentiment import CallSentiment
from callqa.types import CheckResult, Transcript


@dataclass(frozen=True)
class CheckContext:
    """The inputs of a check.

    Attributes
    ----------
    transcript : Transcript
        Speaker-labelled words (unredacted, in memory only).
    metrics : CallMetrics
        Audio measures; ``metrics.dynamics`` / ``metrics.voice`` are None without audio.
    has_audio : bool
        False when scoring a transcript file: audio-based checks answer "na".
    params : Mapping
        The rubric item's parameters (thresholds), merged over the check's defaults.
    sentiment : CallSentiment or None
        The sentiment stage's result (each party's trajectory, the customer's outcome); None
        when the stage did not run. Each segment's own sentiment is on the transcript.
    """

    transcript: Transcript
    metrics: CallMetrics
    has_audio: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    sentiment: CallSentiment | None = None


CheckFn = Callable[[CheckContext], CheckResult]


def not_applicable(check_id: str, reason: str) -> CheckResult:
    """A "na" result whose ``details["reason"]`` says why the check does not apply."""
    return CheckResult(id=check_id, verdict="na", score=None, details={"reason": reason})
