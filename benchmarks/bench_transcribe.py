"""Transcription benchmark: speed, peak memory, load time, WER and language ID of the backends.

Usage (from the repository root; the lock keeps speed runs on a shared machine apart)::

    flock /tmp/bench.lock python benchmarks/bench_transcribe.py      # writes results/transcribe.md
    python benchmarks/bench_transcribe.py --quick                    # real clips only
    python benchmarks/bench_transcribe.py --configs "faster-whisper int8 beam 5" --no-crosstalk
    python benchmarks/bench_transcribe.py --configs "openai-whisper fp32 beam 5"  # real clips

The default run takes about 15 minutes on 2 cores. Every configuration decodes once at
temperature 0 (callqa's default) except "temperature fallback", Whisper's own schedule, which
decodes a failing window again by random sampling: its synthetic fi/it/nb/sl figures move
from run to run.

Data (language forced for WER, as ``--language`` does):

- ../shared/eval/speech/: every clip with a reference text (en_jfk, nb_npsc_short,
  nb_npsc_medium, it_leopard), decoded whole with no speech activity;
- ../shared/eval/calls/librispeech_stereo_two_speakers.wav (one sentence per channel) and
  pyannote_sample.wav (real mono telephone English, its .stm text), decoded as calls;
- sample_calls/*.ogg with *.truth.json (synthetic espeak-ng calls, 8 kHz band, -25 dB
  cross-talk): each stereo channel is scored against the scripted text of that channel's
  speaker, the mono call against all its text.

Calls go through speech activity first (``callqa.audio.activity.detect_activity``, computed once
in this process and handed to every configuration), then ``transcribe_call``, as
``callqa score`` does. Each configuration runs in its own subprocess (``--worker NAME``) so
that its peak resident memory (VmHWM) is its own; activity detection and model loading are
not timed as decoding. Speed is x real time: channel-seconds decoded per wall second.
WER = total word errors / total reference words (``callqa.transcription.wer``),
per clip group and overall.
Language ID: ``detect_language`` on each clip's speech (``callqa.transcription.call.speech_sample``,
what auto-detection sees), counted right when it names the clip's language.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from importlib import metadata
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
    "faster-whisper int8 beam 5, temperature fallback": {
        "backend": "faster-whisper",
        "beam_size": 5,
        "temperatures": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    },
    "openai-whisper fp32 greedy": {"backend": "openai-whisper", "beam_size": 1},
    "openai-whisper fp32 beam 5": {"backend": "openai-whisper", "beam_size": 5},
}
# openai-whisper beam 5 runs on the real clips only (~2 min): at about 1x real time it would
# add ~20 min on the sample calls. It is there to compare the backends at equal settings.
REAL_ONLY = frozenset({"openai-whisper fp32 beam 5"})
DEFAULT_CONFIGS = list(CONFIGS)
BASELINE = "openai-whisper fp32 greedy"
CROSSTALK_CALLS = ("en_good", "en_poor")  # intelligible speech: WER shows what is lost
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
LEFT_OUT = (
    "Left out: openai-whisper beam 5 on the sample calls (it runs on the real clips only; "
    "at about 1x real time the sample calls would take ~20 min more); "
    "aws_auto_repairs_40_stereo_agentL.wav (245 s, no reference text; its first "
    f"{AWS_SECONDS} s are in the cross-talk study); the 100 FDA pitch sentences in "
    "../shared/eval/pitch/ (read English, about 2 s each: every one would pay for a whole "
    "30 s Whisper window, which says more about padding than about either backend, and real "
    "English is already covered)."
)


@dataclass(frozen=True)
class Clip:
    """One benchmark recording.

    ``refs`` pairs a speaker label ("left"/"right"; None = every word of the transcript) with
    the reference text for it; ``call`` runs speech activity first, as ``callqa score`` does.
    """

    name: str
    group: str
    path: Path
    language: str
    refs: tuple[tuple[str | None, str], ...]
    call: bool


# --------------------------------------------------------------------------- data


def clips(quick: bool = False) -> list[Clip]:
    """Every benchmark clip: the real ones, then (unless ``quick``) the sample calls."""
    speech, calls = EVAL / "speech", EVAL / "calls"
    out = [
        Clip("en_jfk", "real en", speech / "en_jfk.flac", "en", refs=((None, JFK),), call=False),
        Clip("librispeech_stereo", "real en", calls / "librispeech_stereo_two_speakers.wav", "en",
             refs=(("left", LIBRI_LEFT), ("right", LIBRI_RIGHT)), call=True),
        Clip("pyannote_sample", "real en", calls / "pyannote_sample.wav", "en",
             refs=((None, stm_text(calls / "pyannote_sample.stm")),), call=True),
    ]  # fmt: skip
    for txt in sorted(speech.glob("*.txt")):  # the clips with a reference text
        lang = txt.stem.split("_")[0]
        audio = next(p for p in speech.glob(f"{txt.stem}.*") if p.suffix != ".txt")
        out.append(Clip(txt.stem, f"real {lang}", audio, lang, ((None, _text(txt)),), call=False))
    if not quick:
        out += [sample_clip(audio, truth) for audio, truth in sample_calls()]
    return out


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def stm_text(path: Path) -> str:
    """All transcript text of an STM file, in time order (fields 6+ of each line)."""
    lines = [line.split(maxsplit=5) for line in _text(path).splitlines() if line.strip()]
    return " ".join(f[5] for f in sorted(lines, key=lambda f: float(f[3])) if len(f) == 6)


def sample_calls() -> list[tuple[Path, dict[str, Any]]]:
    """The bundled sample calls that have a .truth.json sidecar."""
    out = []
    for truth in sorted((ROOT / "sample_calls").glob("*.truth.json")):
        audio = truth.with_name(truth.name.replace(".truth.json", ".ogg"))
        if audio.exists():
            out.append((audio, json.loads(truth.read_text(encoding="utf-8"))))
    return out


def sample_clip(audio: Path, truth: dict[str, Any]) -> Clip:
    language = truth["language"]
    return Clip(audio.stem, f"synthetic {language}", audio, language, truth_refs(truth), True)


def truth_refs(truth: dict[str, Any]) -> tuple[tuple[str | None, str], ...]:
    """Reference text per channel label ("left"/"right"), or (None, all text) for mono."""
    turns = sorted(truth["turns"], key=lambda t: t["start"])
    if truth.get("channels", 2) == 1:
        return ((None, " ".join(t["text"] for t in turns)),)
    agent = truth.get("agent_channel") or "left"
    customer = "right" if agent == "left" else "left"
    said = {
        role: " ".join(t["text"] for t in turns if t["speaker"] == role)
        for role in ("agent", "customer")
    }
    return ((agent, said["agent"]), (customer, said["customer"]))


# --------------------------------------------------------------------------- speech activity


def activities(selected: list[Clip]) -> dict[str, dict[str, Any]]:
    """Speech activity of every call clip, as plain data (computed once, shared by workers)."""
    from callqa.audio.activity import detect_activity
    from callqa.audio.load import load_audio
    from callqa.config import DynamicsConfig

    out = {}
    for clip in selected:
        if clip.call:
            act = detect_activity(load_audio(clip.path), DynamicsConfig())
            out[clip.name] = {
                "turns": [[t.speaker, t.start, t.end] for t in act.turns],
                "method": act.method,
                "speakers": list(act.speakers),
                "channel_map": [list(pair) for pair in act.channel_map],
            }
    return out


def to_activity(data: dict[str, Any] | None) -> Any:
    from callqa.types import SpeechActivity, Turn

    if data is None:
        return None
    return SpeechActivity(
        turns=tuple(Turn(s, float(a), float(b)) for s, a, b in data["turns"]),
        method=data["method"],
        speakers=tuple(data["speakers"]),
        channel_map=tuple((s, int(i)) for s, i in data["channel_map"]),
    )


# --------------------------------------------------------------------------- worker


def worker(name: str, quick: bool, activity_file: Path) -> dict[str, Any]:
    """Load one configuration, transcribe and language-ID every clip; figures as plain data."""
    from callqa.audio.load import load_audio
    from callqa.config import TranscriptionConfig
    from callqa.transcription.call import speech_sample, transcribe_call
    from callqa.transcription.load import load_transcriber
    from callqa.transcription.wer import edit_distance, normalize_text
    from callqa.types import CallAudio

    acts = json.loads(activity_file.read_text(encoding="utf-8"))
    config = TranscriptionConfig(threads=THREADS, **CONFIGS[name])
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    transcriber = load_transcriber(config)
    load_s = time.perf_counter() - t0
    # warm-up outside the timed runs (openai-whisper compiles its word-timing DTW on first use)
    warm = load_audio(EVAL / "speech" / "en_jfk.flac")
    transcribe_call(
        CallAudio((warm.channels[0][:32000],), None, "", 16000),
        transcriber,
        activity=None,
        language="en",
        config=config,
    )
    rows = []
    for clip in clips(quick):
        audio, activity = load_audio(clip.path), to_activity(acts.get(clip.name))
        t = time.perf_counter()
        tr = transcribe_call(
            audio, transcriber, activity=activity, language=clip.language, config=config
        )
        wall = time.perf_counter() - t
        errors = words = 0
        for speaker, ref in clip.refs:
            hyp = " ".join(w.text for w in tr.words if speaker is None or w.speaker == speaker)
            errors += edit_distance(normalize_text(ref), normalize_text(hyp))
            words += len(normalize_text(ref))
        code, probability = transcriber.detect_language(speech_sample(audio, activity))
        rows.append(
            {
                "clip": clip.name,
                "group": clip.group,
                "language": clip.language,
                "audio_s": audio.duration_s * audio.n_channels,
                "wall_s": wall,
                "errors": errors,
                "ref_words": words,
                "detected": code,
                "detected_p": probability,
            }
        )
        print(
            f"  {name} {clip.name}: {wall:.1f} s, WER {errors / max(1, words):.3f}, "
            f"language {code} {probability:.2f}",
            file=sys.stderr,
            flush=True,
        )
    return {
        "name": name,
        "load_s": load_s,
        "peak_mb": peak_rss_mb(),
        "rows": rows,
        "load_avg": [load_before, os.getloadavg()[0]],
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (VmHWM: unlike ru_maxrss, not inherited
    from the parent across fork/exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(name: str, quick: bool, activity_file: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", name, "--activity-file", str(activity_file)]
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), HF_HUB_OFFLINE="1")
    out = subprocess.run(
        cmd + (["--quick"] if quick else []),
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- cross-talk


def crosstalk_study(acts: dict[str, dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    """Compare the stereo leakage modes with the default model.

    Sample calls: WER per channel against the scripted text (cross-talk -25 dB, known).
    aws_auto_repairs_40 (first AWS_SECONDS s): share of words that also appear, same text, within
    0.5 s, on the other channel (a leaked word is transcribed twice) and words kept.
    """
    from callqa.audio.load import load_audio
    from callqa.config import TranscriptionConfig
    from callqa.transcription.call import transcribe_call
    from callqa.transcription.load import load_transcriber
    from callqa.transcription.wer import edit_distance, normalize_text
    from callqa.types import CallAudio

    base = TranscriptionConfig(threads=THREADS)
    transcriber = load_transcriber(base)
    chosen = [sample_clip(a, t) for a, t in sample_calls() if a.stem in CROSSTALK_CALLS]
    chosen = chosen[: 1 if quick else None]
    audios = {c.name: load_audio(c.path) for c in chosen}
    aws = load_audio(EVAL / "calls" / "aws_auto_repairs_40_stereo_agentL.wav")
    aws = CallAudio(tuple(c[: AWS_SECONDS * 16000] for c in aws.channels), None, aws.sha256, 8000)
    aws_activity = to_activity(activities_of_audio(aws))
    rows = []
    for mode in ("off", "drop-words", "mask"):
        config = replace(base, crosstalk=mode)
        errors = words = 0
        t = time.perf_counter()
        for clip in chosen:
            tr = transcribe_call(
                audios[clip.name],
                transcriber,
                language=clip.language,
                activity=to_activity(acts[clip.name]),
                config=config,
            )
            for speaker, ref in clip.refs:
                hyp = " ".join(w.text for w in tr.words if w.speaker == speaker)
                errors += edit_distance(normalize_text(ref), normalize_text(hyp))
                words += len(normalize_text(ref))
        tr = transcribe_call(aws, transcriber, activity=aws_activity, language="en", config=config)
        wall = time.perf_counter() - t
        left = [w for w in tr.words if w.speaker == "left"]
        right = [w for w in tr.words if w.speaker == "right"]
        dup = sum(_echoed(w, right) for w in left) + sum(_echoed(w, left) for w in right)
        n = len(left) + len(right)
        rows.append(
            {
                "mode": mode,
                "wer": errors / max(1, words),
                "aws_words": n,
                "aws_dup": dup / max(1, n),
                "wall_s": wall,
            }
        )
        print(f"  crosstalk {mode}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def activities_of_audio(audio: Any) -> dict[str, Any]:
    from callqa.audio.activity import detect_activity
    from callqa.config import DynamicsConfig

    act = detect_activity(audio, DynamicsConfig())
    return {
        "turns": [[t.speaker, t.start, t.end] for t in act.turns],
        "method": act.method,
        "speakers": list(act.speakers),
        "channel_map": [list(p) for p in act.channel_map],
    }


def _echoed(word: Any, other: list[Any]) -> bool:
    from callqa.transcription.wer import normalize_text

    text = normalize_text(word.text)
    mid = 0.5 * (word.start + word.end)
    return bool(text) and any(
        abs(0.5 * (o.start + o.end) - mid) < 0.5 and normalize_text(o.text) == text for o in other
    )


# --------------------------------------------------------------------------- report


def machine() -> str:
    """CPU model, usable cores and memory of this machine, in words."""
    cpu = platform.processor() or platform.machine()
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = next(x.split(":", 1)[1].strip() for x in info.splitlines() if "model name" in x)
        mem_kb = next(
            int(x.split()[1])
            for x in Path("/proc/meminfo").read_text().splitlines()
            if x.startswith("MemTotal")
        )
        memory = f", {mem_kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        memory = ""
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores{memory}, no GPU used"


def versions() -> str:
    names = ("faster-whisper", "ctranslate2", "openai-whisper", "torch")
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def _speed(rows: list[dict[str, Any]]) -> float:
    return sum(r["audio_s"] for r in rows) / max(1e-9, sum(r["wall_s"] for r in rows))


def _wer(rows: list[dict[str, Any]]) -> float:
    return sum(r["errors"] for r in rows) / max(1, sum(r["ref_words"] for r in rows))


def _wer_cell(rows: list[dict[str, Any]]) -> str:
    return f"{_wer(rows):.3f}" if rows else "-"


def _rows_in(r: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [row for row in r["rows"] if row["group"].startswith(prefix)]


def _lid(rows: list[dict[str, Any]]) -> str:
    right = sum(row["detected"] == row["language"] for row in rows)
    return f"{right}/{len(rows)}" if rows else "-"


def markdown(results: list[dict[str, Any]], crosstalk: list[dict[str, Any]], total_s: float) -> str:
    """The results file: speed table, WER per group and per clip, language ID, cross-talk."""
    full = max(results, key=lambda r: len(r["rows"]))["rows"]
    audio_s = sum(row["audio_s"] for row in full)
    clear_s = sum(row["audio_s"] for row in full if _intelligible(row))
    partial = [r["name"] for r in results if len(r["rows"]) < len(full)]
    lines = [
        "# Transcription benchmark",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()} ({versions()}) by "
        "`flock /tmp/bench.lock python benchmarks/bench_transcribe.py` "
        f"(whole run {total_s / 60:.1f} min). Whisper base (shipped weights), {THREADS} threads, "
        "word timestamps on, `condition_on_previous_text=False`, one decode at temperature 0 "
        "as in `TranscriptionConfig` (the *temperature fallback* row: Whisper's 0.0-1.0 "
        "schedule with `best_of=5`), language forced. Speed is x real time: "
        "channel-seconds decoded per second of decoding wall time (model load and speech "
        f"activity excluded), over all {audio_s:.0f} channel-seconds and over the "
        f"{clear_s:.0f} of intelligible speech (the real clips and the synthetic English "
        "calls; on the synthetic fi/it/nb/sl calls base fails most windows, which the fallback "
        f"decodes again), each with its ratio to {BASELINE} on the same clips in the "
        "same run. Peak RSS is the worker process's VmHWM. WER = total word errors / total "
        "reference words after `callqa.transcription.wer.normalize_text` "
        "(case and punctuation removed).",
        "",
        "| configuration | x real time, all | vs baseline | x real time, intelligible | "
        "vs baseline | peak RSS (MiB) | load (s) | WER real speech | WER synthetic calls | "
        "WER overall | language ID right |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        complete = len(r["rows"]) == len(full)
        clear = [row for row in r["rows"] if _intelligible(row)]
        lines.append(
            f"| {r['name']}{'' if complete else ' (real clips)'} | "
            f"{_speed(r['rows']):.1f} | {_ratio(r['rows'], results)} | "
            f"{_speed(clear):.1f} | {_ratio(clear, results)} | "
            f"{r['peak_mb']:.0f} | {r['load_s']:.1f} | "
            f"{_wer_cell(_rows_in(r, 'real'))} | {_wer_cell(_rows_in(r, 'synthetic'))} | "
            f"{_wer_cell(r['rows']) if complete else '-'} | {_lid(r['rows'])} |"
        )
    if partial:
        lines += ["", f"A dash: not run ({', '.join(partial)} ran on the real clips only)."]
    lines += ["", *_group_table(results, full), "", *_clip_table(results, full), ""]
    lines += _lid_lines(results)
    loads = ", ".join(
        f"{r['name']} {r['load_avg'][0]:.1f} -> {r['load_avg'][1]:.1f}" for r in results
    )
    lines += [
        "",
        f"1-minute load average before -> after each configuration: {loads}.",
        "",
        LEFT_OUT,
    ]
    if crosstalk:
        lines += ["", *_crosstalk_lines(crosstalk)]
    return "\n".join(lines) + "\n"


def _intelligible(row: dict[str, Any]) -> bool:
    return row["group"].startswith("real") or row["group"] == "synthetic en"


def _ratio(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> str:
    """Speed of ``rows`` over the baseline's speed on the same clips."""
    base = next((b for b in results if b["name"] == BASELINE), None)
    if base is None or not rows:
        return "-"
    names = {row["clip"] for row in rows}
    return f"{_speed(rows) / _speed([x for x in base['rows'] if x['clip'] in names]):.2f}"


