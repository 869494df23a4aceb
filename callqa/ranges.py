"""The ranges of the numeric settings (the config's schema): :data:`RANGES`, :func:`check_ranges`;
and :func:`beside`, how a value is printed beside its limit.

A value outside its range is refused when the config is loaded or changed, with one line naming
the key, the range and the value (``voice.contour_step_s must be >= 0.01 and <= 60, not 0.0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: ``low`` to ``high``, each end included unless
    ``*_open`` (the JSON-Schema ``minimum``/``exclusiveMinimum``, ``maximum``/...)."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below  # NaN is in no range

    def __str__(self) -> str:
        low = f"> {self.low:g}" if self.low_open else f">= {self.low:g}"
        high = f"< {self.high:g}" if self.high_open else f"<= {self.high:g}"
        return f"{low} and {high}"


_HOUR, _DAY = 3600.0, 86400.0
_DB, _S = Range(0.0, 120.0), Range(0.0, _HOUR)  # a level margin in dB, a duration in s
# Every numeric setting (each element, for a list) and its range: values outside make no sense
# (a probability above 1, a step of 0 s) or would cost unbounded memory or time (a contour
# step of 1 ns, a billion parts); tests/test_config.py checks that no numeric key is missing.
RANGES: dict[str, Range] = {
    "call.max_duration_s": Range(0.0, 7 * _DAY, low_open=True),
    "call.block_s": Range(30.0, _DAY),
    "transcription.threads": Range(0, 1024),
    "transcription.beam_size": Range(1, 32),
    "transcription.first_beam_size": Range(1, 32),
    "transcription.redecode_log_prob": Range(-100.0, 0.0),
    "transcription.redecode_compression_ratio": Range(0.0, 100.0, low_open=True),
    "transcription.redecode_low_word_share": Range(0.0, 1.0),
    "transcription.batch_size": Range(0, 256),
    "transcription.parallel_windows": Range(0, 1024),
    "transcription.best_of": Range(1, 32),
    "transcription.temperatures": Range(0.0, 1.0),
    "transcription.compression_ratio_threshold": Range(0.0, 100.0, low_open=True),
    "transcription.log_prob_threshold": Range(-100.0, 0.0),
    "transcription.no_speech_threshold": Range(0.0, 1.0),
    "transcription.silence_no_speech_threshold": Range(0.0, 1.0),
    "transcription.silence_log_prob_threshold": Range(-100.0, 0.0),
    "transcription.silence_dbfs": Range(-200.0, 0.0),
    "transcription.crosstalk_tolerance_s": Range(0.0, 60.0),
    "transcription.empty_turn_min_s": Range(0.0, _HOUR, low_open=True),
    "transcription.empty_turn_context_s": Range(0.0, 60.0),
    "transcription.empty_turn_warn_share": Range(0.0, 1.0),
    "dynamics.vad_threshold": Range(0.0, 1.0, low_open=True, high_open=True),
    "dynamics.vad_neg_threshold": Range(0.0, 1.0, low_open=True, high_open=True),
    "dynamics.min_speech_ms": Range(0, 60_000),
    "dynamics.min_silence_ms": Range(0, 60_000),
    "dynamics.speech_pad_ms": Range(0, 10_000),
    "dynamics.vad_threads": Range(1, 1024),
    "dynamics.gate_db": Range(0.0, 120.0, low_open=True),
    "dynamics.diarization_window_s": Range(0.1, 60.0),
    "dynamics.diarization_step_s": Range(0.05, 60.0),
    "dynamics.n_speakers": Range(0, 3),
    "dynamics.interruption_min_overlap_s": Range(0.0, 60.0),
    "dynamics.transition_tail_s": Range(0.0, 60.0),
    "dynamics.simultaneous_start_s": Range(0.0, 60.0),
    "dynamics.echo_window_s": Range(0.0, _HOUR, low_open=True),
    "dynamics.echo_min_share": Range(0.0, 1.0, low_open=True),
    "dynamics.backchannel_max_s": Range(0.0, 60.0, low_open=True),
    "dynamics.non_talk_min_s": Range(0.0, _HOUR, low_open=True),
    "dynamics.long_response_s": Range(0.0, _HOUR, low_open=True),
    "voice.pitch_floor_hz": Range(20.0, 2000.0),
    "voice.pitch_ceiling_hz": Range(20.0, 2000.0),
    "voice.silence_threshold": Range(0.0, 1.0),
    "voice.crosstalk_margin_db": _DB,
    "voice.min_voiced_s": _S,
    "voice.min_lufs_speech_s": Range(0.4, _HOUR),
    "voice.contour_step_s": Range(0.01, 60.0),
    "voice.min_step_voiced_s": Range(0.0, 60.0, low_open=True),
    "voice.raised_spread_z": Range(0.0, 100.0),
    "voice.raised_level_db": _DB,
    "voice.raised_pitch_st": Range(0.0, 48.0),
    "voice.raised_min_s": _S,
    "voice.raised_max_gap_s": _S,
    "voice.pressure_window_s": _S,
    "voice.pause_min_s": Range(0.0, 60.0),
    "voice.n_parts": Range(1, 100),
    "redaction.audio_pad_s": Range(0.0, 10.0),
    "redaction.tone_hz": Range(20.0, 7900.0),  # audible and below 8 kHz, half of 16 kHz
    "redaction.join_gap_s": _S,
    "limits.max_transcript_bytes": Range(1, 10**12),
    "limits.max_manifest_bytes": Range(1, 10**12),
    "limits.max_rubric_bytes": Range(1, 10**12),
    "limits.max_phrase_pack_bytes": Range(1, 10**12),
}
MAX_LIST_ITEMS = 10_000  # a list setting (decoding temperatures, backchannel words)
MAX_TEXT_CHARS = 4_096  # a text setting (a path, a word)


def check_ranges(settings: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a value outside its :data:`RANGES` entry, or a list or text too long.

    Parameters
    ----------
    settings : mapping of section -> mapping of key -> value
        The plain-data form of a config (``callqa.config.config_to_dict``).

    Raises
    ------
    ValueError
        One line naming the key, the range and the value.
    """
    for section, table in settings.items():
        for key, value in table.items():
            name = f"{section}.{key}"
            values = list(value) if isinstance(value, list | tuple) else [value]
            if len(values) > MAX_LIST_ITEMS:
                raise ValueError(f"{name} has {len(values)} items; at most {MAX_LIST_ITEMS}")
            for v in values:
                if isinstance(v, str) and len(v) > MAX_TEXT_CHARS:
                    raise ValueError(f"{name} is longer than {MAX_TEXT_CHARS} characters")
                if name in RANGES and v not in RANGES[name]:
                    raise ValueError(f"{name} must be {RANGES[name]}, not {v!r}")


def beside(value: Any, limit: Any, digits: int, scale: float = 1.0) -> str:
    """``value`` x ``scale`` with ``digits`` decimals, or more (up to 3 more) while it would
    print like ``limit`` without being equal: "60.2%; limit 60%" for a fail, never "60%; limit
    60%", and "confidence 0.699" below the 0.7 review line, never "0.70"."""
    v = float(value) * scale
    lim = None if limit is None else float(limit) * scale
    for d in range(digits, digits + 3):
        if lim is None or v == lim or f"{v:.{d}f}" != f"{lim:.{d}f}":
            return f"{v:.{d}f}"
    return f"{v:.{digits + 3}f}"
