"""Parent-side handling of finished calls: per-call JSON (and report), store transaction,
progress."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from callqa.audio.load import scan_audio
from callqa.batch import store
from callqa.batch.engines import Job, JobResult, one_line
from callqa.batch.inputs import is_transcript
from callqa.batch.options import BatchOptions
from callqa.batch.plan import Entry, copies_of, follow
from callqa.batch.progress import Reporter
from callqa.batch.tables import flat_row
from callqa.config import Config, RedactionConfig
from callqa.errors import CallQAError, StoreError
from callqa.files import atomic_write_text
from callqa.outputs.dashboard import report_links_in, write_dashboard
from callqa.outputs.media import REDACTED_SUFFIX
from callqa.outputs.report import write_call_report
from callqa.privacy.audio import recorded_spans, redact_audio_stream, redact_card_audio
from callqa.privacy.identifiers import display_path, redact_identifier, redact_path
from callqa.review.reviews import latest_by_item
from callqa.scoring.final import HumanVerdict
from callqa.scoring.rubric import load_rubric
from callqa.scoring.scorecard import from_dict


class ResultWriter:
    """Parent-side handling of finished calls: JSON file, store transaction, progress."""

    def __init__(
        self,
        entries: Sequence[Entry],
        calls_dir: Path | None,
        store_path: Path | None,
        run_id: str,
        options: BatchOptions,
        reporter: Reporter,
        redaction: RedactionConfig | None = None,
    ) -> None:
        self.entries = entries
        self.calls_dir = calls_dir
        self.store_path = store_path
        self.run_id = run_id
        self.options = options
        self.redaction = redaction or RedactionConfig()
        self.reporter = reporter
        self.unsaved: list[Entry] = []  # scored, but the store was busy: retried later
        self.human: dict[str, dict[str, HumanVerdict]] = {}  # sha256 -> item -> reviewer's
        self.auto_fail_cap = 0.0  # the rubric's, for scores over reviewers' verdicts

    def job(self, entry: Entry) -> Job:
        assert entry.config is not None
        return Job(
            index=entry.index, path=str(entry.call.path), call_id=entry.call_id, config=entry.config
        )

    def report_planned(self) -> None:
        for e in self.entries:
            if e.status is not None:
                self.reporter.call_done(e.call_id, e.status, self.reason(e))
                if e.status == "failed":
                    self._store_failure(e)

    def reason(self, e: Entry) -> str:
        """``e.reason`` as outputs show it: paths and values in it through the detector."""
        return redact_identifier(e.reason, self.redaction) if e.reason else e.reason

    def on_result(self, result: JobResult) -> None:
        e = self.entries[result.index]
        e.status, e.reason, e.card = result.status, result.reason, result.card
        if result.status == "scored" and e.card is not None:
            unwritten = self._write_json(e)
            self.unsaved.append(e)
            self.flush_store(final=False)  # a store that cannot take it stops the run
            if unwritten and e.status == "scored":
                e.status, e.reason = "failed", unwritten
                self.reporter.message(f"{e.call_id}: {unwritten}", level="error")
        else:
            self._store_failure(e)
        score = e.card.get("score") if e.card is not None else None
        self.reporter.call_done(
            e.call_id, e.status, self.reason(e), score=score, seconds=result.seconds or None
        )
        for copy in copies_of(e):  # keyed in the plan, like the entry they copy
            follow(copy)
            if copy.status == "failed":
                self._store_failure(copy)
            self.reporter.call_done(copy.call_id, copy.status or "", self.reason(copy))

    def _write_json(self, e: Entry) -> str:
        """Write ``calls/<call_id>.json`` (and the report); return why it could not be written
        ("" when it was, or when there is no output folder)."""
        if self.calls_dir is None or e.card is None:
            return ""
        path = self.calls_dir / f"{e.call_id}.json"
        try:
            atomic_write_text(path, json.dumps(e.card, indent=2, ensure_ascii=False) + "\n")
            e.scorecard_path = str(path)
        except (OSError, UnicodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            stored = " (it is in the store: run again to write it)" if self.store_path else ""
            return f"scored, but {path.name} could not be written: {why}{stored}"
        if self.options.reports:
            self._write_report(e)
        return ""

    def _write_report(self, e: Entry) -> None:
        assert self.calls_dir is not None and e.card is not None
        out = self.calls_dir / f"{e.call_id}.html"
        audio = self._report_audio(e)
        try:
            write_call_report(e.card, out, audio_path=audio, link_audio=True, shared_assets=True)
        except (CallQAError, OSError) as exc:
            self.reporter.message(
                f"report for {e.call_id} not written: {one_line(str(exc))}", level="warning"
            )

    def _report_audio(self, e: Entry) -> Path | None:
        """The audio a report links: with personal data recorded, a copy with it silenced.

        ``calls/<call_id>.redacted.flac``; None (a report without audio) when that copy cannot
        be made, so the original is never linked in its place. A copy is made too when the
        original's file name holds personal data: the link would show it.
        """
        assert self.calls_dir is not None and e.card is not None
        if is_transcript(e.call.path):
            return None  # scored from a transcript: there is no audio to play
        red = e.config.redaction if e.config is not None else RedactionConfig()
        copy = self.calls_dir / f"{e.call_id}{REDACTED_SUFFIX}"
        card = from_dict(e.card)
        try:
            if red.enabled and redact_path(e.call.path, red) != display_path(e.call.path):
                spans = recorded_spans(card) or ()
                scan = scan_audio(e.call.path)
                mode = card.redaction.audio_mode if card.redaction else red.audio_mode
                return redact_audio_stream(
                    scan, spans, copy, mode=mode, pad_s=red.audio_pad_s, tone_hz=red.tone_hz
                )
            return redact_card_audio(
                card, e.call.path, copy, pad_s=red.audio_pad_s, tone_hz=red.tone_hz
            )
        except (CallQAError, OSError) as exc:
            self.reporter.message(
                f"report for {e.call_id} has no audio: cannot write its redacted copy "
                f"({one_line(str(exc))})",
                level="warning",
            )
            return None

    def flush_store(self, *, final: bool = True) -> None:
        """Write the scored calls not yet in the store; keep them queued while it is busy."""
        if self.store_path is None:
            self.unsaved.clear()
            return
        while self.unsaved:
            e = self.unsaved[0]
            try:
                self._save(e)
            except store.StoreIOError as exc:  # disk full, damaged file: no call can be stored
                e.status, e.reason = "failed", f"scored but not stored: {exc}"
                self.unsaved.clear()
                raise
            except store.StoreBusyError as exc:
                if final:
                    kept = ", ".join(x.call_id for x in self.unsaved)
                    self.reporter.message(
                        f"{exc}; scorecards of {kept} are in calls/ but not in the store "
                        "(run the batch again to store them)",
                        level="error",
                    )
                    for x in self.unsaved:  # the tables must not call them stored
                        x.status = "failed"
                        x.reason = f"scored but not stored: {exc} (run the batch again)"
                    self.unsaved.clear()
                    raise
                self.reporter.message(f"store busy, will retry: {exc}", level="warning")
                return
            except StoreError as exc:  # this call only: its JSON is written, its row is not
                e.status, e.reason = "failed", f"scored but not stored: {exc}"
                self.reporter.message(e.reason, level="error")
            self.unsaved.pop(0)

    def _save(self, e: Entry) -> None:
        assert self.store_path is not None and e.sha256 and e.key and e.card is not None
        shown = e.public
        record = store.CallRecord(
            audio_sha256=e.sha256,
            config_hash=e.key,
            call_id=e.call_id,
            scorecard=e.card,
            source_path=str(shown.path),
            agent_id=shown.agent_id,
            team=shown.team,
            call_date=shown.call_date,
            metadata=dict(shown.metadata),
            scorecard_path=e.scorecard_path,
            run_id=self.run_id,
        )
        timeout = self.options.store_timeout_s
        if self.options.force:
            store.replace_call(self.store_path, record, timeout_s=timeout)
        else:
            store.write_call(self.store_path, record, timeout_s=timeout)

    def _store_failure(self, e: Entry) -> None:
        if self.store_path is None:
            return
        try:
            store.record_failure(
                self.store_path,
                source_path=str(e.public.path),
                reason=self.reason(e),
                run_id=self.run_id,
                audio_sha256=e.sha256,
                config_hash=e.key,
                call_id=e.call_id,
                timeout_s=self.options.store_timeout_s,
            )
        except store.StoreIOError:
            raise
        except StoreError as exc:  # the failure is still in the outputs and the log
            self.reporter.message(
                f"failure of {e.call_id} not logged in the store: {exc}", level="warning"
            )

    def load_skipped_cards(self) -> None:
        """Fetch the stored scorecards of skipped calls, so the outputs list every input."""
        wanted = [e for e in self.entries if e.status == "skipped" and e.sha256 and e.key]
        if self.store_path is None or not wanted or not self.options.include_skipped_rows:
            return
        try:
            cards = store.load_scorecards(
                self.store_path,
                [(e.sha256, e.key) for e in wanted if e.sha256 and e.key],
                timeout_s=self.options.store_timeout_s,
            )
        except StoreError as exc:
            self.reporter.message(
                f"skipped calls are listed without scores: {exc}", level="warning"
            )
            return
        for e in wanted:
            e.card = cards.get((e.sha256 or "", e.key or ""))
            if e.card is not None and self.calls_dir is not None:
                path = self.calls_dir / f"{e.call_id}.json"
                if not path.exists():
                    self._write_json(e)

    def load_reviews(self, config: Config) -> None:
        """Fetch the reviewers' verdicts on this batch's calls (a call scored again keeps
        them), so the tables show them beside callqa's and score the final verdicts."""
        shas = {e.sha256 for e in self.entries if e.card is not None and e.sha256}
        if self.store_path is None or not shas or not self.store_path.exists():
            return
        try:
            latest = latest_by_item(
                store.read_reviews(self.store_path, timeout_s=self.options.store_timeout_s)
            )
            human = {s: {i: r.human() for i, r in latest[s].items()} for s in shas if s in latest}
            if human:
                path = Path(config.rubric.path) if config.rubric.path else None
                self.auto_fail_cap = load_rubric(path, limits=config.limits).auto_fail_cap
        except CallQAError as exc:
            self.reporter.message(
                f"reviewers' verdicts left out of the tables: {exc}", level="warning"
            )
            return
        self.human = human

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for e in self.entries:
            status = e.status or "interrupted"
            reason = self.reason(e) if e.status else "not scored: the run stopped before it"
            human = self.human.get(e.sha256 or "", {})
            out.append(flat_row(e.public, e.call_id, status, reason, e.card, e.sha256, e.key,
                                human=human, auto_fail_cap=self.auto_fail_cap))  # fmt: skip
        return out


def write_batch_dashboard(writer: ResultWriter, out_dir: Path) -> None:
    """``dashboard.html`` over this batch's scored calls, linking their reports (``--reports``)."""
    rows = [_dashboard_row(e) for e in writer.entries if e.card is not None]
    out = out_dir / "dashboard.html"
    links = report_links_in(rows, out_dir / "calls", out)
    write_dashboard(rows, out, report_links=links, shared_assets=True)


def _dashboard_row(e: Entry) -> dict[str, Any]:
    """A scored call in the shape :func:`callqa.batch.store.read_calls` returns."""
    card = e.card or {}
    return {
        "call_id": e.call_id,
        "agent_id": e.public.agent_id,
        "team": e.public.team,
        "call_date": e.public.call_date,
        "scored_at": card.get("created_at"),
        "score": store._num(card.get("score")),
        "sections": dict(store.section_rows(card)),
        "agent_talk_share": store.agent_talk_share(card),
        "agent_interruptions": store.agent_interruptions(card),
        "failed_items": [c for c, _, v, _ in store.check_rows(card) if v == "fail"],
        "scorecard": card,
        "scorecard_path": e.scorecard_path,
    }
