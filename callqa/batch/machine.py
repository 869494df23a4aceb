"""How many workers and threads this machine can take (cores, memory, cgroup limits)."""

from __future__ import annotations

import os
from pathlib import Path

# bytes; measured peak RSS of a worker (model + every stage): 0.5 GB on a 1-minute call,
# 1.4-1.6 GB over the sample calls and on a 20-minute call (benchmarks/results/batch.md);
# longer calls are read in blocks, so hour-long calls need no more (results/memory.md)
MEMORY_PER_WORKER = 1.5 * 2**30


def default_workers(cores: int | None = None, memory_bytes: int | None = None) -> int:
    """Workers for this machine: one per core, fewer when memory is short (1.5 GiB each).

    Parameters
    ----------
    cores : int, optional
        Usable cores (default: this process's CPU affinity).
    memory_bytes : int, optional
        Available memory (default: :func:`available_memory`; unknown -> not limiting).
    """
    cores = cores or len(os.sched_getaffinity(0))
    memory = memory_bytes if memory_bytes is not None else available_memory()
    by_memory = int(memory // MEMORY_PER_WORKER) if memory else cores
    return max(1, min(cores, by_memory))


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """CPU threads per worker so that workers x threads <= cores (at least 1)."""
    cores = cores or len(os.sched_getaffinity(0))
    return max(1, cores // max(1, workers))


def available_memory() -> int | None:
    """Bytes this process may still use: MemAvailable, or less under a cgroup memory limit.

    A systemd unit's ``MemoryMax=`` (or a container's limit) is a cgroup v2 ``memory.max``;
    /proc/meminfo shows the whole host, so both are read and the smaller wins. None when
    neither can be read.
    """
    known = [m for m in (_meminfo_available(), cgroup_memory_room()) if m is not None]
    return min(known, default=None)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cgroup_memory_room(
    proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = Path("/sys/fs/cgroup")
) -> int | None:
    """Bytes left under the tightest cgroup v2 ``memory.max`` of this process and its parents.

    Returns
    -------
    int or None
        ``memory.max - memory.current`` of the most constrained group; None without cgroup v2
        or without a limit ("max").
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    if path is None:
        return None
    group = root / path.strip("/")
    folders = [group, *(f for f in group.parents if f.is_relative_to(root))]
    rooms = [r for r in map(_cgroup_room, folders) if r is not None]
    return min(rooms, default=None)


def _cgroup_room(folder: Path) -> int | None:
    try:
        limit = (folder / "memory.max").read_text().strip()
    except OSError:
        return None
    if not limit.isdigit():  # "max": no limit here
        return None
    try:
        used = int((folder / "memory.current").read_text().strip())
    except (OSError, ValueError):
        used = 0
    return max(0, int(limit) - used)
