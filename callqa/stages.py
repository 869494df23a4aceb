"""Wall-clock seconds per stage of a call's scoring, as the scorecard's ``timings_s`` records
them, the words the CLI shows while each stage runs, and work run beside a stage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

log = logging.getLogger(__name__)

STAGE_TEXT = {  # what each stage is doing, as logged at INFO (the CLI shows it as a status)
    "decode": "decoding the audio",
    "activity": "finding who spoke when",
    "transcribe": "transcribing",
    "roles": "deciding who is the agent",
    "dynamics": "measuring the conversation",
    "voice": "measuring pitch, loudness and pace",
    "phrases": "loading the language's phrases",
    "sentiment": "reading the sentiment of each utterance",
    "checks": "running the checks",
    "redact": "redacting personal data",
}


class StageTimer:
    """Wall-clock seconds per stage, for the scorecard's ``timings_s``; each stage is logged
    (INFO when it starts, DEBUG with its time when it ends)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s", STAGE_TEXT.get(name, name), extra={"stage": name})
        start = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + took
            log.debug("%s took %.2f s", name, took)


@contextmanager
def beside(work: Callable[[], object], *, when: bool = True) -> Iterator[None]:
    """Run ``work`` on a second thread while the block runs (when ``when``; else nothing),
    and wait for it when the block ends; an error of ``work`` is raised there."""
    if not when:
        yield
        return
    with ThreadPoolExecutor(1, thread_name_prefix="callqa-beside") as pool:
        done = pool.submit(work)
        yield
        done.result()
