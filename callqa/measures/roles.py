"""Which speaker is the agent: given by the channel layout, or decided from what is said.

Stereo calls with ``--agent-channel left|right`` need no decision (method "channel"). Otherwise
each speaker's transcript is searched for role phrases (callqa/data/role_cues.toml: company
greeting, offer of help, identifying questions for the agent; the reason for calling and "my
bill/account" for the customer), and the first speaker gets a small bonus (agents open most
service calls). The decision always carries a confidence and a reason sentence.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable
from dataclasses import replace
from importlib import resources

from callqa.types import (
    AGENT,
    CUSTOMER,
    UNKNOWN,
    RoleDecision,
    SpeechActivity,
    Transcript,
    Turn,
    Utterance,
)

FIRST_SPEAKER_BONUS = 0.5  # cue points for speaking first (one cue phrase counts 1)
NO_CUE_CONFIDENCE = 0.55  # decided by who spoke first alone
# Plausibility guard of a mono two-party split (docs/metrics.md, "Voice count"):
MIN_PARTY_SHARE = 0.10  # a service-call party with less of the talk is a collapsed split
WEAK_SEPARATION_COS = 0.85  # voices this alike may be mixed up or one (pyannote's pair: 0.89)
GUARD_FACTOR = 0.5  # the role confidence is multiplied by this when the guard fires
_PUNCT = re.compile(r"[^\w\s']", re.UNICODE)


@functools.lru_cache(maxsize=1)
def role_cues() -> dict[str, dict[str, tuple[str, ...]]]:
    """Role phrases per language: ``{"en": {"agent": (...), "customer": (...)}, ...}``."""
    text = (
        resources.files("callqa.measures")
        .joinpath("data/role_cues.toml")
        .read_text(encoding="utf-8")
    )
    return {
        lang: {role: tuple(_norm(p) for p in phrases) for role, phrases in table.items()}
        for lang, table in tomllib.loads(text).items()
    }


def decide_roles(
    activity: SpeechActivity, transcript: Transcript, agent_channel: str, language: str
) -> RoleDecision:
    """Decide which source label ("left", "right", "spk0", ...) is the agent.

    Parameters
    ----------
    activity : SpeechActivity
        Turns with source labels (:func:`callqa.audio.activity.detect_activity`).
    transcript : Transcript
        Segments with the same source labels.
    agent_channel : {"left", "right", "auto"}
        Stereo: the agent's channel, or "auto" to decide from speech. Ignored for mono.
    language : str
        ISO 639-1 code; "no" is read as "nb". Languages without cues fall back to English cues.

    Returns
    -------
    RoleDecision
        method "channel" (given), "auto" (decided, with confidence and reason) or "none"
        (fewer than two speakers; ``agent`` is "unknown").
    """
    stereo = bool(activity.channel_map)
    if stereo and agent_channel in dict(activity.channel_map):
        return RoleDecision(agent_channel, "channel", 1.0, f"agent channel given: {agent_channel}")
    speakers = _speakers(activity)
    if len(speakers) < 2:
        found = "no speech" if not speakers else "only one voice"
        return RoleDecision(UNKNOWN, "none", 0.0, f"{found} found; agent and customer unknown")
    decision = _auto(speakers[:2], activity, transcript, language)
    doubt = split_doubt(activity)
    if doubt is None:
        return decision
    confidence = round(decision.confidence * GUARD_FACTOR, 2)
    return RoleDecision(decision.agent, decision.method, confidence, f"{decision.reason}; {doubt}")


def speaker_labels(transcript: Transcript) -> set[str]:
    """The transcript's speakers that are labels, not roles ("spk0", "spk1", ...)."""
    return {u.speaker for u in transcript.segments} - {AGENT, CUSTOMER, UNKNOWN}


def transcript_roles(transcript: Transcript) -> tuple[RoleDecision | None, Transcript]:
    """Agent and customer of a transcript file whose speakers are labels ("spk0", "spk1":
    people's names in a WebVTT export), decided from what each says as for a mono call, and
    the transcript with the roles applied. (None, unchanged) when no speaker is a label.
    """
    labels = speaker_labels(transcript)
    if not labels:
        return None, transcript
    turns = tuple(
        Turn(u.speaker, u.start, u.end) for u in transcript.segments if u.speaker != UNKNOWN
    )
    activity = SpeechActivity(turns=turns, method="transcript-file", speakers=tuple(sorted(labels)))
    decision = decide_roles(activity, transcript, "auto", transcript.language)
    return decision, apply_roles(activity, transcript, decision)[1]


