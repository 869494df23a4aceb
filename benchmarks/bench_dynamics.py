"""Accuracy and speed of speech activity, diarization and conversation dynamics.

Run from the repository root:  python benchmarks/bench_dynamics.py
Writes benchmarks/results/dynamics.md. Reads ../shared/eval/calls and sample_calls/.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from callqa.audio.activity import detect_activity, load_vad
from callqa.audio.diarize import diarization_error_rate
from callqa.audio.load import load_audio
from callqa.audio.speaker import (
    encoder_weights_path,
    load_encoder,
    onnx_layers,
    read_legacy_checkpoint,
)
from callqa.config import DynamicsConfig
from callqa.measures.dynamics import measure_dynamics, talk_time
from callqa.types import CallAudio, SpeechActivity, Transcript, Turn

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval" / "calls"
SAMPLES = ROOT / "sample_calls"
OUT = ROOT / "benchmarks" / "results" / "dynamics.md"
CFG = DynamicsConfig()


def rttm(path: Path) -> list[Turn]:
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        out.append(Turn(f[7], float(f[3]), float(f[3]) + float(f[4])))
    return out


def overlap_s(turns: list[Turn] | tuple[Turn, ...], a: str, b: str) -> float:
    ta = [t for t in turns if t.speaker == a]
    tb = [t for t in turns if t.speaker == b]
    return sum(max(0.0, min(x.end, y.end) - max(x.start, y.start)) for x in ta for y in tb)


def relabel(act: SpeechActivity) -> SpeechActivity:
    names = {"left": "agent", "right": "customer"}
    turns = tuple(Turn(names[t.speaker], t.start, t.end) for t in act.turns)
    return SpeechActivity(turns, act.method)


def mono_section(lines: list[str]) -> None:
    audio = load_audio(EVAL / "pyannote_sample.wav")
    ref = rttm(EVAL / "pyannote_sample.rttm")
    encoder = load_encoder()
    lines += [
        "## Mono diarization: pyannote_sample.wav (real telephone call, 30 s, RTTM)",
        "",
        "| window / step (s) | DER (no collar, overlap counted) | spk0 talk (s) vs speaker90 11.84 "
        "| spk1 talk (s) vs speaker91 12.51 | overlap found (s) vs 1.89 |",
        "|---|---|---|---|---|",
    ]
    for w, s in ((1.5, 0.75), (2.0, 0.5), (1.5, 0.5), (1.0, 0.5)):
        cfg = DynamicsConfig(diarization_window_s=w, diarization_step_s=s)
        act = detect_activity(audio, cfg, encoder=encoder)
        talk = {t.speaker: t.talk_s for t in talk_time(act, audio.duration_s)}
        der = diarization_error_rate(ref, act.turns)
        mark = " (default)" if (w, s) == (1.5, 0.75) else ""
        lines.append(
            f"| {w} / {s}{mark} | {der:.1%} | {talk.get('spk0', 0):.2f} | "
            f"{talk.get('spk1', 0):.2f} | {overlap_s(act.turns, 'spk0', 'spk1'):.2f} |"
        )
    lines.append("")


def sample_section(lines: list[str]) -> None:
    lines += [
        "## Stereo sample calls (sample_calls/*.ogg, synthetic espeak-ng, 8 kHz, -25 dB leakage)",
        "",
        "| call | scripted interruptions | competitive found (right interrupter, within 0.3 s) "
        "| false "
        "| backchannels scripted / found | agent talk share truth | measured | error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(SAMPLES.glob("*.ogg")):
        truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())
        audio = load_audio(path)
        if audio.n_channels != 2:
            continue
        act = relabel(detect_activity(audio, CFG))
        d = measure_dynamics(act, Transcript("en", ()), audio.duration_s, CFG)
        found = [e for e in d.interruptions if e.kind == "competitive"]
        want = truth["interruptions"]
        hit = sum(
            any(
                f.interrupter == w["interrupter"] and abs(f.start - w["start"]) < 0.3 for f in found
            )
            for w in want
        )
        false = len(found) - hit
        bc = sum(e.kind == "backchannel" for e in d.interruptions)
        ts = truth["talk_s"]
        share = ts["agent"] / (ts["agent"] + ts["customer"])
        got = d.agent_talk_share or 0.0
        lines.append(
            f"| {path.name} | {len(want)} | {hit} | {false} | {len(truth['backchannels'])} / {bc} "
            f"| {share:.3f} | {got:.3f} | {got - share:+.3f} |"
        )
    lines.append("")


def leaked(audio: CallAudio, db: float) -> CallAudio:
    g = 10 ** (db / 20)
    left, right = audio.channels
    return CallAudio((left + g * right, right + g * left), None, "", audio.original_sample_rate)


def aws_section(lines: list[str]) -> None:
    audio = load_audio(EVAL / "aws_auto_repairs_40_stereo_agentL.wav")
    ref = rttm(EVAL / "aws_auto_repairs_40_stereo_agentL.energy_vad.rttm")
    ra = sum(t.duration for t in ref if t.speaker == "agent")
    rc = sum(t.duration for t in ref if t.speaker == "caller")
    lines += [
        "## Stereo cross-talk gate: aws_auto_repairs_40_stereo_agentL.wav (245 s, 8 kHz)",
        "",
        f"Reference (derived per-channel energy VAD, not human): agent {ra:.1f} s, caller "
        f"{rc:.1f} s, overlap {overlap_s(ref, 'agent', 'caller'):.1f} s. Rows with leakage add "
        "each channel into the other at the given gain (the recording itself has none).",
        "",
        "| added leakage | gate | agent talk (s) | error | caller talk (s) | error | overlap (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for db in (None, -20.0, -10.0):
        a = audio if db is None else leaked(audio, db)
        for gate in ("leak", "dominance", "off"):
            act = detect_activity(a, DynamicsConfig(crosstalk_gate=gate))
            talk = {t.speaker: t.talk_s for t in talk_time(act, a.duration_s)}
            lines.append(
                f"| {'none' if db is None else f'{db:.0f} dB'} | {gate} | {talk['left']:.1f} | "
                f"{(talk['left'] - ra) / ra:+.1%} | {talk['right']:.1f} | "
                f"{(talk['right'] - rc) / rc:+.1%} | "
                f"{overlap_s(act.turns, 'left', 'right'):.1f} |"
            )
    lines.append("")


def streaming_vad_s(samples: np.ndarray) -> float:
    """Baseline: Silero's streaming ONNX model, one call per 32 ms frame (the package's loop)."""
    import importlib.util

    import onnxruntime as ort

    spec = importlib.util.find_spec("silero_vad")
    assert spec and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    state = np.zeros((2, 1, 128), np.float32)
    ctx = np.zeros((1, 64), np.float32)
    sr = np.array(16000, dtype=np.int64)
    t = time.perf_counter()
    for i in range(0, len(samples) - 512, 512):
        x = np.concatenate([ctx, samples[None, i : i + 512]], axis=1)
        _, state = sess.run(None, {"input": x, "state": state, "sr": sr})
        ctx = x[:, -64:]
    return time.perf_counter() - t


class NumpyLstm:
    """Baseline: the speaker encoder's LSTM as earlier versions ran it, with numpy on one BLAS
    thread, one frame at a time for a batch of windows (the same hidden states to 1e-5).

    Stands in for the onnxruntime session of :class:`callqa.audio.speaker.ResemblyzerEncoder`
    (its ``run(["h"], {"x": x})``, ``x`` of shape (frames, batch, 40))."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        self.layers = [(w.T.copy(), r.T.copy(), b[: len(w)] + b[len(w) :]) for w, r, b in layers]

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        from threadpoolctl import threadpool_limits

        seq = feeds["x"]
        with threadpool_limits(limits=1, user_api="blas"):
            for w_ih, w_hh, bias in self.layers:
                n, size = seq.shape[1], w_hh.shape[0]
                gates_in = seq @ w_ih + bias
                h, c = np.zeros((n, size), np.float32), np.zeros((n, size), np.float32)
                z = np.empty((n, 4 * size), np.float32)
                hidden = np.empty((seq.shape[0], n, size), np.float32)
                sig, g = z[:, : 3 * size], z[:, 3 * size :]  # ONNX order: input, output, forget
                i, o, f = sig[:, :size], sig[:, size : 2 * size], sig[:, 2 * size :]
                for t in range(seq.shape[0]):
                    np.matmul(h, w_hh, out=z)
                    z += gates_in[t]
                    sig *= 0.5  # sigmoid(x) = (1 + tanh(x / 2)) / 2
                    np.tanh(sig, out=sig)
                    sig += 1.0
                    sig *= 0.5
                    np.tanh(g, out=g)
                    c *= f
                    i *= g
                    c += i
                    np.tanh(c, out=h)
                    h *= o
                    hidden[t] = h
                seq = hidden
        return [seq[-1:]]


