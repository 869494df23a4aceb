"""Generate callqa's synthetic sample calls and their ground-truth sidecars.

Every call is **synthetic**: each line of a script is spoken by espeak-ng, band-limited to the
telephone band, trimmed to its exact speech extent, placed on a timeline with scripted gaps,
interruptions and backchannels, mixed into an 8 kHz stereo (agent left, customer right) or mono
signal with cross-talk leakage and noise, and encoded as Ogg Vorbis with ffmpeg. The timeline
that placed the speech is written next to the audio as ``<stem>.truth.json``.

Run ``python sample_calls/generate.py`` (from anywhere) to regenerate every file; the output is
byte-identical from run to run on the same espeak-ng, numpy, scipy and ffmpeg versions. Needs
``espeak-ng`` and ``ffmpeg`` on PATH and numpy, scipy and soundfile.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import butter, resample_poly, sosfiltfilt

OUT_DIR = Path(__file__).resolve().parent
SAMPLE_RATE = 8_000  # Hz, narrow-band telephone rate
ESPEAK_RATE = 22_050  # Hz, espeak-ng's output rate
BAND_HZ = (300.0, 3400.0)  # ITU-T telephone band (G.712 pass band)
EXTENT_DB = -40.0  # speech extent: first/last sample within 40 dB of the utterance's peak
CROSSTALK_DB = -25.0  # the other party leaks into each channel at this gain
CROSSTALK_DELAY_S = 0.003  # leakage arrives 3 ms late (echo path through the hybrid)
NOISE_DBFS = -50.0  # RMS of the band-limited noise floor on every channel
FADE_S = 0.0  # no fades: extents are cut where the signal is already 40 dB below peak
LEAD_IN_S = 0.6  # silence before the first word (ring-to-answer residue)
TAIL_S = 0.7  # silence after the last word
PEAK_LIMIT = 0.89  # -1 dBFS: the whole mix is scaled down (never clipped) if it would exceed this
SILENCE_MIN_S = 1.0  # mutual silences at least this long are listed in the truth
LONG_SILENCE_S = 3.0  # "long silence" (dead air) threshold used in the behaviour summary
VORBIS_QUALITY = "2"  # ffmpeg -q:a; high enough that Vorbis keeps the channels apart (no
# lossy stereo coupling), small enough for ~100-300 KB a call

BEHAVIOURS = (
    "greeting",
    "paraphrase",
    "apology",
    "empathy",
    "open_question",
    "alternative_offered",
    "next_step",
    "next_step_time_frame",
    "closing",
)
AGENT = "agent"
CUSTOMER = "customer"


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice setting.

    Attributes
    ----------
    name : str
        espeak-ng ``-v`` value, language plus variant ("en-us+f2").
    speed : int > 0 [words per minute]
        ``-s``.
    pitch : int in [0, 99]
        ``-p``.
    word_gap : int >= 0 [10 ms units]
        ``-g``, extra pause between words (helps Whisper on fi/nb/sl).
    level_dbfs : float [dBFS]
        RMS of the placed utterance (over its speech extent).
    """

    name: str
    speed: int
    pitch: int
    word_gap: int = 0
    level_dbfs: float = -20.0

    def argv(self) -> list[str]:
        """espeak-ng arguments (without text and output)."""
        return [
            "-v",
            self.name,
            "-s",
            str(self.speed),
            "-p",
            str(self.pitch),
            "-g",
            str(self.word_gap),
        ]


@dataclass(frozen=True)
class Line:
    """One scripted utterance.

    Attributes
    ----------
    speaker : {"agent", "customer"}
    text : str
        What is said (also the truth text).
    gap : float [s]
        ``mode="turn"``: pause after the latest end of a main turn before this one starts.
    mode : {"turn", "interrupt", "backchannel"}
        "turn" follows the conversation; "interrupt" starts ``overlap`` s before the previous
        turn (by the other party) ends, that turn being written as broken off; "backchannel"
        is a short token placed ``at`` s into the previous turn and does not take the floor.
    overlap : float [s]
        For "interrupt": how long both talk.
    at : float [s]
        For "backchannel": offset from the start of the previous turn.
    tags : dict
        Behaviour name -> the exact quote in ``text`` that shows it.
    forbidden : tuple of str
        Forbidden phrases said in this line (each a substring of ``text``, case-insensitive).
    """

    speaker: str
    text: str
    gap: float = 0.5
    mode: str = "turn"
    overlap: float = 0.0
    at: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)
    forbidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class Call:
    """A scripted call."""

    stem: str
    language: str
    description: str
    agent: Voice
    customer: Voice
    lines: tuple[Line, ...]
    channels: int = 2


