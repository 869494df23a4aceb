"""Who spoke when in a mono call: speaker embeddings of short speech windows, clustered.

Speech (from Silero VAD) is cut into ``diarization_window_s`` windows every
``diarization_step_s``; each window is embedded with resemblyzer's speaker encoder (a 3-layer
LSTM d-vector model trained for speaker verification, shipped as ``pretrained.pt`` in the PyPI
wheel); the embeddings are clustered with spherical k-means (k=2 by default, or estimated);
each 10 ms speech frame takes the speaker whose centroid the windows covering it resemble most,
and runs shorter than ``MIN_RUN_S`` are absorbed by their neighbours.

One speaker per frame: overlapped speech is attributed to one party (docs/metrics.md).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from callqa.config import DynamicsConfig
from callqa.errors import ModelError
from callqa.types import SAMPLE_RATE, UNKNOWN, Turn

HOP_S = 0.01  # resemblyzer's mel hop: 10 ms
MIN_WINDOW_S = 0.5  # speech shorter than this is not embedded; it takes its neighbours' label
MIN_RUN_S = 0.4  # a speaker run shorter than this inside speech is a labelling flicker
MIN_SPEECH_S = 2.0  # less speech than this: no diarization, one "unknown" speaker
TARGET_DBFS = -30.0  # resemblyzer's training-time volume normalisation
# torch threads of the encoder. Its batches are small: on the shared 2-core machine the
# pyannote clip's speech activity took 0.3-0.5 s of CPU with 1 thread and 1.8-2.8 s with 2
# (2.2-3.6 s against 4.9-13.6 s wall), the second thread mostly spinning.
ENCODER_THREADS = 1
MIN_CLUSTER_SHARE = 0.08  # a cluster with less of the speech is an outlier, not a speaker


class SpeakerEncoder(Protocol):
    """Anything that turns log-free mel windows into L2-normalised speaker embeddings."""

    def embed(self, samples: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
        """Embeddings of ``samples[a:b]`` for each ``(a, b)`` (sample indices), shape=(n, d)."""
        ...


@dataclass(frozen=True)
class ResemblyzerEncoder:
    """resemblyzer's d-vector network (CPU), embedding many windows in a few batches.

    The network (LSTM 40->256 x3, linear 256->256, ReLU, L2 norm) is rebuilt here and its
    weights read from the wheel's ``pretrained.pt``: importing ``resemblyzer`` itself pulls
    ``webrtcvad``, which needs ``pkg_resources`` (gone from recent setuptools).
    """

    lstm: Any  # torch.nn.LSTM
    linear: Any  # torch.nn.Linear

    def embed(self, samples: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
        """Embeddings, shape=(len(windows), 256), L2-normalised."""
        import torch

        mel = mel_spectrogram(np.asarray(samples, dtype=np.float32))
        hop = int(SAMPLE_RATE * HOP_S)
        slices = [(a // hop, max(a // hop + 1, b // hop)) for a, b in windows]
        out = np.zeros((len(windows), 256), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for i, (a, b) in enumerate(slices):
            by_length.setdefault(b - a, []).append(i)
        threads = torch.get_num_threads()
        torch.set_num_threads(ENCODER_THREADS)  # for this call: the setting is process-wide
        try:
            with torch.inference_mode():
                for idx in by_length.values():
                    batch = np.stack(
                        [_normalised(mel, slices[i], samples, windows[i]) for i in idx]
                    )
                    _, (hidden, _) = self.lstm(torch.from_numpy(batch))
                    raw = torch.relu(self.linear(hidden[-1]))
                    out[idx] = (raw / (torch.norm(raw, dim=1, keepdim=True) + 1e-12)).numpy()
        finally:
            torch.set_num_threads(threads)
        return out


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """resemblyzer's input: 40-band mel power spectrogram, 25 ms window, 10 ms hop.

    Returns
    -------
    np.ndarray, shape=(n_frames, 40), float32 (power, not log)
    """
    import librosa

    mel = librosa.feature.melspectrogram(
        y=samples, sr=SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=40
    )
    return mel.astype(np.float32).T


def _normalised(
    mel: np.ndarray, frames: tuple[int, int], samples: np.ndarray, window: tuple[int, int]
) -> np.ndarray:
    """Mel window scaled as if its audio were at -30 dBFS (resemblyzer's training level).

    Mel power scales with the square of the gain, so the factor is (target RMS / RMS)^2.
    """
    a, b = window
    rms = float(np.sqrt(np.mean(np.square(samples[a:b], dtype=np.float64)))) + 1e-9
    return (mel[frames[0] : frames[1]] * (10 ** (TARGET_DBFS / 20) / rms) ** 2).astype(np.float32)


def encoder_weights_path() -> Path:
    """``pretrained.pt`` inside the installed ``resemblyzer`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("mono calls need resemblyzer for diarization: pip install resemblyzer")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.exists():
        raise ModelError(f"{path} is missing; reinstall resemblyzer (pip install -U resemblyzer)")
    return path


@functools.lru_cache(maxsize=1)
def load_encoder() -> ResemblyzerEncoder:
    """Load resemblyzer's speaker encoder once per process (~0.1 s, 17 MB, CPU)."""
    import torch

    state = torch.load(encoder_weights_path(), map_location="cpu")["model_state"]
    lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
    linear = torch.nn.Linear(256, 256)
    lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
    linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
    lstm.eval()
    linear.eval()
    return ResemblyzerEncoder(lstm=lstm, linear=linear)


def speech_windows(
    speech: list[tuple[float, float]], window_s: float, step_s: float
) -> list[tuple[float, float]]:
    """Windows (s) to embed: ``window_s`` long every ``step_s`` inside each speech segment.

    A segment shorter than ``window_s`` (but at least 0.5 s) is one window; the last window of a
    longer segment is aligned to its end so that no speech is left out.
    """
    out: list[tuple[float, float]] = []
    for start, end in speech:
        length = end - start
        if length < MIN_WINDOW_S:
            continue
        if length <= window_s:
            out.append((start, end))
            continue
        n = int(np.ceil((length - window_s) / step_s)) + 1
        starts = np.minimum(start + step_s * np.arange(n), end - window_s)
        out.extend((float(s), float(s) + window_s) for s in starts)
    return out


def spherical_kmeans(x: np.ndarray, k: int, *, iterations: int = 30) -> np.ndarray:
    """Cluster L2-normalised rows of ``x`` by cosine similarity; labels shape=(n,).

    Deterministic: farthest-point initialisation from the row most similar to the mean.
    """
    n = len(x)
    k = max(1, min(k, n))
    first = int(np.argmax(x @ x.mean(axis=0)))
    centres = [x[first]]
    for _ in range(1, k):
        sims = np.max(np.stack([x @ c for c in centres]), axis=0)
        centres.append(x[int(np.argmin(sims))])
    c = np.stack(centres)
    labels = np.zeros(n, dtype=int)
    for _ in range(iterations):
        new = np.argmax(x @ c.T, axis=1)
        if _ > 0 and np.array_equal(new, labels):
            break
        labels = new
        c = _centroids(x, labels, k, fallback=c)
    return labels


def _centroids(x: np.ndarray, labels: np.ndarray, k: int, *, fallback: np.ndarray) -> np.ndarray:
    c = fallback.copy()
    for j in range(k):
        members = x[labels == j]
        if len(members):
            m = members.mean(axis=0)
            c[j] = m / (np.linalg.norm(m) + 1e-12)
    return c


def choose_clusters(x: np.ndarray, n_speakers: int) -> np.ndarray:
    """Cluster labels of embeddings ``x``: ``n_speakers`` clusters, or 1-2 estimated if 0.

    Estimation keeps a two-way split unless the smaller cluster holds less than
    ``MIN_CLUSTER_SHARE`` of the windows (then it is one voice plus outliers). Centroid cosine
    and silhouette did not separate one from two speakers on the evaluation files
    (docs/metrics.md), so no finer estimate is attempted.
    """
    if n_speakers > 0:
        return spherical_kmeans(x, n_speakers)
    labels = spherical_kmeans(x, 2)
    shares = np.bincount(labels, minlength=2) / len(labels)
    return labels if shares.min() >= MIN_CLUSTER_SHARE else np.zeros(len(x), dtype=int)


def frame_labels(
    n_frames: int,
    windows: list[tuple[float, float]],
    scores: np.ndarray,
) -> np.ndarray:
    """Speaker of each 10 ms frame: argmax of the summed centroid similarities of the windows
    covering it; -1 where no window covers the frame. ``scores`` shape=(n_windows, k)."""
    k = scores.shape[1]
    acc = np.zeros((n_frames + 1, k))
    for (start, end), s in zip(windows, scores, strict=True):
        a, b = round(start / HOP_S), round(end / HOP_S)
        acc[a, :] += s
        acc[min(b, n_frames), :] -= s
    acc = np.cumsum(acc, axis=0)[:n_frames]
    covered = np.cumsum(_coverage(n_frames, windows))[:n_frames] > 0
    return np.where(covered, np.argmax(acc, axis=1), -1)


def _coverage(n_frames: int, windows: list[tuple[float, float]]) -> np.ndarray:
    delta = np.zeros(n_frames + 1)
    for start, end in windows:
        delta[round(start / HOP_S)] += 1
        delta[min(round(end / HOP_S), n_frames)] -= 1
    return delta


def diarize(
    samples: np.ndarray,
    speech: list[tuple[float, float]],
    config: DynamicsConfig,
    *,
    encoder: SpeakerEncoder | None = None,
) -> tuple[Turn, ...]:
    """Speaker turns of a mono recording.

    Parameters
    ----------
    samples : np.ndarray, shape=(n,), float32, 16 kHz
    speech : list of (start, end) [s]
        Speech segments from the VAD, sorted and disjoint.
    config : DynamicsConfig
        ``diarization_window_s``, ``diarization_step_s``, ``n_speakers``.
    encoder : SpeakerEncoder, optional
        Default :func:`load_encoder`.

    Returns
    -------
    tuple of Turn
        Labelled "spk0", "spk1", ... in order of first appearance; "unknown" for every turn when
        there is too little speech or only one speaker.
    """
    windows = speech_windows(speech, config.diarization_window_s, config.diarization_step_s)
    total = sum(e - s for s, e in speech)
    if total < MIN_SPEECH_S or len(windows) < 2:
        return _unknown(speech)
    encoder = encoder or load_encoder()
    idx = [(int(s * SAMPLE_RATE), int(e * SAMPLE_RATE)) for s, e in windows]
    x = encoder.embed(samples, idx)
    labels = choose_clusters(x, config.n_speakers)
    k = int(labels.max()) + 1
    if k < 2:
        return _unknown(speech)
    centres = _centroids(x, labels, k, fallback=np.zeros((k, x.shape[1])))
    n_frames = int(np.ceil(len(samples) / SAMPLE_RATE / HOP_S))
    frames = frame_labels(n_frames, windows, x @ centres.T)
    return _turns(frames, speech)


def _turns(frames: np.ndarray, speech: list[tuple[float, float]]) -> tuple[Turn, ...]:
    """Runs of one label inside each speech segment -> turns named by first appearance."""
    bounds = [(round(s / HOP_S), round(e / HOP_S)) for s, e in speech]
    in_speech = np.concatenate([np.arange(a, min(b, len(frames))) for a, b in bounds])
    labels = frames.copy()
    labels[in_speech] = _fill_gaps(frames[in_speech])
    runs: list[tuple[int, float, float]] = []
    for a, b in bounds:
        runs.extend(_runs(labels[a : min(b, len(frames))], a))
    runs = _absorb_short([r for r in runs if r[0] >= 0])
    names: dict[int, str] = {}
    turns = []
    for label, s, e in runs:
        name = names.setdefault(label, f"spk{len(names)}")
        turns.append(Turn(name, round(float(s), 3), round(float(e), 3)))
    return tuple(turns)


def _fill_gaps(seg: np.ndarray) -> np.ndarray:
    """Give uncovered frames (-1) the label of the nearest covered frame before (or after)."""
    if len(seg) == 0 or np.all(seg < 0):
        return seg
    idx = np.where(seg >= 0, np.arange(len(seg)), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(seg >= 0))
    filled = seg[idx]
    filled[:first] = seg[first]
    return filled


def _runs(seg: np.ndarray, offset: int) -> list[tuple[int, float, float]]:
    edges = np.flatnonzero(np.diff(seg)) + 1
    bounds = np.concatenate(([0], edges, [len(seg)]))
    return [
        (int(seg[a]), (offset + a) * HOP_S, (offset + b) * HOP_S)
        for a, b in itertools.pairwise(bounds)
    ]


def _absorb_short(runs: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """Relabel runs shorter than MIN_RUN_S that sit between two runs of one other speaker."""
    out = list(runs)
    for i in range(1, len(out) - 1):
        label, s, e = out[i]
        prev, nxt = out[i - 1], out[i + 1]
        touching = abs(prev[2] - s) < 1e-6 and abs(nxt[1] - e) < 1e-6
        if e - s < MIN_RUN_S and touching and prev[0] == nxt[0] != label:
            out[i] = (prev[0], s, e)
    merged: list[tuple[int, float, float]] = []
    for label, s, e in out:
        if merged and merged[-1][0] == label and abs(merged[-1][2] - s) < 1e-6:
            merged[-1] = (label, merged[-1][1], e)
        else:
            merged.append((label, s, e))
    return merged


def _unknown(speech: list[tuple[float, float]]) -> tuple[Turn, ...]:
    return tuple(Turn(UNKNOWN, round(float(s), 3), round(float(e), 3)) for s, e in speech)


def diarization_error_rate(
    reference: list[Turn] | tuple[Turn, ...],
    hypothesis: list[Turn] | tuple[Turn, ...],
    *,
    step_s: float = 0.01,
) -> float:
    """Diarization error rate, no collar, overlapped speech counted (NIST's frame definition).

    Per ``step_s`` frame, with ``R`` reference speakers, ``H`` hypothesis speakers and ``C`` of
    them matched under the speaker mapping that maximises matched time::

        DER = sum(max(R, H) - C) / sum(R)      (missed + false alarm + confusion) / reference

    Returns 0.0 when neither has speech, 1.0 when only the hypothesis has.
    """
    ref_names = sorted({t.speaker for t in reference})
    hyp_names = sorted({t.speaker for t in hypothesis})
    end = max((t.end for t in (*reference, *hypothesis)), default=0.0)
    n = int(np.ceil(end / step_s)) + 1
    ref = _activity_matrix(reference, ref_names, n, step_s)
    hyp = _activity_matrix(hypothesis, hyp_names, n, step_s)
    total = float(ref.sum())
    if total == 0:
        return 0.0 if hyp.sum() == 0 else 1.0
    co = ref.astype(np.int64) @ hyp.T.astype(np.int64)  # frames each pair is active together
    matched = _best_matching(co)
    errors = np.maximum(ref.sum(axis=0), hyp.sum(axis=0)).sum() - matched
    return float(errors / total)


def _activity_matrix(turns: Any, names: list[str], n: int, step_s: float) -> np.ndarray:
    m = np.zeros((len(names), n), dtype=bool)
    for t in turns:
        m[names.index(t.speaker), round(t.start / step_s) : round(t.end / step_s)] = True
    return m


def _best_matching(co: np.ndarray) -> int:
    """Largest total co-occurrence over one-to-one speaker mappings (brute force, few speakers)."""
    import itertools

    r, h = co.shape
    if r == 0 or h == 0:
        return 0
    if r <= h:
        return int(
            max(sum(co[i, p[i]] for i in range(r)) for p in itertools.permutations(range(h), r))
        )
    return int(max(sum(co[p[j], j] for j in range(h)) for p in itertools.permutations(range(r), h)))
