"""Choose the second-pass thresholds of batched decoding on tuning data.

Usage (from the repository root)::

    python benchmarks/tune_redecode.py --cache /tmp/redecode  # writes results/redecode.md

It decodes every tuning window twice (greedy and beam 5); on the development machine, loaded
by other jobs, the first six clips took 38 minutes. ``--cache`` lets a stopped run resume.

Batched decoding (docs/transcription.md) decodes every window greedily and again with beam 5
the windows whose greedy scores fail a rule: mean token log-probability below
``redecode_log_prob``, compression ratio above ``redecode_compression_ratio``, or more than
``redecode_low_word_share`` of the words below probability 0.5. This script picks the three
thresholds. It never reads the clips that benchmarks/bench_throughput.py reports as held out
(en_jfk, the LibriSpeech stereo clip, the pyannote clip, the Norwegian and Italian clips, the
AWS call).

Tuning data (every clip has a reference text):

- FDA: the 50 read English sentences of ../shared/eval/pitch/fda_ue (real speech; text in
  ``orthographic.index``), laid out as a two-party call (the male speaker's sentences on the
  left channel, the female speaker's on the right, taking turns with 0.6 s gaps), in three
  versions: stereo at 16 kHz, stereo through an 8 kHz telephone band, and that band mixed to
  mono (diarized);
- the seven synthetic sample calls (sample_calls/*.truth.json; robotic espeak-ng voices).

Method: each clip goes through speech activity (``detect_activity``) and ``transcribe_call``
with batched decoding, as ``callqa score`` does; every window is decoded greedily and with
beam 5 from one loaded model (2 threads), and the greedy window's scores are kept. A rule is
then replayed exactly: beam 5's text for the windows it sends to the second pass, greedy
text for the others, through the same ``transcribe_call`` (cross-talk, speech and speaker
rules). The grid search keeps the rules whose WER is at most beam 5's + MARGIN in every
language group of the tuning data and picks the one that decodes the fewest windows again
(ties: the lower WER over all tuning clips, then the higher thresholds).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import itertools
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
FDA = EVAL / "pitch" / "fda_ue"
RESULTS = ROOT / "benchmarks" / "results" / "redecode.md"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_transcribe import sample_calls, truth_refs  # noqa: E402

from callqa.audio.activity import detect_activity  # noqa: E402
from callqa.audio.load import load_audio  # noqa: E402
from callqa.config import DynamicsConfig, TranscriptionConfig  # noqa: E402
from callqa.files import atomic_write_text  # noqa: E402
from callqa.transcription.adaptive import second_pass_reason  # noqa: E402
from callqa.transcription.batched import DecodedWindow  # noqa: E402
from callqa.transcription.call import transcribe_call  # noqa: E402
from callqa.transcription.load import load_transcriber  # noqa: E402
from callqa.transcription.model import WindowText  # noqa: E402
from callqa.transcription.wer import edit_distance, normalize_text  # noqa: E402
from callqa.types import SAMPLE_RATE, CallAudio, ModelInfo, Utterance  # noqa: E402

THREADS = 2
GAP_S = 0.6  # pause between two FDA sentences (one speaker answers the other)
MARGIN = 0.005  # WER a rule may add to beam 5's, per language group of the tuning data
LOG_PROBS = tuple(round(x, 2) for x in np.arange(-1.0, -0.149, 0.05))
RATIOS = (1.8, 2.0, 2.2, 2.4, 100.0)
SHARES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 1.0)


@dataclass(frozen=True)
class Clip:
    name: str
    group: str  # language group of the WER constraint
    audio: CallAudio
    language: str
    refs: tuple[tuple[str | None, str], ...]  # (channel label or None = every word, text)


# --------------------------------------------------------------------------- data


def fda_clips() -> list[Clip]:
    """The FDA sentences as a two-party call: 16 kHz stereo, 8 kHz band stereo and mono."""
    import soundfile as sf
    from scipy.signal import resample_poly

    text = dict(
        line.split(maxsplit=1)
        for line in (FDA / "orthographic.index").read_text().splitlines()
        if line.strip()
    )
    male, female = sorted(FDA.glob("rl*.wav")), sorted(FDA.glob("sb*.wav"))
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    for m, f in zip(male, female, strict=True):
        for path, mine, other in ((m, left, right), (f, right, left)):
            data, rate = sf.read(path, dtype="float32")
            speech = resample_poly(data, SAMPLE_RATE, rate).astype(np.float32)
            mine += [speech, gap]
            other += [np.zeros_like(speech), gap]
    stereo = (np.concatenate(left), np.concatenate(right))
    band = tuple(_telephone(c) for c in stereo)
    refs = (
        ("left", " ".join(text[p.stem[2:]] for p in male)),
        ("right", " ".join(text[p.stem[2:]] for p in female)),
    )
    mono_ref = ((None, " ".join(f"{text[m.stem[2:]]} {text[m.stem[2:]]}" for m in male)),)
    return [
        Clip("fda_stereo_16k", "real en", _audio(stereo), "en", refs),
        Clip("fda_stereo_8k", "real en", _audio(band), "en", refs),
        Clip("fda_mono_8k", "real en", _audio((0.5 * (band[0] + band[1]),)), "en", mono_ref),
    ]


def _telephone(x: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(resample_poly(x, 1, 2), 2, 1).astype(np.float32)[: len(x)]


def _audio(channels: tuple[np.ndarray, ...]) -> CallAudio:
    return CallAudio(tuple(np.ascontiguousarray(c) for c in channels), None, "", SAMPLE_RATE)


def sample_clips() -> list[Clip]:
    out = []
    for path, truth in sample_calls():
        lang = truth["language"]
        out.append(Clip(path.stem, f"synthetic {lang}", load_audio(path), lang, truth_refs(truth)))
    return out


# --------------------------------------------------------------------------- replay


Pair = tuple[DecodedWindow, DecodedWindow]  # one window decoded greedily and with beam 5


def window_key(audio: np.ndarray, language: str) -> str:
    """A window's identity: its samples and language (a rule that changes the first pass can
    change which turns are left empty, so the windows of the empty-turn pass differ)."""
    digest = hashlib.sha1(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    return f"{language}:{digest.hexdigest()}"


class Recorder:
    """Wraps the real transcriber: decodes every window it is asked for greedily and with beam 5
    (once: the results are kept by content in ``decodes``) and answers as the default decoding
    would with greedy text (beam 5 for ``careful`` windows). ``order`` lists the windows of the
    recording run (key, careful)."""

    def __init__(self, greedy: Any, beam: Any, decodes: dict[str, Pair] | None = None) -> None:
        self.greedy, self.beam = greedy, beam
        self.decodes: dict[str, Pair] = {} if decodes is None else decodes
        self.order: list[tuple[str, bool]] = []

    @property
    def info(self) -> ModelInfo:
        return self.greedy.info

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        return "en", 1.0  # the language is forced; the contradiction check is not tuned here

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        raise AssertionError("tuning clips always have speech activity")

    def keyed(self, windows: Sequence[np.ndarray], language: str) -> list[str]:
        """Each window's key, after decoding (greedy and beam 5) the windows not seen yet;
        their decodes are ``self.decodes[key]``."""
        audios = [windows[i] for i in range(len(windows))]  # each window cut once
        keys = [window_key(a, language) for a in audios]
        new = [i for i, k in enumerate(keys) if k not in self.decodes]
        if new:
            chosen = [audios[i] for i in new]
            greedy = self.greedy.decode_windows(chosen, language=language)
            beam = self.beam.decode_windows(chosen, language=language)
            for i, g, b in zip(new, greedy, beam, strict=True):
                self.decodes[keys[i]] = (g, b)
        return keys

    def transcribe_windows(
        self,
        windows: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> tuple[WindowText, ...]:
        keys = self.keyed(windows, language)
        self.order += [(key, careful) for key in keys]
        pairs = (self.decodes[key] for key in keys)
        return tuple(WindowText((b if careful else g).utterances) for g, b in pairs)


class Replay:
    """Answers each ``transcribe_windows`` call with a rule's choice of the recorded decodes;
    a window the recording never saw (an empty turn that only this rule leaves) is decoded by
    ``live`` and kept for the next rule."""

    def __init__(self, live: Recorder, config: TranscriptionConfig) -> None:
        self._live = live
        self._config = config
        self.windows = self.again = self.careful = 0

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(backend="replay", name="replay")

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        return "en", 1.0

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        raise AssertionError("tuning clips always have speech activity")

    def transcribe_windows(
        self,
        windows: Sequence[np.ndarray],
        *,
        language: str,
        careful: bool = False,
        identify: bool = False,
    ) -> tuple[WindowText, ...]:
        out = []
        for key in self._live.keyed(windows, language):
            g, b = self._live.decodes[key]
            if careful:  # empty turns: beam 5 under every rule, counted apart
                self.careful += 1
                out.append(WindowText(b.utterances))
                continue
            again = second_pass_reason(g.scores, self._config) is not None
            self.windows += 1
            self.again += again
            out.append(WindowText(b.utterances if again else g.utterances))
        return tuple(out)


def errors(clip: Clip, transcript: Any) -> tuple[int, int]:
    """(word errors, reference words) of a transcript against the clip's references."""
    e = n = 0
    for speaker, ref in clip.refs:
        hyp = " ".join(w.text for w in transcript.words if speaker is None or w.speaker == speaker)
        e += edit_distance(normalize_text(ref), normalize_text(hyp))
        n += len(normalize_text(ref))
    return e, n