def _group_table(results: list[dict[str, Any]], full: list[dict[str, Any]]) -> list[str]:
    groups = list(dict.fromkeys(row["group"] for row in full))
    lines = [
        "## WER per clip group",
        "",
        "Real: the speech clips, the LibriSpeech stereo clip and the pyannote telephone "
        "sample. Synthetic: the espeak-ng sample calls (8 kHz band, -25 dB cross-talk, "
        "robotic voices: base is weak on synthetic fi/nb/sl, so these groups compare the "
        "backends rather than predict real calls).",
        "",
        "| group | clips | reference words | " + " | ".join(r["name"] for r in results) + " |",
        "|---|---|---:|" + "---:|" * len(results),
    ]
    for group in [*groups, "all"]:
        members = [row for row in full if group in ("all", row["group"])]
        names = ", ".join(row["clip"] for row in members) if group != "all" else "every clip"
        cells = []
        for r in results:
            mine = [x for x in r["rows"] if group in ("all", x["group"])]
            cells.append(_wer_cell(mine) if len(mine) == len(members) else "-")
        words = sum(row["ref_words"] for row in members)
        label = "**overall**" if group == "all" else group
        lines.append(f"| {label} | {names} | {words} | {' | '.join(cells)} |")
    return lines


def _clip_table(results: list[dict[str, Any]], full: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Per clip (WER, then x real time)",
        "",
        "| clip | language | channel-s | reference words | "
        + " | ".join(r["name"] for r in results)
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(results),
    ]
    for row in full:
        cells = []
        for r in results:
            x = next((x for x in r["rows"] if x["clip"] == row["clip"]), None)
            cells.append(
                "-"
                if x is None
                else f"{x['errors'] / max(1, x['ref_words']):.3f} "
                f"({x['audio_s'] / max(1e-9, x['wall_s']):.1f}x)"
            )
        lines.append(
            f"| {row['clip']} | {row['language']} | {row['audio_s']:.1f} | "
            f"{row['ref_words']} | {' | '.join(cells)} |"
        )
    return lines


