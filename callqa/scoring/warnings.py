"""The scorecard's warnings: what a reviewer should know before trusting a call's verdicts."""

from __future__ import annotations

from callqa.config import Config
from callqa.measures.metrics import CallMetrics
from callqa.scoring.confidence import language_contradiction, without_phrase_pack
from callqa.types import CheckResult, RoleDecision, Transcript

__all__ = ["call_warnings"]


def call_warnings(
    transcript: Transcript,
    roles: RoleDecision | None,
    checks: tuple[CheckResult, ...],
    metrics: CallMetrics,
    config: Config,
) -> tuple[str, ...]:
    """What a reviewer should know about a scored call, one sentence each (the scorecard's
    ``warnings``; docs/scorecard.md): no speech, too little speech, a language without a
    phrase pack, a forced language Whisper contradicts, speech turns left without words, one
    voice or three or more, unsure roles or language."""
    notes = []
    if not transcript.segments:
        notes.append("no speech was transcribed; every item is 'na' and the call has no score")
    elif checks and all(c.verdict == "na" for c in checks):
        reason = checks[0].details.get("reason", "")
        if "too little speech" in reason:
            notes.append(f"{reason}: every item is 'na' and the call has no score")
    if without_phrase_pack(transcript):
        notes.append(
            f"language '{transcript.language}' has no phrase pack: the items that read the words "
            "are 'na' and the call has no score (only its audio items were judged); force the "
            "language with --language if it is wrong"
        )
    contradiction = language_contradiction(transcript)
    if contradiction:
        notes.append(contradiction)
    cover, warn_share = metrics.coverage, config.transcription.empty_turn_warn_share
    if cover is not None and cover.above(warn_share):
        notes.append(
            f"{cover.empty} of {cover.turns} speech turns of at least {cover.min_turn_s:g} s got "
            f"no words ({cover.empty_share:.0%}): evidence may miss what was said there"
        )
    voices = metrics.voices
    if voices is not None and voices.voices == 1:
        notes.append(
            f"one voice heard ({voices.reason}): no customer is assumed; two-party and "
            "speaker-specific checks are 'na'"
        )
    elif roles is not None and roles.method == "none":
        notes.append(
            "speakers could not be told apart (mono call): speaker-specific checks are 'na'"
        )
    if voices is not None and voices.voices >= 3:
        main = " and ".join(f"{v:.0%}" for v in voices.shares[:2])
        notes.append(
            "three or more voices heard: scored the two with the most speech as agent and "
            f"customer ({main} of the speech); the other voices are 'unknown'"
        )
    elif roles is not None and roles.method == "auto" and roles.confidence < 0.6:
        notes.append(
            f"agent identified with low confidence ({roles.confidence:.2f}): {roles.reason}"
        )
    if transcript.language_source == "detected" and (transcript.language_probability or 1) < 0.5:
        notes.append(
            f"language '{transcript.language}' detected with probability "
            f"{transcript.language_probability:.2f}; force it with --language if wrong"
        )
    return tuple(notes)
