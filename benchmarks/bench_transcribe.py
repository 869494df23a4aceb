"""Transcription benchmark: speed, peak memory and WER of the two backends; cross-talk modes.

Usage (from the repository root)::

    python benchmarks/bench_transcribe.py            # everything, writes results/transcribe.md
    python benchmarks/bench_transcribe.py --quick    # speech clips only, no sample calls/aws

Each backend configuration runs in its own subprocess (``--worker NAME``) so that its peak
resident memory (``ru_maxrss``) is its own. Speed is given as x real time (seconds of audio
channel decoded per second of wall time) and as a ratio to openai-whisper greedy measured in
the same run. Data: ../shared/eval/speech/ (language forced), the stereo LibriSpeech clip,
and sample_calls/*.ogg with their .truth.json (synthetic espeak-ng calls) when present.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
RESULTS = ROOT / "benchmarks" / "results" / "transcribe.md"
sys.path.insert(0, str(ROOT))

THREADS = 2
CONFIGS: dict[str, dict[str, Any]] = {
    "faster-whisper int8 beam 5": {"backend": "faster-whisper", "beam_size": 5},
    "faster-whisper int8 beam 1": {"backend": "faster-whisper", "beam_size": 1},
    "openai-whisper fp32 greedy": {"backend": "openai-whisper", "beam_size": 1},
}
BASELINE = "openai-whisper fp32 greedy"
# a subset of sample_calls/ keeps the openai-whisper run within minutes on 2 cores
BENCH_CALLS = ("en_mono", "en_poor", "nb_call")
CROSSTALK_CALLS = ("en_good", "it_call")
AWS_SECONDS = 60
LIBRI_LEFT = (
    "He began a confused complaint against the wizard, who had vanished behind the curtain "
    "on the left."
)
LIBRI_RIGHT = "The horizon seems extremely distant."
JFK = (
    "And so my fellow Americans ask not what your country can do for you, ask what you can "
    "do for your country."
)


def speech_clips() -> list[tuple[str, Path, str, str]]:
    """(name, path, language, reference) of the short real clips."""
    speech = EVAL / "speech"
    return [
        ("en_jfk", speech / "en_jfk.flac", "en", JFK),
        ("nb_npsc_short", speech / "nb_npsc_short.mp3", "nb", _text(speech / "nb_npsc_short.txt")),
        (
            "nb_npsc_medium",
            speech / "nb_npsc_medium.mp3",
            "nb",
            _text(speech / "nb_npsc_medium.txt"),
        ),
        ("it_leopard", speech / "it_leopard.wav", "it", _text(speech / "it_leopard.txt")),
    ]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def sample_calls() -> list[tuple[str, Path, dict[str, Any]]]:
    """The bundled sample calls that have a .truth.json sidecar."""
    out = []
    for truth in sorted((ROOT / "sample_calls").glob("*.truth.json")):
        audio = truth.with_name(truth.name.replace(".truth.json", ".ogg"))
        if audio.exists():
            out.append((audio.stem, audio, json.loads(truth.read_text(encoding="utf-8"))))
    return out


def truth_refs(truth: dict[str, Any]) -> dict[str, str]:
    """Reference text per source label: "left"/"right" (stereo) or "unknown" (mono)."""
    by_role: dict[str, list[str]] = {}
    for turn in sorted(truth["turns"], key=lambda t: t["start"]):
        by_role.setdefault(turn["speaker"], []).append(turn["text"])
    if truth.get("channels", 2) == 1:
        every = sorted(truth["turns"], key=lambda t: t["start"])
        return {"unknown": " ".join(t["text"] for t in every)}
    agent = truth.get("agent_channel", "left")
    customer = "right" if agent == "left" else "left"
    return {
        agent: " ".join(by_role.get("agent", [])),
        customer: " ".join(by_role.get("customer", [])),
    }


# --------------------------------------------------------------------------- worker


def worker(name: str, quick: bool) -> dict[str, Any]:
    """Load one configuration and transcribe every clip; return figures as plain data."""
    from callqa.audio import load_audio
    from callqa.transcribe import TranscriptionConfig, load_transcriber, transcribe_call
    from callqa.wer import edit_distance, normalize_text

    config = TranscriptionConfig(threads=THREADS, **CONFIGS[name])
    t0 = time.perf_counter()
    transcriber = load_transcriber(config)
    load_s = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []

    def run(label: str, path: Path, language: str, refs: dict[str, str], activity: Any) -> None:
        audio = load_audio(path)
        t = time.perf_counter()
        tr = transcribe_call(
            audio, transcriber, activity=activity, language=language, config=config
        )
        wall = time.perf_counter() - t
        errors = words = 0
        for speaker, ref in refs.items():
            hyp = " ".join(w.text for w in tr.words if w.speaker == speaker)
            r = normalize_text(ref)
            errors += edit_distance(r, normalize_text(hyp))
            words += len(r)
        rows.append(
            {
                "clip": label,
                "audio_s": audio.duration_s * audio.n_channels,
                "wall_s": wall,
                "wer": errors / max(1, words),
                "ref_words": words,
            }
        )
        print(f"  {name} {label}: {wall:.1f} s, WER {errors / max(1, words):.3f}", file=sys.stderr)

    # warm-up (numba compiles the word-timing DTW on first use) outside the timed runs
    from callqa.types import CallAudio

    warm = load_audio(EVAL / "speech" / "en_jfk.flac")
    transcribe_call(CallAudio((warm.channels[0][:32000],), None, "", 16000), transcriber,
                    activity=None, language="en", config=config)  # fmt: skip
    detected = {}
    for label, path, language, ref in speech_clips():
        audio = load_audio(path)
        detected[label] = transcriber.detect_language(audio.mix[: 30 * 16000])
        run(label, path, language, {"unknown": ref}, None)
    libri = EVAL / "calls" / "librispeech_stereo_two_speakers.wav"
    run("librispeech_stereo", libri, "en", {"left": LIBRI_LEFT, "right": LIBRI_RIGHT}, None)
    if not quick:
        for label, path, truth in sample_calls():
            if label not in BENCH_CALLS:
                continue
            audio = load_audio(path)
            run(label, path, truth["language"], truth_refs(truth), _activity(audio))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"name": name, "load_s": load_s, "peak_mb": peak_mb, "rows": rows, "detected": detected}


def _activity(audio: Any) -> Any:
    try:
        from callqa.activity import detect_activity
        from callqa.dynamics import DynamicsConfig
    except ImportError:
        return None
    return detect_activity(audio, DynamicsConfig())


# --------------------------------------------------------------------------- cross-talk


def crosstalk_study(quick: bool) -> list[dict[str, Any]]:
    """Compare the stereo leakage modes with the default model.

    Sample calls: WER per channel against the scripted text (cross-talk -25 dB, known).
    aws_auto_repairs_40 (first AWS_SECONDS s): share of words that also appear, same text, within
    0.5 s, on the other channel (a leaked word is transcribed twice) and words kept.
    """
    from callqa.audio import load_audio
    from callqa.transcribe import TranscriptionConfig, load_transcriber, transcribe_call
    from callqa.types import CallAudio
    from callqa.wer import edit_distance, normalize_text

    base = TranscriptionConfig(threads=THREADS)
    transcriber = load_transcriber(base)
    calls = [
        (label, path, truth) for label, path, truth in sample_calls() if truth["channels"] == 2
    ]
    calls = [c for c in calls if c[0] in CROSSTALK_CALLS[: 1 if quick else None]]
    aws = load_audio(EVAL / "calls" / "aws_auto_repairs_40_stereo_agentL.wav")
    aws = CallAudio(tuple(c[: AWS_SECONDS * 16000] for c in aws.channels), None, aws.sha256, 8000)
    rows = []
    audios = {label: (load_audio(path), truth) for label, path, truth in calls}
    activities = {label: _activity(a) for label, (a, _) in audios.items()}
    aws_activity = _activity(aws)
    for mode in ("off", "drop-words", "mask"):
        config = replace(base, crosstalk=mode)
        errors = words = 0
        t = time.perf_counter()
        for label, (audio, truth) in audios.items():
            tr = transcribe_call(audio, transcriber, activity=activities[label],
                                 language=truth["language"], config=config)  # fmt: skip
            for speaker, ref in truth_refs(truth).items():
                hyp = " ".join(w.text for w in tr.words if w.speaker == speaker)
                errors += edit_distance(normalize_text(ref), normalize_text(hyp))
                words += len(normalize_text(ref))
        tr = transcribe_call(aws, transcriber, activity=aws_activity, language="en", config=config)
        wall = time.perf_counter() - t
        left = [w for w in tr.words if w.speaker == "left"]
        right = [w for w in tr.words if w.speaker == "right"]
        dup = sum(_echoed(w, right) for w in left) + sum(_echoed(w, left) for w in right)
        n = len(left) + len(right)
        rows.append({"mode": mode, "wer": errors / max(1, words), "aws_words": n,
                     "aws_dup": dup / max(1, n), "wall_s": wall})  # fmt: skip
        print(f"  crosstalk {mode}: {rows[-1]}", file=sys.stderr)
    return rows


def _echoed(word: Any, other: list[Any]) -> bool:
    from callqa.wer import normalize_text

    text = normalize_text(word.text)
    mid = 0.5 * (word.start + word.end)
    return bool(text) and any(
        abs(0.5 * (o.start + o.end) - mid) < 0.5 and normalize_text(o.text) == text for o in other
    )


# --------------------------------------------------------------------------- report


def run_worker(name: str, quick: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", name] + (["--quick"] if quick else [])
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    sys.stderr.write(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def markdown(results: list[dict[str, Any]], crosstalk: list[dict[str, Any]]) -> str:
    base = next(r for r in results if r["name"] == BASELINE)
    base_speed = _speed(base["rows"])
    clips = [row["clip"] for row in results[0]["rows"]]
    lines = [
        "# Transcription benchmark",
        "",
        f"Whisper base (shipped weights), {THREADS} threads, word timestamps on, "
        "`condition_on_previous_text=False`, language forced. Measured on a shared 2-core "
        "machine by `benchmarks/bench_transcribe.py`; speed is x real time (channel-seconds "
        f"of audio per wall second, model load excluded) and the ratio to {BASELINE} from "
        "the same run. Sample calls: "
        + ", ".join(BENCH_CALLS)
        + ". WER: case and punctuation removed, Levenshtein over words "
        "(`callqa.wer`); sample calls are synthetic espeak-ng speech at 8 kHz with -25 dB "
        "cross-talk, scored per channel against the scripted text.",
        "",
        "| configuration | x real time | speed vs baseline | peak RSS (MB) | load (s) | "
        + " | ".join(f"WER {c}" for c in clips)
        + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(clips),
    ]
    for r in results:
        speed = _speed(r["rows"])
        wers = " | ".join(f"{row['wer']:.3f}" for row in r["rows"])
        lines.append(
            f"| {r['name']} | {speed:.1f} | {speed / base_speed:.2f} | {r['peak_mb']:.0f} | "
            f"{r['load_s']:.1f} | {wers} |"
        )
    audio_s = sum(row["audio_s"] for row in results[0]["rows"])
    lines += ["", f"Audio decoded per configuration: {audio_s:.0f} channel-seconds.", ""]
    lines += ["Language detected on the first 30 s of each clip (code, probability):", ""]
    for r in results:
        found = ", ".join(f"{k} {v[0]} {v[1]:.2f}" for k, v in r["detected"].items())
        lines.append(f"- {r['name']}: {found}")
    if crosstalk:
        lines += [
            "",
            "## Stereo cross-talk handling (faster-whisper int8 beam 5)",
            "",
            f"WER over both channels of the stereo sample calls {', '.join(CROSSTALK_CALLS)} "
            f"(-25 dB leakage) against the scripted text; on the first {AWS_SECONDS} s of "
            "aws_auto_repairs_40_stereo_agentL.wav (no reference text): words kept and the "
            "share of words that also appear on the other channel within 0.5 s (leaked "
            "words transcribed twice). Speech activity from `callqa.activity.detect_activity`.",
            "",
            "| mode | WER sample calls | aws words | aws words on both channels | wall (s) |",
            "|---|---:|---:|---:|---:|",
        ]
        for c in crosstalk:
            lines.append(
                f"| {c['mode']} | {c['wer']:.3f} | {c['aws_words']} | {c['aws_dup']:.3f} | "
                f"{c['wall_s']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def _speed(rows: list[dict[str, Any]]) -> float:
    return sum(r["audio_s"] for r in rows) / max(1e-9, sum(r["wall_s"] for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-crosstalk", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick)))
        return
    results = [run_worker(name, args.quick) for name in CONFIGS]
    crosstalk = [] if args.no_crosstalk else crosstalk_study(args.quick)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(markdown(results, crosstalk), encoding="utf-8")
    print(RESULTS.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