@dataclass
class Recorded:
    clip: Clip
    activity: Any
    live: Recorder  # the decodes so far (by window), and the models for windows not seen yet


def record(
    clips: list[Clip], base: TranscriptionConfig, cache: Path | None = None
) -> list[Recorded]:
    """Every clip's windows decoded greedily and with beam 5. With ``cache`` (a folder), each
    clip's recording is kept there as it is made and read back on the next run, so a run that
    was stopped resumes where it was."""
    model = load_transcriber(base)
    greedy = model.reconfigured(replace(base, first_beam_size=1, beam_size=1))
    beam = model.reconfigured(replace(base, first_beam_size=5, beam_size=5))
    out = []
    for clip in clips:
        kept = cache / f"{clip.name}.pickle" if cache else None
        if kept is not None and kept.exists():
            activity, decodes, order = pickle.loads(kept.read_bytes())
            rec = Recorder(greedy, beam, decodes)
            rec.order = order
            out.append(Recorded(clip, activity, rec))
            continue
        activity = detect_activity(clip.audio, DynamicsConfig())
        rec = Recorder(greedy, beam)
        t = time.perf_counter()
        transcribe_call(clip.audio, rec, activity=activity, language=clip.language, config=base)
        n = len(rec.order)
        print(f"  {clip.name}: {n} windows, {time.perf_counter() - t:.1f} s", file=sys.stderr)
        out.append(Recorded(clip, activity, rec))
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(pickle.dumps((activity, rec.decodes, rec.order)))
    return out


