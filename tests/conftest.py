"""Shared fixtures: paths to the evaluation data and the bundled sample calls, generated audio,
and one real transcriber per test session."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
SAMPLES = ROOT / "sample_calls"

# Tests never download anything: the shipped model is the only one used.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Nor read the user's own config file (callqa.config.find_config looks there).
os.environ.pop("CALLQA_CONFIG", None)
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="callqa-tests-config-")


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    """../shared/eval (real recordings and labels); tests needing it skip when it is absent."""
    if not EVAL.is_dir():
        pytest.skip(f"evaluation data not found at {EVAL}")
    return EVAL


@pytest.fixture(scope="session")
def sample_calls() -> Path:
    """The bundled synthetic sample calls."""
    return SAMPLES


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A per-session cache for the joined/converted weights (keeps the user's cache untouched)."""
    preset = os.environ.get("CALLQA_TEST_CACHE")
    cache = Path(preset) if preset else tmp_path_factory.mktemp("cache")
    os.environ["CALLQA_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def transcriber(model_cache: Path):  # type: ignore[no-untyped-def]
    """The default real transcriber (faster-whisper, shipped Whisper base), loaded once."""
    from callqa.config import TranscriptionConfig
    from callqa.transcription.load import load_transcriber

    return load_transcriber(TranscriptionConfig(threads=2))


def clip(out: Path, start: float, seconds: float, source: Path = SAMPLES / "en_good.ogg") -> Path:
    """Cut ``seconds`` of a sample call starting at ``start`` [s] into ``out`` (format from its
    extension; PyAV, no system ffmpeg)."""
    from callqa.audio.encode import transcode

    if not source.exists():
        pytest.skip("sample_calls/ not generated yet")
    out.parent.mkdir(parents=True, exist_ok=True)
    return transcode(source, out, start_s=start, duration_s=seconds)


def write_wav(path: Path, channels: list[np.ndarray], sr: int = 16_000) -> Path:
    """Write float channels (equal length) as a 16-bit WAV."""
    data = np.stack(channels, axis=1) if len(channels) > 1 else channels[0]
    sf.write(path, data, sr, subtype="PCM_16")
    return path


def speak(text: str, path: Path, voice: str = "en+m3", speed: int = 150) -> Path:
    """Synthesize ``text`` with espeak-ng into a WAV file (synthetic test speech)."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def fresh_output(script: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """What the Python ``script`` prints (split on whitespace), run with ``args`` in a fresh
    process (with ``env`` added to this one's environment): the C heap and the threads of this
    one would hide what a test of the heap policy looks for. The script must succeed."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def run_limited(
    args: list[str], *, memory_mb: int = 1024, cpu_s: int = 60, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run a command with its address space capped at ``memory_mb`` MiB and its CPU time at
    ``cpu_s`` s (``resource`` limits set in the child): a run that needs more dies instead of
    passing. Returns the finished process (text output captured)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        args,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        env=env,
        timeout=cpu_s * 3,
        **kw,  # type: ignore[arg-type]
    )


def tone_channel(total_s: float, spans: list[tuple[float, float]], leak: float = 0.0) -> np.ndarray:
    """A 16 kHz channel of ``total_s`` s: a 220 Hz tone inside ``spans`` [s], ``leak`` level
    elsewhere (a hand-made timeline for the decoding tests)."""
    from callqa.types import SAMPLE_RATE as SR

    x = np.full(int(total_s * SR), leak, dtype=np.float32)
    for start, end in spans:
        t = np.arange(int(start * SR), int(end * SR)) / SR
        x[int(start * SR) : int(start * SR) + len(t)] = 0.3 * np.sin(2 * np.pi * 220 * t)
    return x


def call_audio(*channels: np.ndarray):  # type: ignore[no-untyped-def]
    """A :class:`~callqa.types.CallAudio` of 16 kHz channels, with no source file."""
    from callqa.types import SAMPLE_RATE, CallAudio

    return CallAudio(channels=channels, source=None, sha256="0" * 64,
                     original_sample_rate=SAMPLE_RATE)  # fmt: skip


def stereo_activity(*turns):  # type: ignore[no-untyped-def]
    """Speech activity of a stereo call: "left" turns on channel 0, "right" on channel 1."""
    from callqa.types import SpeechActivity

    return SpeechActivity(turns=turns, method="hand", speakers=("left", "right"),
                          channel_map=(("left", 0), ("right", 1)))  # fmt: skip


# A script fragment for a fresh process: how many of its allocations glibc holds as mappings of
# their own (mallinfo2's hblks, glibc 2.33+) while an array of ``nbytes`` is alive.
MALLINFO = (
    "import ctypes\n"
    "import numpy as np\n"
    "class Info(ctypes.Structure):  # glibc's struct mallinfo2 (2.33+): ten size_t fields\n"
    "    _fields_ = [(f'f{i}', ctypes.c_size_t) for i in range(10)]\n"
    "libc = ctypes.CDLL(None)\n"
    "libc.mallinfo2.restype = Info\n"
    "def mapped_while_held(nbytes):  # allocations held as mappings of their own (hblks)\n"
    "    before = libc.mallinfo2().f3\n"
    "    array = np.ones(nbytes, np.uint8)\n"
    "    return libc.mallinfo2().f3 - before\n"
)
