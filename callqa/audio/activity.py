"""Who spoke when: Silero VAD per channel, a cross-talk gate for stereo, diarization for mono.

Stereo calls carry one party per channel, but each channel also picks up the other party
faintly (line echo, a shared room, a softphone that mixes sidetone). A voice activity detector
hears that leakage as speech, which would turn every turn of one party into an "overlap". The
cross-talk gate keeps a channel's speech only where the channel is clearly louder than what the
other channel leaks into it (docs/metrics.md, "Speech activity").

Mono calls go through :func:`callqa.audio.diarize.diarize` (speaker embeddings + clustering).

Turns carry *source labels*: "left"/"right" for stereo, "spk0", "spk1", ... for mono ("unknown"
when diarization found fewer than two speakers); :func:`callqa.measures.roles.apply_roles`
renames them
to "agent"/"customer".
"""

from __future__ import annotations

import functools
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callqa.audio.diarize import Diarization, diarize
from callqa.audio.speaker import SpeakerEncoder
from callqa.config import DynamicsConfig
from callqa.errors import CallQAError, ModelError
from callqa.types import SAMPLE_RATE, UNKNOWN, CallAudio, SpeechActivity, Turn

FRAME = 512  # samples per Silero frame at 16 kHz
CONTEXT = 64  # samples of the previous frame Silero prepends to each frame
FRAME_S = FRAME / SAMPLE_RATE  # 0.032 s
BLOCK_FRAMES = 512  # frames per ONNX call (16.4 s): one call per block, not per frame
LEFT, RIGHT = "left", "right"
GATES = ("leak", "dominance", "off")
_SILENCE_DB = -100.0  # level of an all-zero frame
NOISE_PERCENTILE = 10  # most calls are silent >10% of the time on each channel
_LEAK_CEILING_DB = -1.0  # a measured leak above this means the channels are not separated


@dataclass(frozen=True)
class VadModel:
    """A loaded Silero VAD (the batched "sequence" ONNX export shipped in ``silero-vad``)."""

    session: Any  # onnxruntime.InferenceSession
    path: str


def silero_model_path() -> Path:
    """Path of ``silero_vad_16k_sequence.onnx`` inside the installed ``silero-vad`` wheel.

    Found without importing the package (its ``__init__`` imports torch).
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("silero-vad is not installed; run: pip install silero-vad")
    path = (
        Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad_16k_sequence.onnx"
    )
    if not path.exists():
        raise ModelError(f"{path} is missing; reinstall silero-vad (pip install -U silero-vad)")
    return path


@functools.lru_cache(maxsize=4)
def load_vad(threads: int = 1) -> VadModel:
    """Load the Silero VAD once per thread count (a 2 MB ONNX model, ~50 ms)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    path = silero_model_path()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return VadModel(session=session, path=str(path))


def speech_probabilities(vad: VadModel, samples: np.ndarray) -> np.ndarray:
    """Silero speech probability of each 32 ms frame.

    Parameters
    ----------
    vad : VadModel
    samples : np.ndarray, shape=(n,), float32, 16 kHz

    Returns
    -------
    np.ndarray, shape=(ceil(n / 512),), float32 in [0, 1]
        Frame ``i`` covers ``[i * 0.032, (i + 1) * 0.032)`` s.
    """
    n_frames = (len(samples) + FRAME - 1) // FRAME
    if n_frames == 0:
        return np.zeros(0, dtype=np.float32)
    frames = np.zeros((n_frames, FRAME), dtype=np.float32)
    frames.reshape(-1)[: len(samples)] = samples
    context = np.zeros((n_frames, CONTEXT), dtype=np.float32)
    context[1:] = frames[:-1, -CONTEXT:]
    windows = np.concatenate((context, frames), axis=1)
    hidden = np.zeros((1, 1, 128), dtype=np.float32)
    cell = np.zeros((1, 1, 128), dtype=np.float32)
    out = []
    for i in range(0, n_frames, BLOCK_FRAMES):
        probs, hidden, cell = vad.session.run(
            ["speech_probs", "hn", "cn"],
            {"input": windows[i : i + BLOCK_FRAMES], "h": hidden, "c": cell},
        )
        out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
    return np.concatenate(out)


