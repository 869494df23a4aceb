"""Language codes: one normaliser for every stage.

callqa speaks ISO 639-1 codes. Norwegian is always ``"nb"`` (Bokmål: the phrase packs and number
words are Bokmål; Whisper calls the language ``"no"``). Nynorsk (``"nn"``) stays ``"nn"``: Whisper
knows it as a language of its own and the checks have no Nynorsk pack, so they answer "na"
rather than match Bokmål phrases against it. Redaction, which must not miss a spoken number,
reads Nynorsk number words with the Bokmål list (:func:`closest_supported`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from callqa.errors import ConfigError

SUPPORTED = ("en", "nb", "fi", "it", "sl")  # languages with phrase packs and number words

# Whisper's language codes (openai-whisper ``whisper.tokenizer.LANGUAGES``), kept here so that
# checking a code needs no model import.
_WHISPER_LANGUAGE_LIST = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su yue"
)
WHISPER_LANGUAGES = frozenset(_WHISPER_LANGUAGE_LIST.split())

# Other spellings of the codes we use: Norwegian macro-language and ISO 639-2/3 codes.
ALIASES = {
    "no": "nb",
    "nob": "nb",
    "nor": "nb",
    "nno": "nn",
    "eng": "en",
    "fin": "fi",
    "ita": "it",
    "slv": "sl",
}
_CLOSEST = {"nn": "nb"}  # a supported language close enough to read numbers with
# languages Whisper's language ID confuses with each other on short or accented speech
_RELATED = (
    frozenset({"nb", "nn", "da", "sv"}),
    frozenset({"sl", "hr", "sr", "bs"}),
    frozenset({"fi", "et"}),
)


def normalize(code: str | None) -> str:
    """Our form of a language code: ``"nb-NO"``, ``"NO"``, ``"nob"`` -> ``"nb"``.

    Lower case, region and script dropped, ISO 639-2/3 codes mapped to 639-1. Unknown codes are
    returned in that form (not validated); ``None`` gives ``""``.
    """
    text = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return ALIASES.get(text, text)


def parse_language(code: str | None) -> str | None:
    """A language a user asked for, checked: None, "" and "auto" mean "detect" (None).

    Raises
    ------
    ConfigError
        A code Whisper does not know.
    """
    if code is None or code.strip().lower() in ("", "auto"):
        return None
    text = normalize(code)
    if text != "nb" and text not in WHISPER_LANGUAGES:
        raise ConfigError(
            f"unknown language {code.strip()!r}: use an ISO 639-1 code Whisper knows "
            f"(en, nb or no, fi, it, sl, ...)"
        )
    return text


def to_whisper(code: str) -> str:
    """Whisper's code for one of ours ("nb" -> "no").

    Raises
    ------
    ConfigError
        No language given, or one Whisper does not know.
    """
    parsed = parse_language(code)
    if parsed is None:
        raise ConfigError("a language code is needed here, not 'auto'")
    return "no" if parsed == "nb" else parsed


def from_whisper(code: str) -> str:
    """Our code for one of Whisper's ("no" -> "nb")."""
    return normalize(code)


def closest_supported(code: str | None, default: str = "en") -> str:
    """The supported language to read ``code`` with: itself, a close one ("nn" -> "nb"), or
    ``default``."""
    text = normalize(code)
    text = _CLOSEST.get(text, text)
    return text if text in SUPPORTED else default


def related(a: str | None, b: str | None) -> bool:
    """True for the same language or two that language ID confuses (nb/da/sv, sl/hr/sr)."""
    x, y = normalize(a), normalize(b)
    return x == y or any(x in group and y in group for group in _RELATED)


def pick(probabilities: Mapping[str, float], candidates: Sequence[str] = ()) -> tuple[str, float]:
    """The most probable language of Whisper's language ID, in our codes ("nb").

    Parameters
    ----------
    probabilities : mapping of str -> float in [0, 1]
        Whisper's probability for each of its language codes ("no" for Norwegian).
    candidates : sequence of str
        Languages to choose from; empty: any. With candidates the probability is the chosen
        language's share of the candidates' probability (how sure the choice among them is);
        when Whisper gives them no probability at all, the first is returned with 0.

    Returns
    -------
    (code, probability) : (str, float in [0, 1])
    """
    ours = {from_whisper(c): float(p) for c, p in probabilities.items()}
    if not candidates:
        code = max(ours, key=lambda c: ours[c])
        return code, ours[code]
    allowed = [normalize(c) for c in candidates]
    total = sum(ours.get(c, 0.0) for c in allowed)
    code = max(allowed, key=lambda c: ours.get(c, 0.0))
    return code, (ours.get(code, 0.0) / total if total > 0 else 0.0)
