"""resemblyzer's speaker encoder, without torch: the d-vectors the mono diarizer clusters.

The network (a 3-layer LSTM d-vector model trained for speaker verification) and its input (a
40-band mel power spectrogram) are rebuilt here; the weights come from ``pretrained.pt`` in the
``resemblyzer`` wheel, read without torch (:func:`read_legacy_checkpoint`). Importing
``resemblyzer`` itself pulls ``webrtcvad``, which needs ``pkg_resources`` (gone from recent
setuptools); torch and librosa would add ~320 MB to every process that scores a mono call
(docs/batch.md, "Memory per worker"). The LSTM runs in onnxruntime, the rest in numpy; the
embeddings equal torch's (1.4e-6 apart on random input; ``tests/test_diarize.py``).
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from callqa.audio.onnx_lstm import lstm_session
from callqa.errors import ModelError
from callqa.types import SAMPLE_RATE

HOP_S = 0.01  # resemblyzer's mel hop: 10 ms
TARGET_DBFS = -30.0  # resemblyzer's training-time volume normalisation
N_FFT = 400  # resemblyzer's mel window: 25 ms at 16 kHz
MEL_HOP = round(SAMPLE_RATE * HOP_S)  # ... and its hop in samples (160)
N_MELS = 40
MEL_BLOCK = 4096  # mel frames computed at a time (41 s of audio: bounds the spectrum's memory)
EMBED_BATCH = 32  # windows through the LSTM at a time: faster than 256 (cache) and 8x less memory


class SpeakerEncoder(Protocol):
    """Anything that turns log-free mel windows into L2-normalised speaker embeddings."""

    def embed(self, samples: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
        """Embeddings of ``samples[a:b]`` for each ``(a, b)`` (sample indices), shape=(n, d)."""
        ...


@dataclass(frozen=True)
class ResemblyzerEncoder:
    """resemblyzer's d-vector network (CPU), embedding many windows in a few batches.

    The network (LSTM 40->256 x3, linear 256->256, ReLU, L2 norm) is rebuilt here: the LSTM
    runs in onnxruntime (:mod:`callqa.audio.onnx_lstm`, one thread) and the rest in numpy, with
    the weights read from the wheel's ``pretrained.pt`` (:func:`read_legacy_checkpoint`).
    Importing ``resemblyzer`` itself pulls ``webrtcvad``, which needs ``pkg_resources`` (gone
    from recent setuptools), and torch and librosa would add ~320 MB to every process that
    scores a mono call (docs/batch.md, "Memory").

    Attributes
    ----------
    lstm : onnxruntime.InferenceSession
        The three LSTM layers (:func:`callqa.audio.onnx_lstm.lstm_graph`): input ``x``,
        shape=(frames, batch, 40); output ``h``, the last layer's hidden state after the last
        frame, shape=(1, batch, 256).
    linear : (weight, bias)
        Transposed: shape=(256, 256), (256,) float32.
    """

    lstm: Any
    linear: tuple[np.ndarray, np.ndarray]

    def embed(self, samples: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
        """Embeddings, shape=(len(windows), 256), L2-normalised.

        Windows of one length go through the LSTM together, at most :data:`EMBED_BATCH` at a
        time. Everything runs on one thread, a batch worker's budget being one core: the LSTM
        session has one, and the matrix products around it get one BLAS thread. With two, the
        speech activity of the AWS call mixed to mono took 2.9 CPU s for 2.0 s of wall time,
        against 2.3 CPU s for 2.3 s with one (one run each, inside ``callqa score``)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return self._embed(samples, windows)

    def _embed(self, samples: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
        mel = mel_spectrogram(np.asarray(samples, dtype=np.float32))
        hop, last = MEL_HOP, len(mel) - 1
        # a window may end past the samples (speech ends on the VAD's 32 ms frame grid)
        slices = [(min(a // hop, last), min(last + 1, max(a // hop + 1, b // hop)))
                  for a, b in windows]  # fmt: skip
        out = np.zeros((len(windows), 256), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for i, (a, b) in enumerate(slices):
            by_length.setdefault(b - a, []).append(i)
        weight, bias = self.linear
        for idx in by_length.values():
            for start in range(0, len(idx), EMBED_BATCH):
                part = idx[start : start + EMBED_BATCH]
                batch = np.stack([_normalised(mel, slices[i], samples, windows[i]) for i in part])
                raw = np.maximum(self.last_hidden(batch) @ weight + bias, 0.0)
                out[part] = raw / (np.linalg.norm(raw, axis=1, keepdims=True) + 1e-12)
        return out

    def last_hidden(self, x: np.ndarray) -> np.ndarray:
        """The last layer's hidden state after the last frame of ``x``, shape=(batch, 256).

        ``x`` : shape=(batch, frames, 40), float32 (PyTorch's ``LSTM(batch_first=True)``)."""
        seq = np.ascontiguousarray(np.swapaxes(x, 0, 1), dtype=np.float32)  # (frames, batch, d)
        return np.asarray(self.lstm.run(["h"], {"x": seq})[0][0])


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """resemblyzer's input: 40-band mel power spectrogram, 25 ms window, 10 ms hop.

    What ``librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40)``
    computes: a frame centred on every hop (the signal padded with half a window of zeros
    each side), periodic Hann window, power spectrum, Slaney mel filters (:func:`mel_filters`).

    Returns
    -------
    np.ndarray, shape=(n_frames, 40), float32 (power, not log)
    """
    x = np.pad(np.asarray(samples, dtype=np.float32), N_FFT // 2)
    n = 1 + (len(x) - N_FFT) // MEL_HOP
    step = x.strides[0]
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n, N_FFT), strides=(step * MEL_HOP, step), writeable=False
    )
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    filters = mel_filters().T
    mel = np.empty((n, N_MELS), dtype=np.float32)
    for start in range(0, n, MEL_BLOCK):  # in blocks: a long call's spectrum is never held whole
        spectrum = np.fft.rfft(frames[start : start + MEL_BLOCK] * window, axis=1)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
        mel[start : start + MEL_BLOCK] = power @ filters
    return mel


# Slaney's mel scale (librosa's default): linear below 1 kHz (3 mel per 200 Hz), logarithmic
# above (27 mel per factor 6.4)
MEL_LINEAR_HZ = 200.0 / 3
MEL_BREAK_HZ = 1000.0
MEL_LOG_STEP = float(np.log(6.4) / 27.0)


@functools.lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """librosa's Slaney mel filter bank (``librosa.filters.mel(sr=16000, n_fft=400,
    n_mels=40)``): triangles evenly spaced on the Slaney mel scale from 0 Hz to 8 kHz, each
    scaled to unit area; shape=(40, 201), float32."""
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(SAMPLE_RATE / 2)), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def _hz_to_mel(hz: float) -> float:
    if hz < MEL_BREAK_HZ:
        return hz / MEL_LINEAR_HZ
    return MEL_BREAK_HZ / MEL_LINEAR_HZ + float(np.log(hz / MEL_BREAK_HZ)) / MEL_LOG_STEP


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    knee = MEL_BREAK_HZ / MEL_LINEAR_HZ
    log = MEL_BREAK_HZ * np.exp(MEL_LOG_STEP * (mel - knee))
    return np.where(mel >= knee, log, MEL_LINEAR_HZ * mel)


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


def onnx_layers(state: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The ``lstm.*`` layers of a PyTorch LSTM's state dict as (W, R, B) in ONNX's layout
    (:func:`callqa.audio.onnx_lstm.lstm_graph`): PyTorch orders the gates (input, forget,
    cell, output), ONNX (input, output, forget, cell); the layer count and hidden size are the
    state's."""
    n = state["lstm.weight_hh_l0"].shape[1]
    order = np.r_[0:n, 3 * n : 4 * n, n : 2 * n, 2 * n : 3 * n]
    layers: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    while f"lstm.weight_ih_l{len(layers)}" in state:
        k = len(layers)
        w, r = state[f"lstm.weight_ih_l{k}"], state[f"lstm.weight_hh_l{k}"]
        b = np.concatenate([state[f"lstm.bias_ih_l{k}"][order], state[f"lstm.bias_hh_l{k}"][order]])
        layers.append((w[order], r[order], b))
    return layers


@functools.lru_cache(maxsize=1)
def load_encoder() -> ResemblyzerEncoder:
    """Load resemblyzer's speaker encoder once per process (~0.1 s, a 17 MB file, CPU)."""
    path = encoder_weights_path()
    try:
        state = read_legacy_checkpoint(path)["model_state"]
        layers = onnx_layers(state)
        if len(layers) != 3:
            raise ValueError(f"{len(layers)} LSTM layers, not resemblyzer's 3")
        linear = (np.ascontiguousarray(state["linear.weight"].T), state["linear.bias"])
    except (OSError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as exc:
        raise ModelError(f"cannot read {path} ({exc}); reinstall resemblyzer") from exc
    return ResemblyzerEncoder(lstm=lstm_session(layers), linear=linear)


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of a torch.save file before torch 1.6


def read_legacy_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint saved by ``torch.save`` before torch 1.6, read without torch; its float32
    tensors become numpy arrays.

    Such a file is a sequence of pickles (magic number, protocol version, system info, the
    saved object with each tensor's storage as a persistent id, the storage keys), then each
    storage's bytes, preceded by its element count (int64). Only the globals a checkpoint of
    float tensors names are allowed (:class:`_CheckpointUnpickler`); any other is an
    ``UnpicklingError``, so the file cannot run code.

    Raises
    ------
    ValueError
        Not such a checkpoint, big-endian, or truncated.
    pickle.UnpicklingError
        It names anything but float32 tensors in dicts.
    """
    with path.open("rb") as f:
        if _plain(f) != LEGACY_MAGIC:
            raise ValueError("not a torch checkpoint of the legacy format")
        _plain(f)  # protocol version
        if not _plain(f).get("little_endian", False):
            raise ValueError("a big-endian checkpoint")
        unpickler = _CheckpointUnpickler(f)
        saved = unpickler.load()
        storages: dict[str, np.ndarray] = {}
        for key in _plain(f):
            (count,) = struct.unpack("<q", f.read(8))
            data = f.read(4 * count)
            if len(data) != 4 * count:
                raise ValueError("the checkpoint is truncated")
            storages[str(key)] = np.frombuffer(data, dtype="<f4")
    return _resolve(saved, storages)


def _plain(f: Any) -> Any:
    """One pickle of plain values (numbers, strings, lists, dicts): no global is allowed."""
    return _CheckpointUnpickler(f, allowed={}).load()


@dataclass(frozen=True)
class _TensorRef:
    """A tensor of the checkpoint, before its storage's bytes are read."""

    key: str
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: str, offset: int, size: Any, stride: Any, *_: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


class _FloatStorage:
    """Stands in for ``torch.FloatStorage`` (only its name is read)."""


CHECKPOINT_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch", "FloatStorage"): _FloatStorage,
}


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles only ``allowed`` globals; a storage becomes its key (float32 only)."""

    def __init__(self, file: Any, allowed: dict[tuple[str, str], Any] | None = None) -> None:
        super().__init__(file)
        self.allowed = CHECKPOINT_GLOBALS if allowed is None else allowed

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a checkpoint")
        return found

    def persistent_load(self, pid: Any) -> str:
        if len(pid) < 3 or pid[0] != "storage" or pid[1] is not _FloatStorage:
            raise pickle.UnpicklingError("only float32 storages are supported")
        return str(pid[2])


def _resolve(obj: Any, storages: dict[str, np.ndarray]) -> Any:
    """``obj`` with every tensor reference replaced by a numpy array (a copy)."""
    if isinstance(obj, _TensorRef):
        flat = storages[obj.key][obj.offset :]
        reach = sum((n - 1) * s for n, s in zip(obj.size, obj.stride, strict=True))
        if int(np.prod(obj.size)) and reach >= len(flat):
            raise ValueError("a tensor reaches past its storage")
        strides = tuple(flat.itemsize * s for s in obj.stride)
        view = np.lib.stride_tricks.as_strided(flat, obj.size, strides, writeable=False)
        return np.array(view, dtype=np.float32)
    if isinstance(obj, dict):
        return {k: _resolve(v, storages) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_resolve(v, storages) for v in obj)
    return obj