def evaluate(recorded: list[Recorded], config: TranscriptionConfig) -> dict[str, Any]:
    """Per group errors and words, windows and windows decoded again, under ``config``'s rule."""
    groups: dict[str, list[int]] = {}
    windows = again = careful = 0
    for r in recorded:
        replay = Replay(r.live, config)
        tr = transcribe_call(r.clip.audio, replay, activity=r.activity,
                             language=r.clip.language, config=config)  # fmt: skip
        e, n = errors(r.clip, tr)
        g = groups.setdefault(r.clip.group, [0, 0])
        g[0] += e
        g[1] += n
        windows += replay.windows
        again += replay.again
        careful += replay.careful
    return {"groups": groups, "windows": windows, "again": again, "careful": careful}


def wer_of(result: dict[str, Any], group: str | None = None) -> float:
    items = [v for k, v in result["groups"].items() if group in (None, k)]
    return sum(e for e, _ in items) / max(1, sum(n for _, n in items))


def rule(base: TranscriptionConfig, lp: float, cr: float, share: float) -> TranscriptionConfig:
    return replace(base, first_beam_size=1, beam_size=5, redecode_log_prob=lp,
                   redecode_compression_ratio=cr, redecode_low_word_share=share)  # fmt: skip


def search(recorded: list[Recorded], base: TranscriptionConfig) -> dict[str, Any]:
    greedy = evaluate(recorded, rule(base, -100.0, 100.0, 1.0))
    beam = evaluate(recorded, rule(base, 0.0, 100.0, 1.0))
    ok, trials = [], []
    for lp, cr, share in itertools.product(LOG_PROBS, RATIOS, SHARES):
        result = evaluate(recorded, rule(base, lp, cr, share))
        fits = all(wer_of(result, g) <= wer_of(beam, g) + MARGIN for g in beam["groups"])
        trials.append((lp, cr, share, result))
        if fits:
            ok.append((result["again"], wer_of(result), -lp, -cr, -share, lp, cr, share, result))
    ok.sort(key=lambda x: x[:5])
    best = ok[0] if ok else None
    return {"greedy": greedy, "beam": beam, "best": best, "trials": trials, "n_ok": len(ok)}


# --------------------------------------------------------------------------- report


