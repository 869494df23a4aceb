"""Text utilities shared by the transcript checks: phrase packs, tokens, lemmas, phrase matching.

A *phrase pack* is a TOML file per language (``callqa/phrases/<lang>.toml``) that maps a
category name (``apology``, ``empathy``, ``time_frame``, ...) to a list of phrases. Phrases are
matched on token sequences where a phrase token matches an utterance token when

* their surface forms are equal (case-folded), or
* their lemmas (``simplemma``) are equal, so inflected Finnish/Slovenian forms match, or
* the phrase token ends in ``*`` and the utterance token starts with what precedes it
  (a stem: ``pahoittel*``), or starts with ``*`` and the token ends with the rest (the head of
  a compound: ``*nummer`` matches "kundenummer", "registreringsnummeret" through its lemma),
  ``*nummer*`` containing it, or it starts with ``=`` and equals the rest as spelled (surface
  form only, no lemma: ``=lähetän`` matches "lähetän" but not "lähetit"), or
* the phrase token is ``_`` (any one token) or ``...`` (zero to three tokens).

A pack's ``[normalize] replace`` pairs rewrite the lower-cased text before tokenizing (English
contractions: ``can't`` -> ``can not``), so phrases are written once in their long form. A pair
whose first string starts with ``-`` rewrites a word ending (``-n't``: ``hasn't`` -> ``has not``);
the others rewrite whole words.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from callqa.checks.base import not_applicable
from callqa.config import LimitsConfig
from callqa.errors import ConfigError
from callqa.files import UnsafeFileError, read_capped
from callqa.languages import normalize
from callqa.types import Evidence

PHRASES_DIR = Path(__file__).resolve().parent / "phrases"

SIMPLEMMA_LANG = {"en": "en", "nb": "nb", "fi": "fi", "it": "it", "sl": "sl"}

GAP_TOKEN = "..."  # zero to MAX_GAP tokens
ANY_TOKEN = "_"  # exactly one token
MAX_GAP = 3

_TOKEN_RE = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+", re.UNICODE)
# no break after a dotted two-letter abbreviation ("8 a.m. or 10 a.m.", "e.g. a refund")
_SENTENCE_RE = re.compile(r"(?<=[.!?…])(?<!\b\w\.\w\.)\s+")


@dataclass(frozen=True)
class Token:
    """One word of an utterance: surface form (lower case), lemma, and character span."""

    text: str
    lemma: str
    start: int
    end: int


@dataclass(frozen=True)
class Phrase:
    """A phrase of a pack, tokenized: ``tokens`` (surface) and ``lemmas`` of each token."""

    source: str
    tokens: tuple[str, ...]
    lemmas: tuple[str, ...]


@dataclass(frozen=True, eq=False)  # identity hash: packs are cached, one object per language
class PhrasePack:
    """Every phrase category of one language.

    Attributes
    ----------
    language : str
        The pack's language code ("en", "nb", "fi", "it", "sl").
    categories : Mapping of str to tuple of Phrase
        Category name -> phrases.
    replace : tuple of (str, str)
        Normalization pairs applied to lower-cased text before tokenizing.
    sources : tuple of str
        The files merged into this pack, built-in first.
    """

    language: str
    categories: Mapping[str, tuple[Phrase, ...]]
    replace: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]

    def phrases(self, category: str) -> tuple[Phrase, ...]:
        """The phrases of ``category`` (empty when the pack lacks it)."""
        return self.categories.get(category, ())

    def tokenize(self, text: str) -> tuple[Token, ...]:
        """Lower-case, normalize and lemmatize ``text``."""
        return tokenize(text, self.language, self.replace)


def normalize_text(text: str, replace: Sequence[tuple[str, str]] = ()) -> str:
    """Lower-case ``text``, unify apostrophes and apply the ``replace`` pairs (whole words)."""
    out = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for old, new in replace:
        if old.startswith("-"):  # a suffix: "-n't" rewrites "hasn't" -> "has not"
            out = re.sub(rf"{re.escape(old[1:])}(?!\w)", new, out)
        else:
            out = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, out)
    return out


@lru_cache(maxsize=200_000)
def lemma(word: str, language: str) -> str:
    """Lemma of one lower-case ``word`` (itself when simplemma does not know it)."""
    lang = SIMPLEMMA_LANG.get(language)
    if lang is None or not word.isalpha():
        return word
    import simplemma

    # low_memory: simplemma reads the language's compressed word list and looks words up in it
    # instead of building a dict of it (Finnish: +46 MB instead of +340 MB of resident memory,
    # 2 s instead of 4 s to load, the same lemmas; docs/checks.md)
    return str(simplemma.lemmatize(word, lang=lang, low_memory=True)).lower()


def tokenize(
    text: str, language: str, replace: Sequence[tuple[str, str]] = ()
) -> tuple[Token, ...]:
    """Tokens (words and numbers) of ``text`` with lemmas; spans index the normalized text."""
    norm = normalize_text(text, replace)
    return tuple(
        Token(m.group(), lemma(m.group(), language), m.start(), m.end())
        for m in _TOKEN_RE.finditer(norm)
    )


def split_sentences(text: str) -> list[str]:
    """Split on ``.``, ``!``, ``?`` or ``…`` followed by white space; keeps the punctuation."""
    return [s.strip() for s in _SENTENCE_RE.split(text.strip()) if s.strip()]


def _compile_phrase(source: str, language: str, replace: Sequence[tuple[str, str]]) -> Phrase:
    parts: list[str] = []
    for raw in normalize_text(source, replace).split():
        wild = raw.endswith("*") or raw.startswith(("*", "="))
        if raw in (GAP_TOKEN, ANY_TOKEN) or wild:
            parts.append(raw)
        else:
            parts.extend(m.group() for m in _TOKEN_RE.finditer(raw))
    special = (GAP_TOKEN, ANY_TOKEN)
    lemmas = tuple(
        p if p in special or p.endswith("*") or p.startswith("*") else lemma(p, language)
        for p in parts
    )
    return Phrase(source=source, tokens=tuple(parts), lemmas=lemmas)


def compile_phrases(sources: Sequence[str], pack: PhrasePack) -> tuple[Phrase, ...]:
    """Phrases written in a rubric, compiled with ``pack``'s normalization and lemmas."""
    return tuple(_compile_phrase(s, pack.language, pack.replace) for s in sources)


