"""Verdicts against a QA reviewer's labels: every transcript check, per language, and the
calibration of the verdict confidence.

Run from the repository root::

    python benchmarks/bench_verdicts.py --heldout  # writes benchmarks/results/verdicts.md
    python benchmarks/bench_verdicts.py --heldout --fit  # also refits the confidence table
    python benchmarks/bench_verdicts.py --show-misses    # every development disagreement
    python benchmarks/bench_verdicts.py --language fi    # one language of the development set

Data: ``benchmarks/data/calls/*.json`` (the development set: call transcripts written for
callqa and labelled item by item the way a QA reviewer labels a call; its README says how). The
rules were tuned on it, so its figures are development figures. ``benchmarks/data/heldout/``
(written by another author after the tuning, never used to tune a rule) gives the held-out
accuracy. Its misses are never printed (``--show-misses`` shows development misses only).

A verdict is compared with the label as a reviewer reads it: ``action.next_step`` passed
without a time frame (callqa's partial pass, score 0.5) counts as "fail", as the label
definition asks for a time frame, and so does a rote ``empathise.apology`` (score 0.5).
"Positive" in precision and recall is "fail": the agent did something wrong.

Confidence: each verdict's confidence is its check's track record for that verdict (see
callqa/scoring/confidence.py; a transcript file has every word clearly heard and no role
decision, so nothing else lowers it). The track records must say how often a verdict is right
on calls the rules were not tuned on, so ``--fit`` fits them on the held-out calls (the
development calls, where the rules agree with the labels by construction, would make every
verdict look certain). The calibration error (ECE, 10 equal-width bins) on the held-out calls is
given leave-one-call-out: each call's confidences come from track records fitted on the other
held-out calls. For reference the in-sample ECE of the shipped table is given on both sets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callqa.config import Config, replace_config  # noqa: E402
from callqa.pipeline import score_transcript  # noqa: E402
from callqa.scoring.confidence import Track  # noqa: E402
from callqa.transcription.files import parse_json  # noqa: E402

DEV = ROOT / "benchmarks" / "data" / "calls"
HELDOUT = ROOT / "benchmarks" / "data" / "heldout"
RESULTS = ROOT / "benchmarks" / "results" / "verdicts.md"
TRACKS = ROOT / "callqa" / "scoring" / "data" / "confidence.json"
LANGUAGES = ("en", "nb", "fi", "it", "sl")
BINS = 10


@dataclass(frozen=True)
class Verdict:
    """One item of one call: what callqa said and what the reviewer said."""

    call: str
    language: str
    item: str
    predicted: str
    label: str
    key: str  # the track record it is judged by (verdict, or verdict/weak)
    confidence: float | None
    evidence: str
    label_why: str

    @property
    def right(self) -> bool:
        return self.predicted == self.label


def load_calls(folder: Path) -> list[dict]:
    """The labelled calls of ``folder`` (each: id, transcript, labels)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def track_key(check: Mapping) -> str:
    """The track record key of a verdict in its JSON form (as callqa.scoring.confidence)."""
    if check["details"].get("strength") == "weak":
        return f"{check['verdict']}/weak"
    if check["details"].get("partial"):
        return f"{check['verdict']}/partial"
    if check["details"].get("rote"):
        return f"{check['verdict']}/rote"
    return str(check["verdict"])


def as_reviewer_reads(check: Mapping) -> str:
    """callqa's verdict in the label's terms: a partial next step (no time frame) and a rote
    apology (the same words over and over, score 0.5) are fails, as the label rules read
    them."""
    if check["id"] == "action.next_step" and check["details"].get("partial"):
        return "fail"
    if check["id"] == "empathise.apology" and check["details"].get("rote"):
        return "fail"
    return str(check["verdict"])


