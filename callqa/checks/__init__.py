"""The checks: what the agent said and did, scored against the HEAT method.

Each check is a function ``(CheckContext) -> CheckResult`` registered under a stable id
("<section>.<item>"). :func:`registry` gathers the transcript checks of this package with the
conversation-dynamics checks (:mod:`callqa.checks.conversation`) and the voice checks
(:mod:`callqa.checks.tone`). Check modules import nothing heavy at module level.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from callqa.checks.base import CheckContext, CheckFn, not_applicable

__all__ = ["CheckContext", "CheckFn", "check_line", "defaults", "not_applicable", "registry"]

_TEXT_MODULES = (
    "opening",
    "listening",
    "empathy",
    "resolution",
    "commitment",
    "language",
    "repeat",
)
_OTHER_MODULES = ("conversation", "tone")

# Ids the default rubric expects from the conversation and tone modules. While one of those
# modules is still a placeholder (``CHECKS = {}``), its ids answer "na" instead of breaking the
# default rubric; once the module registers checks, only what it registers counts.
_PENDING = {
    "conversation": ("hear.no_interruptions", "hear.talk_share"),
    "tone": (
        "tone.steady_under_pressure",
        "tone.not_monotone",
        "tone.pace",
        "tone.no_raised_voice",
    ),
}


def _pending(check_id: str) -> CheckFn:
    def check(ctx: CheckContext) -> Any:
        return not_applicable(check_id, "check not available in this build")

    return check


def _module(name: str) -> Any:
    return importlib.import_module(f"callqa.checks.{name}")


def registry() -> dict[str, CheckFn]:
    """Every check by id: transcript checks, conversation checks and tone checks."""
    out: dict[str, CheckFn] = {}
    for name in _TEXT_MODULES + _OTHER_MODULES:
        try:
            module = _module(name)
        except ModuleNotFoundError as exc:  # conversation/tone before they land
            if exc.name != f"callqa.checks.{name}":
                raise
            continue
        out.update(module.CHECKS)
        if not module.CHECKS:
            out.update({i: _pending(i) for i in _PENDING.get(name, ())})
    return out


def defaults() -> dict[str, Mapping[str, Any]]:
    """Default parameters of the checks that declare them (``DEFAULTS`` in their module)."""
    out: dict[str, Mapping[str, Any]] = {}
    for name in _TEXT_MODULES + _OTHER_MODULES:
        try:
            module = _module(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"callqa.checks.{name}":
                raise
            continue
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
    from callqa.types import AGENT, CUSTOMER, CallMetrics, Transcript, Utterance

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
