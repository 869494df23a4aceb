"""The checks: what the agent said and did, scored against the HEAT method.

Each check is a function ``(CheckContext) -> CheckResult`` registered under a stable id
("<section>.<item>"). :func:`registry` gathers the transcript checks of this package with the
conversation-dynamics checks (:mod:`callqa.checks.conversation`), the voice checks
(:mod:`callqa.checks.tone`) and the outcome checks (:mod:`callqa.checks.outcome`). Check
modules import nothing heavy at module level.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from callqa.checks import (
    commitment,
    conversation,
    empathy,
    language,
    listening,
    opening,
    outcome,
    repeat,
    resolution,
    tone,
)
from callqa.checks.base import CheckContext, CheckFn, not_applicable
from callqa.measures.metrics import CallMetrics
from callqa.types import AGENT, CUSTOMER, Transcript, Utterance

__all__ = ["CheckContext", "CheckFn", "check_line", "defaults", "not_applicable", "registry"]

# transcript checks, then conversation dynamics and tone (measures of the audio), then the
# call's outcome (the sentiment stage)
MODULES: tuple[ModuleType, ...] = (
    opening,
    listening,
    empathy,
    resolution,
    commitment,
    language,
    repeat,
    conversation,
    tone,
    outcome,
)


def registry() -> dict[str, CheckFn]:
    """Every check by id: transcript checks, conversation checks and tone checks."""
    out: dict[str, CheckFn] = {}
    for module in MODULES:
        out.update(module.CHECKS)
    return out


def defaults() -> dict[str, Mapping[str, Any]]:
    """Default parameters of the checks that declare them (``DEFAULTS`` in their module)."""
    out: dict[str, Mapping[str, Any]] = {}
    for module in MODULES:
        out.update(getattr(module, "DEFAULTS", {}))
    return out


def check_line(
    check_id: str,
    agent_text: str,
    language: str,
    *,
    customer_text: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Run one check on a two-line call: ``customer_text`` (optional) then ``agent_text``.

    For labelled test lines and quick experiments. Each line lasts 0.4 s per word.

    Returns
    -------
    CheckResult
    """
    lines = ([(CUSTOMER, customer_text)] if customer_text else []) + [(AGENT, agent_text)]
    segments, t = [], 0.0
    for speaker, text in lines:
        duration = 0.4 * max(1, len(text.split()))
        segments.append(Utterance(speaker, t, t + duration, text))
        t += duration + 0.5
    transcript = Transcript(language, tuple(segments), language_source="file")
    merged = {**defaults().get(check_id, {}), **(params or {})}
    ctx = CheckContext(transcript, CallMetrics(duration_s=t), has_audio=False, params=merged)
    return registry()[check_id](ctx)
