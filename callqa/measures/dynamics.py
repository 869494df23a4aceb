"""Conversation dynamics: talk time, silences, interruptions, latency, monologues, pace.

Input: a :class:`~callqa.types.SpeechActivity` and a :class:`~callqa.types.Transcript` whose
speakers are already "agent" / "customer" (:func:`callqa.measures.roles.apply_roles`). Output: a
:class:`DynamicsMetrics`. Every figure is defined, with units, threshold and source, in
docs/metrics.md.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from callqa.config import DynamicsConfig
from callqa.types import AGENT, CUSTOMER, SpeakerTalk, SpeechActivity, Transcript, Turn, Word


@dataclass(frozen=True)
class Period:
    """A stretch of time (s) with its length (s)."""

    start: float
    end: float
    duration_s: float


OVERLAP_KINDS = ("backchannel", "simultaneous", "echo", "transition", "competitive", "attempt")
# Only "competitive" takes the floor from a speaker who had not finished (docs/metrics.md).


@dataclass(frozen=True)
class Interruption:
    """One overlap in which ``interrupter`` started while ``interrupted`` was mid-turn.

    Attributes
    ----------
    start, end : float [s]
        The overlapped stretch (both parties speaking).
    interrupter, interrupted : str
        "agent" / "customer": who came in, and over whom.
    kind : str
        One of :data:`OVERLAP_KINDS` (docs/metrics.md gives the rules and their sources):
        "backchannel" (a listener token), "simultaneous" (both started together), "echo"
        (repeats or confirms the other's words), "transition" (came in as the other was
        finishing), "competitive" (took the floor mid-turn; the other stopped before
        finishing), "attempt" (came in mid-turn; the other kept the floor).
    overlap_s : float [s]
        Seconds both parties spoke.
    words : str
        The interrupter's words spoken from the overlap start to the end of that turn.
    """

    start: float
    end: float
    interrupter: str
    interrupted: str
    kind: str
    overlap_s: float
    words: str


@dataclass(frozen=True)
class PartyDynamics:
    """Per-party figures.

    Attributes
    ----------
    speaker : str
    talk_s : float [s]
        Time the party speaks (union of its turns, overlaps included).
    talk_share : float in [0, 1] or None
        ``talk_s`` over both parties' talk; None when nobody speaks.
    interruptions : int
        Competitive interruptions made by this party (it took the floor from a speaker who
        had not finished).
    competitive_interruptions, backchannels : int
        Competitive interruptions (the same count) and backchannels made by this party.
    interruption_s : float [s]
        Overlap seconds of this party's competitive interruptions.
    longest_monologue_s : float [s]
        Longest stretch holding the floor without the other party taking it (backchannels do
        not take the floor).
    longest_monologue : Period or None
    words : int
        Transcribed words.
    words_per_minute : float or None
        ``words`` over ``talk_s`` in minutes; None below 1 s of talk or without words.
    overlaps : dict of str -> int
        Overlaps this party started, by kind (:data:`OVERLAP_KINDS`, zero counts left out).
    """

    speaker: str
    talk_s: float
    talk_share: float | None
    interruptions: int
    competitive_interruptions: int
    backchannels: int
    interruption_s: float
    longest_monologue_s: float
    longest_monologue: Period | None
    words: int
    words_per_minute: float | None
    overlaps: dict[str, int] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Question:
    """A question asked by the agent: time (s) and text."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class DynamicsMetrics:
    """Conversation dynamics of one call (definitions in docs/metrics.md).

    Attributes
    ----------
    duration_s : float [s]
        Length of the recording.
    conversation_s : float [s]
        From the first speech start to the last speech end.
    agent_talk_share : float in [0, 1] or None
        Agent talk over total talk.
    overlap_s : float [s]
        Time both parties speak at once.
    overlap_measured : bool
        False for a mono call: diarization gives one speaker per moment, so overlaps and
        interruptions cannot be seen (``overlap_s`` 0 and ``interruptions`` empty mean
        "not measured", not "none").
    parties : tuple of PartyDynamics
        "agent" then "customer".
    non_talk_s, non_talk_share, non_talk_count, longest_non_talk_s
        Periods longer than ``non_talk_min_s`` (s) inside the conversation with nobody
        speaking: total (s), share of ``duration_s``, count, longest (s).
    non_talk : tuple of Period
    leading_silence_s, trailing_silence_s : float [s]
        Before the first / after the last speech (reported apart from non-talk).
    interruptions : tuple of Interruption
        Every overlap classified, in time order (backchannels included).
    response_latency_median_s, response_latency_p90_s : float or None [s]
        Gap from a customer turn's end to the agent's next turn start (negative: overlap).
    long_responses : tuple of Period
        Customer-to-agent gaps longer than ``long_response_s``.
    turn_switches_per_minute : float or None
        Floor changes per minute of ``conversation_s``.
    agent_questions : tuple of Question
    turns : tuple of Turn
        The speech turns the measures were computed from (for timelines).
    """

    duration_s: float
    conversation_s: float
    agent_talk_share: float | None
    overlap_s: float
    parties: tuple[PartyDynamics, ...]
    non_talk_s: float
    non_talk_share: float
    non_talk_count: int
    longest_non_talk_s: float
    non_talk: tuple[Period, ...]
    leading_silence_s: float
    trailing_silence_s: float
    interruptions: tuple[Interruption, ...]
    response_latency_median_s: float | None
    response_latency_p90_s: float | None
    long_responses: tuple[Period, ...]
    turn_switches_per_minute: float | None
    agent_questions: tuple[Question, ...]
    turns: tuple[Turn, ...] = ()
    overlap_measured: bool = True

    def party(self, speaker: str) -> PartyDynamics | None:
        """The figures of "agent" or "customer" (None if absent)."""
        return next((p for p in self.parties if p.speaker == speaker), None)


