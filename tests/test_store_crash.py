"""The store survives SIGKILL at any point of a write: nothing is lost or stored twice.

A child process runs a batch whose store writes kill the process (SIGKILL, as the OOM killer
would) at a random statement of a random call's transaction, or right after it commits. After
each crash the store must open and hold only whole calls; after the crashes a normal run
finishes the batch, and then every input is stored exactly once and the store's export
matches the per-call JSON files.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import clip

from callqa.batch import export_rows, store

ROOT = Path(__file__).resolve().parents[1]
CALLS = 8
CRASHES = 8

CHILD = textwrap.dedent(
    """
    import os, random, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from callqa.batch import BatchOptions, collect_inputs, run_batch, store
    from callqa.batch.progress import make_reporter
    from callqa.transcription.fake import FakeTranscriber

    work, rng = Path(sys.argv[2]), random.Random(int(sys.argv[3]))
    real_insert, real_commit = store._insert_many, store._write_call

    def maybe_die():
        if rng.random() < 0.12:
            os.kill(os.getpid(), signal.SIGKILL)

    def insert(con, table, key, rows):  # inside the call's transaction
        maybe_die()
        real_insert(con, table, key, rows)
        maybe_die()

    def write(con, record, *, replace):
        written = real_commit(con, record, replace=replace)
        maybe_die()  # committed, not yet known to the batch
        return written

    store._insert_many, store._write_call = insert, write
    run_batch(collect_inputs([work / "calls"]), out_dir=work / "out", store_path=work / "s.duckdb",
              transcriber_factory=FakeTranscriber, options=BatchOptions(workers=0),
              reporter=make_reporter("quiet"))
    """
)


def _whole_calls_only(db: Path) -> int:
    """Open the store (replaying its log) and check every stored call is complete."""
    with store.connect(db) as con:
        calls = con.execute("SELECT count(*), count(DISTINCT audio_sha256) FROM calls").fetchone()
        assert calls is not None and calls[0] == calls[1]
        for table in ("section_scores", "check_results", "metrics"):
            orphans = con.execute(
                f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM calls c "
                "WHERE c.audio_sha256 = t.audio_sha256 AND c.config_hash = t.config_hash)"
            ).fetchone()
            assert orphans == (0,), table
            missing = con.execute(
                f"SELECT count(*) FROM calls c WHERE NOT EXISTS (SELECT 1 FROM {table} t "
                "WHERE c.audio_sha256 = t.audio_sha256 AND c.config_hash = t.config_hash)"
            ).fetchone()
            assert missing == (0,), table
        return int(calls[0])


@pytest.mark.slow
def test_sigkill_during_store_writes_loses_and_doubles_nothing(tmp_path: Path) -> None:
    source = clip(tmp_path / "source.wav", 0, 12)
    for i in range(CALLS):
        clip(tmp_path / "calls" / f"c{i}.wav", 1.2 * i, 1.0, source=source)
    db = tmp_path / "s.duckdb"
    crashed = 0
    for seed in range(CRASHES):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), str(tmp_path), str(seed)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode in (0, -signal.SIGKILL), done.stderr[-2000:]
        crashed += done.returncode == -signal.SIGKILL
        if db.exists():
            _whole_calls_only(db)
    assert crashed >= CRASHES // 2  # the writes really were interrupted
    final = subprocess.run(
        [sys.executable, "-c", CHILD.replace("rng.random() < 0.12", "False"), str(ROOT),
         str(tmp_path), "0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert final.returncode == 0, final.stderr[-2000:]
    assert _whole_calls_only(db) == CALLS
    with store.connect(db, read_only=True) as con:
        statuses = [s for (s,) in con.execute("SELECT status FROM runs").fetchall()]
    assert len(statuses) == CRASHES + 1 and set(statuses) <= {"running", "finished"}
    assert statuses.count("running") == crashed  # a killed run is visibly unfinished
    rows = export_rows(db)
    assert len(rows) == CALLS
    for row in rows:
        card = json.loads((tmp_path / "out" / "calls" / f"{row['call_id']}.json").read_text())
        assert card["source"]["sha256"] == row["audio_sha256"]
        assert card["score"] == row["score"]
        verdicts = {f"check_{c['id']}": c["verdict"] for c in card["checks"]}
        assert verdicts == {k: v for k, v in row.items() if k.startswith("check_")}
