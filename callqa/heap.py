"""How this process's C heap (glibc's malloc) serves callqa's arrays.

Two costs are traded here. An array with a mapping of its own goes back to the system when
freed, so memory does not grow block after block of a long call; but the kernel zeroes a new
mapping page by page, which costs time for arrays made and freed over and over (the decoder's).
:func:`fixed_mmap_threshold` (long calls), :func:`one_arena` (processes callqa owns) and
:func:`decoder_heap` (around transcription) set that balance. Where the C library is not glibc
nothing changes.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache

MMAP_THRESHOLD = 1 << 20  # bytes; larger arrays get their own mapping, returned when freed
# bytes, while transcribing: above most decoder arrays (a batch's encoder output: 12 MB), below
# a block's channel (19 MB at the default block_s), so block-sized copies keep their mappings
DECODER_MMAP_THRESHOLD = 16 << 20
# glibc's mallopt parameter numbers (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -4, -3, -8
MMAP_MAX = 65536  # glibc's default M_MMAP_MAX (mappings at once), restored after transcription
# bytes of free heap top kept while transcribing with one arena: above a batch's decoder
# buffers (35-50 MiB a window), so they are reused rather than returned and faulted in again
DECODER_TRIM_THRESHOLD = 256 << 20
TRIM_THRESHOLD = 64 << 20  # bytes, after: twice glibc's largest self-adjusted mmap threshold
_fixed = False  # this process fixed the mmap threshold (glibc cannot go back to adjusting it)
_one_arena = False  # every thread of this process allocates from the main heap (one_arena)


def fixed_mmap_threshold(nbytes: int = MMAP_THRESHOLD) -> bool:
    """Give every array above ``nbytes`` (default 1 MiB) its own memory mapping, returned to
    the system when freed.

    glibc raises its mmap threshold to the size of each mapped block it frees (up to 32 MiB):
    after the first block, block-sized arrays (20 MB a channel) come from the heap, which
    fragments and grows block after block (a 15-minute call peaked 25 % above a 5-minute one;
    with the threshold fixed, the same). Setting it turns that adjustment off. False where the
    C library has no ``mallopt`` (not glibc): nothing changes there.
    """
    global _fixed
    done = _mallopt(_M_MMAP_THRESHOLD, nbytes)
    _fixed = _fixed or done
    return done


def _mallopt(param: int, value: int) -> bool:
    """glibc's ``mallopt``; False where the C library has none (not glibc)."""
    try:
        return bool(ctypes.CDLL(None).mallopt(param, value))
    except (OSError, AttributeError):
        return False


def one_arena() -> bool:
    """Let every thread of this process allocate from glibc's main heap (``M_ARENA_MAX`` 1),
    so that :func:`decoder_heap` can serve Whisper's largest arrays from it.

    Call it first thing in a process callqa owns (the CLI, a ``callqa batch`` worker), before
    any other thread runs: a thread takes its arena at its first allocation, and one that
    already has its own keeps it. Returns False, and changes nothing, when other Python threads
    are running (unless the process started with ``MALLOC_ARENA_MAX=1``:
    :func:`started_with_one_arena`) or the C library is not glibc.

    Whisper's encoder allocates its attention scores for each of its layers (8 heads x 1500 x
    1500 floats, 72 MB) on CTranslate2's own thread. That thread's arena grows in heaps of at
    most 64 MiB, so each such array was a fresh mapping that the kernel zeroed page by page:
    on the 245 s benchmark call 66 of them per transcription, 1.2 million page faults and
    1.9 s of system time (docs/architecture.md, "Long calls").
    """
    global _one_arena
    if threading.active_count() > 1 and not started_with_one_arena():
        return False
    _one_arena = _one_arena or _mallopt(_M_ARENA_MAX, 1)
    return _one_arena


@lru_cache(maxsize=1)
def started_with_one_arena() -> bool:
    """True when this process was started with ``MALLOC_ARENA_MAX=1`` in its environment, which
    glibc reads before any thread runs: every thread of it allocates from the main heap (a Ray
    actor's, ``callqa.batch.ray_engine``). The environment the process started with is read
    (``/proc/self/environ``, a few KB), not ``os.environ``, which a program may change later."""
    try:
        with open("/proc/self/environ", "rb") as environ:
            return b"MALLOC_ARENA_MAX=1" in environ.read(1 << 20).split(b"\0")
    except OSError:
        return False


@contextmanager
def decoder_heap() -> Iterator[None]:
    """While a call or a block is transcribed, the decoder's arrays come from the heap and are
    reused; after it, the heap's free pages go back to the system.

    After :func:`one_arena`, or in a process started with ``MALLOC_ARENA_MAX=1``, nothing is
    mapped while transcribing (``M_MMAP_MAX`` 0, and :data:`DECODER_TRIM_THRESHOLD` of free
    heap top is kept): the encoder's 72 MB attention scores and a batch's decoder buffers reuse
    the same pages, window after window. The 245 s benchmark call's transcription took
    14.1-14.6 s instead of 15.2-15.5 s (one process, two transcriptions each), with 4 thousand
    page faults instead of 1.2 million and the same peak memory. Like fixing the threshold,
    this turns glibc's own adjustment of its mmap threshold off for the process: after the
    first transcription the threshold stays where glibc had put it.

    In a process that fixed the mmap threshold (a long call), arrays up to 16 MiB come from the
    heap while transcribing and 1 MiB holds again after. With the threshold at 1 MiB the
    decoder's many short-lived arrays (features, encoder outputs, its own buffers) are each a
    fresh mapping the kernel must zero: 1.16x the time of a 30-minute call
    (benchmarks/results/memory.md). The block's own audio, read before this, keeps its mapping,
    and the free pages go back before the next block is read, so memory still does not grow
    block after block. Once fixed the threshold stays fixed for the process (a batch worker's
    later short calls), so their decoding is lifted too. In a process that did neither, glibc's
    own adjustment still runs, and this does nothing.
    """
    arena = _one_arena or started_with_one_arena()
    if not (_fixed or arena):
        yield
        return
    if arena:
        _mallopt(_M_MMAP_MAX, 0)
        _mallopt(_M_TRIM_THRESHOLD, DECODER_TRIM_THRESHOLD)
    if _fixed:
        fixed_mmap_threshold(DECODER_MMAP_THRESHOLD)
    try:
        yield
    finally:
        if arena:
            _mallopt(_M_MMAP_MAX, MMAP_MAX)
            _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        if _fixed:
            fixed_mmap_threshold()
        _trim_heap()


def _trim_heap() -> None:
    """Return the heap's free pages to the system (glibc's ``malloc_trim(0)``), holes included:
    without it the decoder's freed arrays stay resident beside the next block (a 30-minute call
    peaked at 673 MiB instead of 538 MiB, at 32 MiB). Nothing happens without ``malloc_trim``."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