@dataclass(frozen=True)
class Placed:
    """An utterance on the timeline: its speech-extent signal and where it starts."""

    line: Line
    signal: np.ndarray  # float64, shape=(n,), at SAMPLE_RATE, trimmed to the speech extent
    start_sample: int

    @property
    def end_sample(self) -> int:
        return self.start_sample + len(self.signal)

    @property
    def start(self) -> float:
        return self.start_sample / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.end_sample / SAMPLE_RATE


# --------------------------------------------------------------------------- scripts


def _a(text: str, gap: float = 0.5, **kw: Any) -> Line:
    return Line(AGENT, text, gap=gap, **kw)


def _c(text: str, gap: float = 0.5, **kw: Any) -> Line:
    return Line(CUSTOMER, text, gap=gap, **kw)


def _bc(speaker: str, text: str, at: float) -> Line:
    return Line(speaker, text, mode="backchannel", at=at)


def _cut_in(speaker: str, text: str, overlap: float, **kw: Any) -> Line:
    return Line(speaker, text, mode="interrupt", overlap=overlap, **kw)


EN_GOOD = Call(
    stem="en_good",
    language="en",
    description=(
        "Good English call: greeting with company and name, the customer is heard out, "
        "paraphrase, apology, empathy, open question, alternative offered, next step with time "
        "frame, polite closing; customer backchannels, one 1.6 s hold, no agent interruptions."
    ),
    agent=Voice("en-us+f2", 145, 60, level_dbfs=-20.0),
    customer=Voice("en+m3", 160, 38, level_dbfs=-22.0),
    lines=(
        _a(
            "Thank you for calling Nordic Telecom, my name is Anna. How can I help you?",
            gap=0.0,
            tags={"greeting": "Thank you for calling Nordic Telecom, my name is Anna"},
        ),
        _c(
            "Hi Anna. My internet keeps dropping out. It has happened every evening since "
            "Monday, usually around eight, and it stays down for about ten minutes each time.",
            gap=0.6,
        ),
        _bc(AGENT, "mm", at=3.2),
        _a(
            "So if I understand correctly, your internet has been dropping every evening "
            "since Monday.",
            gap=0.7,
            tags={
                "paraphrase": "So if I understand correctly, your internet has been dropping "
                "every evening since Monday"
            },
        ),
        _c("Yes, exactly.", gap=0.4),
        _a(
            "I'm so sorry you've had this experience. I understand how frustrating that is. "
            "What happens to the lights on your router when the connection drops?",
            gap=0.5,
            tags={
                "apology": "I'm so sorry you've had this experience",
                "empathy": "I understand how frustrating that is",
                "open_question": "What happens to the lights on your router when the "
                "connection drops?",
            },
        ),
        _bc(CUSTOMER, "mm", at=1.4),
        _c(
            "The green light turns orange, and then it starts blinking. I have already "
            "restarted it twice and tried another cable, but it did not help. I work from home "
            "in the evenings, so this is a real problem. Honestly, I just want to cancel my "
            "contract.",
            gap=0.5,
        ),
        _a("Let me check your line. One moment, please.", gap=0.8),
        _a(
            "I can see errors on your line in the evenings. I can't "
            "change the contract today, but what I can do is send a technician to check the "
            "line.",
            gap=1.6,
            tags={
                "alternative_offered": "I can't change the contract today, but what I can do "
                "is send a technician"
            },
        ),
        _bc(CUSTOMER, "okay", at=3.0),
        _c("Okay, that sounds good. When can they come?", gap=0.4),
        _a(
            "The technician can come on Thursday morning, and I will call you back by Friday "
            "at noon.",
            gap=0.6,
            tags={
                "next_step": "I will call you back by Friday at noon",
                "next_step_time_frame": "by Friday at noon",
            },
        ),
        _bc(CUSTOMER, "mm", at=2.2),
        _c("Great, thank you.", gap=0.4),
        _a(
            "Is there anything else I can help you with?",
            gap=0.5,
            tags={"closing": "Is there anything else I can help you with?"},
        ),
        _c("No, that was all.", gap=0.5),
        _a(
            "Thank you for calling Nordic Telecom, and have a nice evening.",
            gap=0.4,
            tags={"closing": "Thank you for calling Nordic Telecom, and have a nice evening"},
        ),
        _c("Thanks, bye.", gap=0.3),
    ),
)

