"""ITU-R BS.1770 loudness, in numpy: the numbers ``pyloudnorm`` (its default meter) gives.

K-weighting is two biquads (a +4 dB high shelf at 1.5 kHz, Q 0.707, and a high-pass at 38 Hz,
Q 0.5) designed with the RBJ cookbook formulas, as pyloudnorm designs them; the K-weighted
signal's mean square is taken over 400-ms gating blocks with 75 % overlap, and integrated
loudness gates those blocks at -70 LUFS and then 10 LU below their mean
(:func:`callqa.measures.voice.gated_lufs`).

pyloudnorm runs the biquads with ``scipy.signal.lfilter``, and importing ``scipy.signal`` took
0.8 s of every ``callqa score``. Here the cascade runs as its impulse response
(:data:`RESPONSE_S` long, where it has decayed below 1e-40 of its peak) by FFT convolution in
blocks: the same filter to rounding, with memory bounded by the block.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

BLOCK_S = 0.4  # s; BS.1770 gating block
OVERLAP = 0.75  # of a block, between consecutive blocks
RESPONSE_S = 0.5  # s of the K-weighting impulse response kept (its slowest pole decays e^-119)
FFT_SIZE = 1 << 17  # samples per FFT of the block convolution (at most this much is held)
K_WEIGHTING = (  # (gain dB, Q, centre Hz, kind): pyloudnorm's "K-weighting" meter
    (4.0, 1.0 / math.sqrt(2.0), 1500.0, "high_shelf"),
    (0.0, 0.5, 38.0, "high_pass"),
)


def biquad(gain_db: float, q: float, fc: float, sr: int, kind: str) -> tuple[np.ndarray, ...]:
    """(b, a) of an RBJ-cookbook ``high_shelf`` or ``high_pass`` biquad, normalised by a0.

    Raises
    ------
    ValueError
        Another ``kind``.
    """
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * fc / sr
    cos, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    if kind == "high_shelf":
        root = 2.0 * math.sqrt(amp) * alpha
        b = [
            amp * ((amp + 1) + (amp - 1) * cos + root),
            -2 * amp * ((amp - 1) + (amp + 1) * cos),
            amp * ((amp + 1) + (amp - 1) * cos - root),
        ]
        a = [(amp + 1) - (amp - 1) * cos + root, 2 * ((amp - 1) - (amp + 1) * cos),
             (amp + 1) - (amp - 1) * cos - root]  # fmt: skip
    elif kind == "high_pass":
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        a = [1 + alpha, -2 * cos, 1 - alpha]
    else:
        raise ValueError(f"unknown biquad kind {kind!r}")
    return np.array(b) / a[0], np.array(a) / a[0]


@lru_cache(maxsize=8)
def k_response(sr: int) -> np.ndarray:
    """Impulse response of the K-weighting cascade at ``sr`` Hz, :data:`RESPONSE_S` long."""
    h = np.zeros(max(3, round(RESPONSE_S * sr)))
    h[0] = 1.0
    for gain_db, q, fc, kind in K_WEIGHTING:
        b, a = biquad(gain_db, q, fc, sr, kind)
        x, y = h, np.zeros_like(h)
        b0, b1, b2 = (float(v) for v in b)
        a1, a2 = float(a[1]), float(a[2])
        x1 = x2 = y1 = y2 = 0.0
        for n, xn in enumerate(x.tolist()):  # the difference equation, once per sample rate
            yn = b0 * xn + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            y[n] = yn
            x2, x1, y2, y1 = x1, xn, y1, yn
        h = y
    h.setflags(write=False)
    return h


def k_weighted(x: np.ndarray, sr: int) -> np.ndarray:
    """``x`` through the K-weighting filter (zero initial state), float64, same length."""
    h = k_response(sr)
    step = FFT_SIZE - len(h) + 1
    response = np.fft.rfft(h, FFT_SIZE)
    out = np.zeros(len(x) + len(h) - 1)
    for start in range(0, len(x), step):
        part = np.fft.irfft(np.fft.rfft(x[start : start + step], FFT_SIZE) * response, FFT_SIZE)
        end = min(len(out), start + FFT_SIZE)
        out[start:end] += part[: end - start]
    return out[: len(x)]


def block_powers(x: np.ndarray, sr: int) -> np.ndarray:
    """K-weighted mean square of each gating block of ``x`` (pyloudnorm's blocks and bounds);
    empty when ``x`` is shorter than one block."""
    if len(x) < BLOCK_S * sr:
        return np.zeros(0)
    y = k_weighted(np.asarray(x, dtype=np.float64), sr)
    step = 1.0 - OVERLAP
    count = int(np.round((len(x) / sr - BLOCK_S) / (BLOCK_S * step))) + 1
    powers = np.empty(count)
    for j in range(count):
        lo = int(BLOCK_S * (j * step) * sr)
        hi = int(BLOCK_S * (j * step + 1) * sr)
        powers[j] = np.sum(np.square(y[lo:hi])) / (BLOCK_S * sr)
    return powers