def talk_time(activity: SpeechActivity, duration_s: float) -> tuple[SpeakerTalk, ...]:
    """Talk time of each party and its share of all talk.

    Parameters
    ----------
    activity : SpeechActivity
        Turns labelled "agent"/"customer" (or "spk0", ..., "unknown" before roles).
    duration_s : float >= 0 [s]
        Call length; turns are clipped to ``[0, duration_s]``.

    Returns
    -------
    tuple of SpeakerTalk
        One per speaker in ``activity.speakers`` order; ``share`` is None when nobody speaks.
    """
    talks = {s: _union_s(_clipped(activity, s, duration_s)) for s in activity.speakers}
    total = sum(talks.values())
    return tuple(
        SpeakerTalk(
            speaker=s, talk_s=round(float(t), 3), share=(float(t / total) if total > 0 else None)
        )
        for s, t in talks.items()
    )


def agent_talk_share(talk: tuple[SpeakerTalk, ...]) -> float | None:
    """Agent talk over agent + customer talk (None when neither speaks or roles are unknown)."""
    by = {t.speaker: t.talk_s for t in talk}
    if AGENT not in by:
        return None
    total = by.get(AGENT, 0.0) + by.get(CUSTOMER, 0.0)
    return by[AGENT] / total if total > 0 else None


def _clipped(
    activity: SpeechActivity, speaker: str, duration_s: float
) -> list[tuple[float, float]]:
    return [
        (max(0.0, t.start), min(duration_s, t.end))
        for t in activity.turns_of(speaker)
        if min(duration_s, t.end) > max(0.0, t.start)
    ]


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Merge overlapping or touching intervals (s) into disjoint ones, sorted."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _union_s(intervals: list[tuple[float, float]]) -> float:
    return sum(e - s for s, e in _union(intervals))