EN_POOR = Call(
    stem="en_poor",
    language="en",
    description=(
        "Poor English call: no real greeting, three competitive agent interruptions "
        "(overlap >= 1 s), forbidden phrases (calm down, not my department, call another "
        "number, flat refusal), no paraphrase, apology, empathy or next step, a 3.8 s dead-air "
        "silence, abrupt close."
    ),
    agent=Voice("en+m1", 170, 35, level_dbfs=-19.0),
    customer=Voice("en-us+f3", 170, 62, level_dbfs=-18.0),
    lines=(
        _a("Support, what is it?", gap=0.0),
        _c(
            "Hello, I am calling because I was charged twice for my phone bill this month, "
            "and I have been trying to get someone to",
            gap=0.5,
        ),
        _cut_in(
            AGENT,
            "Calm down. That's not my department.",
            overlap=1.3,
            forbidden=("calm down", "that's not my department"),
        ),
        _c(
            "But I have already called three times, and every time someone tells me to",
            gap=0.4,
        ),
        _cut_in(
            AGENT,
            "Look, you have to call another number. Billing handles that.",
            overlap=1.2,
            forbidden=("you have to call another number",),
        ),
        _c(
            "Can you not just refund the extra charge? Your company made the mistake.",
            gap=0.3,
        ),
        _a("No, I can't do that.", gap=0.3, forbidden=("no, i can't do that",)),
        _c("Hello? Are you still there?", gap=3.8),
        _a("Yes.", gap=0.6),
        _c(
            "So what am I supposed to do now? I want my money back, and I want someone to",
            gap=0.5,
        ),
        _cut_in(AGENT, "I already told you. Call billing. Bye.", overlap=1.1),
    ),
)

IT_CALL = Call(
    stem="it_call",
    language="it",
    description=(
        "Italian call, decent behaviour: greeting, paraphrase, apology, empathy, next step "
        "with time frame (entro domani), closing; customer backchannels."
    ),
    agent=Voice("it+f2", 150, 60, level_dbfs=-20.0),
    customer=Voice("it+m3", 150, 40, level_dbfs=-22.0),
    lines=(
        _a(
            "Buongiorno, grazie per aver chiamato Telecom Nordica, sono Giulia. "
            "Come posso aiutarla?",
            gap=0.0,
            tags={"greeting": "Buongiorno, grazie per aver chiamato Telecom Nordica, sono Giulia"},
        ),
        _c(
            "Buongiorno. Ho un problema con la bolletta. Questo mese mi avete addebitato due "
            "volte lo stesso importo.",
            gap=0.6,
        ),
        _a(
            "Quindi, se ho capito bene, questo mese le è stato addebitato due volte lo stesso "
            "importo.",
            gap=0.7,
            tags={
                "paraphrase": "Quindi, se ho capito bene, questo mese le è stato addebitato "
                "due volte lo stesso importo"
            },
        ),
        _c("Sì, esatto.", gap=0.4),
        _a(
            "Mi dispiace molto per il disagio. Capisco quanto sia fastidioso. "
            "Mi può dire le date dei due addebiti?",
            gap=0.5,
            tags={
                "apology": "Mi dispiace molto per il disagio",
                "empathy": "Capisco quanto sia fastidioso",
            },
        ),
        _bc(CUSTOMER, "sì", at=1.5),
        _c("Il cinque e il sei marzo, tutti e due di quaranta euro.", gap=0.6),
        _a(
            "Grazie. Ho aperto una richiesta di rimborso. La richiamerò entro domani per "
            "confermare il rimborso.",
            gap=0.7,
            tags={
                "next_step": "La richiamerò entro domani",
                "next_step_time_frame": "entro domani",
            },
        ),
        _bc(CUSTOMER, "aha", at=2.0),
        _c("Perfetto, grazie mille.", gap=0.4),
        _a(
            "C'è altro che posso fare per lei? Grazie per aver chiamato, buona giornata.",
            gap=0.5,
            tags={"closing": "Grazie per aver chiamato, buona giornata"},
        ),
        _c("Grazie a lei, arrivederci.", gap=0.4),
    ),
)

