"""The C heap policy of processes callqa owns (callqa.heap): one arena, so that the decoder's
largest arrays are reused while a call is transcribed instead of mapped and zeroed again.

Each case runs in a fresh process: an arena is taken by a thread at its first allocation, so
only a process that set nothing before shows what the policy does."""

from __future__ import annotations

import ctypes

import pytest
from conftest import MALLINFO, fresh_output

# A thread allocates a 72 MB block (the encoder's attention scores for one layer) with the C
# library's malloc, touches every page and frees it, twice; it prints the page faults of the
# second time. CTranslate2 allocates its arrays the same way, on a thread of its own.
_FAULTS = (
    "import ctypes, resource, sys, threading\n"
    "from callqa.heap import decoder_heap, one_arena\n"
    "first = sys.argv[1] == 'one_arena' and one_arena()\n"
    "libc = ctypes.CDLL(None)\n"
    "libc.malloc.restype = ctypes.c_void_p\n"
    "libc.free.argtypes = [ctypes.c_void_p]\n"
    "SIZE = 72 * 10**6\n"
    "faults = []\n"
    "def encode():\n"
    "    for _ in range(2):\n"
    "        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt\n"
    "        block = libc.malloc(SIZE)\n"
    "        ctypes.memset(block, 1, SIZE)\n"
    "        libc.free(block)\n"
    "        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)\n"
    "with decoder_heap():\n"
    "    worker = threading.Thread(target=encode)\n"
    "    worker.start()\n"
    "    worker.join()\n"
    "print(first, faults[1])\n"
)
PAGES = 72 * 10**6 // 4096  # the block's pages: 17,578


def _run(script: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    if not hasattr(ctypes.CDLL(None), "mallopt"):
        pytest.skip("not glibc")
    return fresh_output(script, *args, env=env)


def test_one_arena_lets_the_decoder_reuse_its_largest_arrays() -> None:
    """72 MB freed and allocated again on a second thread: with :func:`one_arena` the second
    time reuses the heap's pages (almost no page faults); without it the block is a fresh
    mapping each time, every one of its 17,578 pages faulted in again."""
    arena, reused = _run(_FAULTS, "one_arena")
    assert arena == "True"
    assert int(reused) < PAGES // 20
    default, fresh = _run(_FAULTS, "default")
    assert default == "False"
    assert int(fresh) > PAGES // 2


def test_one_arena_changes_nothing_once_another_thread_runs() -> None:
    """A thread that has allocated keeps its own arena, so one_arena only acts first thing in
    a process: with another Python thread running it returns False and sets nothing."""
    script = (
        "import threading\n"
        "from callqa import heap\n"
        "stop = threading.Event()\n"
        "worker = threading.Thread(target=stop.wait)\n"
        "worker.start()\n"
        "print(heap.one_arena(), heap._one_arena)\n"
        "stop.set()\n"
        "worker.join()\n"
        "print(heap.one_arena(), heap._one_arena)\n"
    )
    assert _run(script) == ["False", "False", "True", "True"]


def test_a_process_started_with_one_arena_takes_the_policy_without_the_call() -> None:
    """Started with ``MALLOC_ARENA_MAX=1`` (as a Ray actor is), every thread shares the main heap
    from the start: the 72 MB block is reused inside decoder_heap without one_arena having been
    called, and one_arena accepts with another thread running. Setting the variable once the
    process runs does not count: glibc read its environment at the start."""
    _, reused = _run(_FAULTS, "default", env={"MALLOC_ARENA_MAX": "1"})
    assert int(reused) < PAGES // 20
    script = (
        "import os, threading\n"
        "from callqa import heap\n"
        "os.environ['MALLOC_ARENA_MAX'] = '1'\n"
        "print(heap.started_with_one_arena())\n"
        "stop = threading.Event()\n"
        "worker = threading.Thread(target=stop.wait)\n"
        "worker.start()\n"
        "print(heap.one_arena())\n"
        "stop.set()\n"
        "worker.join()\n"
    )
    assert _run(script, env={"MALLOC_ARENA_MAX": "1"}) == ["True", "True"]
    assert _run(script, env={"MALLOC_ARENA_MAX": "2"}) == ["False", "False"]


def test_decoder_heap_maps_large_arrays_again_after_transcription() -> None:
    """Inside decoder_heap (after one_arena) nothing is mapped; after it a 64 MiB array gets a
    mapping of its own again, so the audio of the next block is returned when freed."""
    if not hasattr(ctypes.CDLL(None), "mallinfo2"):
        pytest.skip("not glibc 2.33 or later")
    script = MALLINFO + (
        "from callqa.heap import decoder_heap, one_arena\n"
        "assert one_arena()\n"
        "with decoder_heap():\n"
        "    print(mapped_while_held(64 << 20))\n"
        "print(mapped_while_held(64 << 20))\n"
    )
    assert _run(script) == ["0", "1"]


def test_the_cli_and_batch_workers_take_one_arena() -> None:
    """``callqa`` (any command) and each ``callqa batch`` worker set the policy before their
    first thread starts."""
    script = (
        "import sys\n"
        "from callqa import heap\n"
        "from callqa.cli import main\n"
        "sys.argv = ['callqa', '--version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(heap._one_arena)\n"
    )
    assert _run(script)[-1] == "True"
    worker = (
        "from callqa import heap\n"
        "from callqa.batch.engines import _worker_init\n"
        "from callqa.transcription.fake import FakeTranscriber\n"
        "_worker_init(FakeTranscriber, 1)\n"
        "print(heap._one_arena)\n"
    )
    assert _run(worker)[-1] == "True"
