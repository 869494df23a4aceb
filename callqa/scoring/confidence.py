"""How sure callqa is of each verdict, and what a person should review.

A verdict's *confidence* is the probability that it is right. It has three parts:

1. **The check's track record** ``c`` for that verdict (and kind of evidence, where a check
   reports one: see :func:`track_key`): on the labelled call set
   (benchmarks/data/calls, docs/checks.md), the share of the check's "pass" (or "fail", or
   "na") verdicts that a QA reviewer agreed with, smoothed with one right and one wrong prior
   observation: ``c = (right + 1) / (n + 2)``. The counts ship in ``data/confidence.json`` and
   are refitted by ``benchmarks/bench_verdicts.py --fit``. Checks on audio measures have no
   labelled calls; their ``c`` comes from the distance of the measure to its threshold, in units
   of the measure's noise (see :func:`margin_confidence`), and is marked uncalibrated.
2. **How reliably the evidence was heard** ``r``: the share of the quoted words that Whisper
   heard with probability >= 0.4. A verdict by absence (a fail of :data:`ABSENCE_FAILS`, a
   required phrase not found, or any verdict without evidence) rests on everything the party
   said, not on the context it quotes: its ``r`` is the lower of the quoted words' share and
   that of every word of the party. A transcript read from a file has ``r = 1``.
3. **How sure the roles are** ``q``: the role decision's confidence for checks on one party's
   words (1 when the agent channel was given).

``confidence = 0.5 + (c - 0.5) * r * q``: unreliable words or roles pull a verdict towards a coin
flip, never past it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from callqa.checks.text import load_pack
from callqa.config import TranscriptionConfig
from callqa.languages import related
from callqa.ranges import beside
from callqa.types import (
    AGENT,
    CheckResult,
    ReviewItem,
    RoleDecision,
    Transcript,
    TurnCoverage,
    Word,
)

HEARD_PROBABILITY = 0.4  # a word Whisper gave less than this is "not reliably heard"
# "na" reasons that state a fact about the input, not a judgment: certain (confidence 1)
CERTAIN_NA_REASONS = ("no audio", "scored from a transcript without audio")
NOT_APPLICABLE_PRIOR = (9, 10)  # (right, n) for an "na" of a check without labelled "na"s
UNCALIBRATED_CEILING = 0.9  # margin-based confidences never claim more than this
CONTRADICTION_PROBABILITY = 0.8  # language ID this sure of another language: a translation
ROLES_REVIEW_BELOW = 0.6  # role decisions less sure than this are listed for review
HEARD_REVIEW_BELOW = 0.8  # a call with fewer of its words clearly heard is listed for review

# Checks on audio measures: (details key of the measure, details key of its threshold, noise).
# noise = the measure's uncertainty in its own units (docs/checks.md gives the sources).
MARGINS: dict[str, tuple[str, str, float]] = {
    "hear.talk_share": ("agent_talk_share", "max", 0.05),  # VAD error ~ 5 % of talk time
    "tone.not_monotone": ("pitch_sd_st", "min_sd_st", 0.5),  # st; SD over one call
    "tone.pace": ("ratio", "max_ratio", 0.15),  # articulation-rate ratio
    # sentiment score units (-1..1); noise = the distance of the negative threshold from
    # neutral (0.25): a judgement, not fitted (no labelled calls with sentiment)
    "outcome.customer_calmer": ("margin", "margin_at", 0.25),
}
# checks whose verdict is about one party's words or voice (role confidence applies)
PARTY_CHECKS_PREFIXES = (
    "open.", "hear.", "empathise.", "lead.", "action.", "positive.", "tone.", "outcome.",
)  # fmt: skip


ABSENCE_FAILS = frozenset({
    "open.greeting", "open.closing", "hear.paraphrase", "empathise.empathy", "empathise.apology",
    "lead.open_questions", "lead.alternative", "action.next_step",
})  # fmt: skip
"""Checks whose "fail" means the agent never said something (a greeting, an empathy statement,
a commitment, ...): what they quote is where it was looked for, and a misheard sentence
anywhere in the agent's talk could have held it ("La richiamerò entro domani" heard as
"l'aliciamerò interromani")."""


@dataclass(frozen=True)
class Track:
    """How often a check's verdict was right on the labelled call set."""

    right: int
    n: int

    @property
    def rate(self) -> float:
        """Smoothed share of right verdicts: (right + 1) / (n + 2)."""
        return (self.right + 1) / (self.n + 2)