def split_doubt(activity: SpeechActivity) -> str | None:
    """Why a mono call's two-party split is implausible, or None when it looks sound.

    A service call has two parties who both talk: a party with under ``MIN_PARTY_SHARE`` of
    the two main parties' talk, or two voices whose mean embeddings have a cosine of at least
    ``WEAK_SEPARATION_COS``, mean the split may have merged or mixed up the voices, or split
    one voice in two (single real voices that the count takes for two sit at 0.90).
    """
    if activity.channel_map:
        return None
    talk = _talk(activity)
    main = sorted(talk.values(), reverse=True)[:2]
    if len(main) == 2 and sum(main) > 0 and main[1] / sum(main) < MIN_PARTY_SHARE:
        return (
            f"one party has only {main[1] / sum(main):.0%} of the talk: two voices may have "
            "been merged, or one voice split in two"
        )
    voices = activity.voices
    if voices is not None and (voices.separation or -1.0) >= WEAK_SEPARATION_COS:
        return (
            f"the two voices are alike (embedding cosine {voices.separation:.2f} >= "
            f"{WEAK_SEPARATION_COS}): they may be one voice, or who said what may be mixed up"
        )
    return None


def apply_roles(
    activity: SpeechActivity, transcript: Transcript, decision: RoleDecision
) -> tuple[SpeechActivity, Transcript]:
    """Rename source labels: the agent's to "agent", the other main party's to "customer".

    The two speakers with the most talk are the parties; further voices of a mono call (three
    or more were heard) become "unknown". With method "none" every label becomes "unknown".
    ``activity.roles`` is set to ``decision``.
    """
    if decision.method == "none" or decision.agent == UNKNOWN:
        mapping = {s: UNKNOWN for s in activity.speakers}
        speakers: tuple[str, ...] = (UNKNOWN,)
    else:
        main = set(_speakers(activity)[:2]) | {decision.agent}
        mapping = {
            s: AGENT if s == decision.agent else CUSTOMER if s in main or activity.channel_map
            else UNKNOWN
            for s in activity.speakers
        }  # fmt: skip
        speakers = (AGENT, CUSTOMER)

    def name(label: str) -> str:
        return mapping.get(label, UNKNOWN if label == UNKNOWN else CUSTOMER)

    new_activity = SpeechActivity(
        turns=tuple(Turn(name(t.speaker), t.start, t.end) for t in activity.turns),
        method=activity.method,
        speakers=speakers,
        roles=decision,
        channel_map=tuple((name(s), c) for s, c in activity.channel_map),
        voices=activity.voices,
    )
    segments = tuple(_relabel(seg, name) for seg in transcript.segments)
    return new_activity, replace(transcript, segments=segments)


def _relabel(seg: Utterance, name: Callable[[str], str]) -> Utterance:
    words = tuple(replace(w, speaker=name(w.speaker)) for w in seg.words)
    return replace(seg, speaker=name(seg.speaker), words=words)


def _talk(activity: SpeechActivity) -> dict[str, float]:
    """Talk time (s) of each speaker ("unknown" excluded)."""
    talk: dict[str, float] = {}
    for t in activity.turns:
        if t.speaker != UNKNOWN:
            talk[t.speaker] = talk.get(t.speaker, 0.0) + t.duration
    return talk


def _speakers(activity: SpeechActivity) -> list[str]:
    """Speakers with speech, most talk first ("unknown" excluded)."""
    talk = _talk(activity)
    return sorted((s for s, v in talk.items() if v > 0), key=lambda s: -talk[s])


def _auto(
    speakers: list[str], activity: SpeechActivity, transcript: Transcript, language: str
) -> RoleDecision:
    cues = role_cues()
    lang = "nb" if language in ("no", "nn", "nob") else language
    table = cues.get(lang, cues["en"])
    first = min((t for t in activity.turns if t.speaker in speakers), key=lambda t: t.start)
    scores, hits = {}, {}
    for s in speakers:
        text = " " + " ".join(_norm(u.text) for u in transcript.segments_of(s)) + " "
        agent_hits = [p for p in table["agent"] if f" {p} " in text]
        customer_hits = [p for p in table["customer"] if f" {p} " in text]
        bonus = FIRST_SPEAKER_BONUS if s == first.speaker else 0.0
        scores[s] = len(agent_hits) - len(customer_hits) + bonus
        hits[s] = agent_hits
    agent, other = sorted(speakers, key=lambda s: -scores[s])
    margin = scores[agent] - scores[other]
    if not hits[agent] and not hits[other]:
        reason = f"no role phrases found ({lang}); {agent}, who spoke first, is taken as the agent"
        return RoleDecision(agent, "auto", NO_CUE_CONFIDENCE, reason)
    confidence = round(min(0.99, 0.5 + 0.5 * margin / (abs(margin) + 1.0)), 2)
    quoted = ", ".join(f'"{p}"' for p in hits[agent][:3]) or "none"
    spoke = "spoke first" if agent == first.speaker else "did not speak first"
    reason = (
        f"{agent} used agent phrases ({quoted}) and {spoke}; {other} scored {scores[other]:.1f}"
    )
    return RoleDecision(agent, "auto", confidence, reason)


def _norm(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())