# Sentence-initial question words (lower case) per language; a sentence ending in "?" is a
# question in any language.
QUESTION_WORDS = {
    "en": ("what", "how", "why", "when", "where", "who", "which", "whose", "can", "could",
           "would", "will", "do", "does", "did", "is", "are", "was", "have", "has", "may",
           "shall", "should"),
    "nb": ("hva", "hvordan", "hvorfor", "når", "hvor", "hvem", "hvilken", "hvilke", "hvilket",
           "kan", "kunne", "vil", "har", "er", "skal", "må"),
    "fi": ("mitä", "mikä", "miten", "miksi", "milloin", "missä", "mistä", "mihin", "kuka",
           "kenen", "kumpi", "onko", "voisitteko", "voitteko", "voisitko", "voitko", "oletteko",
           "oletko", "haluatteko", "haluatko", "onks"),
    "it": ("cosa", "che", "come", "perché", "quando", "dove", "chi", "quale", "quali", "quanto",
           "quanti", "può", "potrebbe", "posso", "vuole", "ha", "è"),
    "sl": ("kaj", "kako", "zakaj", "kdaj", "kje", "kdo", "kateri", "katera", "katero", "koliko",
           "ali", "a", "lahko", "imate", "ste"),
}  # fmt: skip
ATTEMPT_GAP_S = 0.5  # a pause shorter than this does not end an attempt to take the floor
ECHO_MIN_LETTERS = 5  # shorter words ("the", "you", "have") repeat by chance, not as an echo
ECHO_MAX_WORDS = 3  # a repeat of only short words is an echo when it is this short
_SENTENCE = re.compile(r"[^.?!]+[.?!]*")
_WORD_CHARS = re.compile(r"[^\w\s'-]", re.UNICODE)


def measure_dynamics(
    activity: SpeechActivity,
    transcript: Transcript,
    duration_s: float,
    config: DynamicsConfig,
) -> DynamicsMetrics:
    """Conversation dynamics of a call whose speakers are "agent" and "customer".

    Parameters
    ----------
    activity : SpeechActivity
        Turns relabelled by :func:`callqa.measures.roles.apply_roles`.
    transcript : Transcript
        Words with speakers (for interruption evidence, speaking rate and questions).
    duration_s : float >= 0 [s]
        Length of the recording.
    config : DynamicsConfig

    Returns
    -------
    DynamicsMetrics
    """
    speech = {p: _union(_clipped(activity, p, duration_s)) for p in (AGENT, CUSTOMER)}
    words = transcript.words
    events = classify_overlaps(speech, words, config)
    backchannel_turns = {(e.interrupter, e.turn) for e in events if e.kind == "backchannel"}
    floor = floor_turns(speech, backchannel_turns)
    everyone = _union(speech[AGENT] + speech[CUSTOMER])
    first = everyone[0][0] if everyone else duration_s
    last = everyone[-1][1] if everyone else duration_s
    gaps = _gaps(everyone, config.non_talk_min_s)
    latencies, long_responses = _responses(floor, config.long_response_s)
    talks = {p: _sum(speech[p]) for p in speech}
    total = talks[AGENT] + talks[CUSTOMER]
    conversation = max(0.0, last - first)
    return DynamicsMetrics(
        duration_s=_r(duration_s),
        conversation_s=_r(conversation),
        agent_talk_share=_r(talks[AGENT] / total) if total > 0 else None,
        overlap_s=_r(_sum(_intersect(speech[AGENT], speech[CUSTOMER]))),
        parties=tuple(
            _party(p, speech[p], total, events, floor, words, config) for p in (AGENT, CUSTOMER)
        ),
        non_talk_s=_r(sum(g.duration_s for g in gaps)),
        non_talk_share=_r(sum(g.duration_s for g in gaps) / duration_s) if duration_s > 0 else 0.0,
        non_talk_count=len(gaps),
        longest_non_talk_s=max((g.duration_s for g in gaps), default=0.0),
        non_talk=gaps,
        leading_silence_s=_r(first),
        trailing_silence_s=_r(max(0.0, duration_s - last)),
        interruptions=tuple(e.public for e in events),
        response_latency_median_s=_r(float(np.median(latencies))) if latencies else None,
        response_latency_p90_s=_r(float(np.percentile(latencies, 90))) if latencies else None,
        long_responses=long_responses,
        turn_switches_per_minute=(
            _r((len(floor) - 1) / (conversation / 60)) if conversation >= 1.0 and floor else None
        ),
        agent_questions=agent_questions(transcript),
        turns=tuple(t for t in activity.turns if t.speaker in (AGENT, CUSTOMER)),
        overlap_measured=bool(activity.channel_map),
    )


