"""Throughput of batched, adaptive decoding against its baselines, with word error alongside.

Usage (from the repository root)::

    python benchmarks/bench_throughput.py          # writes benchmarks/results/throughput.md
    python benchmarks/bench_throughput.py --quick  # 1 run each, fewer calls; prints only

Everything is measured in one run, and every speed is a ratio to a baseline of the same run
(the machine's load changes absolute figures from run to run):

1. ``callqa score`` on ``../shared/eval/calls/aws_auto_repairs_40_stereo_agentL.wav`` (245 s,
   stereo, language forced) against the bare faster-whisper script
   (benchmarks/bare_faster_whisper.py: both channels, the same model, beam 5, VAD filter, word
   timestamps, the same threads), and against ``callqa score`` with the sequential decoding
   of earlier versions (``decoding = "sequential"``). Each is a fresh process; the three run in
   turn, ``--runs`` times, and the median wall time of each is compared. Peak RSS per process.
2. Word error rate per language on every clip with a reference text (en_jfk, the LibriSpeech
   stereo clip, the pyannote clip's STM, the Norwegian and Italian clips, and 134 Italian and
   144 English lines of XED's dialogue read by espeak-ng: ``synthetic_lines``): speech activity and
   ``transcribe_call`` as ``callqa score`` runs them, with the default decoding, with batched
   beam 5 for every window, with the sequential beam 5 of earlier versions, and the bare
   script's beam 5 on the same audio. None of these clips was used to choose the second-pass
   thresholds (benchmarks/tune_redecode.py). Also: the share of windows decoded again.
3. Threads: transcription of the AWS call in one process with 2 threads as 1 model replica x
   2 threads and as 2 replicas x 1 thread (``parallel_windows``), in turn.
4. ``callqa batch`` with the default workers (one per core, one thread each) over the real
   calls (the AWS call, the pyannote clip, the LibriSpeech clip) and the seven sample calls,
   default decoding against the sequential decoding, in turn, ``--runs`` times: audio-hours
   per wall-hour (median) and the peak RSS of every worker process.
5. Memory against call length: ``callqa score`` on the AWS call and on that call four times
   over (980 s): peak RSS of each (transcription reads at most 30 s of audio at a time).

Other jobs on a shared machine change every timing: run it on a quiet machine, or under the
machine's benchmark lock (``flock /tmp/bench.lock python benchmarks/bench_throughput.py``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
CALLS = EVAL / "calls"
AWS = CALLS / "aws_auto_repairs_40_stereo_agentL.wav"
RESULTS = ROOT / "benchmarks" / "results" / "throughput.md"
BARE = ROOT / "benchmarks" / "bare_faster_whisper.py"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bare_faster_whisper as bare  # noqa: E402
from bench_transcribe import Clip, clips, machine, sample_calls, versions  # noqa: E402
from procmem import Tree, spawned_workers  # noqa: E402

from callqa.audio.activity import detect_activity  # noqa: E402
from callqa.audio.load import load_audio, probe  # noqa: E402
from callqa.config import DynamicsConfig, TranscriptionConfig  # noqa: E402
from callqa.files import atomic_write_text  # noqa: E402
from callqa.languages import to_whisper  # noqa: E402
from callqa.transcription.call import transcribe_call  # noqa: E402
from callqa.transcription.load import load_transcriber  # noqa: E402
from callqa.transcription.weights import resolve_model  # noqa: E402
from callqa.transcription.wer import edit_distance, normalize_text  # noqa: E402
from callqa.types import SAMPLE_RATE  # noqa: E402

THREADS = 2  # what `callqa score` uses on this machine (every core); the bare script too
SEQUENTIAL = '[transcription]\ndecoding = "sequential"\n'
DEFAULT = "# the defaults\n"
RULE = TranscriptionConfig()
REPEAT = 4  # the long call of step 4: the AWS call this many times over
INTERVAL_DRAWS = 10_000  # bootstrap draws of a word error difference's interval
INTERVAL_MIN_CLIPS = 5  # a group of fewer clips gets no interval


# --------------------------------------------------------------------------- processes


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    env.pop("OMP_NUM_THREADS", None)  # as a user runs them: each library picks its threads
    env.pop("CALLQA_CONFIG", None)
    return env


def compile_callqa() -> None:
    """Write callqa's bytecode (``__pycache__``) before anything is timed, as ``pip install``
    does for an installed package and Python on a package's first import. Where
    ``PYTHONDONTWRITEBYTECODE`` is set (this machine, many containers) every timed process
    would otherwise compile callqa's 29,000 lines again (about 0.2 s of each ``callqa score``),
    while the bare script's faster-whisper was compiled when pip installed it."""
    import compileall

    compileall.compile_dir(ROOT / "callqa", quiet=1)