NB_CALL = Call(
    stem="nb_call",
    language="nb",
    description=(
        "Norwegian Bokmål call: greeting, the customer's problem, paraphrase, apology, "
        "a 1.4 s hold, next step with time frame (i morgen før klokka tolv), closing."
    ),
    agent=Voice("nb+f2", 140, 58, word_gap=2, level_dbfs=-20.0),
    customer=Voice("nb+m3", 140, 38, word_gap=2, level_dbfs=-22.0),
    lines=(
        _a(
            "Takk for at du ringte Nordisk Telekom, du snakker med Kari. "
            "Hva kan jeg hjelpe deg med?",
            gap=0.0,
            tags={"greeting": "Takk for at du ringte Nordisk Telekom, du snakker med Kari"},
        ),
        _c(
            "Hei. Internettet mitt har vært nede siden i går kveld, og jeg jobber hjemmefra.",
            gap=0.6,
        ),
        _a(
            "Så hvis jeg forstår deg riktig, har du ikke hatt internett siden i går kveld.",
            gap=0.7,
            tags={
                "paraphrase": "Så hvis jeg forstår deg riktig, har du ikke hatt internett "
                "siden i går kveld"
            },
        ),
        _c("Ja, det stemmer.", gap=0.4),
        _a(
            "Beklager så mye at du har hatt det slik. Jeg skal sjekke linjen din nå.",
            gap=0.5,
            tags={"apology": "Beklager så mye at du har hatt det slik"},
        ),
        _bc(CUSTOMER, "ja", at=1.2),
        _a(
            "Det er en feil i nettet i ditt område. Teknikerne jobber med saken, og jeg "
            "ringer deg tilbake i morgen før klokka tolv.",
            gap=1.4,
            tags={
                "next_step": "jeg ringer deg tilbake i morgen før klokka tolv",
                "next_step_time_frame": "i morgen før klokka tolv",
            },
        ),
        _bc(CUSTOMER, "mhm", at=2.5),
        _c("Fint, tusen takk.", gap=0.4),
        _a(
            "Er det noe mer jeg kan hjelpe deg med? Takk for at du ringte, ha en fin dag.",
            gap=0.5,
            tags={"closing": "Takk for at du ringte, ha en fin dag"},
        ),
        _c("Nei, det var alt. Ha det.", gap=0.4),
    ),
)

FI_CALL = Call(
    stem="fi_call",
    language="fi",
    description=(
        "Finnish call: greeting, the customer's problem (double charge), paraphrase, "
        "apology, a 1.5 s hold, next step with time frame (huomenna), closing."
    ),
    agent=Voice("fi+f2", 140, 58, word_gap=2, level_dbfs=-20.0),
    customer=Voice("fi+m3", 140, 38, word_gap=2, level_dbfs=-22.0),
    lines=(
        _a(
            "Kiitos soitostasi, Pohjolan Tele, täällä Anna. Miten voin auttaa?",
            gap=0.0,
            tags={"greeting": "Kiitos soitostasi, Pohjolan Tele, täällä Anna"},
        ),
        _c(
            "Hei. Laskussani on virhe. Minulta on veloitettu kaksi kertaa samasta kuukaudesta.",
            gap=0.6,
        ),
        _a(
            "Eli jos ymmärsin oikein, sinulta on veloitettu sama kuukausi kahteen kertaan.",
            gap=0.7,
            tags={
                "paraphrase": "Eli jos ymmärsin oikein, sinulta on veloitettu sama kuukausi "
                "kahteen kertaan"
            },
        ),
        _c("Kyllä, juuri niin.", gap=0.4),
        _a(
            "Pahoittelen virhettä ja siitä aiheutunutta vaivaa. Tarkistan asian heti.",
            gap=0.5,
            tags={"apology": "Pahoittelen virhettä ja siitä aiheutunutta vaivaa"},
        ),
        _bc(CUSTOMER, "joo", at=1.3),
        _a(
            "Näen kaksi veloitusta. Teen hyvityspyynnön, ja soitan sinulle huomenna takaisin, "
            "kun hyvitys on käsitelty.",
            gap=1.5,
            tags={
                "next_step": "soitan sinulle huomenna takaisin",
                "next_step_time_frame": "huomenna",
            },
        ),
        _bc(CUSTOMER, "joo", at=2.6),
        _c("Hyvä, kiitos paljon.", gap=0.4),
        _a(
            "Voinko auttaa vielä jossakin muussa? Kiitos soitostasi ja hyvää päivänjatkoa.",
            gap=0.5,
            tags={"closing": "Kiitos soitostasi ja hyvää päivänjatkoa"},
        ),
        _c("Ei muuta, kiitos. Hei hei.", gap=0.4),
    ),
)