@cache
def track_records() -> dict[str, dict[str, Track]]:
    """check id -> verdict -> :class:`Track`, from the shipped ``data/confidence.json``."""
    path = resources.files("callqa.scoring").joinpath("data/confidence.json")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {
        check: {verdict: Track(int(v[0]), int(v[1])) for verdict, v in verdicts.items()}
        for check, verdicts in raw.get("checks", {}).items()
    }


def margin_confidence(value: float, threshold: float, noise: float) -> float:
    """Confidence of a verdict decided by ``value`` against ``threshold``: 0.5 at the threshold,
    rising with the distance in units of ``noise`` (a normal error model), at most
    :data:`UNCALIBRATED_CEILING`."""
    z = abs(value - threshold) / max(noise, 1e-9)
    p = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    return min(UNCALIBRATED_CEILING, p)


def track_key(result: CheckResult) -> str:
    """The track record a verdict is judged by: its verdict, split by the kind of evidence
    where the check reports one (``details.strength``: a "fail" of the forbidden phrases on an
    obligation alone, "fail/weak"; ``details.partial``: a next step without a time frame,
    "pass/partial"; ``details.near_miss``: no next step found, but a time frame was said,
    "fail/near_miss", with no track record yet)."""
    if result.details.get("strength") == "weak":
        return f"{result.verdict}/weak"
    if result.details.get("partial"):  # a next step without a time frame
        return f"{result.verdict}/partial"
    if result.details.get("rote"):  # the same apology over and over
        return f"{result.verdict}/rote"
    if result.details.get("near_miss"):  # no next step, but a time frame was said
        return f"{result.verdict}/near_miss"
    return result.verdict


def base_confidence(result: CheckResult) -> tuple[float, bool]:
    """(c, calibrated): the check's track record for this verdict, or its margin.

    An "na" because the input has no audio is a fact, not a judgment: ``c`` = 1.
    """
    reason = str(result.details.get("reason", ""))
    if result.verdict == "na" and reason.startswith(CERTAIN_NA_REASONS):
        return 1.0, False
    track = track_records().get(result.id, {}).get(track_key(result))
    if track is not None:
        return track.rate, True
    if result.id in MARGINS and result.verdict != "na":
        c = _limits_confidence(result)
        if c is not None:
            return c, False
    if result.verdict == "na":
        right, n = NOT_APPLICABLE_PRIOR
        return (right + 1) / (n + 2), False
    return 0.75, False


# A second limit a check fails on: tone.pace fails on its articulation-rate ratio or on the
# words/min ceiling of the call's language. Noise: 10 % of the English ceiling (190): the talk
# time the rate divides by ran 4-10 % short of the scripted turns on the sample calls (a tuning
# figure).
SECOND_LIMITS: dict[str, tuple[str, str, float]] = {"tone.pace": ("agent_wpm", "max_wpm", 19.0)}


def _limits_confidence(result: CheckResult) -> float | None:
    """The margin confidence of a verdict decided by its limits (:data:`MARGINS`, and
    :data:`SECOND_LIMITS` where a check has two): with two, a fail is as sure as its surest
    broken limit and a pass as its least sure kept one. The AWS call's pace fail (259
    words/min against 190) had read "unsure, close to its threshold" on its ratio alone.
    None when no limit was measured."""
    limits = [
        MARGINS[result.id],
        *([SECOND_LIMITS[result.id]] if result.id in SECOND_LIMITS else []),
    ]
    found = [
        (float(v), float(t), noise)
        for key, limit, noise in limits
        if isinstance(v := result.details.get(key), int | float)
        and isinstance(t := result.details.get(limit), int | float)
    ]
    sure = [margin_confidence(v, t, noise) for v, t, noise in found]
    if len(found) < 2:
        return sure[0] if sure else None
    broken = [c for (v, t, _), c in zip(found, sure, strict=True) if v > t]
    return max(broken) if result.verdict == "fail" and broken else min(sure)