@dataclass(frozen=True)
class _Overlap:
    public: Interruption
    turn: tuple[float, float]  # the interrupter's whole turn

    @property
    def kind(self) -> str:
        return self.public.kind

    @property
    def interrupter(self) -> str:
        return self.public.interrupter


def classify_overlaps(
    speech: dict[str, list[tuple[float, float]]],
    words: tuple[Word, ...],
    config: DynamicsConfig,
) -> list[_Overlap]:
    """Every time a party starts speaking while the other is mid-turn, classified.

    Party P starts turn ``t`` inside turn ``o`` of the other party O. P's *attempt* is ``t`` plus
    P's further turns that follow within ``ATTEMPT_GAP_S`` and start before ``o`` ends; its
    overlap is the time P speaks inside ``[t.start, o.end]``. The first rule that holds names
    it (docs/metrics.md gives each rule's source):

    - backchannel: the attempt is the single turn ``t``, lasts at most ``backchannel_max_s``, ends
      before ``o`` does, and at least half of its transcribed words (if any) are in
      ``backchannel_words``;
    - an overlap shorter than ``interruption_min_overlap_s`` is ordinary turn-taking (not
      listed);
    - simultaneous: ``t`` starts within ``simultaneous_start_s`` of ``o``;
    - echo: at least ``echo_min_share`` of P's words in the overlap (backchannel words aside)
      repeat words O said in the ``echo_window_s`` before (a confirmation by repeating);
    - transition: ``o`` ends within ``transition_tail_s`` after ``t`` starts, or O's last word
      before ``t`` ends a sentence (". ? !") less than ``ATTEMPT_GAP_S`` before ``t``: P came
      in at a transition point;
    - competitive: O stops while P goes on (O yields before finishing);
    - attempt: otherwise (P came in mid-turn, O kept the floor).
    """
    allowed = {_norm(w) for w in config.backchannel_words}
    by_speaker = {p: sorted((w for w in words if w.speaker == p), key=_mid) for p in speech}
    out = []
    for p, other in ((AGENT, CUSTOMER), (CUSTOMER, AGENT)):
        theirs, ours = speech[other], speech[p]
        starts = [o[0] for o in theirs]
        mine, their_words = by_speaker[p], by_speaker[other]
        mids = [_mid(w) for w in mine]
        i = 0
        while i < len(ours):
            t = ours[i]
            k = bisect.bisect_left(starts, t[0]) - 1  # their last turn starting before t
            if k < 0 or not theirs[k][0] < t[0] < theirs[k][1]:
                i += 1
                continue
            o = theirs[k]
            j = i + 1
            while (
                j < len(ours) and ours[j][0] < o[1] and ours[j][0] - ours[j - 1][1] < ATTEMPT_GAP_S
            ):
                j += 1
            attempt = ours[i:j]
            said = mine[bisect.bisect_left(mids, t[0]) : bisect.bisect_right(mids, attempt[-1][1])]
            overlap = _sum(_intersect(attempt, [(t[0], o[1])]))
            end = min(attempt[-1][1], o[1])
            heard = _spoken(their_words, t[0], o[1], config)
            context = _Context(attempt, o, overlap, said, heard)
            kind = _kind(context, allowed, config)
            if kind is not None:
                event = Interruption(
                    start=_r(t[0]),
                    end=_r(end),
                    interrupter=p,
                    interrupted=other,
                    kind=kind,
                    overlap_s=_r(overlap),
                    words=" ".join(w.text.strip() for w in said),
                )
                out.append(_Overlap(public=event, turn=t))
            i = j
    return sorted(out, key=lambda e: e.public.start)


@dataclass(frozen=True)
class _Context:
    """What the overlap rules look at: P's attempt, O's turn, the overlap (s) and the words."""

    attempt: list[tuple[float, float]]
    other: tuple[float, float]
    overlap: float
    said: list[Word]  # P's words in the attempt
    heard: list[Word]  # O's words from echo_window_s before the attempt to the end of o


