"""The stages of a call longer than ``call.block_s``, block by block.

The call is never held whole: each stage that needs samples (speech activity, speaker
embeddings of a mono call, transcription, voice) reads it again block by block
(:func:`callqa.audio.blocks.read_blocks`); what crosses blocks (frame tracks, embeddings,
words) is small and joined over the whole call by :mod:`callqa.pipeline`
(docs/architecture.md, "Long calls").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from callqa.audio.activity import (
    load_vad,
    mask_to_segments,
    mono_activity,
    speech_mask,
    stereo_activity,
)
from callqa.audio.blocks import Block, VadStream, plan_blocks, read_blocks
from callqa.audio.diarize import cluster_windows, speech_windows, too_little_speech
from callqa.audio.load import AudioScan
from callqa.audio.speaker import load_encoder
from callqa.config import Config
from callqa.heap import decoder_heap
from callqa.measures.voice import HOP_S, VoiceFrames, VoiceMetrics
from callqa.transcription.call import transcribe_call
from callqa.transcription.model import Transcriber
from callqa.types import SAMPLE_RATE, SpeechActivity, Transcript, Utterance

MARGIN_S = 5.0  # s of context read each side of a block: a word, embedding or pitch window at a cut


def blocks_of(
    scan: AudioScan, activity: SpeechActivity | None, config: Config
) -> tuple[Block, ...]:
    """The call's blocks, each cut in a pause between ``activity``'s turns where there is
    one, read with :data:`MARGIN_S` of context each side."""
    busy = [(t.start, t.end) for t in activity.turns] if activity is not None else []
    return plan_blocks(scan.n_samples, config.call.block_s, busy, margin_s=MARGIN_S)


def block_activity(scan: AudioScan, config: Config) -> SpeechActivity:
    """Speech activity of the whole call: VAD frames block by block (state carried, so equal
    to the whole-call frames), then the cross-talk gate (stereo) or the speaker embeddings and
    one clustering over the call (mono)."""
    dyn = config.dynamics
    streams = [VadStream(load_vad(dyn.vad_threads)) for _ in range(scan.n_channels)]
    for audio in read_blocks(scan, plan_blocks(scan.n_samples, config.call.block_s, [])):
        for stream, samples in zip(streams, audio.channels, strict=True):
            stream.feed(samples)
        del audio, samples  # before the next block is decoded (here and below): one at a time
    frames = [stream.finish() for stream in streams]
    masks = [speech_mask(probs, dyn) for probs, _ in frames]
    if scan.n_channels == 2:
        return stereo_activity(masks, [levels for _, levels in frames], dyn)
    speech = mask_to_segments(masks[0], dyn)
    windows = speech_windows(speech, dyn.diarization_window_s, dyn.diarization_step_s)
    found = too_little_speech(speech, windows)
    if found is None:
        embeddings = _block_embeddings(scan, speech, windows, config)
        found = cluster_windows(embeddings, windows, speech, scan.n_samples, dyn)
    return mono_activity(found)


def _block_embeddings(
    scan: AudioScan,
    speech: list[tuple[float, float]],
    windows: list[tuple[float, float]],
    config: Config,
) -> np.ndarray:
    """Speaker embeddings of every window, each taken from the block its start falls in."""
    encoder = load_encoder()
    margin = max(MARGIN_S, config.dynamics.diarization_window_s + 1.0)
    blocks = plan_blocks(scan.n_samples, config.call.block_s, speech, margin_s=margin)
    rows: list[np.ndarray] = []
    for block, audio in zip(blocks, read_blocks(scan, blocks), strict=True):
        t0, t1 = block.core_s
        mine = [w for w in windows if t0 <= w[0] < (t1 if block is not blocks[-1] else np.inf)]
        if mine:
            idx = [
                (int(a * SAMPLE_RATE) - block.lo, int(b * SAMPLE_RATE) - block.lo) for a, b in mine
            ]
            rows.append(encoder.embed(audio.channels[0], idx))
        del audio
    return np.concatenate(rows)


def _shifted(activity: SpeechActivity, block: Block) -> SpeechActivity:
    """The activity inside a block's audio, in block time (turns clipped to it)."""
    off, end = block.offset_s, (block.hi - block.lo) / SAMPLE_RATE
    turns = tuple(
        replace(t, start=max(0.0, t.start - off), end=min(end, t.end - off))
        for t in activity.turns
        if t.end > off and t.start < off + end
    )
    return replace(activity, turns=turns)


def block_transcript(
    scan: AudioScan, activity: SpeechActivity, transcriber: Transcriber, config: Config
) -> Transcript:
    """Each block transcribed with its margins; a block keeps the words whose middle lies in
    its core. The first block detects the language (unless forced); the others use it."""
    blocks = blocks_of(scan, activity, config)
    language, first = config.call.language, None
    kept: list[Utterance] = []
    for block, audio in zip(blocks, read_blocks(scan, blocks), strict=True):
        with decoder_heap():
            part = transcribe_call(
                audio,
                transcriber,
                activity=_shifted(activity, block),
                language=language,
                config=config.transcription,
            )
        del audio
        if first is None:
            first, language = part, part.language
        kept += _in_core(part.segments, block, block is blocks[-1])
    assert first is not None  # a call has at least one block
    ordered = sorted(kept, key=lambda u: (u.start, u.end, u.speaker))
    return replace(first, segments=tuple(ordered))


def _in_core(utterances: tuple[Utterance, ...], block: Block, last: bool) -> list[Utterance]:
    """Utterances in call time, keeping the words whose middle lies in the block's core."""
    off, (t0, t1) = block.offset_s, block.core_s
    t1 = float("inf") if last else t1
    out = []
    for utt in utterances:
        words = tuple(
            replace(w, start=w.start + off, end=w.end + off)
            for w in utt.words
            if t0 <= (w.start + w.end) / 2 + off < t1
        )
        if utt.words and not words:
            continue
        if not utt.words and not t0 <= (utt.start + utt.end) / 2 + off < t1:
            continue
        if len(words) < len(utt.words):  # cut at the core's edge: the words that are left
            utt = replace(utt, start=words[0].start - off, end=words[-1].end - off,
                          text=" ".join(w.text for w in words))  # fmt: skip
        out.append(replace(utt, start=utt.start + off, end=utt.end + off, words=words))
    return out


def block_voice(
    scan: AudioScan, activity: SpeechActivity, transcript: Transcript, config: Config
) -> VoiceMetrics:
    """Voice frame tracks block by block (each block's core), statistics over the call."""
    tracks = VoiceFrames(activity, config.voice)
    hop = round(HOP_S * SAMPLE_RATE)
    blocks = blocks_of(scan, activity, config)
    for block, audio in zip(blocks, read_blocks(scan, blocks), strict=True):
        first = (block.start - block.lo) // hop
        last = -(-(block.end - block.lo) // hop)
        tracks.add(audio, _shifted(activity, block), first, last)
        del audio
    return tracks.metrics(activity, transcript, scan.duration_s)