def timed(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd``; wall time [s], the peak RSS of the process [MiB] and of its spawned
    workers [MiB each]."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    with Tree(proc.pid) as tree:
        _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    workers = [peak / 2**20 for peak in spawned_workers(tree)]
    return {
        "wall": wall,
        "peak_mb": tree.peaks.get(proc.pid, 0) / 2**20,
        "workers_mb": sorted(workers),
    }


def callqa(*args: str) -> list[str]:
    return [sys.executable, "-m", "callqa", *args]


def model_dir() -> str:
    return resolve_model("base", "faster-whisper").location


# --------------------------------------------------------------------------- 1. score


def score_runs(work: Path, runs: int) -> dict[str, list[dict[str, Any]]]:
    seq, default = work / "sequential.toml", work / "default.toml"
    commands = {
        "bare faster-whisper, beam 5": [sys.executable, str(BARE), model_dir(), str(AWS), "en",
                                        str(THREADS)],
        "callqa score, sequential beam 5 (earlier versions)": callqa(
            "score", str(AWS), "--language", "en", "--config", str(seq), "-q", "-f", "json",
            "--out", str(work / "seq.json")),
        "callqa score (default: batched, adaptive)": callqa(
            "score", str(AWS), "--language", "en", "--config", str(default), "-q", "-f", "json",
            "--out", str(work / "default.json")),
    }  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    for k in range(runs):
        for name, cmd in commands.items():
            r = timed(cmd)
            out[name].append(r)
            print(f"  score run {k + 1}: {name}: {r['wall']:.1f} s, {r['peak_mb']:.0f} MiB",
                  file=sys.stderr, flush=True)  # fmt: skip
    return out


# --------------------------------------------------------------------------- 2. WER


DEFAULT_WER = "default (greedy first, beam 5 again where unsure; Italian: streams)"


def wer_study(quick: bool) -> dict[str, Any]:
    """Errors and reference words per (decoding, language group), and windows decoded again."""
    base = TranscriptionConfig(threads=THREADS)
    model = load_transcriber(base)
    configs = {
        DEFAULT_WER: base,
        # the batched decodings decode Italian as windows too (not as streams)
        "batched, beam 5 for every window": replace(base, first_beam_size=5, stream_languages=()),
        "batched, greedy only": replace(base, beam_size=1, stream_languages=()),
        "sequential beam 5 (earlier versions)": replace(base, decoding="sequential"),
    }
    decodings = {name: (model.reconfigured(c), c) for name, c in configs.items()}
    plain = bare.load(model_dir(), THREADS)
    selected = [c for c in clips(quick=True) if not quick or c.name in ("en_jfk", "it_leopard")]
    totals: dict[str, dict[str, list[int]]] = {}
    rows = []
    spoken = None if quick else tempfile.TemporaryDirectory(prefix="callqa-lines-")
    if spoken is not None:
        selected += [c for lang in SYNTHETIC for c in synthetic_lines(Path(spoken.name), lang)]
    for clip in selected:
        audio = load_audio(clip.path)
        activity = detect_activity(audio, DynamicsConfig())
        row: dict[str, Any] = {"clip": clip.name, "group": clip.group}
        for name, (transcriber, config) in decodings.items():
            before = Counter(transcriber.window_counts)
            tr = transcribe_call(audio, transcriber, activity=activity, language=clip.language,
                                 config=config)  # fmt: skip
            words = [(w.speaker, w.text) for w in tr.words]
            row[name] = errors(clip.refs, words)
            if config is base:
                counts = transcriber.window_counts
                row["windows"] = counts["windows"] - before["windows"]
                row["careful"] = counts["careful"] - before["careful"]  # tails, empty turns
                row["streams"] = counts["streams"] - before["streams"]
                row["again"] = sum(
                    v - before[k]
                    for k, v in counts.items()
                    if k not in ("windows", "careful", "streams")
                )
        labels = ("left", "right") if audio.n_channels == 2 else (None,)
        bare_words = [
            (label, text)
            for label, ch in zip(labels, audio.channels, strict=True)
            for text, _, _ in bare.transcribe(plain, ch, to_whisper(clip.language))
        ]
        row["bare faster-whisper, beam 5"] = errors(clip.refs, bare_words)
        rows.append(row)
        for name in [*decodings, "bare faster-whisper, beam 5"]:
            t = totals.setdefault(name, {}).setdefault(clip.group, [0, 0])
            t[0] += row[name][0]
            t[1] += row[name][1]
        print(f"  WER {clip.name}: " + ", ".join(
            f"{n.split(' (')[0]} {row[n][0] / max(1, row[n][1]):.3f}"
            for n in [*decodings, "bare faster-whisper, beam 5"]), file=sys.stderr,
            flush=True)  # fmt: skip
    if spoken is not None:
        spoken.cleanup()
    return {"rows": rows, "totals": totals}


XED = EVAL / "text" / "xed"
LINES_PER_CLIP = 8  # synthetic clips: 8 lines to a clip
PAUSE_S = 0.8  # silence between two lines of a clip
SYNTHETIC = {  # language: XED file, espeak-ng voice, offsets of every 60th line, clips at most
    "it": ("it_emotions_dev.tsv", "it", (0, 20, 40), 18),  # 134 lines, 18 clips
    "en": ("en_emotions_dev.tsv", "en-us", (0,), 18),  # 144 lines, 18 clips
}


def synthetic_lines(
    work: Path, language: str, offsets: tuple[int, ...] | None = None, most: int | None = None
) -> list[Clip]:
    """Clips with a reference text in ``language``, beyond the few real clips: lines of XED's
    dialogue (of the lines of at least 6 words, every 60th from each offset of
    :data:`SYNTHETIC`) read by espeak-ng, 8 to a clip with 0.8 s between them, 30-40 s each.

    No transcription setting was chosen on these lines (the voices also read the sample calls,
    which are tuning data). Italian: the clips of offset 0 were the whole set until a single
    run of 6 clips proved too noisy to compare decodings by 0.01. Other offsets (Italian 10,
    30, 50; English 10, 30) were used to try window settings (docs/transcription.md), so they
    are not these. ``offsets`` and ``most`` replace the table's (benchmarks/bench_italian.py)."""
    name, voice, own_offsets, own_most = SYNTHETIC[language]
    offsets, most = offsets or own_offsets, most or own_most
    rows = [r.split("\t")[0].strip() for r in (XED / name).read_text(encoding="utf-8").splitlines()]
    long = [line for line in rows if len(line.split()) >= 6]
    chunks = [
        part[i : i + LINES_PER_CLIP]
        for part in (long[offset::60] for offset in offsets)
        for i in range(0, len(part), LINES_PER_CLIP)
    ][:most]
    out = []
    for k, chunk in enumerate(chunks):
        parts: list[np.ndarray] = []
        rate = 22050
        for j, line in enumerate(chunk):
            wav = work / f"line_{language}{k}_{j}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), "--stdin"],
                           input=line.encode("utf-8"), check=True)  # fmt: skip
            x, rate = sf.read(wav, dtype="float32")
            parts += [np.zeros(int(PAUSE_S * rate), np.float32), x]
        parts.append(np.zeros(int(PAUSE_S * rate), np.float32))
        path = work / f"xed_{language}_{k}.wav"
        sf.write(path, np.concatenate(parts), rate)
        out.append(Clip(f"xed_{language}_{k}", f"synthetic {language}", path, language,
                        ((None, " ".join(chunk)),), call=False))  # fmt: skip
    return out


