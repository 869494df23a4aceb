"""Who spoke when in a mono call: speaker embeddings of short speech windows, clustered.

Speech (from Silero VAD) is cut into ``diarization_window_s`` windows every
``diarization_step_s``; each window is embedded with resemblyzer's speaker encoder (a 3-layer
LSTM d-vector model trained for speaker verification, shipped as ``pretrained.pt`` in the PyPI
wheel); the number of voices is estimated (:func:`count_voices`: one, two, or three or more)
and the embeddings are clustered with spherical k-means; each 10 ms speech frame takes the
speaker whose centroid the windows covering it resemble most, and runs shorter than
``MIN_RUN_S`` are absorbed by their neighbours.

One speaker per frame: overlapped speech is attributed to one party (docs/metrics.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from callqa.audio.speaker import HOP_S, SpeakerEncoder, load_encoder
from callqa.config import DynamicsConfig
from callqa.types import SAMPLE_RATE, UNKNOWN, SpeakerCount, Turn

MIN_WINDOW_S = 0.5  # speech shorter than this is not embedded; it takes its neighbours' label
MIN_RUN_S = 0.4  # a speaker run shorter than this inside speech is a labelling flicker
MIN_SPEECH_S = 2.0  # less speech than this: no diarization, one "unknown" speaker
MIN_CLUSTER_SHARE = 0.08  # a cluster with less of the speech is an outlier, not a speaker
# Voice count (benchmarks/results/audio_truth.md lists every recording these were set on):
MIN_WINDOWS_TWO = 16  # fewer windows (~12 s of speech): too little to tell two voices apart
ONE_VOICE_COS = 0.92  # a two-way split this alike is one voice (single voices 0.90-0.95)
THIRD_VOICE_COS = 0.75  # a third cluster less alike than this to both others is another voice


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
    """Cluster labels of embeddings ``x``: ``n_speakers`` clusters, or the estimated number
    (:func:`count_voices`) if 0."""
    return count_voices(x, n_speakers)[0]


def count_voices(x: np.ndarray, n_speakers: int = 0) -> tuple[np.ndarray, SpeakerCount]:
    """Cluster labels of the window embeddings ``x`` (rows in time order) and the voice count.

    With ``n_speakers`` > 0 that many clusters are made. With 0 the count is estimated:

    - one voice when there are fewer than ``MIN_WINDOWS_TWO`` windows (too little speech to
      tell two voices apart), when the smaller cluster of a two-way split holds less than
      ``MIN_CLUSTER_SHARE`` of the windows (one voice plus outliers), or when the two
      clusters' mean embeddings have a cosine of at least ``ONE_VOICE_COS`` (a split of one
      voice: 0.90-0.95 on single voices, 0.60-0.89 on two);
    - three or more when a three-way split has a third cluster of at least
      ``MIN_CLUSTER_SHARE`` whose mean embedding has a cosine below ``THIRD_VOICE_COS`` to both
      others (a clearly different voice: 0.68 on a four-voice mix, at least 0.82 on every
      two-voice call);
    - two otherwise.

    Labels are numbered by cluster size, largest first.
    """
    n = len(x)
    if n_speakers > 0:
        labels = _by_size(spherical_kmeans(x, n_speakers))
        return labels, _count(x, labels, n_speakers, f"{n_speakers} voices set in the config")
    if n < MIN_WINDOWS_TWO:
        why = f"{n} speech windows: too little speech to tell two voices apart"
        return np.zeros(n, dtype=int), _count(x, np.zeros(n, dtype=int), 1, why)
    two = _by_size(spherical_kmeans(x, 2))
    count = _count(x, two, 2, "")
    if count.shares[-1] < MIN_CLUSTER_SHARE:
        why = f"the second voice holds {count.shares[-1]:.0%} of the windows: outliers of one"
        return np.zeros(n, dtype=int), _count(x, np.zeros(n, dtype=int), 1, why)
    if count.separation is not None and count.separation >= ONE_VOICE_COS:
        why = f"a two-way split is alike (cosine {count.separation:.2f} >= {ONE_VOICE_COS})"
        return np.zeros(n, dtype=int), _count(x, np.zeros(n, dtype=int), 1, why)
    three = _by_size(spherical_kmeans(x, 3))
    third = _third_voice(x, three)
    if third is not None:
        why = f"a third voice holds {third:.0%} of the windows and differs from both others"
        return three, _count(x, three, 3, why)
    return two, _count(x, two, 2, "two voices")


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by cluster size, largest first (ties: first appearance)."""
    sizes = np.bincount(labels)
    order = sorted(range(len(sizes)), key=lambda j: -sizes[j])
    rank = {old: new for new, old in enumerate(order)}
    return np.array([rank[v] for v in labels], dtype=int)


