"""The DuckDB results store: schema, idempotent writes, queries, migrations and locking."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from callqa.batch import store
from callqa.errors import StoreError


def card(score: float | None = 80.0, *, fail: str = "empathise.apology", when: str = "") -> dict:
    """A scorecard dict with the fields the store reads (hand-written known answers)."""
    return {
        "call_id": "c",
        "language": "en",
        "duration_s": 60.0,
        "score": score,
        "created_at": when or "2025-03-01T10:00:00+00:00",
        "sections": [{"id": "hear", "score": 100.0}, {"id": "empathise", "score": 0.0}],
        "checks": [
            {"id": "hear.no_interruptions", "verdict": "pass", "score": 1.0},
            {"id": fail, "verdict": "fail", "score": 0.0},
            {"id": "lead.alternative", "verdict": "na", "score": None},
        ],
        "metrics": {
            "agent_talk_share": 0.55,
            "dynamics": {
                "overlap_s": 1.5,
                "parties": [
                    {"speaker": "agent", "interruptions": 2, "talk_s": 30.0},
                    {"speaker": "customer", "interruptions": 1, "talk_s": 25.0},
                ],
            },
        },
    }


def record(sha: str, **kw: Any) -> store.CallRecord:
    base: dict[str, Any] = {
        "audio_sha256": sha,
        "config_hash": "cfg1",
        "call_id": f"call-{sha}",
        "scorecard": card(),
        "agent_id": "ann",
        "team": "A",
        "call_date": "2025-03-01",
    }
    base.update(kw)
    return store.CallRecord(**base)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "qa.duckdb"


def test_new_store_has_current_schema(db: Path) -> None:
    with store.connect(db) as con:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        version = con.execute("SELECT max(version) FROM schema_version").fetchone()
    assert {"calls", "check_results", "section_scores", "metrics", "runs", "failures"} <= tables
    assert "file_hashes" in tables
    assert version == (store.SCHEMA_VERSION,)


def test_write_is_idempotent_and_complete(db: Path) -> None:
    assert store.write_call(db, record("a")) is True
    assert store.write_call(db, record("a", call_id="renamed")) is False  # same key: no change
    with store.connect(db, read_only=True) as con:
        assert con.execute("SELECT call_id FROM calls").fetchall() == [("call-a",)]
        checks = con.execute(
            "SELECT check_id, section_id, verdict FROM check_results ORDER BY check_id"
        ).fetchall()
        metric = con.execute(
            "SELECT value FROM metrics WHERE name = 'dynamics.parties.agent.interruptions'"
        ).fetchone()
    assert checks == [
        ("empathise.apology", "empathise", "fail"),
        ("hear.no_interruptions", "hear", "pass"),
        ("lead.alternative", "lead", "na"),
    ]
    assert metric == (2.0,)


def test_replace_call_overwrites_children(db: Path) -> None:
    store.write_call(db, record("a"))
    store.replace_call(db, record("a", scorecard=card(40.0, fail="action.next_step")))
    rows = store.read_calls(db)
    assert [(r["score"], r["failed_items"]) for r in rows] == [(40.0, ["action.next_step"])]
    with store.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM check_results").fetchone() == (3,)


def test_scored_keys(db: Path) -> None:
    assert store.scored_keys(db, [("a", "cfg1")]) == set()  # no file yet: nothing scored
    store.write_call(db, record("a"))
    wanted = [("a", "cfg1"), ("a", "cfg2"), ("b", "cfg1")]
    assert store.scored_keys(db, wanted) == {("a", "cfg1")}


def test_read_calls_shape_and_filters(db: Path) -> None:
    store.write_call(db, record("a", agent_id="ann", team="A", call_date="2025-03-01"))
    store.write_call(db, record("b", agent_id="bob", team="B", call_date="2025-03-05"))
    store.write_call(db, record("c", agent_id="ann", team="A", call_date=None))  # scored 03-01
    rows = store.read_calls(db)
    first = rows[0]
    assert set(first) >= {
        "call_id", "agent_id", "team", "call_date", "scored_at", "score", "sections",
        "agent_talk_share", "agent_interruptions", "failed_items", "scorecard", "scorecard_path",
    }  # fmt: skip
    assert first["sections"] == {"hear": 100.0, "empathise": 0.0}
    assert first["agent_interruptions"] == 2
    assert first["agent_talk_share"] == pytest.approx(0.55)
    assert first["failed_items"] == ["empathise.apology"]
    assert first["scored_at"] == "2025-03-01T10:00:00"
    assert [r["call_id"] for r in store.read_calls(db, since="2025-03-02")] == ["call-b"]
    assert sorted(r["call_id"] for r in store.read_calls(db, until="2025-03-01")) == [
        "call-a",
        "call-c",
    ]
    assert [r["call_id"] for r in store.read_calls(db, team="B")] == ["call-b"]
    assert sorted(r["call_id"] for r in store.read_calls(db, agent="ann")) == ["call-a", "call-c"]
    with pytest.raises(StoreError, match="YYYY-MM-DD"):
        store.read_calls(db, since="March")


def test_latest_only_keeps_one_row_per_audio(db: Path) -> None:
    store.write_call(db, record("a", scorecard=card(50.0, when="2025-03-01T10:00:00Z")))
    newer = card(70.0, when="2025-03-02T10:00:00Z")
    store.write_call(db, record("a", config_hash="cfg2", scorecard=newer))
    assert [r["score"] for r in store.read_calls(db)] == [70.0]
    assert sorted(r["score"] for r in store.read_calls(db, latest_only=False)) == [50.0, 70.0]


def test_failed_write_leaves_no_partial_rows(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_call(db, record("a"))
    original = store._insert_many

    def explode(con: Any, table: str, key: list[str], rows: Any) -> None:
        if table == "metrics":
            raise RuntimeError("disk full")
        original(con, table, key, rows)

    monkeypatch.setattr(store, "_insert_many", explode)
    with pytest.raises(RuntimeError):
        store.write_call(db, record("b"))
    with store.connect(db, read_only=True) as con:
        for table in ("calls", "section_scores", "check_results"):
            keys = con.execute(f"SELECT DISTINCT audio_sha256 FROM {table}").fetchall()
            assert keys == [("a",)], table


def test_migration_from_version_1_keeps_rows(db: Path) -> None:
    con = duckdb.connect(str(db))
    assert store.migrate(con, upto=1) == 1
    con.close()
    with store.connect(db, migrate_schema=False) as con:
        store._write_call(con, record("a"), replace=False)
    with store.connect(db) as con:  # opening for writing migrates
        assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM calls").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM file_hashes").fetchone() == (0,)


def test_newer_schema_is_refused(db: Path) -> None:
    with store.connect(db) as con:
        con.execute("INSERT INTO schema_version VALUES (99, now())")
    with pytest.raises(StoreError, match="newer than this callqa"):
        store.read_calls(db)


def test_not_a_store(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("hello")
    with pytest.raises(StoreError, match="cannot open store"):
        store.write_call(bogus, record("a"))
    with pytest.raises(StoreError, match="does not exist"):
        store.read_calls(tmp_path / "missing.duckdb")


def test_file_hash_cache(db: Path) -> None:
    store.remember_hashes(db, [("/x.wav", 10, 111, "h1"), ("/y.wav", 20, 222, "h2")])
    cached = store.cached_hashes(db, [("/x.wav", 10, 111), ("/y.wav", 20, 999), ("/z.wav", 1, 1)])
    assert cached == {"/x.wav": "h1"}  # /y.wav changed (mtime), /z.wav never seen


HOLD = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


def hold_store(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that keeps the DuckDB file open for writing for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_writer_waits_for_a_busy_store(db: Path) -> None:
    store.write_call(db, record("a"))
    holder = hold_store(db, 1.0)
    start = time.monotonic()
    assert store.write_call(db, record("b"), timeout_s=20) is True
    waited = time.monotonic() - start
    holder.wait(timeout=10)
    assert waited > 0.3  # it really had to wait
    assert len(store.read_calls(db)) == 2


def test_busy_store_times_out_with_clear_message(db: Path) -> None:
    store.write_call(db, record("a"))
    holder = hold_store(db, 8.0)
    try:
        with pytest.raises(StoreError, match=r"in use by another process \(PID \d+\)"):
            store.read_calls(db, timeout_s=0.3)
    finally:
        holder.kill()
        holder.wait()
    assert len(store.read_calls(db)) == 1  # intact afterwards


def test_event_lists_are_not_flattened_into_metrics(db: Path) -> None:
    data = card()
    data["metrics"]["dynamics"]["turns"] = [
        {"speaker": "agent", "end": 1.0},
        {"speaker": "agent", "end": 2.0},  # repeated names: a list of events, not of parties
    ]
    assert store.write_call(db, record("a", scorecard=data))
    with store.connect(db, read_only=True) as con:
        names = {r[0] for r in con.execute("SELECT name FROM metrics").fetchall()}
    assert "dynamics.parties.agent.talk_s" in names
    assert not any(n.startswith("dynamics.turns") for n in names)


@pytest.mark.parametrize("card", ["null", '{"sections": [1, 2]}', '{"checks": 5}', "[]"])
def test_a_damaged_stored_scorecard_is_one_line_naming_the_call(db: Path, card: str) -> None:
    """A row edited by hand had failed stats, export, dashboard, queue and calibrate with a
    Python error (AttributeError, TypeError)."""
    store.write_call(db, record("c1"))
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE calls SET scorecard = ?", [card])
    with pytest.raises(StoreError, match=r"the stored scorecard of call call-c1 is damaged \("):
        store.read_calls(db)
