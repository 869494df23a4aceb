"""Progress reporting for long runs, always on **stderr** (stdout stays free for data).

Four reporters share one small interface (:class:`Reporter`):

- ``rich``: a progress bar with rate and ETA, for a terminal;
- ``plain``: one log line at most every ``interval_s`` seconds (and at the end), for cron logs
  and CI where a redrawn bar would turn into one endless line;
- ``json``: one JSON object per event and line (``{"event": "call", ...}``) for log shippers;
- ``quiet``: nothing but errors.

:func:`make_reporter` picks ``rich`` when stderr is a terminal and ``plain`` otherwise.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

__all__ = ["MODES", "Reporter", "make_reporter"]

MODES = ("auto", "rich", "plain", "json", "quiet")
PLAIN_INTERVAL_S = 30.0  # seconds between plain log lines: a few lines per minute in a cron log


class Reporter(Protocol):
    """Receives the events of a run."""

    def start(self, total: int, *, description: str = "scoring") -> None:
        """``total`` calls are about to be processed."""
        ...

    def call_done(self, call_id: str, status: str, reason: str = "") -> None:
        """One call finished with ``status`` ("scored", "skipped" or "failed")."""
        ...

    def message(self, text: str, *, level: str = "info") -> None:
        """A free-form line ("warning", "error" or "info")."""
        ...

    def finish(self) -> None:
        """The run is over (print the final counts, stop the bar)."""
        ...


class _Counts:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.by_status: dict[str, int] = {}
        self.started = time.monotonic()

    def add(self, status: str) -> None:
        self.done += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def summary(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.by_status.items()))
        return f"{self.done}/{self.total} calls ({parts or 'none'})"

    def rate_per_min(self) -> float:
        elapsed = max(1e-9, time.monotonic() - self.started)
        return 60.0 * self.done / elapsed

    def eta_s(self) -> float | None:
        rate = self.rate_per_min() / 60.0
        return (self.total - self.done) / rate if rate > 0 else None


class QuietReporter:
    """Prints only error messages."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def start(self, total: int, *, description: str = "scoring") -> None:
        pass

    def call_done(self, call_id: str, status: str, reason: str = "") -> None:
        pass

    def message(self, text: str, *, level: str = "info") -> None:
        if level == "error":
            print(f"error: {text}", file=self.stream, flush=True)

    def finish(self) -> None:
        pass


class PlainReporter:
    """Timestamped log lines: a progress line every ``interval_s`` s, each failure, the total.

    Parameters
    ----------
    stream : text stream, optional
        Default ``sys.stderr``.
    interval_s : float >= 0 [s]
        Minimum time between two progress lines.
    """

    def __init__(self, stream: TextIO | None = None, *, interval_s: float = PLAIN_INTERVAL_S):
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self.counts = _Counts()
        self._last = 0.0

    def _line(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{stamp} callqa: {text}", file=self.stream, flush=True)

    def start(self, total: int, *, description: str = "scoring") -> None:
        self.counts = _Counts()
        self.counts.total = total
        self._last = time.monotonic()
        self._line(f"{description} {total} calls")

    def call_done(self, call_id: str, status: str, reason: str = "") -> None:
        self.counts.add(status)
        if status == "failed":
            self._line(f"failed {call_id}: {reason}")
        now = time.monotonic()
        if now - self._last >= self.interval_s and self.counts.done < self.counts.total:
            self._last = now
            eta = self.counts.eta_s()
            eta_text = f", ETA {_fmt_duration(eta)}" if eta is not None else ""
            self._line(
                f"{self.counts.summary()}, {self.counts.rate_per_min():.1f} calls/min{eta_text}"
            )

    def message(self, text: str, *, level: str = "info") -> None:
        self._line(text if level == "info" else f"{level}: {text}")

    def finish(self) -> None:
        elapsed = time.monotonic() - self.counts.started
        self._line(f"done: {self.counts.summary()} in {_fmt_duration(elapsed)}")


class JsonReporter:
    """One JSON object per line: ``{"ts", "event", ...}`` with events start/call/message/finish."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.counts = _Counts()

    def _emit(self, event: str, **fields: Any) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"ts": stamp, "event": event, **fields}
        print(json.dumps(record, ensure_ascii=False), file=self.stream, flush=True)

    def start(self, total: int, *, description: str = "scoring") -> None:
        self.counts = _Counts()
        self.counts.total = total
        self._emit("start", total=total, description=description)

    def call_done(self, call_id: str, status: str, reason: str = "") -> None:
        self.counts.add(status)
        self._emit(
            "call",
            call_id=call_id,
            status=status,
            reason=reason or None,
            done=self.counts.done,
            total=self.counts.total,
        )

    def message(self, text: str, *, level: str = "info") -> None:
        self._emit("message", level=level, text=text)

    def finish(self) -> None:
        self._emit(
            "finish",
            done=self.counts.done,
            total=self.counts.total,
            counts=self.counts.by_status,
            elapsed_s=round(time.monotonic() - self.counts.started, 3),
        )


class RichReporter:
    """A ``rich`` progress bar (count, rate, ETA) on stderr; failures printed above it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr)
        self.counts = _Counts()
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int, *, description: str = "scoring") -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.counts = _Counts()
        self.counts.total = total
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, rate="")

    def call_done(self, call_id: str, status: str, reason: str = "") -> None:
        self.counts.add(status)
        if status == "failed":
            self.console.print(
                f"[red]failed[/red] {call_id}: {reason}", markup=True, highlight=False
            )
        if self._progress is not None:
            rate = f"{self.counts.rate_per_min():.1f} calls/min"
            self._progress.update(self._task, advance=1, rate=rate)

    def message(self, text: str, *, level: str = "info") -> None:
        style = {"error": "red", "warning": "yellow"}.get(level)
        self.console.print(f"[{style}]{text}[/{style}]" if style else text, highlight=False)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self.console.print(self.counts.summary(), highlight=False)


def make_reporter(mode: str = "auto", *, stream: TextIO | None = None) -> Reporter:
    """The reporter for ``mode`` (one of :data:`MODES`).

    Parameters
    ----------
    mode : {"auto", "rich", "plain", "json", "quiet"}
        "auto": a bar when ``stream`` is a terminal, plain log lines otherwise.
    stream : text stream, optional
        Where to write (default ``sys.stderr``).
    """
    stream = stream or sys.stderr
    if mode == "auto":
        mode = "rich" if stream.isatty() else "plain"
    reporters: dict[str, type] = {
        "rich": RichReporter,
        "plain": PlainReporter,
        "json": JsonReporter,
        "quiet": QuietReporter,
    }
    if mode not in reporters:
        raise ValueError(f"progress mode must be one of {', '.join(MODES)}, not {mode!r}")
    reporter: Reporter = reporters[mode](stream)
    return reporter


def _fmt_duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