def _token_matches(tok: Token, surface: str, lem: str) -> bool:
    if surface == ANY_TOKEN:
        return True
    if surface.startswith("="):
        return tok.text == surface[1:]
    if surface.startswith("*") and surface.endswith("*") and len(surface) > 2:
        part = surface[1:-1]
        return part in tok.text or part in tok.lemma
    if surface.startswith("*"):
        head = surface[1:]
        return tok.text.endswith(head) or tok.lemma.endswith(head)
    if surface.endswith("*"):
        stem = surface[:-1]
        return tok.text.startswith(stem) or tok.lemma.startswith(stem)
    return tok.text == surface or tok.lemma == lem


def _match_at(tokens: Sequence[Token], i: int, phrase: Phrase, j: int) -> int | None:
    """End index (exclusive) of a match of ``phrase.tokens[j:]`` starting at token ``i``."""
    if j == len(phrase.tokens):
        return i
    surface, lem = phrase.tokens[j], phrase.lemmas[j]
    if surface == GAP_TOKEN:
        for skip in range(MAX_GAP + 1):
            if i + skip > len(tokens):
                break
            end = _match_at(tokens, i + skip, phrase, j + 1)
            if end is not None:
                return end
        return None
    if i < len(tokens) and _token_matches(tokens[i], surface, lem):
        return _match_at(tokens, i + 1, phrase, j + 1)
    return None


@dataclass(frozen=True)
class Match:
    """A phrase found in a token sequence: token span ``[first, last)`` and the phrase."""

    phrase: Phrase
    first: int
    last: int

    def words(self, tokens: Sequence[Token]) -> str:
        """The matched words as said (normalized: "you had to", not the phrase "you =have to")."""
        return " ".join(t.text for t in tokens[self.first : self.last])

    def overlaps(self, other: Match) -> bool:
        """True when the two token spans share at least one token."""
        return self.first <= other.first < self.last or other.first <= self.first < other.last


def outside(matches: Iterable[Match], exceptions: Sequence[Match]) -> list[Match]:
    """``matches`` that overlap none of ``exceptions`` ("no" inside "no problem" is dropped)."""
    return [m for m in matches if not any(m.overlaps(e) for e in exceptions)]