def score_calls(calls: Sequence[dict], config: Config) -> list[Verdict]:
    """Score every call from its transcript and pair each labelled item with callqa's verdict."""
    from callqa.scoring.scorecard import to_dict

    out = []
    for call in calls:
        path = Path(f"{call['id']}.json")
        transcript = parse_json(json.dumps(call["transcript"]), path)
        card = to_dict(score_transcript(transcript, source=path, sha256="0" * 64, config=config))
        checks = {c["id"]: c for c in card["checks"]}
        for item, label in call["labels"].items():
            check = checks[item]
            quote = "; ".join(e["text"] for e in check["evidence"][:2])
            reason = check["details"].get("reason", "")
            out.append(
                Verdict(
                    call=call["id"],
                    language=transcript.language,
                    item=item,
                    predicted=as_reviewer_reads(check),
                    label=label["verdict"],
                    key=track_key(check),
                    confidence=check.get("confidence"),
                    evidence=quote or reason,
                    label_why=label.get("why", ""),
                )
            )
    return out


def tracks_of(verdicts: Iterable[Verdict]) -> dict[str, dict[str, Track]]:
    """check -> track key (the scorecard's verdict, or verdict/weak) -> (right, n)."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for v in verdicts:
        cell = counts[v.item][v.key]
        cell[0] += v.right
        cell[1] += 1
    return {i: {p: Track(r, n) for p, (r, n) in d.items()} for i, d in counts.items()}


def ece(pairs: Sequence[tuple[float, bool]], bins: int = BINS) -> tuple[float, list[tuple]]:
    """Expected calibration error over equal-width bins, and the reliability rows
    (low, high, n, mean confidence, share right)."""
    rows, total, err = [], len(pairs), 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, r) for c, r in pairs if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if not inside:
            continue
        conf = sum(c for c, _ in inside) / len(inside)
        acc = sum(r for _, r in inside) / len(inside)
        err += len(inside) / total * abs(conf - acc)
        rows.append((lo, hi, len(inside), conf, acc))
    return err, rows


def loo_pairs(verdicts: Sequence[Verdict]) -> list[tuple[float, bool]]:
    """(confidence, right) with each call's track records fitted on the other calls."""
    by_call: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        by_call[v.call].append(v)
    pairs = []
    for call, mine in by_call.items():
        others = tracks_of(v for v in verdicts if v.call != call)
        for v in mine:
            track = others.get(v.item, {}).get(v.key, Track(0, 0))
            pairs.append((track.rate, v.right))
    return pairs


def table(verdicts: Sequence[Verdict]) -> list[str]:
    """Accuracy per check and language; precision/recall of "fail" over all languages."""
    items = sorted({v.item for v in verdicts})
    lines = [
        "| check | " + " | ".join(LANGUAGES) + " | all | fail P | fail R | n |",
        "|---|" + "---:|" * (len(LANGUAGES) + 4),
    ]
    for item in items:
        mine = [v for v in verdicts if v.item == item]
        cells = []
        for lang in LANGUAGES:
            got = [v for v in mine if v.language == lang]
            cells.append(f"{_share(got)}" if got else "-")
        tp = sum(v.predicted == "fail" and v.label == "fail" for v in mine)
        pred = sum(v.predicted == "fail" for v in mine)
        gold = sum(v.label == "fail" for v in mine)
        lines.append(
            f"| `{item}` | " + " | ".join(cells) + f" | {_share(mine)} | "
            f"{tp / pred if pred else float('nan'):.2f} | {tp / gold if gold else float('nan'):.2f}"
            f" | {len(mine)} |"
        )
    return lines


def _share(vs: Sequence[Verdict]) -> str:
    return f"{sum(v.right for v in vs) / len(vs):.2f}" if vs else "-"


def confusion(verdicts: Sequence[Verdict]) -> list[str]:
    counts = Counter((v.label, v.predicted) for v in verdicts)
    names = ("pass", "fail", "na")
    lines = ["| label \\ callqa | pass | fail | na |", "|---|---:|---:|---:|"]
    for lab in names:
        lines.append(f"| {lab} | " + " | ".join(str(counts[(lab, p)]) for p in names) + " |")
    return lines


def reliability(rows: Sequence[tuple]) -> list[str]:
    lines = ["| confidence | verdicts | mean confidence | right |", "|---|---:|---:|---:|"]
    lines += [f"| {lo:.1f}-{hi:.1f} | {n} | {c:.2f} | {a:.2f} |" for lo, hi, n, c, a in rows]
    return lines


