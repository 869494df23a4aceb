"""Phrase packs and phrase matching: lemmas, stems, exact forms, gaps, user packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from callqa.checks.empathy import is_apology
from callqa.checks.text import (
    compile_phrases,
    find_phrases,
    is_question,
    load_pack,
    normalize_text,
    split_sentences,
    supported_languages,
)
from callqa.errors import ConfigError
from callqa.languages import normalize

CATEGORIES = {
    "greeting",
    "self_intro",
    "offer_help",
    "thanks",
    "anything_else",
    "farewell",
    "apology",
    "apology_weak",
    "negated_apology",
    "repeat_request",
    "empathy",
    "empathy_traps",
    "reflection_cues",
    "second_person",
    "first_person",
    "open_question",
    "open_invitation",
    "refusal",
    "refusal_traps",
    "refusal_facts",
    "alternative",
    "agent_action",
    "action_non_commitment",
    "customer_action",
    "time_frame",
    "complaint",
    "complaint_negation",
    "negative",
    "negative_exceptions",
    "forbidden",
    "repeat_cues",
    "stopwords",
}


@pytest.mark.slow  # loads every language's lemmatizer (Finnish: ~3 s, ~400 MB)
def test_every_language_has_a_complete_pack() -> None:
    assert supported_languages() == ("en", "fi", "it", "nb", "sl")
    for lang in supported_languages():
        pack = load_pack(lang)
        assert pack is not None and pack.language == lang
        missing = CATEGORIES - set(pack.categories)
        assert not missing, f"{lang} lacks {missing}"


def test_language_codes() -> None:
    assert normalize("no") == "nb" and normalize("NB") == "nb"
    assert normalize("en-GB") == "en"
    assert load_pack("de") is None


def test_contractions_expand_before_matching() -> None:
    pack = load_pack("en")
    assert pack is not None
    assert (
        normalize_text("I can't, it hasn't, won't", pack.replace)
        == "i can not, it has not, will not"
    )
    assert [t.text for t in pack.tokenize("We’re sorry")] == ["we", "are", "sorry"]


def _sources(lang: str, text: str, category: str) -> list[str]:
    pack = load_pack(lang)
    assert pack is not None
    return [m.phrase.source for m in find_phrases(pack.tokenize(text), pack.phrases(category))]


def test_lemmas_match_inflections() -> None:
    # Finnish: "pahoitteluni" (my apologies) by stem, "vian" (genitive) by lemma of "vika"
    assert "pahoittelu*" in _sources("fi", "Pahoitteluni viivästyksestä.", "apology")
    assert "vika" in _sources("fi", "Vian takia en pääse verkkoon.", "complaint")
    # Slovenian: "opravičujemo" by stem; Norwegian "timer" is the plural of "time" (hour)
    assert "opraviču*" in _sources("sl", "Opravičujemo se.", "apology")
    assert "om ... time" in _sources("nb", "Det kommer om to timer.", "time_frame")


def test_exact_form_does_not_match_other_inflections() -> None:
    assert _sources("fi", "Lähetän sen.", "agent_action") == ["=lähetän"]
    assert _sources("fi", "Lähetit sen.", "agent_action") == []
    # "we apologise" is an apology; "my colleague apologised" (reported) is not the agent's
    assert _sources("fi", "Pahoittelemme viivästystä.", "apology") == ["=pahoittelemme"]
    assert _sources("fi", "Kollegani pahoitteli viivästystä.", "apology") == []
    # "I understand" is empathy; "I didn't understand" (same lemma) is not
    assert _sources("fi", "Ymmärrämme tilanteen.", "empathy") == ["=ymmärrämme"]
    assert _sources("fi", "En ymmärtänyt kysymystä.", "empathy") == []


def test_gap_and_any_token() -> None:
    assert _sources("en", "You will get it within two more days.", "time_frame") == [
        "within ... day"
    ]
    assert _sources("en", "It arrives within 24 hours.", "time_frame") == ["within ... hour"]
    assert "this is _ speaking" in _sources("en", "This is Anna speaking.", "self_intro")


def test_sentences() -> None:
    assert split_sentences("Hi there. How are you? Fine!") == ["Hi there.", "How are you?", "Fine!"]
    assert split_sentences("  ") == []


def test_a_full_width_question_mark_is_a_question_everywhere() -> None:
    """``？`` ends a question like ``?``: a "Sorry？" asks to repeat, it is no apology."""
    assert is_question("Sorry? ") and is_question("Sorry？") and not is_question("Sorry.")
    for text in ("Sorry?", "Sorry？", "Anteeksi？"):
        assert not is_apology(text, "fi" if text.startswith("A") else "en"), text
    assert is_apology("I am so sorry.", "en") and is_apology("Olen todella pahoillani.", "fi")


def test_user_pack_is_merged(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text('language = "en"\nforbidden = ["no can do"]\nshout = ["oi"]\n')
    other = tmp_path / "fi.toml"
    other.write_text('language = "fi"\nforbidden = ["ei onnistu"]\n')
    pack = load_pack("en", [extra, other])
    assert pack is not None
    assert "no can do" in [p.source for p in pack.phrases("forbidden")]
    assert "=calm down" in [p.source for p in pack.phrases("forbidden")]  # built-ins kept
    assert [p.source for p in pack.phrases("shout")] == ["oi"]
    assert "ei onnistu" not in [p.source for p in pack.phrases("forbidden")]
    assert pack.sources[-1] == str(extra)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('language = "en"\nforbidden = "calm down"\n', "'forbidden' must be a list of strings"),
        ('language = "en"\n[normalize]\nreplace = [["a"]]\n', "[normalize] takes only replace"),
        ('language = "en"\nforbidden = [\n', "is not valid TOML"),
    ],
)
def test_bad_user_pack(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_pack("en", [path])
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_user_pack(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_pack("en", [tmp_path / "nope.toml"])


@pytest.mark.parametrize(
    ("pattern", "hit"),
    [("*nummeret", True), ("nummer*", False), ("*mentsnum*", True), ("=abonnementsnummeret", True)],
)
def test_wildcard_first_tokens_match_anywhere(pattern: str, hit: bool) -> None:
    """A phrase whose first token is a suffix, stem, infix or exact pattern is tried at every
    position (not looked up as a plain word)."""
    pack = load_pack("nb")
    tokens = pack.tokenize("Hva er abonnementsnummeret ditt?")
    found = find_phrases(tokens, compile_phrases([f"{pattern} ditt"], pack))
    assert bool(found) is hit