def heard_share(words: Sequence[Word]) -> float:
    """Share of ``words`` heard with probability >= :data:`HEARD_PROBABILITY` (1 when none)."""
    if not words:
        return 1.0
    return sum(w.probability >= HEARD_PROBABILITY for w in words) / len(words)


def evidence_words(result: CheckResult, transcript: Transcript) -> list[Word]:
    """The transcript words inside the verdict's evidence; without evidence (a verdict by
    absence) every word of the agent."""
    words = transcript.words
    if not result.evidence:
        return [w for w in words if w.speaker == AGENT]
    out = []
    for ev in result.evidence:
        out += [
            w for w in words if w.speaker == ev.speaker and w.end > ev.start and w.start < ev.end
        ]
    return out


def by_absence(result: CheckResult) -> str | None:
    """The party whose every word a verdict by absence rests on, or None for a verdict on
    what its evidence shows: the agent for a fail of :data:`ABSENCE_FAILS`, the item's
    speaker for a required phrase (a rubric phrase item) not found."""
    if result.verdict != "fail":
        return None
    if result.id in ABSENCE_FAILS:
        return AGENT
    details = result.details
    if details.get("kind") == "phrases" and details.get("mode") == "required":
        return str(details.get("speaker", AGENT))
    return None


def heard_part(result: CheckResult, transcript: Transcript) -> float:
    """``r``: how reliably what the verdict rests on was heard (see the module docstring)."""
    r = heard_share(evidence_words(result, transcript))
    party = by_absence(result)
    if party is not None:
        r = min(r, heard_share([w for w in transcript.words if w.speaker == party]))
    return r


def role_factor(result: CheckResult, roles: RoleDecision | None) -> float:
    """The role decision's confidence for checks on one party (1 without a role decision)."""
    if roles is None or not result.id.startswith(PARTY_CHECKS_PREFIXES):
        return 1.0
    if roles.method == "none":
        return 0.0
    return max(0.0, min(1.0, roles.confidence))


def with_confidence(
    results: Sequence[CheckResult], transcript: Transcript, roles: RoleDecision | None
) -> tuple[CheckResult, ...]:
    """Each result with its :attr:`~callqa.types.CheckResult.confidence` (rounded to 0.001)."""
    out = []
    for result in results:
        c, calibrated = base_confidence(result)
        r = heard_part(result, transcript)
        q = role_factor(result, roles)
        confidence = 0.5 + (c - 0.5) * r * q
        details = {**result.details, "confidence_parts": _parts(c, calibrated, r, q)}
        out.append(replace(result, confidence=round(confidence, 3), details=details))
    return tuple(out)


def _parts(c: float, calibrated: bool, r: float, q: float) -> dict[str, Any]:
    return {
        "track_record": round(c, 3),
        "calibrated": calibrated,
        "heard": round(r, 3),
        "roles": round(q, 3),
    }


def review_items(
    results: Sequence[CheckResult],
    review_below: float,
    withheld: Sequence[str] = (),
    auto_fail_below: float = 0.8,
) -> list[ReviewItem]:
    """The verdicts a person should check: confidence below ``review_below`` and auto-fails
    withheld for lack of confidence, each with the reason."""
    items = []
    for result in results:
        if result.confidence is None or result.verdict == "na":
            continue
        if result.id in withheld:
            items.append(
                ReviewItem(
                    result.id,
                    f"auto-fail not applied: callqa is unsure of this '{result.verdict}' "
                    f"(confidence {beside(result.confidence, auto_fail_below, 2)}; {_why(result)})",
                    result.confidence,
                )
            )
        elif result.confidence < review_below:
            items.append(
                ReviewItem(
                    result.id,
                    f"unsure '{result.verdict}' (confidence "
                    f"{beside(result.confidence, review_below, 2)}; {_why(result)})",
                    result.confidence,
                )
            )
    return items