SL_CALL = Call(
    stem="sl_call",
    language="sl",
    description=(
        "Slovenian call (male agent): greeting, the customer's problem, paraphrase, apology, "
        "a 1.5 s hold, next step with time frame (jutri do poldneva), closing."
    ),
    agent=Voice("sl+m3", 140, 40, word_gap=2, level_dbfs=-20.0),
    customer=Voice("sl+f2", 140, 62, word_gap=2, level_dbfs=-22.0),
    lines=(
        _a(
            "Hvala za klic, Nordijski Telekom, pri telefonu je Marko. Kako vam lahko pomagam?",
            gap=0.0,
            tags={"greeting": "Hvala za klic, Nordijski Telekom, pri telefonu je Marko"},
        ),
        _c("Dober dan. Moj internet že od ponedeljka vsak večer izpada.", gap=0.6),
        _a(
            "Torej, če sem prav razumel, vam internet od ponedeljka vsak večer izpada.",
            gap=0.7,
            tags={
                "paraphrase": "Torej, če sem prav razumel, vam internet od ponedeljka vsak "
                "večer izpada"
            },
        ),
        _c("Ja, točno tako.", gap=0.4),
        _a(
            "Opravičujem se za nevšečnosti. Takoj bom preveril vašo linijo.",
            gap=0.5,
            tags={"apology": "Opravičujem se za nevšečnosti"},
        ),
        _bc(CUSTOMER, "aha", at=1.2),
        _a(
            "Na vaši liniji vidim napako. Naročil bom obisk tehnika. Poklical vas bom jutri "
            "do poldneva in potrdil termin.",
            gap=1.5,
            tags={
                "next_step": "Poklical vas bom jutri do poldneva",
                "next_step_time_frame": "jutri do poldneva",
            },
        ),
        _bc(CUSTOMER, "aha", at=2.4),
        _c("Super, najlepša hvala.", gap=0.4),
        _a(
            "Vam lahko še kako pomagam? Hvala za klic in lep dan še naprej.",
            gap=0.5,
            tags={"closing": "Hvala za klic in lep dan še naprej"},
        ),
        _c("Ne, to je vse. Nasvidenje.", gap=0.4),
    ),
)

EN_MONO = Call(
    stem="en_mono",
    language="en",
    description=(
        "Mono English call (both voices in one channel): greeting, paraphrase, apology, one "
        "competitive customer interruption (1.2 s overlap), next step with time frame, closing."
    ),
    agent=Voice("en-gb+m3", 160, 40, level_dbfs=-20.0),
    customer=Voice("en-us+f2", 160, 62, level_dbfs=-21.0),
    channels=1,
    lines=(
        _a(
            "Good afternoon, Nordic Telecom, this is Mark speaking. How can I help?",
            gap=0.0,
            tags={"greeting": "Good afternoon, Nordic Telecom, this is Mark speaking"},
        ),
        _c("Hi. I ordered a new phone two weeks ago, and it still has not arrived.", gap=0.6),
        _a(
            "So your new phone has not arrived after two weeks. I'm sorry about the delay. "
            "To find your order, I need the order number from the confirmation e-mail we "
            "sent you",
            gap=0.6,
            tags={
                "paraphrase": "So your new phone has not arrived after two weeks",
                "apology": "I'm sorry about the delay",
            },
        ),
        _cut_in(CUSTOMER, "I have it here. It is four five seven two one.", overlap=1.2),
        _a(
            "Thank you. Your phone was sent yesterday. I will send you the tracking link by "
            "e-mail within an hour.",
            gap=0.8,
            tags={
                "next_step": "I will send you the tracking link by e-mail within an hour",
                "next_step_time_frame": "within an hour",
            },
        ),
        _bc(CUSTOMER, "okay", at=2.0),
        _c("Okay, thanks.", gap=0.4),
        _a(
            "Is there anything else I can help you with? Thank you for calling.",
            gap=0.5,
            tags={"closing": "Thank you for calling"},
        ),
        _c("No, bye.", gap=0.4),
    ),
)

CALLS = (EN_GOOD, EN_POOR, IT_CALL, NB_CALL, FI_CALL, SL_CALL, EN_MONO)


# --------------------------------------------------------------------------- synthesis


def _require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"error: {', '.join(missing)} not found; install them (apt install ...)")


