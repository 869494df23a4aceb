"""Turn the labelled call sets into what a team would have: transcripts, a manifest and a
reviews file.

Run from the repository root::

    python benchmarks/labels_to_reviews.py --out work/labelled
    callqa batch work/labelled/manifest.csv --store work/labelled/qa.duckdb --out work/labelled/out
    callqa review import work/labelled/reviews.csv --store work/labelled/qa.duckdb
    callqa calibrate --store work/labelled/qa.duckdb

Each call file of ``benchmarks/data/calls`` (the development set) and ``benchmarks/data/heldout``
holds a callqa transcript and a reviewer's label for each of the 11 text items
(benchmarks/data/calls/README.md). This writes:

- ``transcripts/<id>.json``: the call's transcript, as a callqa transcript file;
- ``manifest.csv``: ``path,call_id,team,language`` for ``callqa batch``; ``team`` is the set
  ("dev" or "heldout"), so ``--team heldout`` selects the held-out calls;
- ``reviews.csv``: ``call_id,item,verdict,reviewer,note,reviewed_at``, one row per label, the
  label's ``why`` as the note. The two sets were labelled by different people: the reviewer is
  ``dev-labeller`` or ``heldout-labeller``. No time is given (``reviewed_at`` empty).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "dev": ROOT / "benchmarks" / "data" / "calls",
    "heldout": ROOT / "benchmarks" / "data" / "heldout",
}
REVIEWERS = {"dev": "dev-labeller", "heldout": "heldout-labeller"}


def convert(out: Path, sets: list[str]) -> tuple[int, int]:
    """Write transcripts, manifest.csv and reviews.csv under ``out``; return (calls, reviews)."""
    (out / "transcripts").mkdir(parents=True, exist_ok=True)
    manifest, reviews = [], []
    for name in sets:
        for path in sorted(SETS[name].glob("*.json")):
            call = json.loads(path.read_text(encoding="utf-8"))
            target = out / "transcripts" / f"{call['id']}.json"
            target.write_text(
                json.dumps(call["transcript"], ensure_ascii=False, indent=1) + "\n",
                encoding="utf-8",
            )
            language = call["transcript"]["language"]
            manifest.append([f"transcripts/{target.name}", call["id"], name, language])
            for item, label in call["labels"].items():
                reviews.append(
                    [call["id"], item, label["verdict"], REVIEWERS[name], label.get("why", ""), ""]
                )
    _write_csv(out / "manifest.csv", ["path", "call_id", "team", "language"], manifest)
    _write_csv(
        out / "reviews.csv",
        ["call_id", "item", "verdict", "reviewer", "note", "reviewed_at"],
        reviews,
    )
    return len(manifest), len(reviews)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="Folder to write into.")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS))
    args = parser.parse_args()
    calls, reviews = convert(args.out, args.sets)
    print(f"{calls} transcripts, {reviews} reviews in {args.out}")


if __name__ == "__main__":
    main()
