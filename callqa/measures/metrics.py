"""Everything measured on a call, in one value: :class:`CallMetrics`."""

from __future__ import annotations

from dataclasses import dataclass

from callqa.measures.dynamics import DynamicsMetrics
from callqa.measures.voice import VoiceMetrics
from callqa.types import SpeakerCount, SpeakerTalk, TurnCoverage


@dataclass(frozen=True)
class CallMetrics:
    """Everything measured on a call. A stage that did not run leaves its field ``None``.

    Attributes
    ----------
    duration_s : float >= 0 [s]
        Length of the call.
    talk : tuple of SpeakerTalk
        Talk time and share per party.
    agent_talk_share : float in [0, 1] or None
        The agent's share of all talk (None without an identified agent).
    dynamics : DynamicsMetrics or None
        Turn-taking measures (:mod:`callqa.measures.dynamics`).
    voice : VoiceMetrics or None
        Pitch, loudness and pace (:mod:`callqa.measures.voice`).
    coverage : TurnCoverage or None
        Speech turns of at least 1 s and how many got no transcribed word
        (:func:`callqa.transcription.call.turn_coverage`).
    voices : SpeakerCount or None
        Mono calls: how many voices diarization heard and how far apart the two main ones
        are (None for stereo calls).
    """

    duration_s: float
    talk: tuple[SpeakerTalk, ...] = ()
    agent_talk_share: float | None = None
    dynamics: DynamicsMetrics | None = None
    voice: VoiceMetrics | None = None
    coverage: TurnCoverage | None = None
    voices: SpeakerCount | None = None
