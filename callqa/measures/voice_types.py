"""The voice stage's values: per-speaker pitch, loudness and pace, raised stretches, the
customer's agitation and the agent around the customer's raised stretches (units in each
docstring)."""

from __future__ import annotations

from dataclasses import dataclass

NO_VOICED_SPEECH = "no voiced speech"


@dataclass(frozen=True)
class PitchStats:
    """Fundamental frequency of one speaker's dominant voiced speech.

    Attributes
    ----------
    median_hz : float or None [Hz]
    sd_st : float or None [st]
        Standard deviation around the speaker's median (low = monotone).
    range_st : float or None [st]
        5th to 95th percentile.
    voiced_s : float >= 0 [s]
        Voiced, dominant time measured.
    """

    median_hz: float | None
    sd_st: float | None
    range_st: float | None
    voiced_s: float


@dataclass(frozen=True)
class LoudnessStats:
    """Level of one speaker's dominant voiced speech.

    Attributes
    ----------
    rms_dbfs : float or None [dBFS]
        RMS level over voiced frames (energy mean).
    sd_db : float or None [dB]
        Standard deviation of the 30-ms frame levels.
    lufs : float or None [LUFS]
        Integrated loudness (ITU-R BS.1770, as pyloudnorm computes it); None with too little speech.
    baseline_dbfs : float or None [dBFS]
        The speaker's ordinary level: median of its 0.5-s step levels over the call.
    baseline_f0_hz : float or None [Hz]
        The speaker's ordinary pitch: median of its step pitches.
    level_spread_db : float or None [dB]
        Robust SD of the step levels around the baseline (1.4826 x the median distance of
        the steps below the median to it).
    pitch_spread_st : float or None [st]
        Robust SD of the step pitches around the pitch baseline (found the same way).
    """

    rms_dbfs: float | None
    sd_db: float | None
    lufs: float | None
    baseline_dbfs: float | None
    baseline_f0_hz: float | None
    level_spread_db: float | None = None
    pitch_spread_st: float | None = None


@dataclass(frozen=True)
class PaceStats:
    """Speaking rate from the transcript's word times.

    Attributes
    ----------
    words : int
    talk_s : float [s]
        The speaker's turn time (pauses inside turns included).
    articulation_s : float [s]
        Time covered by words, pauses of ``pause_min_s`` or more left out.
    wpm : float or None [words/min]
        ``words / talk_s``.
    articulation_wps : float or None [words/s]
        ``words / articulation_s``.
    """

    words: int
    talk_s: float
    articulation_s: float
    wpm: float | None
    articulation_wps: float | None


@dataclass(frozen=True)
class PartVoice:
    """One part (quarter) of the call for one speaker. Relative values are vs the baseline."""

    index: int
    start: float
    end: float
    voiced_s: float
    median_f0_hz: float | None
    pitch_sd_st: float | None
    pitch_rel_st: float | None
    level_dbfs: float | None
    level_rel_db: float | None
    words: int
    wpm: float | None
    articulation_wps: float | None
    raised_share: float | None


@dataclass(frozen=True)
class Stretch:
    """A raised-voice stretch [start, end) s with its peak step level and pitch over baseline."""

    start: float
    end: float
    level_rel_db: float
    pitch_rel_st: float | None

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class SpeakerVoice:
    """Every voice measure of one speaker.

    ``reason`` is None when the measures exist, else why not (e.g. "no voiced speech").
    ``contour_*`` are parallel tuples: step centres (s) over the speaker's dominant speech,
    median F0 (Hz or None) and RMS level (dBFS or None) in each 0.5-s step.
    """

    speaker: str
    channel: int | None
    dominant_s: float
    reason: str | None
    pitch: PitchStats
    loudness: LoudnessStats
    pace: PaceStats
    quarters: tuple[PartVoice, ...]
    raised: tuple[Stretch, ...]
    contour_t: tuple[float, ...]
    contour_f0_hz: tuple[float | None, ...]
    contour_level_db: tuple[float | None, ...]


@dataclass(frozen=True)
class Agitation:
    """The customer's raised share in the first vs the last quarter of its own speech.

    Attributes
    ----------
    start_share, end_share : float in [0, 1]
        Share of measured steps that are raised.
    start_span, end_span : (float, float) [s]
        Time span of the first and last quarter of the customer's measured steps.
    start_level_rel_db, end_level_rel_db : float or None [dB]
        Median step level over the baseline in each.
    """

    start_share: float
    end_share: float
    start_span: tuple[float, float]
    end_span: tuple[float, float]
    start_level_rel_db: float | None
    end_level_rel_db: float | None


@dataclass(frozen=True)
class Response:
    """The agent's voice during, and ``pressure_window_s`` after, one customer raised stretch.

    Attributes
    ----------
    stretch : Stretch
        The customer's raised stretch.
    window : (float, float) [s]
        The stretch extended by ``pressure_window_s``.
    agent_steps : int
        The agent's measured steps inside the window.
    level_shift_db, pitch_shift_st : float or None
        Agent's median level / pitch inside the window minus its call median.
    agent_raised : tuple of Stretch
        Agent raised stretches that overlap the window.
    """

    stretch: Stretch
    window: tuple[float, float]
    agent_steps: int
    level_shift_db: float | None
    pitch_shift_st: float | None
    agent_raised: tuple[Stretch, ...]


@dataclass(frozen=True)
class VoiceMetrics:
    """Voice measures of a call: per speaker, the customer's agitation, and the agent's voice
    around each customer raised stretch (``responses``).

    Measures only: the tone checks (:mod:`callqa.checks.tone`) decide what passes, and which
    raised stretches are pressure.
    """

    speakers: tuple[SpeakerVoice, ...]
    agitation: Agitation | None
    responses: tuple[Response, ...] = ()
    pitch_method: str = "praat-ac"

    def of(self, speaker: str) -> SpeakerVoice | None:
        """The measures of ``speaker``, or None when it was not measured."""
        return next((s for s in self.speakers if s.speaker == speaker), None)