def window_rows(recorded: list[Recorded]) -> list[str]:
    lines = [
        "| clip | window | greedy avg log-prob | compression ratio | words | share below p 0.5 "
        "| greedy = beam 5 text |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in recorded:
        k = 0
        for key, careful in r.live.order:
            if careful:  # empty turns: beam 5 under every rule
                continue
            g, b = r.live.decodes[key]
            k += 1
            s = g.scores
            same = _text(g) == _text(b)
            lines.append(
                f"| {r.clip.name} | {k} | {s.avg_logprob:.3f} | {s.compression_ratio:.2f} | "
                f"{len(s.word_probabilities)} | {s.low_word_share:.2f} | "
                f"{'yes' if same else 'no'} |"
            )
    return lines


def _text(w: DecodedWindow) -> list[str]:
    return normalize_text(" ".join(u.text for u in w.utterances))


def markdown(recorded: list[Recorded], found: dict[str, Any], minutes: float) -> str:
    greedy, beam, best = found["greedy"], found["beam"], found["best"]
    groups = list(beam["groups"])
    lines = [
        "# Second-pass thresholds of batched decoding (benchmarks/tune_redecode.py)",
        "",
        f"Measured {datetime.date.today().isoformat()}, {minutes:.1f} min. Tuning data only "
        "(the FDA sentences as a call at 16 kHz, through an 8 kHz band, and mixed to mono; the "
        "seven synthetic sample calls); the held-out clips are in benchmarks/results/"
        "throughput.md. Whisper base int8, 2 threads, language forced, speech activity and "
        "`transcribe_call` as `callqa score` runs them. WER = word errors / reference words.",
        "",
        f"Rules tried: `redecode_log_prob` in {LOG_PROBS[0]} .. {LOG_PROBS[-1]} (step 0.05), "
        f"`redecode_compression_ratio` in {', '.join(map(str, RATIOS))} (100 = never), "
        f"`redecode_low_word_share` in {', '.join(map(str, SHARES))}: "
        f"{len(found['trials'])} rules, {found['n_ok']} within beam 5's WER + {MARGIN} in "
        "every group.",
        "",
        "| decoding | windows decoded again | "
        + " | ".join(f"WER {g}" for g in groups)
        + " | WER all |",
        "|---|---:|" + "---:|" * (len(groups) + 1),
    ]
    rows = [("greedy only", greedy), ("beam 5 only", beam)]
    if best is not None:
        lp, cr, share = best[5], best[6], best[7]
        rows.append((f"**chosen**: log-prob < {lp}, ratio > {cr}, low-word share > {share}",
                     best[8]))  # fmt: skip
    for name, result in rows:
        share_again = result["again"] / max(1, result["windows"])
        lines.append(
            f"| {name} | {result['again']}/{result['windows']} ({share_again:.0%}) | "
            + " | ".join(f"{wer_of(result, g):.3f}" for g in groups)
            + f" | {wer_of(result):.3f} |"
        )
    lines += [
        "",
        "Speech turns left without words by the first pass are decoded alone with beam 5 under "
        "every rule (not counted above): "
        + ", ".join(f"{name} {result['careful']}" for name, result in rows)
        + ".",
        "",
        "## The greedy pass of every tuning window",
        "",
        *window_rows(recorded),
        "",
    ]
    lines += _frontier(found, groups)
    return "\n".join(lines) + "\n"


def _frontier(found: dict[str, Any], groups: list[str]) -> list[str]:
    """The lowest WER reached at each number of windows decoded again (any rule)."""
    best: dict[int, tuple[float, Any]] = {}
    for lp, cr, share, result in found["trials"]:
        w = wer_of(result)
        if result["again"] not in best or w < best[result["again"]][0]:
            best[result["again"]] = (w, (lp, cr, share, result))
    lines = [
        "## Trade-off: the best rule at each count of windows decoded again",
        "",
        "| decoded again | log-prob | ratio | low-word share | "
        + " | ".join(f"WER {g}" for g in groups)
        + " | WER all |",
        "|---:|---:|---:|---:|" + "---:|" * (len(groups) + 1),
    ]
    for again in sorted(best):
        lp, cr, share, result = best[again][1]
        lines.append(
            f"| {again} | {lp} | {cr} | {share} | "
            + " | ".join(f"{wer_of(result, g):.3f}" for g in groups)
            + f" | {wer_of(result):.3f} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the FDA call at 16 kHz only")
    parser.add_argument(
        "--cache",
        type=Path,
        help="folder keeping each clip's recording (a stopped run resumes from it)",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    clips = fda_clips()[:1] if args.quick else fda_clips() + sample_clips()
    base = TranscriptionConfig(threads=THREADS)
    recorded = record(clips, base, args.cache)
    found = search(recorded, base)
    text = markdown(recorded, found, (time.perf_counter() - began) / 60)
    if not args.quick:
        atomic_write_text(RESULTS, text)
        print(f"wrote {RESULTS}", file=sys.stderr)
    print(text)


if __name__ == "__main__":
    main()