def frame_levels_db(samples: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS level (dBFS) of each 32 ms frame, shape=(n_frames,); silent frames -100 dB."""
    frames = np.zeros((n_frames, FRAME), dtype=np.float32)
    m = min(len(samples), n_frames * FRAME)
    frames.reshape(-1)[:m] = samples[:m]
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-20)), _SILENCE_DB)


def hysteresis(probs: np.ndarray, on: float, off: float) -> np.ndarray:
    """Speech mask: starts where ``probs >= on``, ends where ``probs < off`` (Silero's rule)."""
    mask = np.zeros(len(probs), dtype=bool)
    speaking = False
    for i, p in enumerate(probs):
        if p >= on:
            speaking = True
        elif p < off:
            speaking = False
        mask[i] = speaking
    return mask


def leak_db(levels_src: np.ndarray, levels_dst: np.ndarray, src_active: np.ndarray) -> float:
    """How loud ``src``'s speech shows up in ``dst`` (dB, <= 0), measured on this call.

    The median of ``dst - src`` level over the frames where ``src`` speaks, is the louder channel
    and is in the loud half of its own speech: overlaps are a minority of speech, so the median
    is the coupling (or the noise floor when there is none). -100 dB when ``src`` never speaks.
    """
    own = src_active & (levels_src > levels_dst)
    if np.count_nonzero(own) < 10:
        return _SILENCE_DB
    loud = own & (levels_src >= np.median(levels_src[own]))
    return float(min(np.median(levels_dst[loud] - levels_src[loud]), 0.0))


def noise_floor_db(levels: np.ndarray) -> float:
    """A channel's background level (dBFS): the 10th percentile of its frame levels."""
    return float(np.percentile(levels, NOISE_PERCENTILE)) if len(levels) else _SILENCE_DB


def expected_db(level_src: np.ndarray, leak: float, floor: float) -> np.ndarray:
    """Level (dBFS) a channel shows with no speech of its own: noise plus the other's leakage."""
    return 10.0 * np.log10(10 ** ((level_src + leak) / 10) + 10 ** (floor / 10))


def crosstalk_gate(
    active: tuple[np.ndarray, np.ndarray],
    levels: tuple[np.ndarray, np.ndarray],
    *,
    mode: str,
    gate_db: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the frames where a channel's "speech" is only the other channel leaking in.

    Parameters
    ----------
    active : (np.ndarray, np.ndarray), bool, shape=(n_frames,)
        Per-channel VAD masks.
    levels : (np.ndarray, np.ndarray), float, shape=(n_frames,) [dBFS]
        Per-channel frame levels.
    mode : {"leak", "dominance", "off"}
        "leak": keep channel A's frame where ``level_A >= expected_A + gate_db``, the expected
        level being A's noise floor plus B's level times the measured B->A leakage (power sum);
        "dominance": where ``level_A >= max(level_A, level_B) - gate_db``; "off": keep all.
    gate_db : float > 0 [dB]

    Returns
    -------
    (np.ndarray, np.ndarray) bool masks
    """
    if mode not in GATES:
        raise CallQAError(f"crosstalk_gate must be one of {', '.join(GATES)}, not {mode!r}")
    (a0, a1), (l0, l1) = active, levels
    if mode == "off":
        return a0, a1
    leak01 = leak_db(l0, l1, a0)  # channel 0 heard in channel 1
    leak10 = leak_db(l1, l0, a1)
    if mode == "dominance" or max(leak01, leak10) > _LEAK_CEILING_DB:
        loud = np.maximum(l0, l1)
        return a0 & (l0 >= loud - gate_db), a1 & (l1 >= loud - gate_db)
    e0 = expected_db(l1, leak10, noise_floor_db(l0))
    e1 = expected_db(l0, leak01, noise_floor_db(l1))
    return a0 & (l0 >= e0 + gate_db), a1 & (l1 >= e1 + gate_db)


def mask_to_segments(mask: np.ndarray, config: DynamicsConfig) -> list[tuple[float, float]]:
    """Frame mask -> speech segments (s): bridge short pauses, drop short bursts, pad.

    Parameters
    ----------
    mask : np.ndarray, bool, shape=(n_frames,)
        One entry per 32 ms frame.
    config : DynamicsConfig
        ``min_silence_ms``, ``min_speech_ms``, ``speech_pad_ms``.

    Returns
    -------
    list of (start, end) [s], disjoint, sorted, clipped to the mask's span.
    """
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    raw = [(a * FRAME_S, b * FRAME_S) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    bridged: list[tuple[float, float]] = []
    for start, end in raw:
        if bridged and start - bridged[-1][1] < config.min_silence_ms / 1000:
            bridged[-1] = (bridged[-1][0], end)
        else:
            bridged.append((start, end))
    kept = [(s, e) for s, e in bridged if e - s >= config.min_speech_ms / 1000]
    pad, total = config.speech_pad_ms / 1000, len(mask) * FRAME_S
    padded: list[tuple[float, float]] = []
    for s, e in kept:
        s, e = max(0.0, s - pad), min(total, e + pad)
        if padded and s <= padded[-1][1]:
            padded[-1] = (padded[-1][0], e)
        else:
            padded.append((s, e))
    return padded


def speech_mask(probs: np.ndarray, config: DynamicsConfig) -> np.ndarray:
    """Frame speech mask from Silero probabilities with the configured thresholds."""
    return hysteresis(probs, config.vad_threshold, config.vad_neg_threshold)


def channel_masks(
    audio: CallAudio, config: DynamicsConfig, vad: VadModel, workers: int = 1
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-channel VAD masks and frame levels (dBFS), one entry per 32 ms frame; with
    ``workers`` >= 2 the channels of a stereo call are read at the same time (onnxruntime
    releases the GIL; the VAD's LSTM is sequential in time, so a second thread inside one
    channel gains nothing: 1.07 s for both channels of the 245 s benchmark call one after
    the other, 0.55-0.78 s at once)."""

    def one(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probs = speech_probabilities(vad, samples)
        return speech_mask(probs, config), frame_levels_db(samples, len(probs))

    if workers >= 2 and audio.n_channels >= 2:
        with ThreadPoolExecutor(audio.n_channels, thread_name_prefix="callqa-vad") as pool:
            found = list(pool.map(one, audio.channels))
    else:
        found = [one(samples) for samples in audio.channels]
    return [mask for mask, _ in found], [levels for _, levels in found]


def detect_activity(
    audio: CallAudio,
    config: DynamicsConfig,
    *,
    vad: VadModel | None = None,
    encoder: SpeakerEncoder | None = None,
    workers: int = 1,
) -> SpeechActivity:
    """Speaker turns of a call, with source labels.

    Parameters
    ----------
    audio : CallAudio
        1 or 2 channels at 16 kHz.
    config : DynamicsConfig
    vad : VadModel, optional
        A loaded VAD (default: :func:`load_vad`, loaded once per process).
    encoder : SpeakerEncoder, optional
        Mono only: a loaded speaker encoder (default: :func:`callqa.audio.speaker.load_encoder`).
    workers : int >= 1
        CPU threads this may use: with 2 or more, the channels of a stereo call are read by
        the VAD at the same time (:func:`channel_masks`).

    Returns
    -------
    SpeechActivity
        Stereo: turns "left"/"right", ``channel_map=(("left", 0), ("right", 1))``.
        Mono: turns "spk0", "spk1", ... (or "unknown" when one speaker or none was found).
    """
    vad = vad or load_vad(config.vad_threads)
    masks, levels = channel_masks(audio, config, vad, workers)
    if audio.n_channels == 2:
        return stereo_activity(masks, levels, config)
    return _mono_activity(audio, masks[0], config, encoder)


def stereo_activity(
    masks: list[np.ndarray], levels: list[np.ndarray], config: DynamicsConfig
) -> SpeechActivity:
    gated = crosstalk_gate(
        (masks[0], masks[1]), (levels[0], levels[1]), mode=config.crosstalk_gate,
        gate_db=config.gate_db,
    )  # fmt: skip
    turns = [
        Turn(speaker=label, start=round(float(s), 3), end=round(float(e), 3))
        for label, mask in zip((LEFT, RIGHT), gated, strict=True)
        for s, e in mask_to_segments(mask, config)
    ]
    method = "silero-vad" + ("" if config.crosstalk_gate == "off" else "+crosstalk-gate")
    return SpeechActivity(
        turns=tuple(sorted(turns, key=lambda t: (t.start, t.end))),
        method=method,
        speakers=(LEFT, RIGHT),
        channel_map=((LEFT, 0), (RIGHT, 1)),
    )


def _mono_activity(
    audio: CallAudio, mask: np.ndarray, config: DynamicsConfig, encoder: SpeakerEncoder | None
) -> SpeechActivity:
    speech = mask_to_segments(mask, config)
    return mono_activity(diarize(audio.channels[0], speech, config, encoder=encoder))


def mono_activity(found: Diarization) -> SpeechActivity:
    """A mono call's activity from its diarization."""
    speakers = tuple(sorted({t.speaker for t in found.turns})) or (UNKNOWN,)
    return SpeechActivity(
        turns=found.turns,
        method="silero-vad+resemblyzer",
        speakers=speakers,
        channel_map=(),
        voices=found.count,
    )