def _lid_lines(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Language ID (auto-detection)",
        "",
        "`detect_language` on each clip's speech (speech activity turns for calls, the whole "
        "clip otherwise; at most 30 s), as `callqa score` without `--language` does. Detected "
        "code and probability; wrong ones in bold.",
        "",
        "| configuration | real clips right | sample calls right | detections |",
        "|---|---:|---:|---|",
    ]
    for r in results:
        found = ", ".join(
            f"{row['clip']} "
            + (
                f"{row['detected']}"
                if row["detected"] == row["language"]
                else f"**{row['detected']}**"
            )
            + f" {row['detected_p']:.2f}"
            for row in r["rows"]
        )
        lines.append(
            f"| {r['name']} | {_lid(_rows_in(r, 'real'))} | "
            f"{_lid(_rows_in(r, 'synthetic'))} | {found} |"
        )
    return lines


def _crosstalk_lines(crosstalk: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Stereo cross-talk handling (faster-whisper int8 beam 5)",
        "",
        f"WER over both channels of the stereo sample calls {', '.join(CROSSTALK_CALLS)} "
        f"(-25 dB leakage) against the scripted text; on the first {AWS_SECONDS} s of "
        "aws_auto_repairs_40_stereo_agentL.wav (no reference text): words kept and the "
        "share of words that also appear on the other channel within 0.5 s (leaked "
        "words transcribed twice). Speech activity from `callqa.audio.activity.detect_activity`.",
        "",
        "| mode | WER sample calls | aws words | aws words on both channels | wall (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in crosstalk:
        lines.append(
            f"| {c['mode']} | {c['wer']:.3f} | {c['aws_words']} | {c['aws_dup']:.3f} | "
            f"{c['wall_s']:.0f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--activity-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="real clips only")
    parser.add_argument("--no-crosstalk", action="store_true", help="skip the cross-talk study")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=DEFAULT_CONFIGS)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the table")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick, args.activity_file)))
        return
    start = time.perf_counter()
    acts = activities(clips(args.quick))
    with tempfile.TemporaryDirectory() as tmp:
        activity_file = Path(tmp) / "activity.json"
        activity_file.write_text(json.dumps(acts), encoding="utf-8")
        results = [
            run_worker(name, args.quick or name in REAL_ONLY, activity_file)
            for name in args.configs
        ]
    crosstalk = [] if args.no_crosstalk else crosstalk_study(acts, args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = markdown(results, crosstalk, time.perf_counter() - start)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