def espeak_version() -> str:
    """The espeak-ng version string, e.g. "1.51"."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True)
    words = out.stdout.split()
    return words[words.index("text-to-speech:") + 1] if "text-to-speech:" in words else "?"


def _band_sos() -> np.ndarray:
    return butter(4, BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """Speak ``text`` with espeak-ng; telephone-band signal at 8 kHz, float64, shape=(n,)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        cmd = ["espeak-ng", *voice.argv(), "-w", str(wav), "--", text]
        subprocess.run(cmd, check=True, capture_output=True)
        raw, rate = sf.read(io.BytesIO(wav.read_bytes()), dtype="float64")
    if rate != ESPEAK_RATE:
        raise SystemExit(f"error: espeak-ng wrote {rate} Hz, expected {ESPEAK_RATE} Hz")
    narrow = resample_poly(raw, SAMPLE_RATE // 50, ESPEAK_RATE // 50)  # 160/441
    return np.asarray(sosfiltfilt(_band_sos(), narrow))


def speech_extent(x: np.ndarray, threshold_db: float = EXTENT_DB) -> tuple[int, int]:
    """First and one-past-last sample whose magnitude is within ``threshold_db`` of the peak."""
    mag = np.abs(x)
    above = np.flatnonzero(mag >= mag.max() * 10 ** (threshold_db / 20))
    return int(above[0]), int(above[-1]) + 1


def prepare(text: str, voice: Voice) -> np.ndarray:
    """Synthesize, trim to the speech extent and scale to the voice's RMS level."""
    x = synthesize(text, voice)
    lo, hi = speech_extent(x)
    x = x[lo:hi]
    rms = float(np.sqrt(np.mean(x**2)))
    return x * (10 ** (voice.level_dbfs / 20) / rms)


# --------------------------------------------------------------------------- timeline


def place(lines: Sequence[Line], signals: Sequence[np.ndarray]) -> list[Placed]:
    """Put each line on the timeline (see :class:`Line` for the three modes)."""
    placed: list[Placed] = []
    last_main: Placed | None = None
    floor_end = int(LEAD_IN_S * SAMPLE_RATE)  # latest end of a main turn so far
    for line, sig in zip(lines, signals, strict=True):
        if line.mode == "turn":
            start = floor_end + round(line.gap * SAMPLE_RATE) if placed else floor_end
        elif line.mode == "interrupt":
            assert last_main is not None and last_main.line.speaker != line.speaker, line.text
            start = last_main.end_sample - round(line.overlap * SAMPLE_RATE)
        elif line.mode == "backchannel":
            assert last_main is not None and last_main.line.speaker != line.speaker, line.text
            start = last_main.start_sample + round(line.at * SAMPLE_RATE)
            assert start + len(sig) <= last_main.end_sample, f"backchannel outside: {line.text}"
        else:
            raise ValueError(f"unknown mode {line.mode!r}")
        item = Placed(line, sig, start)
        placed.append(item)
        if line.mode != "backchannel":
            last_main = item
            floor_end = max(floor_end, item.end_sample)
    return placed


def render_tracks(placed: Sequence[Placed], n: int) -> dict[str, np.ndarray]:
    """One clean track per speaker, float64, shape=(n,)."""
    tracks = {AGENT: np.zeros(n), CUSTOMER: np.zeros(n)}
    for p in placed:
        tracks[p.line.speaker][p.start_sample : p.end_sample] += p.signal
    return tracks


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    noise = sosfiltfilt(_band_sos(), rng.standard_normal(n))
    return np.asarray(noise * (10 ** (NOISE_DBFS / 20) / np.sqrt(np.mean(noise**2))))


def _leak(track: np.ndarray) -> np.ndarray:
    delay = round(CROSSTALK_DELAY_S * SAMPLE_RATE)
    out = np.zeros_like(track)
    out[delay:] = track[: len(track) - delay]
    return out * 10 ** (CROSSTALK_DB / 20)


def mix(tracks: dict[str, np.ndarray], channels: int, seed: int) -> tuple[np.ndarray, float]:
    """Mix the tracks to shape (n, channels); returns the mix and the gain applied to fit."""
    rng = np.random.default_rng(seed)
    agent, customer = tracks[AGENT], tracks[CUSTOMER]
    if channels == 2:
        left = agent + _leak(customer)
        right = customer + _leak(agent)
        speech = np.stack([left, right], axis=1)
    else:
        speech = (agent + customer)[:, None]
    peak = float(np.abs(speech).max())
    gain = min(1.0, PEAK_LIMIT / peak)
    noise = np.stack([_noise(rng, len(agent)) for _ in range(channels)], axis=1)
    return speech * gain + noise, gain


def encode_ogg(audio: np.ndarray, path: Path) -> None:
    """Write 16-bit PCM to ffmpeg's libvorbis with bit-exact (reproducible) muxing."""
    pcm = io.BytesIO()
    sf.write(pcm, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "wav", "-i", "pipe:0",
        "-c:a", "libvorbis", "-q:a", VORBIS_QUALITY,
        "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1",
        str(path),
    ]  # fmt: skip
    subprocess.run(cmd, input=pcm.getvalue(), check=True, capture_output=True)


# --------------------------------------------------------------------------- truth


def _r(t: float) -> float:
    return round(t, 3)


def union_length(segments: Sequence[tuple[float, float]]) -> float:
    """Total length (s) of the union of ``(start, end)`` intervals."""
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(segments):
        if cur_end is None or start > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def mutual_silences(turns: Sequence[dict[str, Any]], min_s: float) -> list[dict[str, float]]:
    """Gaps of at least ``min_s`` (s) between the first and last speech where nobody talks."""
    out, reach = [], None
    for t in sorted(turns, key=lambda t: t["start"]):
        if reach is not None and t["start"] - reach >= min_s:
            out.append({"start": reach, "end": t["start"], "duration_s": _r(t["start"] - reach)})
        reach = t["end"] if reach is None else max(reach, t["end"])
    return out


def _interruptions(placed: Sequence[Placed], index: dict[int, int]) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(placed):
        if p.line.mode != "interrupt":
            continue
        victim = next(q for q in reversed(placed[:i]) if q.line.mode != "backchannel")
        out.append(
            {
                "interrupter": p.line.speaker,
                "interrupted": victim.line.speaker,
                "start": _r(p.start),
                "overlap_s": _r(min(victim.end, p.end) - p.start),
                "kind": "competitive",
                "turn": index[id(p)],
                "interrupted_turn": index[id(victim)],
            }
        )
    return out


def _backchannels(placed: Sequence[Placed], index: dict[int, int]) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(placed):
        if p.line.mode != "backchannel":
            continue
        host = next(q for q in reversed(placed[:i]) if q.line.mode != "backchannel")
        out.append(
            {
                "speaker": p.line.speaker,
                "start": _r(p.start),
                "end": _r(p.end),
                "text": p.line.text,
                "turn": index[id(p)],
                "during_turn": index[id(host)],
            }
        )
    return out


def _behaviours(call: Call, interruptions: list[dict[str, Any]], silences: list[dict[str, Any]]):
    agent_lines = [ln for ln in call.lines if ln.speaker == AGENT]
    evidence: dict[str, list[str]] = {}
    for ln in agent_lines:
        for name, quote in ln.tags.items():
            assert name in BEHAVIOURS, name
            assert quote in ln.text, (name, quote)
            evidence.setdefault(name, []).append(quote)
    forbidden = [f for ln in agent_lines for f in ln.forbidden]
    for ln in agent_lines:
        assert all(f in ln.text.lower() for f in ln.forbidden), ln.text
    behaviours: dict[str, Any] = {name: name in evidence for name in BEHAVIOURS}
    behaviours["forbidden_phrases"] = forbidden
    behaviours["agent_interrupts"] = sum(i["interrupter"] == AGENT for i in interruptions)
    behaviours["customer_interrupts"] = sum(i["interrupter"] == CUSTOMER for i in interruptions)
    behaviours["long_silences"] = sum(s["duration_s"] > LONG_SILENCE_S for s in silences)
    return behaviours, evidence


def truth(call: Call, placed: Sequence[Placed], n: int, gain: float, seed: int) -> dict[str, Any]:
    """The ground-truth sidecar of one call (see sample_calls/README.md for the format)."""
    order = sorted(placed, key=lambda p: (p.start_sample, p.line.speaker))
    index = {id(p): i for i, p in enumerate(order)}
    turns = [
        {
            "speaker": p.line.speaker,
            "start": _r(p.start),
            "end": _r(p.end),
            "text": p.line.text,
            "kind": "backchannel" if p.line.mode == "backchannel" else "turn",
        }
        for p in order
    ]
    interruptions = _interruptions(order, index)
    silences = mutual_silences(turns, SILENCE_MIN_S)
    talk = {
        who: _r(union_length([(t["start"], t["end"]) for t in turns if t["speaker"] == who]))
        for who in (AGENT, CUSTOMER)
    }
    spans = {w: [(t["start"], t["end"]) for t in turns if t["speaker"] == w] for w in talk}
    both = talk[AGENT] + talk[CUSTOMER] - union_length(spans[AGENT] + spans[CUSTOMER])
    behaviours, evidence = _behaviours(call, interruptions, silences)
    return {
        "synthetic": True,
        "generator": f"espeak-ng {espeak_version()} via sample_calls/generate.py",
        "voices": {
            AGENT: "espeak-ng " + " ".join(call.agent.argv()),
            CUSTOMER: "espeak-ng " + " ".join(call.customer.argv()),
        },
        "description": call.description,
        "language": call.language,
        "sample_rate": SAMPLE_RATE,
        "channels": call.channels,
        "agent_channel": "left" if call.channels == 2 else None,
        "duration_s": _r(n / SAMPLE_RATE),
        "turns": turns,
        "interruptions": interruptions,
        "backchannels": _backchannels(order, index),
        "silences": silences,
        "talk_s": talk,
        "agent_talk_share": round(talk[AGENT] / (talk[AGENT] + talk[CUSTOMER]), 4),
        "overlap_s": _r(both),
        "behaviours": behaviours,
        "behaviour_evidence": evidence,
        "mixing": {
            "band_hz": list(BAND_HZ),
            "extent_threshold_db": EXTENT_DB,
            "crosstalk_db": CROSSTALK_DB if call.channels == 2 else None,
            "crosstalk_delay_s": CROSSTALK_DELAY_S if call.channels == 2 else None,
            "noise_dbfs": NOISE_DBFS,
            "speech_gain_db": round(20 * np.log10(gain), 2),
            "levels_dbfs": {AGENT: call.agent.level_dbfs, CUSTOMER: call.customer.level_dbfs},
            "seed": seed,
            "codec": f"Ogg Vorbis (ffmpeg libvorbis -q:a {VORBIS_QUALITY})",
        },
    }


# --------------------------------------------------------------------------- intelligibility

WHISPER_LANGUAGE = {"nb": "no"}  # Whisper's code for Norwegian Bokmål
_NUMBER_WORDS = {  # spoken forms Whisper writes as digits
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "twelve": "12", "cinque": "5", "sei": "6",
    "quaranta": "40",
}  # fmt: skip


def normalize_words(text: str) -> list[str]:
    """Lower-case words without punctuation or hyphens, number words as digits (for WER)."""
    text = re.sub(r"-", "", text.lower().replace("\u2019", "'"))
    return [_NUMBER_WORDS.get(w, w) for w in re.sub(r"[^\w' ]+", " ", text).split()]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Word edit distance and reference length (WER = first / second)."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def turn_wer(model: Any, stem: str, out_dir: Path) -> dict[str, float]:
    """Whisper WER per speaker, each turn transcribed from its own channel (mono: the mix).

    Every turn (backchannels excluded) is cut from the decoded file with 0.2 s margins,
    resampled to 16 kHz and transcribed with the language forced.
    """
    data = json.loads((out_dir / f"{stem}.truth.json").read_text(encoding="utf-8"))
    audio, rate = sf.read(out_dir / f"{stem}.ogg", always_2d=True, dtype="float32")
    language = WHISPER_LANGUAGE.get(data["language"], data["language"])
    errors = {AGENT: [0, 0], CUSTOMER: [0, 0]}
    for turn in (t for t in data["turns"] if t["kind"] == "turn"):
        ch = 0 if data["channels"] == 1 or turn["speaker"] == AGENT else 1
        lo, hi = int((turn["start"] - 0.2) * rate), int((turn["end"] + 0.2) * rate)
        clip = resample_poly(audio[max(lo, 0) : hi, ch], 2, 1).astype(np.float32)
        segments, _ = model.transcribe(
            clip, language=language, beam_size=5, condition_on_previous_text=False
        )
        e, n = word_errors(turn["text"], " ".join(s.text for s in segments))
        errors[turn["speaker"]][0] += e
        errors[turn["speaker"]][1] += n
    return {who: round(e / n, 3) for who, (e, n) in errors.items()}


def report_wer(model_dir: Path, stems: Sequence[str], out_dir: Path) -> None:
    """Print a Markdown table of Whisper WER per call (faster-whisper, int8, 2 threads)."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)
    print("| call | language | agent WER | customer WER |\n|---|---|---|---|")
    for stem in stems:
        wer = turn_wer(model, stem, out_dir)
        lang = json.loads((out_dir / f"{stem}.truth.json").read_text(encoding="utf-8"))["language"]
        print(f"| {stem} | {lang} | {wer[AGENT]:.3f} | {wer[CUSTOMER]:.3f} |", flush=True)


# --------------------------------------------------------------------------- driver


def build(call: Call, out_dir: Path, pool: ThreadPoolExecutor) -> dict[str, Any]:
    """Synthesize, mix, encode and describe one call; returns its truth."""
    voices = {AGENT: call.agent, CUSTOMER: call.customer}
    signals = list(pool.map(lambda ln: prepare(ln.text, voices[ln.speaker]), call.lines))
    placed = place(call.lines, signals)
    n = max(p.end_sample for p in placed) + round(TAIL_S * SAMPLE_RATE)
    seed = zlib.crc32(call.stem.encode())
    audio, gain = mix(render_tracks(placed, n), call.channels, seed)
    encode_ogg(audio, out_dir / f"{call.stem}.ogg")
    data = truth(call, placed, n, gain, seed)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    (out_dir / f"{call.stem}.truth.json").write_text(text, encoding="utf-8")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python sample_calls/generate.py [--out DIR] [STEM ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stems", nargs="*", help="calls to build (default: all)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    parser.add_argument(
        "--wer",
        type=Path,
        metavar="MODEL_DIR",
        help="skip generation; print Whisper WER of the existing files (faster-whisper model dir)",
    )
    args = parser.parse_args(argv)
    _require_tools()
    known = {c.stem: c for c in CALLS}
    unknown = sorted(set(args.stems) - set(known))
    if unknown:
        parser.error(f"unknown call(s) {unknown}; choose from {sorted(known)}")
    if args.wer is not None:
        report_wer(args.wer, args.stems or list(known), args.out)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for stem in args.stems or list(known):
            data = build(known[stem], args.out, pool)
            print(
                f"{stem}: {data['duration_s']:.1f} s, {len(data['turns'])} turns, "
                f"agent share {data['agent_talk_share']:.2f}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