def errors(
    refs: tuple[tuple[str | None, str], ...], words: list[tuple[str, str]]
) -> tuple[int, int]:
    e = n = 0
    for speaker, ref in refs:
        hyp = " ".join(text for who, text in words if speaker is None or who == speaker)
        e += edit_distance(normalize_text(ref), normalize_text(hyp))
        n += len(normalize_text(ref))
    return e, n


def paired_difference(
    rows: list[dict[str, Any]], name: str, ref: str, group: str, *, draws: int = INTERVAL_DRAWS
) -> tuple[float, float, float, int]:
    """Word error of decoding ``name`` less that of ``ref`` over ``group``'s clips, with a 95 %
    interval from a paired bootstrap over clips (clips drawn with replacement, ``draws`` times,
    each draw scoring both decodings on the same clips; fixed seed).

    Returns (difference, low, high, clips). One clip's errors move together (a misheard name
    costs several words), so clips, not words, are the unit drawn.
    """
    picked = [r for r in rows if r["group"] == group]
    diff = np.array([r[name][0] - r[ref][0] for r in picked], dtype=np.float64)
    words = np.array([r[ref][1] for r in picked], dtype=np.float64)
    draw = np.random.default_rng(0).integers(0, len(picked), size=(draws, len(picked)))
    boot = diff[draw].sum(axis=1) / np.maximum(words[draw].sum(axis=1), 1.0)
    low, high = np.percentile(boot, [2.5, 97.5])
    return float(diff.sum() / max(words.sum(), 1.0)), float(low), float(high), len(picked)