def best_of(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def speed_section(lines: list[str]) -> None:
    stereo = load_audio(EVAL / "aws_auto_repairs_40_stereo_agentL.wav")
    mono = CallAudio((stereo.mix,), None, "", 8000)
    short = load_audio(EVAL / "pyannote_sample.wav")
    load_vad(1)
    encoder = load_encoder()
    empty = Transcript("en", ())

    def stereo_stage() -> None:
        act = relabel(detect_activity(stereo, CFG))
        measure_dynamics(act, empty, stereo.duration_s, CFG)

    t_stereo = best_of(stereo_stage)
    t_mono = best_of(lambda: detect_activity(mono, CFG, encoder=encoder))
    state = read_legacy_checkpoint(encoder_weights_path())["model_state"]
    numpy_encoder = replace(encoder, lstm=NumpyLstm(onnx_layers(state)))
    t_numpy = best_of(lambda: detect_activity(mono, CFG, encoder=numpy_encoder))
    t_short = best_of(lambda: detect_activity(short, CFG, encoder=encoder))
    base = sum(streaming_vad_s(ch) for ch in stereo.channels)
    d = stereo.duration_s
    lines += [
        "## Speed (2 CPU cores, onnxruntime 1 thread, torch <= 2 threads; best of 3, models "
        "loaded once)",
        "",
        "| stage | audio | time (s) | x real time |",
        "|---|---|---|---|",
        f"| baseline: Silero streaming ONNX, one call per frame, both channels | AWS 245 s stereo "
        f"| {base:.2f} | {d / base:.0f} |",
        f"| activity (batched Silero + gate) + dynamics, stereo | AWS 245 s stereo | "
        f"{t_stereo:.2f} | {d / t_stereo:.0f} ({base / t_stereo:.1f}x the baseline) |",
        f"| baseline: activity + diarization, mono, the LSTM with numpy (earlier versions) | "
        f"AWS 245 s mixed to mono | {t_numpy:.2f} | {d / t_numpy:.0f} |",
        f"| activity + diarization, mono (LSTM in onnxruntime) | AWS 245 s mixed to mono | "
        f"{t_mono:.2f} | {d / t_mono:.0f} ({t_numpy / t_mono:.1f}x the numpy LSTM) |",
        f"| activity + diarization, mono | pyannote 30 s | {t_short:.2f} | "
        f"{short.duration_s / t_short:.0f} |",
        "",
    ]


def main() -> None:
    lines = [
        "# Conversation dynamics benchmark",
        "",
        "Produced by benchmarks/bench_dynamics.py.",
        "",
    ]
    mono_section(lines)
    sample_section(lines)
    aws_section(lines)
    speed_section(lines)
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
