"""Long calls in bounded blocks: the cuts, the block audio, the streamed VAD, and a call scored in
blocks against the same call scored whole (docs/architecture.md, "Long calls")."""

from __future__ import annotations

import ctypes
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import MALLINFO, fresh_output, run_limited, write_wav

from callqa.audio.activity import load_vad, speech_probabilities
from callqa.audio.blocks import ALIGN, VadStream, plan_blocks, read_blocks
from callqa.audio.load import load_audio, scan_audio
from callqa.blockwise import _in_core
from callqa.config import Config, replace_config
from callqa.errors import AudioError
from callqa.heap import fixed_mmap_threshold
from callqa.pipeline import score_call, score_call_with_audio
from callqa.privacy.audio import redact_audio, redact_audio_stream
from callqa.privacy.spans import PiiSpan
from callqa.transcription.fake import FakeTranscriber
from callqa.types import SAMPLE_RATE, Utterance, Word

SR = SAMPLE_RATE


# --------------------------------------------------------------------------- cuts


def test_a_call_within_one_block_is_one_block() -> None:
    (block,) = plan_blocks(60 * SR, 300.0, [], margin_s=5.0)
    assert (block.start, block.end, block.lo, block.hi) == (0, 60 * SR, 0, 60 * SR)


def test_cuts_go_in_the_longest_pause_before_the_boundary() -> None:
    # 100-s blocks; speech everywhere but a 2-s pause at 80-82 s and a 1-s pause at 90-91 s
    busy = [(0.0, 80.0), (82.0, 90.0), (91.0, 250.0)]
    blocks = plan_blocks(250 * SR, 100.0, busy, margin_s=5.0)
    first_cut = blocks[0].end
    assert first_cut % ALIGN == 0
    assert 80.0 <= first_cut / SR <= 82.0  # the middle of the longest pause (81 s, aligned)
    assert first_cut / SR == pytest.approx(81.0, abs=ALIGN / SR)
    # cores tile the call; margins are 5 s (aligned up) and clipped to the call
    assert blocks[0].start == 0 and blocks[-1].end == 250 * SR
    assert all(a.end == b.start for a, b in itertools.pairwise(blocks))
    assert blocks[0].lo == 0 and blocks[1].start - blocks[1].lo == 32 * ALIGN  # 5.12 s
    assert blocks[-1].hi == 250 * SR
    assert all(b.end - b.start <= 100 * SR for b in blocks)


def test_continuous_speech_is_cut_at_the_boundary() -> None:
    blocks = plan_blocks(250 * SR, 100.0, [(0.0, 250.0)])
    assert [b.end for b in blocks] == [100 * SR, 200 * SR, 250 * SR]


# --------------------------------------------------------------------------- reading