def interval_lines(rows: list[dict[str, Any]], names: list[str], ref: str) -> list[str]:
    """A table per group of at least :data:`INTERVAL_MIN_CLIPS` clips: each decoding's word
    error less ``ref``'s, with its paired bootstrap interval (:func:`paired_difference`)."""
    lines: list[str] = []
    for group in sorted({r["group"] for r in rows}):
        if sum(r["group"] == group for r in rows) < INTERVAL_MIN_CLIPS:
            continue
        lines += [
            "",
            f"Against the bare script on {group}, with a 95 % interval from a paired bootstrap "
            "over clips (`paired_difference`). An interval that holds both 0 and +0.010 means "
            "these clips cannot tell whether a decoding is within the margin.",
            "",
            "| decoding | WER difference | 95 % interval | clips |",
            "|---|---:|---|---:|",
        ]
        for name in names:
            if name != ref:
                d, low, high, n = paired_difference(rows, name, ref, group)
                lines.append(f"| {name} | {d:+.3f} | {low:+.3f} to {high:+.3f} | {n} |")
    return lines


def thread_split(runs: int) -> dict[int, list[float]]:
    """Transcription of the AWS call (speech activity first, language forced) with its
    ``THREADS`` threads as 1 replica x 2 threads and 2 replicas x 1 thread, in turn: wall
    times [s] per ``parallel_windows``."""
    audio = load_audio(AWS)
    activity = detect_activity(audio, DynamicsConfig())
    models = {}
    for lanes in (1, THREADS):
        config = TranscriptionConfig(threads=THREADS, parallel_windows=lanes)
        models[lanes] = (load_transcriber(config), config)
    out: dict[int, list[float]] = {lanes: [] for lanes in models}
    for _ in range(runs):
        for lanes, (model, config) in models.items():
            t = time.perf_counter()
            transcribe_call(audio, model, activity=activity, language="en", config=config)
            out[lanes].append(time.perf_counter() - t)
            print(f"  {lanes} replica(s): {out[lanes][-1]:.1f} s", file=sys.stderr, flush=True)
    return out


# --------------------------------------------------------------------------- 3. batch


def batch_inputs(work: Path, quick: bool) -> tuple[Path, float]:
    """A manifest of the batch calls (languages forced) and their total audio [s]."""
    real = [(AWS, "en"), (CALLS / "pyannote_sample.wav", "en"),
            (CALLS / "librispeech_stereo_two_speakers.wav", "en")]  # fmt: skip
    samples = [(p, t["language"]) for p, t in sample_calls()]
    chosen = real[:1] + samples[:2] if quick else real + samples
    lines = ["path,language", *(f"{p},{lang}" for p, lang in chosen)]
    path = work / "manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, sum(probe(p).duration_s or 0.0 for p, _ in chosen)


