"""Peak resident memory of a process tree, polled from /proc (Linux), for the benchmarks."""

from __future__ import annotations

import threading
from pathlib import Path


class Tree:
    """Polls the peak RSS (VmHWM) of a process and all its descendants every 0.1 s."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peaks: dict[int, int] = {}
        self.cmdlines: dict[int, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Tree:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(0.1):
                return

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        status: dict[int, dict[str, str]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                text = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            pid = int(entry.name)
            parents[pid] = int(fields.get("PPid", "0").strip())
            status[pid] = fields
        for pid, fields in status.items():
            p, depth = pid, 0
            while p not in (self.root, 0, 1) and depth < 8:
                p, depth = parents.get(p, 0), depth + 1
            if p != self.root or "VmHWM" not in fields:
                continue
            kib = int(fields["VmHWM"].split()[0])
            self.peaks[pid] = max(self.peaks.get(pid, 0), kib * 1024)
            if pid not in self.cmdlines:
                try:
                    self.cmdlines[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    self.cmdlines[pid] = b""


def spawned_workers(tree: Tree) -> list[int]:
    """Peak RSS [bytes] of the multiprocessing workers (``spawn_main`` on their command line)
    in ``tree``; its resource tracker and any other process are left out."""
    return [
        tree.peaks[pid]
        for pid, line in tree.cmdlines.items()
        if b"spawn_main" in line and pid in tree.peaks
    ]