def _spoken(words: list[Word], start: float, end: float, config: DynamicsConfig) -> list[Word]:
    """``words`` (sorted by midpoint) whose midpoint lies in ``[start - echo_window_s, end]``."""
    mids = [_mid(w) for w in words]
    lo = bisect.bisect_left(mids, start - config.echo_window_s)
    return words[lo : bisect.bisect_right(mids, end)]


def _kind(c: _Context, allowed: set[str], config: DynamicsConfig) -> str | None:
    t, o = c.attempt[0], c.other
    short = len(c.attempt) == 1 and t[1] - t[0] <= config.backchannel_max_s and t[1] <= o[1]
    if short and _mostly_backchannel(c.said, allowed):
        return "backchannel"
    if c.overlap < config.interruption_min_overlap_s:
        return None
    if t[0] - o[0] <= config.simultaneous_start_s:
        return "simultaneous"
    overlap_end = min(c.attempt[-1][1], o[1])
    if _echoes([w for w in c.said if _mid(w) <= overlap_end + ATTEMPT_GAP_S], c.heard,
               allowed, config.echo_min_share):  # fmt: skip
        return "echo"
    if o[1] - t[0] <= config.transition_tail_s or _completed_before(c.heard, t[0]):
        return "transition"
    return "competitive" if o[1] < c.attempt[-1][1] else "attempt"


def _echoes(said: list[Word], heard: list[Word], allowed: set[str], min_share: float) -> bool:
    """True when the incoming repeats what it just heard (Clark & Schaefer 1989, display of
    understanding): at least ``min_share`` of its content words (5+ letters, or with a digit;
    backchannel words aside) are words of ``heard``, or it is a short phrase (at most
    ``ECHO_MAX_WORDS`` words) made only of words of ``heard`` ("bye-bye" to "bye")."""
    tokens = [x for w in said for x in _tokens(w.text) if not _is_backchannel_word(x, allowed)]
    if not tokens:
        return False
    pool = {x for w in heard for x in _tokens(w.text)}
    content = [x for x in tokens if len(x) >= ECHO_MIN_LETTERS or any(c.isdigit() for c in x)]
    if content:
        return sum(x in pool for x in content) >= min_share * len(content)
    return len(tokens) <= ECHO_MAX_WORDS and all(x in pool for x in tokens)


def _completed_before(heard: list[Word], start: float) -> bool:
    """True when the other's last word before ``start`` ends a sentence (". ? !") and ended
    less than ``ATTEMPT_GAP_S`` before it: the incoming latched onto a completion point."""
    before = [w for w in heard if w.end <= start + 0.05]
    if not before:
        return False
    last = before[-1]
    return start - last.end < ATTEMPT_GAP_S and last.text.rstrip().endswith((".", "?", "!"))


def _tokens(text: str) -> list[str]:
    """Lower-case word tokens; hyphenated words split ("bye-bye" -> "bye", "bye")."""
    return [x for x in _norm(text).replace("-", " ").split() if x]


def _mid(w: Word) -> float:
    return 0.5 * (w.start + w.end)


def _mostly_backchannel(said: list[Word], allowed: set[str]) -> bool:
    """True when at least half of ``said`` are backchannel words (or nothing was transcribed).

    Whisper often pads a sub-second "mm" with a word that was never said ("It's mm."), so
    requiring *every* word to be a backchannel word turns continuers into interruptions.
    """
    hits = sum(_is_backchannel_word(w.text, allowed) for w in said)
    return 2 * hits >= len(said)


_HUM = re.compile(r"[mh]*m[mh]*")  # "m", "mm", "hmm", "mhm": nasal hums, however transcribed


def _is_backchannel_word(text: str, allowed: set[str]) -> bool:
    """True for a listed backchannel word or a hum ("M-m", "Mmhm"), hyphens ignored."""
    word = _norm(text).strip("-")
    return word in allowed or _HUM.fullmatch(word.replace("-", "")) is not None