def batch_runs(work: Path, runs: int, quick: bool) -> dict[str, Any]:
    manifest, audio_s = batch_inputs(work, quick)
    configs = {
        "sequential beam 5 (earlier versions)": work / "sequential.toml",
        "default (batched, adaptive)": work / "default.toml",
    }
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for k in range(runs):
        for name, config in configs.items():
            dest = work / f"batch-{k}-{len(out[name])}-{name.split()[0]}"
            r = timed(callqa("batch", str(manifest), "--out", str(dest), "--no-store",
                             "--config", str(config), "-q"))  # fmt: skip
            out[name].append(r)
            print(f"  batch run {k + 1}: {name}: {r['wall']:.1f} s, workers "
                  f"{', '.join(f'{m:.0f}' for m in r['workers_mb'])} MiB",
                  file=sys.stderr, flush=True)  # fmt: skip
    return {"audio_s": audio_s, "runs": out}


# --------------------------------------------------------------------------- 4. memory


def memory_by_length(work: Path) -> list[dict[str, Any]]:
    """``callqa score`` (default decoding) on the AWS call and on it :data:`REPEAT` times."""
    audio = load_audio(AWS)
    long = work / "aws_x4.wav"
    stereo = np.stack(audio.channels, axis=1)
    sf.write(long, np.concatenate([stereo] * REPEAT), SAMPLE_RATE, subtype="PCM_16")
    out = []
    for path, seconds in ((AWS, audio.duration_s), (long, audio.duration_s * REPEAT)):
        r = timed(callqa("score", str(path), "--language", "en", "-q", "-f", "json",
                         "--config", str(work / "default.toml"),
                         "--out", str(work / f"{path.stem}.json")))  # fmt: skip
        card = json.loads((work / f"{path.stem}.json").read_text())
        r.update(seconds=seconds, transcribe=(card.get("timings_s") or {}).get("transcribe"))
        out.append(r)
        print(f"  length {seconds:.0f} s: {r['wall']:.1f} s, {r['peak_mb']:.0f} MiB",
              file=sys.stderr, flush=True)  # fmt: skip
    return out


# --------------------------------------------------------------------------- report


def _median(runs: list[dict[str, Any]], key: str = "wall") -> float:
    return statistics.median(r[key] for r in runs)