def _noise_call(path: Path, seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    left = (0.1 * rng.standard_normal(n)).astype(np.float32)
    right = (0.05 * rng.standard_normal(n)).astype(np.float32)
    write_wav(path, [left, right])
    return left, right


def test_blocks_hold_the_same_samples_as_the_whole_call(tmp_path: Path) -> None:
    path = tmp_path / "noise.wav"
    _noise_call(path, 75.0)
    whole = load_audio(path)
    scan = scan_audio(path)
    assert scan.n_samples == len(whole.channels[0]) and scan.n_channels == 2
    assert scan.sha256 == whole.sha256
    blocks = plan_blocks(scan.n_samples, 30.0, [], margin_s=5.0)
    assert len(blocks) == 3
    for block, audio in zip(blocks, read_blocks(scan, blocks), strict=True):
        for ch, full in zip(audio.channels, whole.channels, strict=True):
            np.testing.assert_array_equal(ch, full[block.lo : block.hi])


def test_streamed_vad_equals_the_whole_channel(sample_calls: Path) -> None:
    audio = load_audio(sample_calls / "en_good.ogg")
    vad = load_vad(1)
    whole = speech_probabilities(vad, audio.channels[0])
    stream = VadStream(vad)
    for a in range(0, len(audio.channels[0]), 123_457):  # pieces of any length
        stream.feed(audio.channels[0][a : a + 123_457])
    probs, levels = stream.finish()
    assert len(probs) == len(whole) == len(levels)
    np.testing.assert_allclose(probs, whole, atol=1e-5)


def test_scan_refuses_what_load_refuses(tmp_path: Path) -> None:
    silent = write_wav(tmp_path / "silent.wav", [np.zeros(3 * SR, dtype=np.float32)])
    short = write_wav(tmp_path / "short.wav", [np.full(SR // 2, 0.1, dtype=np.float32)])
    for path in (silent, short):
        with pytest.raises(AudioError) as whole:
            load_audio(path)
        with pytest.raises(AudioError) as streamed:
            scan_audio(path)
        assert str(streamed.value) == str(whole.value)
    long = write_wav(tmp_path / "long.wav", [np.full(90 * SR, 0.1, dtype=np.float32)])
    with pytest.raises(AudioError, match="more than the 1 min limit"):
        scan_audio(long, max_duration_s=60.0)


def test_scan_reads_dual_mono_as_mono(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    path = write_wav(tmp_path / "dual.wav", [x, x])
    scan = scan_audio(path)
    assert scan.dual_mono and scan.n_channels == 1
    (block,) = plan_blocks(scan.n_samples, 300.0, [])
    (audio,) = read_blocks(scan, [block])
    np.testing.assert_array_equal(audio.channels[0], load_audio(path).channels[0])


# --------------------------------------------------------------------------- words at a cut


def _utt(speaker: str, words: list[tuple[str, float, float]]) -> Utterance:
    ws = tuple(Word(t, a, b, speaker) for t, a, b in words)
    return Utterance(speaker, ws[0].start, ws[-1].end, " ".join(w.text for w in ws), ws)


def test_a_cut_inside_speech_keeps_each_word_once() -> None:
    """Two blocks overlap by their margins; an utterance runs across the cut at 100 s. Each
    block keeps the words whose middle lies in its core, so every word is kept exactly once."""
    blocks = plan_blocks(200 * SR, 100.0, [(0.0, 200.0)], margin_s=5.0)
    first, second = blocks
    assert first.end == second.start == 100 * SR
    # block 1 audio starts at 0 s, block 2 audio 5.12 s before the cut (its margin, aligned)
    assert second.offset_s == pytest.approx(94.88)
    words = [("one", 98.0, 98.6), ("two", 99.5, 100.3), ("three", 100.4, 101.0)]
    in_first = _utt("left", words)
    in_second = _utt("left", [(t, a - 94.88, b - 94.88) for t, a, b in words])
    kept = _in_core((in_first,), first, False) + _in_core((in_second,), second, True)
    # "two" (99.5-100.3 s) has its middle at 99.9 s: the first block's
    assert [[w.text for w in u.words] for u in kept] == [["one", "two"], ["three"]]
    assert kept[1].start == pytest.approx(100.4) and kept[1].end == pytest.approx(101.0)
    assert kept[0].text == "one two" and kept[1].text == "three"
    assert kept[0].words[1].start == pytest.approx(99.5)


# --------------------------------------------------------------------------- whole vs blocks


def _voice(card, speaker: str):  # type: ignore[no-untyped-def]
    return next(v for v in card.metrics.voice.speakers if v.speaker == speaker)


def test_stereo_call_in_blocks_matches_the_whole_call(sample_calls: Path) -> None:
    """en_good (88 s) in 30-s blocks: the same turns, turn-taking and voice measures; LUFS
    within 0.1 dB (gating blocks restart at each cut); same verdicts on audio measures."""
    path = sample_calls / "en_good.ogg"
    whole = score_call(path, transcriber=FakeTranscriber())
    cfg = replace_config(Config(), call__block_s=30.0)
    blocks = score_call(path, transcriber=FakeTranscriber(), config=cfg)
    assert blocks.source.sha256 == whole.source.sha256
    assert blocks.duration_s == pytest.approx(whole.duration_s)
    assert [t.talk_s for t in blocks.metrics.talk] == [t.talk_s for t in whole.metrics.talk]
    wd, bd = whole.metrics.dynamics, blocks.metrics.dynamics
    assert wd is not None and bd is not None
    assert bd.overlap_s == wd.overlap_s and bd.non_talk == wd.non_talk
    assert bd.interruptions == wd.interruptions
    for speaker in ("agent", "customer"):
        w, b = _voice(whole, speaker), _voice(blocks, speaker)
        assert b.pitch == w.pitch
        assert b.dominant_s == w.dominant_s
        assert b.loudness.rms_dbfs == pytest.approx(w.loudness.rms_dbfs, abs=1e-6)
        assert b.loudness.lufs == pytest.approx(w.loudness.lufs, abs=0.1)
        assert b.contour_f0_hz == w.contour_f0_hz
        assert b.raised == w.raised
    tone = {c.id: c.verdict for c in whole.checks if c.id.startswith("tone.")}
    assert tone and {c.id: c.verdict for c in blocks.checks if c.id in tone} == tone
    # the same stages run on both paths, each timed once (decode is only the file scan)
    assert set(blocks.timings_s) == set(whole.timings_s)
    assert blocks.timings_s["decode"] < sum(blocks.timings_s.values()) / 2
    # sentiment is read on the block path too (the scripted words differ per block, so the
    # readings themselves are not compared)
    assert blocks.sentiment is not None and whole.sentiment is not None
    assert [p.speaker for p in blocks.sentiment.parties] == [
        p.speaker for p in whole.sentiment.parties
    ]
    assert all(s.sentiment is not None for s in blocks.transcript.segments)
    assert {c.id for c in blocks.checks} == {c.id for c in whole.checks}


def test_mono_call_in_blocks_is_clustered_once(sample_calls: Path) -> None:
    """en_mono (38 s) in 30-s blocks: the embeddings come from two blocks, the voices are
    counted and clustered once over the call: the same voice count and speaker turns."""
    path = sample_calls / "en_mono.ogg"
    whole = score_call(path, transcriber=FakeTranscriber())
    cfg = replace_config(Config(), call__block_s=30.0)
    blocks = score_call(path, transcriber=FakeTranscriber(), config=cfg)
    assert whole.metrics.voices is not None and blocks.metrics.voices is not None
    assert blocks.metrics.voices.voices == whole.metrics.voices.voices == 2
    assert blocks.metrics.voices.windows == whole.metrics.voices.windows
    assert blocks.metrics.talk == whole.metrics.talk
    assert blocks.roles is not None and whole.roles is not None
    assert blocks.roles.agent == whole.roles.agent


def test_redacted_copy_streamed_equals_in_memory(tmp_path: Path, sample_calls: Path) -> None:
    path = sample_calls / "en_poor.ogg"
    spans = (PiiSpan("card", "customer", 10.0, 12.5, ()), PiiSpan("phone", "agent", 30.0, 31.0, ()))
    a = redact_audio(load_audio(path), spans, tmp_path / "whole.wav", mode="tone")
    b = redact_audio_stream(scan_audio(path), spans, tmp_path / "stream.wav", mode="tone")
    x, y = sf.read(a), sf.read(b)
    assert x[1] == y[1] == SR
    np.testing.assert_array_equal(x[0], y[0])
    tone = y[0][int(10.0 * SR) : int(12.5 * SR), 0]  # a -20 dBFS sine replaced the speech
    assert np.sqrt(np.mean(tone**2)) == pytest.approx(0.1 / np.sqrt(2), rel=0.01)


def test_long_call_keeps_no_whole_copy(tmp_path: Path, sample_calls: Path) -> None:
    """A call read in blocks: the result holds no decoded audio, and the redacted copy is
    re-decoded from the file piece by piece."""
    cfg = replace_config(Config(), call__block_s=30.0)
    result = score_call_with_audio(
        sample_calls / "en_poor.ogg", transcriber=FakeTranscriber(), config=cfg
    )
    assert result.audio is None and result.scan is not None
    out = result.write_redacted_audio(tmp_path / "copy.flac")
    assert out.scorecard.redaction is not None
    assert sf.info(tmp_path / "copy.flac").duration == pytest.approx(37.4, abs=0.1)


def _fresh(script: str) -> list[str]:
    """What ``script`` prints, run in a fresh process: glibc serves a request from free heap
    space before it maps anything, so only a heap that holds nothing else tells the threshold."""
    if not hasattr(ctypes.CDLL(None), "mallinfo2"):
        pytest.skip("not glibc 2.33 or later")
    return fresh_output(script)


def test_decoder_heap_serves_mid_sized_arrays_from_the_heap() -> None:
    """With the block path's 1 MiB threshold a 4 MiB array is a mapping of its own; inside
    ``decoder_heap`` (16 MiB) it comes from the heap, and a 64 MiB array is still mapped; after
    it the 1 MiB threshold holds again."""
    script = MALLINFO + (
        "from callqa.heap import decoder_heap, fixed_mmap_threshold\n"
        "assert fixed_mmap_threshold()\n"
        "print(mapped_while_held(4 << 20))\n"
        "with decoder_heap():\n"
        "    print(mapped_while_held(4 << 20), mapped_while_held(64 << 20))\n"
        "print(mapped_while_held(4 << 20))\n"
    )
    assert _fresh(script) == ["1", "0", "1", "1"]


def test_decoder_heap_leaves_glibc_alone_where_nothing_fixed_the_threshold() -> None:
    """In a process that never scored a long call, glibc still adjusts its own threshold
    (128 KiB at first, so a first 4 MiB array is mapped): ``decoder_heap`` changes nothing."""
    script = MALLINFO + (
        "from callqa.heap import decoder_heap\n"
        "with decoder_heap():\n"
        "    print(mapped_while_held(4 << 20))\n"
    )
    assert _fresh(script) == ["1"]


_HOLES = (
    "import numpy as np\n"
    "from callqa.heap import decoder_heap, fixed_mmap_threshold\n"
    "def rss_mib():\n"
    "    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
    "fixed_mmap_threshold()\n"
    "pins = []\n"
    "with decoder_heap():\n"
    "    arrays = []\n"
    "    for _ in range(16):  # 4 MiB from the heap, each followed by a 256 KiB pin\n"
    "        arrays.append(np.ones(4 << 20, np.uint8))\n"
    "        pins.append(np.ones(256 << 10, np.uint8))\n"
    "    del arrays  # 64 MiB of holes: free, but not at the heap's top\n"
    "    held = rss_mib()\n"
    "print(held, rss_mib())\n"
)


def test_decoder_heap_returns_free_heap_pages_after_the_block() -> None:
    """Arrays the decoder freed in the middle of the heap (below live ones) stay resident until
    ``decoder_heap`` ends; then they go back to the system, before the next block is read. Run
    in a fresh process, so that its heap holds only what the test put there."""
    if not fixed_mmap_threshold():
        pytest.skip("no mallopt here (not glibc)")
    held, after = map(float, fresh_output(_HOLES))
    assert held - after > 48, (held, after)  # of the 64 MiB of holes


_SCORE = (
    "import resource, sys\n"
    "from callqa.config import Config, replace_config\n"
    "from callqa.pipeline import score_call\n"
    "from callqa.transcription.fake import FakeTranscriber\n"
    "cfg = replace_config(Config(), call__block_s=float(sys.argv[2]))\n"
    "duration = score_call(sys.argv[1], transcriber=FakeTranscriber(), config=cfg).duration_s\n"
    "print(duration, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
)
AS_LIMIT_MB = 1800  # address space (not RSS): the runtimes' own mappings take ~1 GB of it
SAMPLES_MB = 2400 * SR * 2 * 4 / 2**20  # the 40-minute call's decoded stereo float32 samples


@pytest.mark.slow
def test_memory_is_bounded_on_a_long_call(tmp_path: Path) -> None:
    """Scoring a 40-minute stereo call (fake transcriber): its decoded samples alone are 293 MiB
    (float32 at 16 kHz), twice that while they are joined, and the VAD's frame copies as much
    again. In 300-s blocks the call fits under an address-space cap and its peak resident memory
    stays below the same call forced through the whole-call path (``block_s`` of a day) by at
    least the size of those samples: the blocks path never holds the whole call."""
    path = tmp_path / "long.flac"
    rng = np.random.default_rng(2)
    with sf.SoundFile(path, "w", 8000, 2, "PCM_16", format="FLAC") as out:
        for _ in range(40):  # one minute at a time: tone bursts over faint noise
            t = np.arange(60 * 8000) / 8000
            burst = (np.sin(2 * np.pi * 180 * t) * ((t % 6) < 2)).astype(np.float32)
            noise = 0.01 * rng.standard_normal((60 * 8000, 2)).astype(np.float32)
            out.write(noise + 0.3 * np.stack([burst, np.roll(burst, 3 * 8000)], axis=1))
    argv = [sys.executable, "-c", _SCORE, str(path)]
    blocks = run_limited([*argv, "300"], memory_mb=AS_LIMIT_MB, cpu_s=600)
    assert blocks.returncode == 0, blocks.stderr[-2000:]
    duration, blocks_mb = blocks.stdout.split()[-2:]
    assert float(duration) == pytest.approx(2400.0, abs=0.1)
    # the whole-call path, without the cap (whether it fits under one depends on how many
    # thread arenas the machine's runtimes map), measured by its peak resident memory instead
    whole = run_limited([*argv, "86400"], memory_mb=16384, cpu_s=600)
    assert whole.returncode == 0, whole.stderr[-2000:]
    whole_mb = whole.stdout.split()[-1]
    assert int(whole_mb) - int(blocks_mb) > SAMPLES_MB, (blocks_mb, whole_mb)