def floor_turns(
    speech: dict[str, list[tuple[float, float]]],
    backchannels: set[tuple[str, tuple[float, float]]],
) -> list[tuple[str, float, float]]:
    """Who holds the floor: both parties' turns (backchannels left out) in start order, with
    consecutive turns of one party merged into one floor turn ``(speaker, start, end)``."""
    turns = sorted(
        (t[0], t[1], p) for p, ts in speech.items() for t in ts if (p, t) not in backchannels
    )
    floor: list[tuple[str, float, float]] = []
    for start, end, p in turns:
        if floor and floor[-1][0] == p:
            floor[-1] = (p, floor[-1][1], max(floor[-1][2], end))
        else:
            floor.append((p, start, end))
    return floor


def agent_questions(transcript: Transcript) -> tuple[Question, ...]:
    """Agent sentences ending in "?" or opening with a question word of the call's language.

    Times are those of the transcript segment holding the sentence (s).
    """
    starters = set(QUESTION_WORDS.get(transcript.language, ()))
    out = []
    for seg in transcript.segments_of(AGENT):
        for sentence in (m.group(0).strip() for m in _SENTENCE.finditer(seg.text)):
            tokens = _norm(sentence).split()
            if sentence.endswith("?") or (tokens and tokens[0] in starters and len(tokens) > 2):
                out.append(Question(start=_r(seg.start), end=_r(seg.end), text=sentence))
    return tuple(out)


def _party(
    p: str,
    speech: list[tuple[float, float]],
    total: float,
    events: list[_Overlap],
    floor: list[tuple[str, float, float]],
    words: tuple[Word, ...],
    config: DynamicsConfig,
) -> PartyDynamics:
    mine = [e.public for e in events if e.interrupter == p]
    kinds = [e.kind for e in mine]
    real = [e for e in mine if e.kind == "competitive"]
    talk = _sum(speech)
    spans = [(s, e) for q, s, e in floor if q == p]
    longest = max(spans, key=lambda x: x[1] - x[0], default=None)
    n_words = sum(1 for w in words if w.speaker == p)
    return PartyDynamics(
        speaker=p,
        talk_s=_r(talk),
        talk_share=_r(talk / total) if total > 0 else None,
        interruptions=len(real),
        competitive_interruptions=kinds.count("competitive"),
        backchannels=kinds.count("backchannel"),
        interruption_s=_r(sum(e.overlap_s for e in real)),
        longest_monologue_s=_r(longest[1] - longest[0]) if longest else 0.0,
        longest_monologue=_period(*longest) if longest else None,
        words=n_words,
        words_per_minute=_r(n_words / (talk / 60)) if talk >= 1.0 and n_words else None,
        overlaps={k: kinds.count(k) for k in OVERLAP_KINDS if k in kinds},
    )


def _responses(
    floor: list[tuple[str, float, float]], long_s: float
) -> tuple[list[float], tuple[Period, ...]]:
    """Customer-turn-end -> next agent-turn-start gaps (s) and the long ones."""
    gaps = [
        (a[2], b[1]) for a, b in itertools.pairwise(floor) if a[0] == CUSTOMER and b[0] == AGENT
    ]
    latencies = [b - a for a, b in gaps]
    return latencies, tuple(_period(a, b) for a, b in gaps if b - a > long_s)


def _gaps(speech: list[tuple[float, float]], min_s: float) -> tuple[Period, ...]:
    """Pauses longer than ``min_s`` between consecutive speech intervals (s)."""
    return tuple(_period(a[1], b[0]) for a, b in itertools.pairwise(speech) if b[0] - a[1] > min_s)


def _intersect(
    a: list[tuple[float, float]], b: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Intersection of two sorted lists of disjoint intervals (two-pointer sweep)."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _sum(intervals: list[tuple[float, float]]) -> float:
    return float(sum(e - s for s, e in intervals))


def _period(start: float, end: float) -> Period:
    return Period(start=_r(start), end=_r(end), duration_s=_r(end - start))


def _norm(text: str) -> str:
    """Lower case, punctuation removed (apostrophes and hyphens kept), spaces collapsed."""
    return " ".join(_WORD_CHARS.sub(" ", text.lower()).split())


def _r(x: float) -> float:
    return round(float(x), 3)