def _why(result: CheckResult) -> str:
    parts: Mapping[str, Any] = result.details.get("confidence_parts", {})
    reasons = []
    if parts.get("heard", 1.0) < 0.9:
        reasons.append(f"only {parts['heard']:.0%} of the quoted words were clearly heard")
    if parts.get("roles", 1.0) < 0.9:
        reasons.append(f"agent and customer told apart with confidence {parts['roles']:.2f}")
    if not reasons:
        calibrated = parts.get("calibrated", False)
        rate = parts.get("track_record", result.confidence or 0.0)
        reasons.append(
            f"this check's '{result.verdict}' was right {rate:.0%} of the time on the labelled "
            "calls"
            if calibrated
            else "the measure is close to its threshold"
        )
    return "; ".join(reasons)


def call_reviews(
    transcript: Transcript,
    roles: RoleDecision | None,
    coverage: TurnCoverage | None = None,
    transcription: TranscriptionConfig | None = None,
) -> list[ReviewItem]:
    """Reasons to doubt the whole scorecard: a language without a phrase pack (the call has
    no score: a person must judge it, or score it again in the right language), a forced
    language that Whisper's language ID contradicts (Whisper then translates), unsure roles, a
    transcript heard poorly, and more speech turns without words than ``transcription``'s
    ``empty_turn_warn_share`` (the Norwegian sample's 11 of 13 had only been a warning beside a
    score)."""
    items = []
    if without_phrase_pack(transcript):
        items.append(
            ReviewItem(
                "language",
                f"no phrase pack for '{transcript.language}': the call has no score; listen to "
                "it, or score it again with --language if the language is wrong",
            )
        )
    contradiction = language_contradiction(transcript)
    if contradiction:
        items.append(ReviewItem("language", contradiction))
    if roles is not None and roles.method == "auto" and roles.confidence < ROLES_REVIEW_BELOW:
        items.append(
            ReviewItem(
                "roles",
                f"agent and customer told apart with confidence {roles.confidence:.2f}: "
                f"{roles.reason}",
            )
        )
    heard = heard_share(transcript.words)
    if transcript.words and heard < HEARD_REVIEW_BELOW:
        items.append(
            ReviewItem(
                "transcript",
                f"only {heard:.0%} of the words were heard with probability >= "
                f"{HEARD_PROBABILITY}: quotes and verdicts may rest on misheard words",
            )
        )
    warn_at = (transcription or TranscriptionConfig()).empty_turn_warn_share
    if coverage is not None and coverage.above(warn_at):
        items.append(
            ReviewItem(
                "transcript",
                f"{coverage.empty} of {coverage.turns} speech turns got no words: what was "
                "said there is in no verdict; listen to those turns",
            )
        )
    return items


def without_phrase_pack(transcript: Transcript) -> bool:
    """True when the call has words in a language without a phrase pack: the items that read
    the words are "na" and the call has no score."""
    return bool(transcript.segments) and load_pack(transcript.language) is None


def language_contradiction(transcript: Transcript) -> str | None:
    """A one-line warning when a forced language is contradicted by Whisper's language ID."""
    found, p = transcript.detected_language, transcript.detected_probability
    if transcript.language_source != "forced" or found is None or p is None:
        return None
    if related(found, transcript.language) or p < CONTRADICTION_PROBABILITY:
        return None
    return (
        f"the language was forced to '{transcript.language}' but Whisper's language ID heard "
        f"'{found}' (probability {p:.2f}): the transcript may be a translation; score it again "
        "without --language or with the right one"
    )
