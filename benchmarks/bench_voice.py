"""Voice stage benchmark: pitch accuracy on FDA (laryngograph reference) and stage speed.

Writes benchmarks/results/voice.md. Run from the repository root::

    python benchmarks/bench_voice.py            # all methods (librosa.pyin takes ~1-2 min)
    python benchmarks/bench_voice.py --no-pyin

Pitch: ../shared/eval/pitch/fda_ue (rlNNN male, sbNNN female, 20 kHz, reference F0 every
15 ms, 0 = unvoiced). Conditions: "16 kHz" (resampled as callqa loads audio) and "8 kHz
telephone" (resampled to 8 kHz, 300-3400 Hz 4th-order Butterworth band-pass, back to 16 kHz).
GPE = share of frames voiced in both reference and estimate that are off by more than 20 %;
VDE = share of all frames whose voicing decision differs. The reference frame times are
``offset + 15 ms * k``; the offset is chosen by maximising agreement (min GPE + VDE) over
-30..+45 ms in 2.5-ms steps, pooled over every file and condition of the method.

Speed: the whole voice stage (measure_voice) on the 245-s stereo AWS call with the derived
energy-VAD turns as the activity, best of 3, against Praat's pitch on both full 16-kHz
channels measured in the same run, so machine load cancels out.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, resample_poly, sosfilt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callqa.config import VoiceConfig  # noqa: E402
from callqa.measures.voice import HOP_S, measure_voice, pitch_track  # noqa: E402
from callqa.types import AGENT, CUSTOMER, CallAudio, SpeechActivity, Transcript, Turn  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
FDA = EVAL / "pitch" / "fda_ue"
CALL = EVAL / "calls" / "aws_auto_repairs_40_stereo_agentL.wav"
SR = 16_000
REF_STEP = 0.015  # s between reference values
OFFSETS = np.arange(-0.030, 0.0451, 0.0025)
Tracker = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # y16k -> (times s, f0 Hz)


def telephone(y: np.ndarray, sr: int) -> np.ndarray:
    """Resample to 8 kHz, band-pass 300-3400 Hz, back to 16 kHz (what the pipeline would get)."""
    g = np.gcd(sr, 8000)
    y8 = resample_poly(y, 8000 // g, sr // g)
    y8 = sosfilt(butter(4, [300, 3400], btype="band", fs=8000, output="sos"), y8)
    return resample_poly(y8, 2, 1)


def wideband(y: np.ndarray, sr: int) -> np.ndarray:
    g = np.gcd(sr, SR)
    return resample_poly(y, SR // g, sr // g)


def callqa_tracker(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stage's own path: voice.pitch_track (Praat ac, 8-kHz analysis) on every frame."""
    n = int(np.ceil(len(y) / (HOP_S * SR)))
    f0 = pitch_track(y.astype(np.float32), SR, n, np.ones(n, dtype=bool), VoiceConfig())
    return (np.arange(n) + 0.5) * HOP_S, f0