def _starts(tokens: Sequence[Token], phrase: Phrase, index: dict[str, list[int]]) -> Iterable[int]:
    """Positions where ``phrase`` may start: where its first token matches. A plain first word
    is looked up in ``index`` (surface forms and lemmas -> positions) instead of being compared
    with every token; gaps, "=", "*" and "_" are checked at every position."""
    surface, lem = phrase.tokens[0], phrase.lemmas[0]
    if surface == GAP_TOKEN:
        return range(len(tokens))
    if surface.startswith("=") and surface != "=":  # an exact form: among the tokens indexed so
        return [i for i in index.get(surface[1:], ()) if tokens[i].text == surface[1:]]
    if surface == ANY_TOKEN or surface.startswith("*") or surface.endswith("*"):
        return (i for i, tok in enumerate(tokens) if _token_matches(tok, surface, lem))
    by_form, by_lemma = index.get(surface, ()), index.get(lem, ())
    if not by_lemma or by_form is by_lemma:
        return by_form
    return sorted(set(by_form) | set(by_lemma)) if by_form else by_lemma


def _index(tokens: Sequence[Token]) -> dict[str, list[int]]:
    """Surface form and lemma -> the positions of the tokens that have it."""
    index: dict[str, list[int]] = {}
    for i, tok in enumerate(tokens):
        index.setdefault(tok.text, []).append(i)
        if tok.lemma != tok.text:
            index.setdefault(tok.lemma, []).append(i)
    return index


def find_phrases(tokens: Sequence[Token], phrases: Iterable[Phrase]) -> list[Match]:
    """Every (phrase, position) match, leftmost first; longer phrases first at one position."""
    found: list[Match] = []
    index = _index(tokens)
    for phrase in phrases:
        if not phrase.tokens:
            continue
        for i in _starts(tokens, phrase, index):
            end = _match_at(tokens, i, phrase, 0)
            if end is not None and end > i:
                found.append(Match(phrase, i, end))
    found.sort(key=lambda m: (m.first, -(m.last - m.first)))
    return found


def phrase_at(tokens: Sequence[Token], i: int, phrases: Iterable[Phrase]) -> Match | None:
    """The longest of ``phrases`` that starts at token ``i`` (and is not empty), or None."""
    best: Match | None = None
    for phrase in phrases:
        end = _match_at(tokens, i, phrase, 0) if phrase.tokens else None
        if end is not None and end > i and (best is None or end > best.last):
            best = Match(phrase, i, end)
    return best


def has_phrase(tokens: Sequence[Token], phrases: Iterable[Phrase]) -> bool:
    """True when any of ``phrases`` occurs in ``tokens``."""
    return bool(find_phrases(tokens, phrases))


def content_lemmas(tokens: Sequence[Token], pack: PhrasePack) -> set[str]:
    """Lemmas of content words: not in the pack's ``stopwords`` and longer than 2 characters
    (digit strings of any length are kept)."""
    stop = {p.lemmas[0] for p in pack.phrases("stopwords") if p.lemmas}
    stop |= {p.tokens[0] for p in pack.phrases("stopwords") if p.tokens}
    return {
        t.lemma
        for t in tokens
        if t.lemma.isdigit() or (len(t.lemma) > 2 and t.lemma not in stop and t.text not in stop)
    }


# --- packs -------------------------------------------------------------------------------


def supported_languages() -> tuple[str, ...]:
    """Language codes with a built-in phrase pack."""
    return tuple(sorted(p.stem for p in PHRASES_DIR.glob("*.toml")))


