"""Conversation checks (HEAT "Hear the customer out"), from the measures of
:mod:`callqa.measures.dynamics`.

- ``hear.no_interruptions``: the agent does not take the floor while the customer is mid-turn
  (a *competitive* overlap: the customer stops before finishing; latching, transition
  overlaps, simultaneous starts, echoes and backchannels are not interruptions,
  docs/metrics.md). "na" on a mono call, where overlaps cannot be measured.
- ``hear.talk_share``: the agent leaves the customer room to talk.

Both answer "na" without audio (a transcript file) or when no agent was identified. Parameters
come from ``ctx.params`` over :data:`DEFAULTS`; docs/checks.md gives their sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callqa.checks.base import CheckContext, CheckFn, not_applicable
from callqa.measures.dynamics import DynamicsMetrics, Interruption
from callqa.types import AGENT, CUSTOMER, CheckResult, Evidence

NO_INTERRUPTIONS = "hear.no_interruptions"
TALK_SHARE = "hear.talk_share"
MONO_REASON = (
    "overlapping speech cannot be measured on a mono recording (diarization gives one "
    "speaker per moment)"
)

DEFAULTS: dict[str, Mapping[str, Any]] = {
    NO_INTERRUPTIONS: {
        "max_allowed": 0,  # competitive interruptions of the customer the agent may make
        "min_overlap_s": 0.5,  # shorter overlaps are turn-taking (DynamicsConfig default)
        "kinds": ["competitive"],  # add "attempt" to count incomings the customer talked over
    },
    TALK_SHARE: {
        "max": 0.6,  # agent talk / all talk; Gong Labs' top sales reps talk 43% (43:57)
        "zero_at": 0.8,  # the score falls linearly from 1 at "max" to 0 here
    },
}


def _params(check_id: str, ctx: CheckContext) -> dict[str, Any]:
    return {**DEFAULTS[check_id], **dict(ctx.params)}


def _dynamics(check_id: str, ctx: CheckContext) -> DynamicsMetrics | CheckResult:
    """The dynamics measures, or the "na" result that explains their absence."""
    if not ctx.has_audio or ctx.metrics.dynamics is None:
        return not_applicable(check_id, "no audio: conversation measures are missing")
    dynamics = ctx.metrics.dynamics
    agent = dynamics.party(AGENT)
    if agent is None or (agent.talk_s == 0 and dynamics.agent_talk_share is None):
        return not_applicable(check_id, "no agent identified in this call")
    return dynamics


def no_interruptions(ctx: CheckContext) -> CheckResult:
    """``hear.no_interruptions``: at most ``max_allowed`` agent interruptions of the customer.

    Counts the interruptions of kinds ``kinds`` (default: competitive) whose overlap lasts at
    least ``min_overlap_s``; each one is evidence, with the agent's words.
    """
    dynamics = _dynamics(NO_INTERRUPTIONS, ctx)
    if isinstance(dynamics, CheckResult):
        return dynamics
    if not dynamics.overlap_measured:
        return not_applicable(NO_INTERRUPTIONS, MONO_REASON)
    p = _params(NO_INTERRUPTIONS, ctx)
    found = [
        e
        for e in dynamics.interruptions
        if e.interrupter == AGENT
        and e.interrupted == CUSTOMER
        and e.kind in p["kinds"]
        and e.overlap_s >= p["min_overlap_s"]
    ]
    passed = len(found) <= int(p["max_allowed"])
    return CheckResult(
        id=NO_INTERRUPTIONS,
        verdict="pass" if passed else "fail",
        score=1.0 if passed else 0.0,
        evidence=tuple(_evidence(e) for e in found),
        tip="" if passed else "Let the customer finish before you speak; note your point and wait.",
        details={
            "interruptions": len(found),
            "kinds": [e.kind for e in found],
            "max_allowed": int(p["max_allowed"]),
            "overlap_s": round(sum(e.overlap_s for e in found), 3),
            "customer_interruptions": sum(
                1 for e in dynamics.interruptions if e.interrupter == CUSTOMER
                and e.kind in p["kinds"]
            ),
            "agent_overlaps": [
                {"start": e.start, "kind": e.kind} for e in dynamics.interruptions
                if e.interrupter == AGENT
            ],
        },
    )  # fmt: skip


def talk_share(ctx: CheckContext) -> CheckResult:
    """``hear.talk_share``: agent talk / all talk at most ``max`` (score falls to 0 at
    ``zero_at``)."""
    dynamics = _dynamics(TALK_SHARE, ctx)
    if isinstance(dynamics, CheckResult):
        return dynamics
    share = dynamics.agent_talk_share
    if share is None:
        return not_applicable(TALK_SHARE, "nobody spoke in this call")
    p = _params(TALK_SHARE, ctx)
    top, zero = float(p["max"]), float(p["zero_at"])
    score = 1.0 if share <= top else max(0.0, (zero - share) / max(zero - top, 1e-9))
    agent = dynamics.party(AGENT)
    monologue = agent.longest_monologue if agent else None
    evidence = (
        (Evidence(AGENT, monologue.start, monologue.end, "longest agent monologue"),)
        if monologue and share > top
        else ()
    )
    return CheckResult(
        id=TALK_SHARE,
        verdict="pass" if share <= top else "fail",
        score=round(score, 3),
        evidence=evidence,
        tip="" if share <= top else "Ask an open question and let the customer explain.",
        details={"agent_talk_share": share, "max": top},
    )


def _evidence(e: Interruption) -> Evidence:
    text = e.words or "(no words transcribed in this overlap)"
    return Evidence(speaker=AGENT, start=e.start, end=e.end, text=text)


CHECKS: dict[str, CheckFn] = {NO_INTERRUPTIONS: no_interruptions, TALK_SHARE: talk_share}