def report(name: str, verdicts: Sequence[Verdict], loo: bool) -> list[str]:
    """The Markdown section for one data set."""
    calls = len({v.call for v in verdicts})
    right = sum(v.right for v in verdicts)
    forbidden = [v for v in verdicts if v.item == "positive.forbidden_phrases"]
    false_fails = [v for v in forbidden if v.predicted == "fail" and v.label != "fail"]
    lines = [
        f"## {name}",
        "",
        f"{calls} calls, {len(verdicts)} labelled items; callqa agrees with the reviewer on "
        f"{right} ({right / max(1, len(verdicts)):.1%}). Auto-fail item "
        f"(`positive.forbidden_phrases`): {len(false_fails)} false fails.",
        "",
        "Accuracy per check and language (share of items where callqa's verdict equals the label):",
        "",
        *table(verdicts),
        "",
        "Confusion over every item:",
        "",
        *confusion(verdicts),
        "",
    ]
    pairs = [(v.confidence, v.right) for v in verdicts if v.confidence is not None]
    err, rows = ece(pairs)
    lines += [
        f"Confidence as shipped (the table fitted on the held-out calls): ECE {err:.3f}.",
        "",
        *reliability(rows),
        "",
    ]
    if loo:
        loo_err, loo_rows = ece(loo_pairs(verdicts))
        lines += [
            "**Calibration on calls the confidence table did not see** (leave-one-call-out: "
            f"each call's confidences from the other held-out calls' track records): ECE "
            f"{loo_err:.3f}.",
            "",
            *reliability(loo_rows),
            "",
        ]
    return lines


def write_tracks(verdicts: Sequence[Verdict]) -> None:
    tracks = tracks_of(verdicts)
    data = {
        "about": "Track records of the transcript checks on the held-out labelled calls "
        "(benchmarks/data/heldout; no rule was tuned on them): per check and verdict (or "
        "verdict/kind of evidence), [right, n]. Written by benchmarks/bench_verdicts.py --fit.",
        "calls": len({v.call for v in verdicts}),
        "checks": {
            item: {p: [t.right, t.n] for p, t in sorted(by.items())}
            for item, by in sorted(tracks.items())
        },
    }
    TRACKS.parent.mkdir(parents=True, exist_ok=True)
    TRACKS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true", help="refit the shipped track records")
    parser.add_argument("--show-misses", action="store_true", help="print every disagreement")
    parser.add_argument("--language", help="only calls in this language (development set)")
    parser.add_argument(
        "--heldout",
        action="store_true",
        help="also score the held-out set (report only: never tune on its misses)",
    )
    args = parser.parse_args(argv)
    config = replace_config(Config(), redaction__enabled=False)
    start = time.perf_counter()
    dev_calls = load_calls(DEV)
    if args.language:
        dev_calls = [c for c in dev_calls if c["transcript"]["language"] == args.language]
    use_held = (args.heldout or args.fit) and not args.language and HELDOUT.is_dir()
    held_calls = load_calls(HELDOUT) if use_held else []
    if args.fit:
        if not held_calls:
            parser.error("--fit needs the held-out calls (benchmarks/data/heldout)")
        write_tracks(score_calls(held_calls, config))
        from callqa.scoring import confidence

        confidence.track_records.cache_clear()
    dev = score_calls(dev_calls, config)
    held = score_calls(held_calls, config) if held_calls else []
    if args.show_misses:
        for v in dev:
            if not v.right:
                print(
                    f"{v.call:28} {v.item:28} callqa={v.predicted:4} label={v.label:4} | "
                    f"{v.evidence[:90]} || {v.label_why[:90]}"
                )
    lines = [
        "# Verdicts against a reviewer's labels",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python benchmarks/bench_verdicts.py` "
        f"({time.perf_counter() - start:.0f} s). Transcripts scored with the default rubric, "
        "no audio (the audio checks are not labelled). See the script's docstring for the "
        "comparison rules.",
        "",
        *report("Development set (benchmarks/data/calls; the rules were tuned on it)", dev, False),
    ]
    if held:
        lines += report(
            "Held-out set (benchmarks/data/heldout; no rule was tuned on it)", held, True
        )
    if not args.language and held:
        RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