def praat16_tracker(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import parselmouth

    pitch = parselmouth.Sound(y.astype(np.float64), SR).to_pitch(0.01, 60, 400)
    return pitch.xs(), pitch.selected_array["frequency"]


def pyin_tracker(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    f0, voiced, _ = librosa.pyin(
        y.astype(np.float32), fmin=60, fmax=400, sr=SR, frame_length=1024, hop_length=160
    )
    f0 = np.where(voiced, np.nan_to_num(f0), 0.0)
    return np.arange(len(f0)) * 160 / SR, f0


def frame_counts(t: np.ndarray, f0: np.ndarray, ref: np.ndarray, offset: float) -> np.ndarray:
    """[gross errors, both voiced, voicing errors, frames] for one file at one offset."""
    times = offset + REF_STEP * np.arange(len(ref))
    idx = np.clip(np.searchsorted(t, times), 1, len(t) - 1)
    idx -= (times - t[idx - 1]) < (t[idx] - times)  # nearest estimate frame
    est = np.where((times >= t[0] - 0.01) & (times <= t[-1] + 0.01), f0[idx], 0.0)
    v_ref, v_est = ref > 0, est > 0
    both = v_ref & v_est
    gross = np.abs(est[both] - ref[both]) > 0.2 * ref[both]
    return np.array([gross.sum(), both.sum(), (v_ref != v_est).sum(), len(ref)], dtype=float)


def run_pitch(name: str, tracker: Tracker) -> dict:
    """Counts per (condition, voice) and offset, plus the speed (x real time)."""
    counts: dict[tuple[str, str], np.ndarray] = {}
    audio_s = busy_s = 0.0
    for cond, prep in (("16 kHz", wideband), ("8 kHz telephone", telephone)):
        for voice, prefix in (("male", "rl"), ("female", "sb")):
            acc = np.zeros((len(OFFSETS), 4))
            for wav in sorted(glob.glob(str(FDA / f"{prefix}*.wav"))):
                y, sr = sf.read(wav)
                ref = np.loadtxt(wav[:-4] + ".f0ref")
                y16 = prep(y, sr)
                t0 = time.perf_counter()
                t, f0 = tracker(y16)
                busy_s += time.perf_counter() - t0
                audio_s += len(y16) / SR
                acc += np.array([frame_counts(t, f0, ref, o) for o in OFFSETS])
            counts[(cond, voice)] = acc
    total = sum(counts.values())
    best = int(np.argmin(total[:, 0] / total[:, 1] + total[:, 2] / total[:, 3]))
    print(f"{name}: offset {OFFSETS[best] * 1000:+.1f} ms, {audio_s / busy_s:.0f}x", flush=True)
    return {"counts": counts, "best": best, "speed": audio_s / busy_s}


def stereo_call() -> tuple[CallAudio, SpeechActivity]:
    raw, sr = sf.read(CALL, dtype="float32")
    channels = tuple(resample_poly(raw[:, c], SR, sr).astype(np.float32) for c in range(2))
    turns = []
    for line in CALL.with_suffix(".energy_vad.rttm").read_text().splitlines():
        f = line.split()
        who = AGENT if f[7] == "agent" else CUSTOMER
        turns.append(Turn(who, float(f[3]), float(f[3]) + float(f[4])))
    activity = SpeechActivity(tuple(turns), "rttm", channel_map=((AGENT, 0), (CUSTOMER, 1)))
    return CallAudio(channels, CALL, "x", sr), activity


def best_of(fn: Callable[[], object], n: int = 3) -> tuple[float, float]:
    """Best wall-clock and best CPU (process) seconds of ``n`` runs of ``fn``."""
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def run_speed() -> dict:
    import parselmouth

    audio, activity = stereo_call()
    transcript = Transcript("en", ())
    measure_voice(audio, activity, transcript, VoiceConfig())  # warm-up: imports
    stage = best_of(lambda: measure_voice(audio, activity, transcript, VoiceConfig()))

    def praat_full() -> None:
        for ch in audio.channels:
            parselmouth.Sound(ch.astype(np.float64), SR).to_pitch(0.01, 60, 400)

    baseline = best_of(praat_full)
    return {
        "duration": audio.duration_s,
        "stage": stage,
        "baseline": baseline,
        "load": os.getloadavg()[0],
        "cores": os.cpu_count(),
    }


def _speed_row(label: str, times: tuple[float, float], duration: float) -> str:
    wall, cpu = times
    return f"| {label} | {wall:.2f} | {duration / wall:.0f}x | {cpu:.2f} | {duration / cpu:.0f}x |"


def pitch_table(results: dict[str, dict]) -> list[str]:
    lines = [
        "| method | condition | voice | GPE (>20 %) | VDE | voiced ref frames | x real time |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        for (cond, voice), acc in r["counts"].items():
            g, b, v, n = acc[r["best"]]
            lines.append(
                f"| {name} | {cond} | {voice} | {100 * g / b:.2f} % | {100 * v / n:.2f} % "
                f"| {int(b)} | {r['speed']:.0f}x |"
            )
    return lines


def offset_table(results: dict[str, dict]) -> list[str]:
    lines = [
        "| method | best offset | GPE + VDE at -15 / -7.5 / 0 / +7.5 / +15 ms |",
        "|---|---:|---|",
    ]
    for name, r in results.items():
        total = sum(r["counts"].values())
        score = total[:, 0] / total[:, 1] + total[:, 2] / total[:, 3]
        picks = [int(np.argmin(np.abs(OFFSETS - o))) for o in (-0.015, -0.0075, 0, 0.0075, 0.015)]
        shown = " / ".join(f"{100 * score[i]:.1f} %" for i in picks)
        lines.append(f"| {name} | {OFFSETS[r['best']] * 1000:+.1f} ms | {shown} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pyin", action="store_true", help="skip librosa.pyin (slow)")
    args = parser.parse_args()
    if not FDA.is_dir() or not CALL.exists():
        sys.exit(f"evaluation data not found under {EVAL}")
    trackers: dict[str, Tracker] = {
        "callqa (Praat ac, 8-kHz analysis)": callqa_tracker,
        "Praat to_pitch(0.01, 60, 400), 16 kHz": praat16_tracker,
    }
    if not args.no_pyin:
        trackers["librosa.pyin 60-400 Hz"] = pyin_tracker
    results = {name: run_pitch(name, fn) for name, fn in trackers.items()}
    speed = run_speed()
    ratio = speed["baseline"][0] / speed["stage"][0]
    out = [
        "# Voice benchmark",
        "",
        "Generated by `python benchmarks/bench_voice.py`.",
        "",
        "## Pitch accuracy: FDA (../shared/eval/pitch/fda_ue, 50 male rl + 50 female sb sentences)",
        "",
        *pitch_table(results),
        "",
        "GPE: share of frames voiced in reference and estimate with |error| > 20 %. VDE: share "
        "of all reference frames with the wrong voicing decision. x real time: audio seconds "
        "per second of the tracker alone, single process.",
        "",
        "### Reference frame alignment",
        "",
        "Reference frame k is taken at `offset + 15 ms * k`; the offset minimising pooled "
        "GPE + VDE over -30..+45 ms (2.5-ms steps):",
        "",
        *offset_table(results),
        "",
        "## Stage speed: aws_auto_repairs_40_stereo_agentL.wav (245 s, 2 channels)",
        "",
        "| measure | wall s | x real time (wall) | CPU s | x real time (CPU) |",
        "|---|---:|---:|---:|---:|",
        _speed_row("measure_voice, both speakers (best of 3)", speed["stage"], speed["duration"]),
        _speed_row(
            "baseline: Praat to_pitch on both full 16-kHz channels",
            speed["baseline"],
            speed["duration"],
        ),
        "",
        f"Stage / baseline speed ratio (wall): **{ratio:.2f}x**: the stage runs {ratio:.2f} "
        "times as fast as Praat's pitch alone on the full channels, because it analyses only "
        "each speaker's dominant speech, at 8 kHz. The stage is single-threaded, so its CPU "
        "time is its wall time on an idle core; wall times include waiting for the CPU when "
        f"the machine is busy. Machine: {speed['cores']} cores, 1-min load average "
        f"{speed['load']:.1f} at the end of the run.",
        "",
    ]
    path = ROOT / "benchmarks" / "results" / "voice.md"
    path.write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
