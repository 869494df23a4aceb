"""The Ray engine on a private local cluster (127.0.0.1): same rows as the local engine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import clip

from callqa.batch import BatchOptions, collect_inputs, run_batch, store
from callqa.batch.progress import make_reporter
from callqa.transcription.fake import FakeTranscriber

pytest.importorskip("ray", reason="the Ray engine needs the optional extra: pip install ray")

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ("created_at", "timings_s")


@pytest.mark.ray
def test_ray_rows_equal_local_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # every process of the cluster agrees
    for i in range(3):
        clip(tmp_path / "calls" / f"c{i}.wav", 6 * i, 5)
    runs = {}
    for engine, workers in (("local", 0), ("ray", 2)):
        out = tmp_path / engine
        options = BatchOptions(workers=workers, threads=1, engine=engine, ray_address="local")
        runs[engine] = run_batch(
            collect_inputs([tmp_path / "calls"]),
            out_dir=out,
            store_path=tmp_path / f"{engine}.duckdb",
            transcriber_factory=FakeTranscriber,
            options=options,
            reporter=make_reporter("quiet"),
        )
    assert runs["ray"].counts == {"scored": 3, "skipped": 0, "failed": 0}
    for i in range(3):
        cards = [json.loads((tmp_path / e / "calls" / f"c{i}.json").read_text()) for e in runs]
        local, ray = ({k: v for k, v in c.items() if k not in VOLATILE} for c in cards)
        assert ray == local, _differences(local, ray)
    # the driver wrote the store, exactly as the local engine did
    stored = {r["call_id"]: r["score"] for r in store.read_calls(tmp_path / "ray.duckdb")}
    assert stored == {r["call_id"]: r["score"] for r in store.read_calls(tmp_path / "local.duckdb")}
    differ = ("source_path", "scored_at")  # where and when each run scored
    local_rows = [{k: v for k, v in r.items() if k not in differ} for r in runs["local"].rows]
    ray_rows = [{k: v for k, v in r.items() if k not in differ} for r in runs["ray"].rows]
    assert ray_rows == local_rows


def _differences(a: object, b: object, path: str = "") -> list[str]:
    """Paths (and both values) where two JSON values differ, for the assertion message."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {str(a)[:80]} != {str(b)[:80]}"]


@pytest.mark.ray
def test_ray_actors_share_one_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray's actors start with its threads running, too late for ``one_arena`` to act; they are
    started with ``MALLOC_ARENA_MAX=1`` instead, so the decoder's heap policy applies there."""
    import ray

    from callqa import heap
    from callqa.batch.ray_engine import RayEngine

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    engine = RayEngine(FakeTranscriber, workers=1, threads=1, address="local")
    assert engine._init(ray)
    try:
        (actor,) = engine._start_actors(ray, 1, lazy=True)
        policy = actor.__ray_call__.remote(
            lambda _: (heap.started_with_one_arena(), heap._one_arena, os.getpid())
        )
        started, taken, pid = ray.get(policy, timeout=120)
    finally:
        ray.shutdown()
    assert (started, taken) == (True, True)
    assert pid != os.getpid()