def markdown(
    score: dict[str, list[dict[str, Any]]],
    wer: dict[str, Any],
    batch: dict[str, Any],
    split: dict[int, list[float]],
    lengths: list[dict[str, Any]],
    minutes: float,
    runs: int,
    batch_runs: int,
    resumed: tuple[str, ...] = (),
) -> str:
    kept = (
        f" {'Steps' if len(resumed) > 1 else 'Step'} {', '.join(resumed)} "
        f"{'were' if len(resumed) > 1 else 'was'} kept from an earlier invocation (`--state`), "
        "with the code of that time; the others were measured in this one. The time above is this "
        "invocation's plus what the state file recorded for the kept steps."
        if resumed
        else ""
    )
    lines = [
        "# Throughput: batched, adaptive decoding (benchmarks/bench_throughput.py)",
        "",
        f"Measured {datetime.date.today().isoformat()} in {minutes:.1f} min on {machine()}; "
        f"{versions()}. Whisper base int8. Load average at the end: "
        f"{os.getloadavg()[0]:.1f} (a busy machine makes every timing noisy; the ratios compare "
        "runs taken in turn within this run). Second-pass rule of the default decoding: "
        f"mean log-probability < {RULE.redecode_log_prob}, compression ratio > "
        f"{RULE.redecode_compression_ratio}, share of words below p 0.5 > "
        f"{RULE.redecode_low_word_share}. callqa's bytecode was written before anything was "
        f"timed (`compile_callqa`), as pip writes an installed package's.{kept}",
        "",
        f"## `callqa score` on the 245 s stereo call (median of {runs} alternating runs)",
        "",
        "| command | median wall [s] | runs [s] | speed vs bare script | peak RSS [MiB] |",
        "|---|---:|---:|---:|---:|",
    ]
    bare_s = _median(score["bare faster-whisper, beam 5"])
    for name, rs in score.items():
        walls = ", ".join(f"{r['wall']:.1f}" for r in rs)
        lines.append(
            f"| {name} | {_median(rs):.1f} | {walls} | "
            f"**{bare_s / _median(rs):.2f}x** | {max(r['peak_mb'] for r in rs):.0f} |"
        )
    lines += [
        "",
        "`callqa score` runs the whole pipeline (speech activity, transcription, voice, checks, "
        "scorecard); the bare script only transcribes.",
        "",
        "## Word error rate per language (clips with a reference text; held out from tuning)",
        "",
        "real: the recordings of ../shared/eval with a reference text. synthetic it / en: 134 "
        "Italian and 144 English lines of XED's dialogue read by espeak-ng, 8 to a clip "
        "(`synthetic_lines`): their text is held out, their voices also read the sample calls "
        "(tuning data).",
        "",
    ]
    names = list(wer["totals"])
    groups = sorted({g for t in wer["totals"].values() for g in t})
    lines += [
        "| decoding | " + " | ".join(f"WER {g}" for g in groups) + " |",
        "|---|" + "---:|" * len(groups),
    ]
    for name in names:
        t = wer["totals"][name]
        cells = [f"{t[g][0] / max(1, t[g][1]):.3f}" for g in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ref_name = "bare faster-whisper, beam 5"
    ours = DEFAULT_WER
    diffs = [
        wer["totals"][ours][g][0] / max(1, wer["totals"][ours][g][1])
        - wer["totals"][ref_name][g][0] / max(1, wer["totals"][ref_name][g][1])
        for g in groups
    ]
    pooled: dict[tuple[str, str], list[int]] = {}
    for g in groups:  # "real it" and "synthetic it" are both Italian
        lang = g.split()[-1]
        for name in (ours, ref_name):
            e, n = pooled.setdefault((lang, name), [0, 0])
            pooled[(lang, name)] = [e + wer["totals"][name][g][0], n + wer["totals"][name][g][1]]
    languages = sorted({lang for lang, _ in pooled})
    pooled_diffs = {
        lang: pooled[(lang, ours)][0] / max(1, pooled[(lang, ours)][1])
        - pooled[(lang, ref_name)][0] / max(1, pooled[(lang, ref_name)][1])
        for lang in languages
    }
    windows = sum(r.get("windows", 0) for r in wer["rows"])
    again = sum(r.get("again", 0) for r in wer["rows"])
    careful = sum(r.get("careful", 0) for r in wer["rows"])
    lines += [
        "",
        "Default against the bare script's beam 5, per language: "
        + ", ".join(f"{g} {d:+.3f}" for g, d in zip(groups, diffs, strict=True))
        + " (target: at most +0.010); every clip of a language pooled (real and synthetic "
        "words together): "
        + ", ".join(f"{lang} {d:+.3f}" for lang, d in pooled_diffs.items())
        + f". First-pass windows decoded again with beam 5: {again} of {windows}"
        f" ({again / max(1, windows):.0%}); windows decoded with beam 5 at once (the rest of a"
        f" window whose text ended early, and turns left without words): {careful}.",
        "",
        "| clip | "
        + " | ".join(names)
        + " | windows (again) | streams | tails and empty turns (beam 5) |",
        "|---|" + "---:|" * (len(names) + 3),
    ]
    for r in wer["rows"]:
        cells = [f"{r[n][0]}/{r[n][1]}" for n in names]
        lines.append(
            f"| {r['clip']} | "
            + " | ".join(cells)
            + f" | {r.get('windows')} ({r.get('again')}) | {r.get('streams', 0)} |"
            + f" {r.get('careful')} |"
        )
    lines += interval_lines(wer["rows"], names, ref_name)
    one = statistics.median(split[1])
    lines += [
        "",
        f"## Threads of one process: transcription of the 245 s call with {THREADS} threads "
        f"(median of {len(split[1])} alternating runs)",
        "",
        f"| model replicas x threads each | median wall [s] | runs [s] | speed vs 1 x {THREADS} |",
        "|---|---:|---:|---:|",
    ]
    for lanes, walls in split.items():
        lines.append(
            f"| {lanes} x {THREADS // lanes} | {statistics.median(walls):.1f} | "
            + ", ".join(f"{w:.1f}" for w in walls)
            + f" | {one / statistics.median(walls):.2f}x |"
        )
    audio_h = batch["audio_s"] / 3600
    base_name = "sequential beam 5 (earlier versions)"
    base_speed = audio_h / (_median(batch["runs"][base_name]) / 3600)
    lines += [
        "",
        f"## `callqa batch`, default workers, {batch['audio_s']:.0f} s of audio "
        f"(median of {batch_runs} alternating runs)",
        "",
        "| decoding | median wall [s] | audio-hours per wall-hour | vs sequential | "
        "peak RSS per worker [MiB] |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rs in batch["runs"].items():
        speed = audio_h / (_median(rs) / 3600)
        peaks = max((r["workers_mb"] for r in rs), key=lambda m: max(m, default=0))
        lines.append(
            f"| {name} | {_median(rs):.1f} | {speed:.1f} | **{speed / base_speed:.2f}x** | "
            f"{', '.join(f'{m:.0f}' for m in peaks)} |"
        )
    if not lengths:
        lines += ["", "Memory against call length: not measured in this run."]
    else:
        lines += [
            "",
            "## Peak memory against call length (`callqa score`, default decoding, one run)",
            "",
            "| call | audio [s] | wall [s] | transcription [s] | peak RSS [MiB] |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in lengths:
            lines.append(
                f"| AWS call{' x4' if r['seconds'] > 300 else ''} | {r['seconds']:.0f} | "
                f"{r['wall']:.1f} | {r['transcribe'] or 0:.1f} | {r['peak_mb']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run each, two WER clips, three batch calls; prints only",
    )
    parser.add_argument("--runs", type=int, default=3, help="alternating runs (default 3)")
    parser.add_argument(
        "--state",
        type=Path,
        help="keep each finished step's figures in this "
        "JSON file, and skip the steps it already holds (resume a broken run)",
    )
    parser.add_argument(
        "--split-runs", type=int, help="alternating runs of step 3 (default: --runs)"
    )
    parser.add_argument(
        "--skip-lengths", action="store_true", help="leave out step 5 (memory against call length)"
    )
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    state: dict[str, Any] = {}
    if args.state and args.state.exists():
        state = json.loads(args.state.read_text())
    began = time.perf_counter() - state.get("seconds", 0.0)
    steps = ("score", "wer", "split", "batch", "lengths")  # steps 1-5, in order
    resumed = tuple(str(k + 1) for k, name in enumerate(steps) if name in state)

    def step(name: str, title: str, function: Any) -> Any:
        if name not in state:
            print(title, file=sys.stderr, flush=True)
            state[name] = function()
            state["seconds"] = time.perf_counter() - began
            if args.state:
                args.state.write_text(json.dumps(state))
        return state[name]

    compile_callqa()
    with tempfile.TemporaryDirectory(prefix="callqa-throughput-") as tmp:
        work = Path(tmp)
        (work / "sequential.toml").write_text(SEQUENTIAL)
        (work / "default.toml").write_text(DEFAULT)
        score = step(
            "score", "1. callqa score against the bare script", lambda: score_runs(work, runs)
        )
        wer = step("wer", "2. word error rate", lambda: wer_study(args.quick))
        split = step(
            "split",
            "3. threads: model replicas x threads",
            lambda: {str(k): v for k, v in thread_split(args.split_runs or runs).items()},
        )
        batch = step(
            "batch", "4. callqa batch", lambda: batch_runs(work, max(1, runs - 1), args.quick)
        )
        skip = args.quick or args.skip_lengths
        lengths = step(
            "lengths",
            "5. memory against call length",
            lambda: [] if skip else memory_by_length(work),
        )
    minutes = (time.perf_counter() - began) / 60
    split = {int(k): v for k, v in split.items()}
    text = markdown(score, wer, batch, split, lengths, minutes, runs, max(1, runs - 1), resumed)
    if not args.quick:
        atomic_write_text(RESULTS, text)
        print(f"wrote {RESULTS}", file=sys.stderr)
    print(text)


if __name__ == "__main__":
    main()
