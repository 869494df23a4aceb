"""Work the pipeline runs beside other work: the model loading while the call is decoded, and
the sentiment embeddings computed while the voice stage runs. The cards must be the same as
when everything runs one after the other, and errors must surface as before."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from callqa import pipeline
from callqa.config import Config, replace_config
from callqa.errors import AudioError, ModelError
from callqa.scoring.scorecard import to_dict
from callqa.sentiment import default_model
from callqa.sentiment.model import SentimentModel
from callqa.transcription.fake import FakeTranscriber
from callqa.words import embed

TEXT = "I am so sorry the brakes failed again, I will call you back by five today"


def _card(path: Path, transcriber: object, config: Config | None = None) -> dict:  # type: ignore[type-arg]
    card = to_dict(pipeline.score_call(path, transcriber=transcriber, config=config))  # type: ignore[arg-type]
    card.pop("timings_s")
    card.pop("created_at")
    return card


def _loaded_later(value: object, after_s: float) -> Future[object]:
    """A Future that gets ``value`` (or raises it, for an exception) ``after_s`` from now."""
    future: Future[object] = Future()

    def finish() -> None:
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)

    timer = threading.Timer(after_s, finish)
    timer.daemon = True
    timer.start()
    return future


def test_a_model_still_loading_gives_the_same_card(sample_calls: Path) -> None:
    call = sample_calls / "en_good.ogg"
    loading = _loaded_later(FakeTranscriber(text=TEXT), after_s=0.3)
    assert _card(call, loading) == _card(call, FakeTranscriber(text=TEXT))


def test_a_broken_file_fails_without_waiting_for_the_model(tmp_path: Path) -> None:
    """The model is only needed once the call is decoded: a corrupt file raises its own error
    (a pipeline that waited for this load first would get the RuntimeError instead)."""
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    loading = _loaded_later(RuntimeError("the pipeline waited for the model"), after_s=5.0)
    with pytest.raises(AudioError):
        pipeline.score_call(broken, transcriber=loading)  # type: ignore[arg-type]


def test_a_model_that_fails_to_load_raises_its_error(sample_calls: Path) -> None:
    loading = _loaded_later(ModelError("weights corrupt"), after_s=0.0)
    with pytest.raises(ModelError, match="weights corrupt"):
        pipeline.score_call(sample_calls / "en_good.ogg", transcriber=loading)  # type: ignore[arg-type]


def test_warm_embeds_what_probabilities_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """After ``warm``, reading the same texts embeds nothing more (courtesy masked alike)."""
    model = default_model()
    texts = ["Thank you for calling, my car broke down twice this week.", "Thank you.", TEXT]
    for text in texts:
        embed._CACHE.pop(text, None)
    asked: list[str] = []
    query = embed._query
    monkeypatch.setattr(embed, "_query", lambda batch: asked.extend(batch) or query(batch))
    model.warm(texts, "en")
    warmed = list(asked)
    assert warmed  # something was embedded, and not the text that is all courtesy
    model.probabilities(texts, "en")
    assert asked == warmed


def test_the_embeddings_run_beside_the_voice_stage(
    sample_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two threads the segments are embedded on a second thread, with one OpenMP thread
    (the voice stage keeps the other core busy), while the voice stage runs; with one, in the
    sentiment stage. The cards are the same."""
    where: list[str] = []
    counts: list[int] = []
    warm = SentimentModel.warm

    def spy(self: SentimentModel, texts: list[str], language: str) -> None:
        where.append(threading.current_thread().name)
        counts.append(embed._current())
        warm(self, texts, language)

    monkeypatch.setattr(SentimentModel, "warm", spy)
    call = sample_calls / "en_good.ogg"
    two = _card(
        call, FakeTranscriber(text=TEXT), replace_config(Config(), transcription__threads=2)
    )
    assert len(where) == 1 and where[0].startswith("callqa-beside")
    assert counts == [1]
    embed._CACHE.clear()
    one = _card(
        call, FakeTranscriber(text=TEXT), replace_config(Config(), transcription__threads=1)
    )
    assert len(where) == 1  # nothing beside with one thread
    assert one == two
    assert any(s.get("sentiment") for s in two["transcript"]["segments"])


def test_the_embedding_thread_count_belongs_to_the_thread_that_sets_it() -> None:
    """A :func:`embed.threads` block sets the count of its own thread only: a second thread
    starts at ``THREADS`` and its own block does not change the first thread's count."""
    seen: list[int] = []

    def other() -> None:
        seen.append(embed._current())
        with embed.threads(3):
            seen.append(embed._current())

    with embed.threads(2):
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        seen.append(embed._current())
    seen.append(embed._current())
    assert seen == [embed.THREADS, 3, 2, embed.THREADS]