def _read_toml(path: Path) -> dict[str, Any]:
    cap = LimitsConfig().max_phrase_pack_bytes  # the rubric loader checks the configured cap
    try:
        return tomllib.loads(read_capped(path, cap).decode("utf-8-sig"))
    except FileNotFoundError as exc:
        raise ConfigError(f"phrase pack {path} not found: check the path in the config") from exc
    except (OSError, UnsafeFileError) as exc:
        raise ConfigError(f"phrase pack {exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"phrase pack {path} is not valid TOML: {exc}") from exc


def _merge(raw: dict[str, Any], data: dict[str, Any], path: Path) -> None:
    for key, value in data.items():
        if key == "language":
            continue
        if key == "normalize":
            pairs = value.get("replace", []) if isinstance(value, dict) else None
            extra = set(value) - {"replace"} if isinstance(value, dict) else set()
            if (
                pairs is None
                or extra
                or not all(
                    isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
                    for p in pairs
                )
            ):
                raise ConfigError(
                    f"phrase pack {path}: [normalize] takes only replace = [[old, new], ...]"
                )
            raw.setdefault("normalize", []).extend(tuple(p) for p in pairs)
        elif isinstance(value, list) and all(isinstance(s, str) for s in value):
            raw.setdefault(key, []).extend(value)
        else:
            raise ConfigError(
                f"phrase pack {path}: {key!r} must be a list of strings (a phrase category)"
            )


def load_pack(language: str, extra: Sequence[str | Path] = ()) -> PhrasePack | None:
    """The phrase pack of ``language`` with user packs merged over it; None when unsupported.

    Parameters
    ----------
    language : str
        ISO 639-1 code; "no" is read as "nb".
    extra : sequence of paths
        User packs (TOML) whose ``language`` equals ``language``; their phrases are *added* to
        the built-in categories (and new categories created).

    Raises
    ------
    ConfigError
        A user pack is missing, not TOML, or holds something that is not a phrase list.
    """
    return _load_pack(normalize(language), tuple(str(p) for p in extra))


@lru_cache(maxsize=64)
def _load_pack(language: str, extra: tuple[str, ...]) -> PhrasePack | None:
    builtin = PHRASES_DIR / f"{language}.toml"
    if not builtin.is_file():
        return None
    raw: dict[str, Any] = {}
    sources = [str(builtin)]
    _merge(raw, _read_toml(builtin), builtin)
    for item in extra:
        path = Path(item)
        data = _read_toml(path)
        if normalize(str(data.get("language", ""))) != language:
            continue  # a user pack for another language
        _merge(raw, data, path)
        sources.append(str(path))
    replace = tuple(raw.pop("normalize", []))
    categories = {
        name: tuple(_compile_phrase(p, language, replace) for p in dict.fromkeys(items))
        for name, items in raw.items()
    }
    return PhrasePack(language, categories, replace, tuple(sources))


# --- a transcript prepared for the checks -------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """One sentence of an utterance, tokenized.

    Attributes
    ----------
    index : int
        Position in the call (0-based, over all speakers).
    turn : int
        Index of the speaker turn (consecutive utterances of one speaker) it belongs to.
    speaker : str
        "agent", "customer" or "unknown".
    start, end : float [s]
        Approximate times: the utterance's span divided in proportion to character offsets
        (or the word times when the utterance has words).
    text : str
        The sentence as transcribed.
    tokens : tuple of Token
    question : bool
        True when the sentence ends in a question mark (any script: ``?``, ``？``, ``;`` in Greek
        is not handled).
    """

    index: int
    turn: int
    speaker: str
    start: float
    end: float
    text: str
    tokens: tuple[Token, ...]
    question: bool


@dataclass(frozen=True)
class SpeakerTurn:
    """Consecutive sentences of one speaker."""

    index: int
    speaker: str
    sentences: tuple[Sentence, ...]

    @property
    def start(self) -> float:
        return self.sentences[0].start

    @property
    def end(self) -> float:
        return self.sentences[-1].end

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def tokens(self) -> tuple[Token, ...]:
        return tuple(t for s in self.sentences for t in s.tokens)


def _sentence_times(utt: Any, offset: int, length: int, total: int) -> tuple[float, float]:
    """Times of the characters ``[offset, offset+length)`` of an utterance's ``total`` chars."""
    words = getattr(utt, "words", ())
    if words and total > 0:
        first = min(len(words) - 1, int(len(words) * offset / total))
        last = min(len(words) - 1, max(first, int(len(words) * (offset + length) / total) - 1))
        return float(words[first].start), float(words[last].end)
    dur = max(0.0, utt.end - utt.start)
    if total <= 0:
        return utt.start, utt.end
    return utt.start + dur * offset / total, utt.start + dur * (offset + length) / total


MAX_JOINED_WORDS = 100  # a sentence continued over segments stops growing at this many words
_ENDS_SENTENCE = (".", "!", "?", "…", "？", "。", "！")


def is_question(text: str) -> bool:
    """True when ``text`` ends in a question mark (``?`` or the full-width ``？``)."""
    return text.rstrip().endswith(("?", "？"))


def _continues(last: Sentence, tokens: tuple[Token, ...]) -> bool:
    """True when the next piece of the same speaker's talk continues ``last``: Whisper cut its
    segment inside a sentence (no ``.``, ``!``, ``?`` or ``…`` at its end) and the joined
    sentence stays within :data:`MAX_JOINED_WORDS` (an unpunctuated monologue is not one
    sentence)."""
    return not last.text.rstrip().endswith(_ENDS_SENTENCE) and (
        len(last.tokens) + len(tokens) <= MAX_JOINED_WORDS
    )


def prepare(transcript: Any, pack: PhrasePack) -> tuple[SpeakerTurn, ...]:
    """Split a :class:`~callqa.types.Transcript` into speaker turns of tokenized sentences."""
    return _prepare(transcript, pack)


@lru_cache(maxsize=16)
def _prepare(transcript: Any, pack: PhrasePack) -> tuple[SpeakerTurn, ...]:
    turns: list[SpeakerTurn] = []
    current: list[Sentence] = []
    index = 0
    for utt in transcript.segments:
        if current and current[-1].speaker != utt.speaker:
            turns.append(SpeakerTurn(len(turns), current[0].speaker, tuple(current)))
            current = []
        text = utt.text.strip()
        offset = 0
        for sent in split_sentences(text):
            pos = text.find(sent, offset)
            offset = pos if pos >= 0 else offset
            start, end = _sentence_times(utt, offset, len(sent), len(text))
            offset += len(sent)
            tokens = pack.tokenize(sent)
            if not tokens:
                continue
            if current and _continues(current[-1], tokens):
                # Whisper ended its segment mid-sentence ("... also if" | "you wanted to ...")
                last = current[-1]
                joined = f"{last.text} {sent}"
                current[-1] = replace(last, end=end, text=joined, tokens=pack.tokenize(joined),
                                      question=is_question(joined))  # fmt: skip
                continue
            current.append(
                Sentence(index, len(turns), utt.speaker, start, end, sent, tokens,
                         is_question(sent))
            )  # fmt: skip
            index += 1
    if current:
        turns.append(SpeakerTurn(len(turns), current[0].speaker, tuple(current)))
    return tuple(turns)


@dataclass(frozen=True)
class CallText:
    """What a check works on: the pack of the call's language and the call's speaker turns."""

    pack: PhrasePack
    turns: tuple[SpeakerTurn, ...]

    def sentences(self, speaker: str | None = None) -> list[Sentence]:
        """Every sentence (of ``speaker`` when given), in call order."""
        return [s for t in self.turns for s in t.sentences if speaker in (None, s.speaker)]

    def turns_of(self, speaker: str) -> list[SpeakerTurn]:
        """The turns of ``speaker``, in call order."""
        return [t for t in self.turns if t.speaker == speaker]


def call_pack(ctx: Any) -> PhrasePack | None:
    """The phrase pack of ``ctx``'s transcript language with the rubric's extra packs, or
    None when the language has none."""
    language = normalize(ctx.transcript.language)
    return load_pack(language, tuple(ctx.params.get("phrase_packs", ())))


def call_text(ctx: Any, check_id: str, *, speaker: str = "agent") -> CallText | Any:
    """The :class:`CallText` of ``ctx`` or the "na" :class:`~callqa.types.CheckResult` to return.

    "na" when the transcript's language has no phrase pack ("language xx not supported") or
    when ``speaker`` says nothing (mono call without roles, empty transcript).
    """
    pack = call_pack(ctx)
    if pack is None:
        language = normalize(ctx.transcript.language)
        return not_applicable(check_id, f"language {language or '?'} not supported")
    turns = prepare(ctx.transcript, pack)
    if not any(t.speaker == speaker for t in turns):
        return not_applicable(check_id, f"no {speaker} speech in the transcript")
    return CallText(pack, turns)


def evidence(sentence: Sentence) -> Any:
    """The :class:`~callqa.types.Evidence` quoting ``sentence``."""
    return Evidence(
        sentence.speaker, round(sentence.start, 2), round(sentence.end, 2), sentence.text
    )


def param(ctx: Any, defaults: Mapping[str, Any], name: str) -> Any:
    """The rubric's value of parameter ``name`` or the check's default."""
    return ctx.params.get(name, defaults[name])