def _unit_centroids(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    k = int(labels.max()) + 1 if len(labels) else 0
    return _centroids(x, labels, k, fallback=np.zeros((k, x.shape[1])))


def _third_voice(x: np.ndarray, labels: np.ndarray) -> float | None:
    """Share of the third cluster when it is another voice (see :func:`count_voices`)."""
    shares = np.bincount(labels, minlength=3) / len(labels)
    if shares[2] < MIN_CLUSTER_SHARE:
        return None
    c = _unit_centroids(x, labels)
    return float(shares[2]) if max(c[2] @ c[0], c[2] @ c[1]) < THIRD_VOICE_COS else None


def _count(x: np.ndarray, labels: np.ndarray, voices: int, reason: str) -> SpeakerCount:
    shares = np.bincount(labels) / max(1, len(labels)) if len(labels) else np.zeros(0)
    separation = None
    if len(shares) >= 2:
        c = _unit_centroids(x, labels)
        separation = round(float(c[0] @ c[1]), 3)
    return SpeakerCount(
        voices=voices,
        windows=len(labels),
        separation=separation,
        shares=tuple(round(float(v), 3) for v in shares),
        reason=reason or f"{voices} voices",
    )


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


@dataclass(frozen=True)
class Diarization:
    """Speaker turns of a mono recording and the voice count behind them."""

    turns: tuple[Turn, ...]
    count: SpeakerCount


def diarize(
    samples: np.ndarray,
    speech: list[tuple[float, float]],
    config: DynamicsConfig,
    *,
    encoder: SpeakerEncoder | None = None,
) -> Diarization:
    """Speaker turns of a mono recording.

    Parameters
    ----------
    samples : np.ndarray, shape=(n,), float32, 16 kHz
    speech : list of (start, end) [s]
        Speech segments from the VAD, sorted and disjoint.
    config : DynamicsConfig
        ``diarization_window_s``, ``diarization_step_s``, ``n_speakers``.
    encoder : SpeakerEncoder, optional
        Default :func:`callqa.audio.speaker.load_encoder`.

    Returns
    -------
    Diarization
        Turns labelled "spk0", "spk1", ... in order of first appearance ("unknown" for every
        turn when there is too little speech or only one voice), and the voice count.
    """
    windows = speech_windows(speech, config.diarization_window_s, config.diarization_step_s)
    short = too_little_speech(speech, windows)
    if short is not None:
        return short
    encoder = encoder or load_encoder()
    idx = [(int(s * SAMPLE_RATE), int(e * SAMPLE_RATE)) for s, e in windows]
    return cluster_windows(encoder.embed(samples, idx), windows, speech, len(samples), config)


def too_little_speech(
    speech: list[tuple[float, float]], windows: list[tuple[float, float]]
) -> Diarization | None:
    """The "unknown" diarization when there is too little speech to embed; None otherwise."""
    total = sum(e - s for s, e in speech)
    if total < MIN_SPEECH_S or len(windows) < 2:
        why = f"{total:.1f} s of speech: too little to tell voices apart"
        return Diarization(_unknown(speech), SpeakerCount(1, len(windows), None, (), why))
    return None


def cluster_windows(
    x: np.ndarray,
    windows: list[tuple[float, float]],
    speech: list[tuple[float, float]],
    n_samples: int,
    config: DynamicsConfig,
) -> Diarization:
    """Speaker turns from the embeddings ``x`` (shape=(len(windows), d)) of the whole call's
    speech windows: voices counted and clustered once over the call (see :func:`diarize`)."""
    labels, count = count_voices(x, config.n_speakers)
    k = int(labels.max()) + 1
    if k < 2:
        return Diarization(_unknown(speech), count)
    centres = _centroids(x, labels, k, fallback=np.zeros((k, x.shape[1])))
    n_frames = int(np.ceil(n_samples / SAMPLE_RATE / HOP_S))
    frames = frame_labels(n_frames, windows, x @ centres.T)
    return Diarization(_turns(frames, speech), count)


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
