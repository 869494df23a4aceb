"""Progress reporting for long runs, always on **stderr** (stdout stays free for data).

Four reporters share one small interface (:class:`Reporter`):

- ``rich``: a progress bar with rate and ETA, for a terminal, and one line per call above it
  (name, score, seconds);
- ``plain``: one log line per call, and a progress line with rate and ETA at most every
  ``interval_s`` seconds, for cron logs and CI where a redrawn bar would turn into one endless
  line;
- ``json``: one JSON object per event and line (``{"event": "call", ...}`` with the call's
  score and seconds) for log shippers; nothing else is written to stderr;
- ``quiet``: nothing but errors.

The ETA is the calls left times the mean time per call so far (skipped calls, which take no
time, are left out of both), so it does not jump back when a call takes long.

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

    def call_done(
        self,
        call_id: str,
        status: str,
        reason: str = "",
        *,
        score: float | None = None,
        seconds: float | None = None,
    ) -> None:
        """One call finished with ``status`` ("scored", "skipped" or "failed"); ``score``
        (0-100) and ``seconds`` (the worker's time on it) when scored."""
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
        self.skipped = 0
        self.by_status: dict[str, int] = {}
        self.started = time.monotonic()

    def add(self, status: str) -> None:
        self.done += 1
        self.skipped += status == "skipped"
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def summary(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.by_status.items()))
        return f"{self.done}/{self.total} calls ({parts or 'none'})"

    def rate_per_min(self) -> float:
        elapsed = max(1e-9, time.monotonic() - self.started)
        return 60.0 * self.done / elapsed

    def eta_s(self) -> float | None:
        """Seconds left: calls left x mean wall time per worked call so far (None before one)."""
        worked = self.done - self.skipped
        if worked <= 0:
            return None
        per_call = (time.monotonic() - self.started) / worked
        return (self.total - self.done) * per_call


def _call_line(call_id: str, status: str, reason: str, score: float | None,
               seconds: float | None) -> str:  # fmt: skip
    """``en_good  score 96  12.3 s``, ``en_good  skipped (...)`` or ``en_good  failed: why``."""
    if status == "scored":
        score_text = "n/a" if score is None else f"{score:.0f}"
        took = f"  {seconds:.1f} s" if seconds is not None else ""
        return f"{call_id}  score {score_text}{took}"
    if status == "failed":
        return f"{call_id}  failed: {reason}"
    return f"{call_id}  {status}" + (f" ({reason})" if reason else "")


class QuietReporter:
    """Prints only error messages."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def start(self, total: int, *, description: str = "scoring") -> None:
        pass

    def call_done(
        self,
        call_id: str,
        status: str,
        reason: str = "",
        *,
        score: float | None = None,
        seconds: float | None = None,
    ) -> None:
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

    def call_done(
        self,
        call_id: str,
        status: str,
        reason: str = "",
        *,
        score: float | None = None,
        seconds: float | None = None,
    ) -> None:
        self.counts.add(status)
        position = f"[{self.counts.done}/{self.counts.total}] "
        self._line(position + _call_line(call_id, status, reason, score, seconds))
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

    def call_done(
        self,
        call_id: str,
        status: str,
        reason: str = "",
        *,
        score: float | None = None,
        seconds: float | None = None,
    ) -> None:
        self.counts.add(status)
        eta = self.counts.eta_s()
        self._emit(
            "call",
            call_id=call_id,
            status=status,
            reason=reason or None,
            score=score,
            seconds=None if seconds is None else round(seconds, 3),
            done=self.counts.done,
            total=self.counts.total,
            eta_s=None if eta is None else round(eta, 1),
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
    """A ``rich`` progress bar (count, rate, ETA) on stderr; one line per call printed above it.

    Until the first call finishes the bar says "loading model" (the workers load Whisper first).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr)
        self.counts = _Counts()
        self._progress: Any = None
        self._task: Any = None
        self._description = "scoring"

    def start(self, total: int, *, description: str = "scoring") -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.counts = _Counts()
        self.counts.total = total
        self._description = description
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            f"{description}: loading model", total=total, rate="", eta=""
        )

    def call_done(
        self,
        call_id: str,
        status: str,
        reason: str = "",
        *,
        score: float | None = None,
        seconds: float | None = None,
    ) -> None:
        self.counts.add(status)
        style = {"failed": "red", "skipped": "dim"}.get(status, "")
        line = _call_line(call_id, status, reason, score, seconds)
        self.console.print(f"[{style}]{line}[/{style}]" if style else line, highlight=False,
                           markup=bool(style))  # fmt: skip
        if self._progress is not None:
            eta = self.counts.eta_s()
            self._progress.update(
                self._task,
                advance=1,
                description=self._description,
                rate=f"{self.counts.rate_per_min():.1f} calls/min",
                eta=f"ETA {_fmt_duration(eta)}" if eta is not None else "",
            )

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
