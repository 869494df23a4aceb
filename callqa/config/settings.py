"""Every setting of callqa: one frozen dataclass per stage, with its defaults and meaning.

The stages import their settings from here (through :mod:`callqa.config`) and nothing else
from above. docs/configuration.md lists every key; :mod:`callqa.ranges` holds their ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callqa.errors import ConfigError
from callqa.languages import parse_language

AGENT_CHANNELS = ("left", "right", "auto")

# --------------------------------------------------------------------------- transcription

BACKENDS = ("faster-whisper", "openai-whisper")
DEVICES = ("auto", "cpu", "cuda")
CROSSTALK_MODES = ("drop-words", "mask", "off")
DECODINGS = ("batched", "sequential")


@dataclass(frozen=True)
class TranscriptionConfig:
    """Settings of the transcription stage (TOML table ``[transcription]``).

    The language is not set here: force it with ``language`` in ``[call]``
    (:class:`callqa.config.CallConfig`) or ``--language``; it reaches
    :func:`transcribe_call` as an argument.

    Attributes
    ----------
    backend : {"faster-whisper", "openai-whisper"}
        faster-whisper (CTranslate2) is the default: faster at equal accuracy
        (benchmarks/results/transcribe.md).
    model : str
        "base" (shipped, offline), a local path (CTranslate2 directory; openai ``.pt`` for
        openai-whisper) or another Whisper model name (downloaded: needs internet).
    device : {"auto", "cpu", "cuda"}
    compute_type : str
        "auto" = int8 on CPU, float16 on GPU; any CTranslate2 type for faster-whisper
        (openai-whisper uses float32 on CPU, float16 on GPU whatever this says).
    threads : int >= 0
        CPU threads for the model; 0 = the cores this process may use. With several worker
        processes give each cores / workers.
    decoding : {"batched", "sequential"}
        "batched": the speech turns of each channel (from speech activity) are packed into
        30 s windows, and the windows of both channels are decoded together in batches, greedily
        first and again with ``beam_size`` where greedy was unsure. "sequential": each channel
        is decoded whole, one 30 s window after the other, with ``beam_size`` (also used
        without speech activity, with ``crosstalk = "off"`` and by openai-whisper).
    first_beam_size : int >= 1
        Batched decoding: the beam of the first pass (1 = greedy). A window whose first pass
        fails one of the ``redecode_*`` tests is decoded again with ``beam_size``; set it equal
        to ``beam_size`` to decode every window once with ``beam_size``.
    detect_languages : tuple of str
        When the language is not forced, language ID chooses among these (ISO 639-1; "no" or
        "nb" for Norwegian); empty: any language Whisper knows. A contact centre that takes
        calls in Norwegian and English sets ``["nb", "en"]``: Whisper base took the synthetic
        Norwegian sample call for Latin, which has no phrase pack. The probability reported is
        the chosen language's share of the candidates'.
    stream_languages : tuple of str
        Batched decoding: languages whose speech is decoded as streams instead of packed
        windows. Each channel's speech turns (widened by ``crosstalk_tolerance_s``) are laid
        end to end and decoded as the libraries decode a file, 30 s at a time with
        ``beam_size``, each window starting where the text stopped; one stream per decoder
        lane at a time (``parallel_windows``). Italian: on held-out synthetic Italian the
        packed windows lost about 0.02 of word error against the bare beam-5 script, the
        streams none (docs/transcription.md).
    beam_first_languages : tuple of str
        Batched decoding: languages whose windows are all decoded once with ``beam_size``
        (no greedy first pass). Italian used it before ``stream_languages``.
    redecode_log_prob : float [nats/token]
        Decode again a window whose mean token log-probability is below this.
    redecode_compression_ratio : float [zlib ratio]
        Decode again a window whose text compresses better than this (a loop).
    redecode_low_word_share : float in [0, 1]
        Decode again a window with more than this share of words below probability 0.5.
    batch_size : int >= 0
        Batched decoding: windows per batch; 0 = automatic (8 on a CPU, 16 on a GPU, halved
        while a GPU runs out of memory). Each window of a batch holds about 35-50 MiB while it
        is decoded (the decoder's cache of the encoder output).
    parallel_windows : int >= 0
        Batches decoded at the same time by model replicas that share one copy of the weights
        (CTranslate2's ``inter_threads``), each with ``threads / parallel_windows`` CPU threads;
        0 = automatic (1: one replica with every thread, on a CPU as on a GPU; measured in
        docs/transcription.md, "Threads").
    beam_size : int >= 1
        1 = greedy decoding. Batched decoding: the beam of the second pass.
    best_of : int >= 1
        Candidates sampled at each temperature above 0 (only with a fallback).
    temperatures : tuple of float
        Decoding temperatures. The default ``(0.0,)`` decodes once, deterministically: the same
        file always gives the same words. Whisper's fallback ``(0.0, 0.2, ..., 1.0)`` decodes a
        window that fails the compression-ratio or log-probability check again by *random*
        sampling (CTranslate2 has no per-call seed), so a re-run could change the text and the
        score; on the benchmark clips it changed no word of real speech and ran at half the speed
        (see docs/transcription.md).
    compression_ratio_threshold : float [gzip ratio]
        A segment whose text compresses better than this is a repetition loop (Whisper's 2.4).
    log_prob_threshold : float [nats/token]
        Mean token log-probability below this fails a window (Whisper's -1.0).
    no_speech_threshold : float in [0, 1]
        A window with P(no speech) above this *and* a failing log-probability is silence
        (Whisper's 0.6).
    silence_no_speech_threshold : float in [0, 1]
        A segment with P(no speech) above this and a mean log-probability below
        ``silence_log_prob_threshold`` is dropped as invented, whatever the libraries kept.
        Text invented in noise or silence scored 0.80-0.98; speech with a log-probability
        below -0.5 at most 0.78, and Whisper's 0.6 dropped whole windows of English speech
        (see docs/transcription.md).
    silence_log_prob_threshold : float [nats/token]
        See ``silence_no_speech_threshold`` (stricter than Whisper's -1.0).
    condition_on_previous_text : bool
        False: each window decodes without the previous text as prompt, which stops a loop
        from carrying over (Whisper's default is True).
    silence_dbfs : float [dBFS]
        A channel whose peak stays below this is not decoded at all.
    crosstalk : {"drop-words", "mask", "off"}
        Stereo leakage handling with speech activity: drop words outside the channel's own
        turns, zero the channel outside its turns before decoding, or neither.
    crosstalk_tolerance_s : float >= 0 [s]
        How far a word may reach outside its channel's turns and still count as inside.
    empty_turn_pass : bool
        Decode again, on its own, each speech turn of at least ``empty_turn_min_s`` that got
        no word (no word's midpoint inside it), cut with ``empty_turn_context_s`` either side.
        Whisper skips short replies in a channel that is mostly silence
        (benchmarks/results/audio_truth.md). With batched decoding it also decodes again
        what follows a window's last word when a window ended early (docs/transcription.md),
        and stops retrying once fewer than half of the turns tried got words.
    empty_turn_min_s : float > 0 [s]
        Shortest turn that must have words (for the second pass and the scorecard's
        ``metrics.coverage``).
    empty_turn_context_s : float >= 0 [s]
        Audio kept either side of an empty turn for its second pass.
    empty_turn_warn_share : float in [0, 1]
        A scorecard warns when more than this share of the turns of at least
        ``empty_turn_min_s`` is still without words.
    """

    backend: str = "faster-whisper"
    model: str = "base"
    device: str = "auto"
    compute_type: str = "auto"
    threads: int = 0
    decoding: str = "batched"
    first_beam_size: int = 1
    detect_languages: tuple[str, ...] = ()
    stream_languages: tuple[str, ...] = ("it",)
    beam_first_languages: tuple[str, ...] = ()
    redecode_log_prob: float = -0.5
    redecode_compression_ratio: float = 2.0
    redecode_low_word_share: float = 0.2
    batch_size: int = 0
    parallel_windows: int = 0
    beam_size: int = 5
    best_of: int = 5
    temperatures: tuple[float, ...] = (0.0,)
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    silence_no_speech_threshold: float = 0.8
    silence_log_prob_threshold: float = -0.5
    condition_on_previous_text: bool = False
    silence_dbfs: float = -50.0
    crosstalk: str = "drop-words"
    crosstalk_tolerance_s: float = 0.3
    empty_turn_pass: bool = True
    empty_turn_min_s: float = 1.0
    empty_turn_context_s: float = 0.5
    empty_turn_warn_share: float = 0.1


def _is_language(code: object) -> bool:
    """True for a language code Whisper knows ("auto" and "" are not one)."""
    try:
        return isinstance(code, str) and parse_language(code) is not None
    except ConfigError:
        return False


def check_config(config: TranscriptionConfig) -> TranscriptionConfig:
    """Validate the choices in ``config``; return it unchanged.

    Raises
    ------
    ConfigError
        An unknown backend, device or crosstalk mode, or a non-positive beam.
    """
    for name, value, allowed in (
        ("backend", config.backend, BACKENDS),
        ("device", config.device, DEVICES),
        ("crosstalk", config.crosstalk, CROSSTALK_MODES),
        ("decoding", config.decoding, DECODINGS),
    ):
        if value not in allowed:
            raise ConfigError(
                f"transcription.{name} must be one of {', '.join(allowed)}, not {value!r}"
            )
    if config.beam_size < 1 or config.best_of < 1 or config.threads < 0:
        raise ConfigError("transcription.beam_size and best_of must be >= 1, threads >= 0")
    if config.first_beam_size < 1 or config.batch_size < 0 or config.parallel_windows < 0:
        raise ConfigError(
            "transcription.first_beam_size must be >= 1, batch_size and parallel_windows >= 0"
        )
    for key in ("detect_languages", "stream_languages", "beam_first_languages"):
        for code in getattr(config, key):
            if not _is_language(code):
                raise ConfigError(
                    f"transcription.{key}: {code!r} is not a language code "
                    "(en, nb, fi, it, sl, ...)"
                )
    if not config.temperatures:
        raise ConfigError("transcription.temperatures needs at least one value, e.g. [0.0]")
    return config


# --------------------------------------------------------------------------- dynamics

CROSSTALK_GATES = ("leak", "dominance", "off")

# Short listener responses that do not take the floor (merged across en, nb, fi, it, sl;
# compared lower-cased without punctuation). Sources: Schegloff 1982 ("continuers"); the
# Switchboard DA "b" (backchannel) label's most frequent tokens; native forms for nb/fi/it/sl.
BACKCHANNEL_WORDS = (  # a word shared by languages is listed once, under the first
    # en
    "mm", "mhm", "mmm", "hm", "hmm", "uh-huh", "uhhuh", "uh", "huh", "um", "yeah", "yes", "yep",
    "yup", "ok", "okay", "right", "sure", "alright", "oh", "ah", "aha", "i see", "got it",
    "exactly", "true", "sure thing", "all right",
    # nb (also: mhm, ok)
    "ja", "jo", "jaha", "akkurat", "nettopp", "greit", "javel", "ja ja", "skjønner",
    # fi (also: ok)
    "joo", "juu", "niin", "aivan", "kyllä", "selvä", "okei", "just", "ahaa", "jep", "jaa",
    # it (also: ah)
    "sì", "si", "certo", "esatto", "va bene", "capito", "giusto", "ecco", "già", "vero",
    # sl (also: ja, aha, mhm)
    "seveda", "točno", "dobro", "razumem", "tako", "no ja", "vredu", "prav",
)  # fmt: skip


@dataclass(frozen=True)
class DynamicsConfig:
    """Settings of speech activity detection and the conversation-dynamics metrics.

    Attributes
    ----------
    vad_threshold : float in (0, 1)
        Silero VAD speech probability at which speech starts (Silero's default 0.5).
    vad_neg_threshold : float in (0, 1)
        Probability below which speech ends (hysteresis; Silero uses threshold - 0.15).
    min_speech_ms : int >= 0 [ms]
        Speech stretches shorter than this are dropped (Silero default 250 ms).
    min_silence_ms : int >= 0 [ms]
        Pauses shorter than this inside one party's speech are bridged into one turn.
    speech_pad_ms : int >= 0 [ms]
        Padding added to each side of a speech stretch (Silero default 30 ms).
    vad_threads : int >= 1
        onnxruntime intra-op threads of the VAD.
    crosstalk_gate : {"leak", "dominance", "off"}
        Stereo only. "leak": a channel counts as speaking where it is at least ``gate_db`` louder
        than the other channel's measured leakage into it; "dominance": where it is within
        ``gate_db`` of the louder channel; "off": per-channel VAD only.
    gate_db : float > 0 [dB]
        Margin of the cross-talk gate.
    diarization_window_s : float > 0 [s]
        Mono: length of the speech windows embedded for speaker clustering.
    diarization_step_s : float > 0 [s]
        Mono: hop between embedding windows.
    n_speakers : int in [0, 3]
        Mono: number of speakers; 0 estimates one, two, or three or more voices from the audio
        (docs/metrics.md, "Voice count"). With three or more, the two with the most speech
        are the parties and the others are "unknown".
    interruption_min_overlap_s : float >= 0 [s]
        Overlapped speech shorter than this is ordinary turn-taking, not an interruption.
    transition_tail_s : float >= 0 [s]
        An overlap that starts within this time of the other party's turn end is a transition
        overlap: the incoming party came in as the other was finishing (Jefferson 1984).
    simultaneous_start_s : float >= 0 [s]
        Two turns that start within this time of each other are a simultaneous start (both
        self-selected at the same transition point; Sacks, Schegloff & Jefferson 1974).
    echo_window_s : float > 0 [s]
        An incoming whose words repeat what the other party said in this many seconds before
        it is an echo (a confirmation by repeating; Clark & Schaefer 1989).
    echo_min_share : float in (0, 1]
        Share of the incoming's words (backchannel words aside) that must repeat the other's.
    backchannel_max_s : float > 0 [s]
        Longest listener response ("mm", "yeah", "ja", "joo", "sì", "aha") that can be a
        backchannel.
    backchannel_words : tuple of str
        Words a backchannel may consist of (lower case, any supported language).
    non_talk_min_s : float > 0 [s]
        Non-talk time: periods longer than this with neither party speaking (Contact Lens: 3 s).
    long_response_s : float > 0 [s]
        An agent answer that starts later than this after the customer's turn is listed.
    """

    vad_threshold: float = 0.5
    vad_neg_threshold: float = 0.35
    min_speech_ms: int = 250
    min_silence_ms: int = 300
    speech_pad_ms: int = 30
    vad_threads: int = 1
    crosstalk_gate: str = "leak"
    gate_db: float = 6.0
    diarization_window_s: float = 1.5
    diarization_step_s: float = 0.75
    n_speakers: int = 0
    interruption_min_overlap_s: float = 0.5
    transition_tail_s: float = 1.0
    simultaneous_start_s: float = 0.5
    echo_window_s: float = 10.0
    echo_min_share: float = 0.5
    backchannel_max_s: float = 1.0
    backchannel_words: tuple[str, ...] = BACKCHANNEL_WORDS
    non_talk_min_s: float = 3.0
    long_response_s: float = 2.0


# --------------------------------------------------------------------------- voice


@dataclass(frozen=True)
class VoiceConfig:
    """Settings of the voice stage (TOML section ``[voice]``).

    Attributes
    ----------
    pitch_floor_hz, pitch_ceiling_hz : float > 0 [Hz]
        Search range of Praat's pitch tracker (60-400 Hz spans adult male and female voices).
    silence_threshold : float in [0, 1]
        Praat's silence threshold: frames whose peak is below this fraction of the analysed
        chunk's peak are unvoiced (Praat's default 0.03 = -30 dB). Pitch runs per stretch of
        the speaker's dominant speech, so a loud moment elsewhere does not mute quiet speech.
    crosstalk_margin_db : float >= 0 [dB]
        Stereo: a frame counts for a speaker only when no other channel is more than this much
        louder than the speaker's own (with cross-talk 20 dB down, a 6-dB dominance gate cut
        stereo diarization error from 78-95 % to 3-5 %).
    min_voiced_s : float >= 0 [s]
        Less voiced speech than this gives "no voiced speech" (None values), not a number.
    min_lufs_speech_s : float >= 0.4 [s]
        Voiced speech needed for integrated loudness (BS.1770 gates 0.4-s blocks).
    contour_step_s : float > 0 [s]
        Step of the plotting contour and of the raised-voice search.
    min_step_voiced_s : float > 0 [s]
        A contour step needs this much voiced, dominant speech to get an F0 and a level.
    raised_level_db : float [dB]
        A step is raised when its level is at least this far above the speaker's baseline
        (the median of its steps) ...
    raised_pitch_st : float [st]
        ... or its pitch at least this far above the pitch baseline while its level is at
        least half the level threshold above it.
    raised_spread_z : float >= 0
        ... and both thresholds are at least this many robust SDs (1.4826 x the lower-half
        MAD) of the speaker's own steps, so ordinary variation of a lively voice is not
        "raised".
    raised_min_s, raised_max_gap_s : float [s]
        A raised stretch lasts at least ``raised_min_s``; raised steps closer than
        ``raised_max_gap_s`` join into one stretch.
    pressure_window_s : float [s]
        The agent's speech up to this long after a customer's raised stretch is measured as
        its response (``VoiceMetrics.responses``).
    pause_min_s : float [s]
        Gaps between words at least this long are pauses (excluded from articulation time).
    n_parts : int >= 1
        Parts of the call for the trajectory (4 = quarters).
    """

    pitch_floor_hz: float = 60.0
    pitch_ceiling_hz: float = 400.0
    silence_threshold: float = 0.03
    crosstalk_margin_db: float = 6.0
    min_voiced_s: float = 1.0
    min_lufs_speech_s: float = 1.0
    contour_step_s: float = 0.5
    min_step_voiced_s: float = 0.1
    raised_level_db: float = 6.0
    raised_pitch_st: float = 3.0
    raised_spread_z: float = 2.0
    raised_min_s: float = 2.0
    raised_max_gap_s: float = 1.0
    pressure_window_s: float = 10.0
    pause_min_s: float = 0.25
    n_parts: int = 4


# --------------------------------------------------------------------------- redaction

CARD, IBAN, NATIONAL_ID, PHONE, EMAIL = "card", "iban", "national_id", "phone", "email"
CVV, EXPIRY, NAME, ADDRESS = "cvv", "expiry", "name", "address"
PII_TYPES = (CARD, IBAN, NATIONAL_ID, PHONE, EMAIL, CVV, EXPIRY, NAME, ADDRESS)
DEFAULT_TYPES = (CARD, IBAN, NATIONAL_ID, PHONE, EMAIL, CVV, EXPIRY)
AUDIO_MODES = ("silence", "tone")


@dataclass(frozen=True)
class RedactionConfig:
    """How personal data is redacted (TOML section ``[redaction]``).

    Attributes
    ----------
    enabled : bool
        Redact everything written to disk (JSON, CSV, store, report, audio copy).
    types : tuple of str
        Types to detect, from :data:`DEFAULT_TYPES`; "name"/"address" are switched by the
        two flags below.
    names : bool
        Also redact person names after "my name is ..." and similar (off: no offline NER model
        for all five languages; cue-based detection misses names said without a cue).
    addresses : bool
        Also redact street addresses (street word + house number; off, same reason).
    audio_mode : {"silence", "tone"}
        What replaces a span in the redacted audio copy.
    audio_pad_s : float >= 0 [s]
        Padding on both sides of each span in the audio (word times are +-0.1 s accurate).
    tone_hz : float > 0 [Hz]
        Frequency of the replacement tone.
    join_gap_s : float >= 0 [s]
        A number may continue into the same speaker's next segment when it starts within
        this many seconds.
    """

    enabled: bool = True
    types: tuple[str, ...] = DEFAULT_TYPES
    names: bool = False
    addresses: bool = False
    audio_mode: str = "silence"
    audio_pad_s: float = 0.15
    tone_hz: float = 1000.0
    join_gap_s: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(self.types))
        unknown = [t for t in self.types if t not in PII_TYPES]
        if unknown:
            raise ConfigError(
                f"redaction.types: unknown type(s) {unknown}; use some of {list(DEFAULT_TYPES)}"
            )
        if self.audio_mode not in AUDIO_MODES:
            raise ConfigError(
                f"redaction.audio_mode must be 'silence' or 'tone', not {self.audio_mode!r}"
            )
        if self.audio_pad_s < 0 or self.join_gap_s < 0 or self.tone_hz <= 0:
            raise ConfigError("redaction: audio_pad_s and join_gap_s must be >= 0, tone_hz > 0")

    @property
    def active_types(self) -> frozenset[str]:
        """The types detected, including "name"/"address" when switched on."""
        extra = {NAME} if self.names else set()
        extra |= {ADDRESS} if self.addresses else set()
        return frozenset(self.types) | extra


# --------------------------------------------------------------------------- input limits

MAX_CONFIG_BYTES = 1 << 20  # the config file itself (read before [limits] is known): 1 MiB


@dataclass(frozen=True)
class LimitsConfig:
    """Size caps of the files callqa reads whole (TOML section ``[limits]``).

    A file over its cap is refused with one line naming the file and the cap, before it is
    read: memory stays bounded whatever a path names (a FIFO, ``/dev/zero``, a 4 GB file). The
    config file itself is capped at :data:`MAX_CONFIG_BYTES` (1 MiB).

    Attributes
    ----------
    max_transcript_bytes : int > 0 [bytes]
        A transcript file (JSON or WebVTT). Default 64 MiB: a 2-hour call with word times is
        about 2 MB of JSON; one segment per speaker of a whole day fits too.
    max_manifest_bytes : int > 0 [bytes]
        A batch manifest CSV. Default 64 MiB (some 500,000 rows).
    max_rubric_bytes : int > 0 [bytes]
        A rubric TOML file. Default 1 MiB (the built-in rubric is 4 kB).
    max_phrase_pack_bytes : int > 0 [bytes]
        A user phrase pack named by the rubric. Default 4 MiB (the largest built-in pack is
        about 60 kB).
    """

    max_transcript_bytes: int = 64 << 20
    max_manifest_bytes: int = 64 << 20
    max_rubric_bytes: int = 1 << 20
    max_phrase_pack_bytes: int = 4 << 20


# --------------------------------------------------------------------------- the whole run


@dataclass(frozen=True)
class CallConfig:
    """How to read a call.

    Attributes
    ----------
    agent_channel : {"left", "right", "auto"}
        Stereo only: which channel carries the agent; "auto" decides from what is said.
    language : str or None
        ISO 639-1 code to force ("en", "nb"/"no", "fi", "it", "sl", ...); None detects it.
    max_duration_s : float > 0 [s]
        Longer recordings are refused before decoding (default 2 h: a long call is read in
        blocks, so memory stays flat, but its time grows with it; benchmarks/results/memory.md).
    block_s : float > 0 [s]
        A longer call is decoded and processed in blocks of at most this length (plus 5 s of
        context each side), cut in a pause, so memory stays flat in the call's length
        (benchmarks/results/memory.md); a call this short or shorter is processed whole.
    """

    agent_channel: str = "left"
    language: str | None = None
    max_duration_s: float = 2 * 3600.0
    block_s: float = 300.0


@dataclass(frozen=True)
class RubricConfig:
    """Which rubric scores the call.

    Attributes
    ----------
    path : str or None
        A rubric TOML file (docs/rubric.md); None: the built-in default rubric.
    """

    path: str | None = None


@dataclass(frozen=True)
class Config:
    """Every setting of a scoring run."""

    call: CallConfig = field(default_factory=CallConfig)
    transcription: TranscriptionConfig = field(default_factory=TranscriptionConfig)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    redaction: RedactionConfig = field(default_factory=RedactionConfig)
    rubric: RubricConfig = field(default_factory=RubricConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
