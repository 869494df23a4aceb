"""The transcript checks on hand-labelled lines (tests/data/checks/lines_<lang>.toml).

Each detector maps a line (or a [customer line, agent line] pair) to one of the label names of
its table. benchmarks/bench_checks.py imports :func:`evaluate` from here to report accuracy.
The lines were written by hand for these tests (at least 20 per check and language); they
were also used while writing the phrase packs, so they are not a held-out test set.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callqa.checks import check_line
from callqa.checks.empathy import is_apology

DATA = Path(__file__).resolve().parent / "data" / "checks"
LANGUAGES = ("en", "nb", "fi", "it", "sl")


def _pass(check_id: str, **params: Any) -> Callable[[Any, str], str]:
    def run(item: Any, lang: str) -> str:
        return check_line(check_id, item, lang, params=params).verdict

    return run


def _yes(fn: Callable[[Any, str], bool]) -> Callable[[Any, str], str]:
    return lambda item, lang: "yes" if fn(item, lang) else "no"


def _next_step(item: Any, lang: str) -> str:
    r = check_line("action.next_step", item, lang)
    return "none" if r.verdict == "fail" else "untimed" if r.details["partial"] else "timed"


def _negative(item: Any, lang: str) -> bool:
    r = check_line("positive.negative_language", item, lang, params={"min_agent_seconds": 0.0})
    return bool(r.details["count"])


def _paraphrase(item: Any, lang: str) -> str:
    customer, agent = item
    r = check_line(
        "hear.paraphrase", agent, lang, customer_text=customer, params={"min_customer_words": 1}
    )
    return r.verdict


def _closing(item: Any, lang: str) -> str:
    """``open.closing`` on a call whose last agent turn is ``item`` (after an opening turn)."""
    from callqa.checks import CheckContext, defaults, registry
    from callqa.measures.metrics import CallMetrics
    from callqa.types import AGENT, CUSTOMER, Transcript, Utterance

    segs = (
        Utterance(AGENT, 0.0, 1.0, "Okay."),
        Utterance(CUSTOMER, 1.5, 2.5, "Okay."),
        Utterance(AGENT, 3.0, 6.0, item),
    )
    ctx = CheckContext(
        Transcript(lang, segs), CallMetrics(duration_s=6.0), False, defaults()["open.closing"]
    )
    return registry()["open.closing"](ctx).verdict


DETECTORS: dict[str, Callable[[Any, str], str]] = {
    "greeting": _pass("open.greeting"),
    "closing": _closing,
    "apology": _yes(lambda item, lang: is_apology(item, lang)),
    "empathy": _yes(
        lambda item, lang: check_line("empathise.empathy", item, lang).verdict == "pass"
    ),
    "open_question": _yes(
        lambda item, lang: check_line("lead.open_questions", item, lang).verdict == "pass"
    ),
    "alternative": _pass("lead.alternative"),
    "next_step": _next_step,
    "negative": _yes(_negative),
    "forbidden": _yes(
        lambda item, lang: check_line("positive.forbidden_phrases", item, lang).verdict == "fail"
    ),
    "paraphrase": _paraphrase,
}


def load_lines(lang: str) -> dict[str, dict[str, list[Any]]]:
    """The labelled tables of one language: detector -> label -> items."""
    with (DATA / f"lines_{lang}.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def evaluate(lang: str) -> dict[str, tuple[int, int, list[tuple[Any, str, str]]]]:
    """detector -> (correct, total, [(item, label, predicted) for the errors])."""
    out = {}
    for name, table in load_lines(lang).items():
        fn = DETECTORS[name]
        errors = []
        total = 0
        for label, items in table.items():
            for item in items:
                total += 1
                got = fn(item, lang)
                if got != label:
                    errors.append((item, label, got))
        out[name] = (total - len(errors), total, errors)
    return out


MIN_ACCURACY = 0.9  # per check and language; the traps below must all be right


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_labelled_lines(lang: str) -> None:
    results = evaluate(lang)
    assert set(results) == set(DETECTORS), "every check has labelled lines"
    for name, (ok, total, errors) in results.items():
        assert total >= 20, f"{lang}/{name}: only {total} labelled lines"
        assert ok / total >= MIN_ACCURACY, f"{lang}/{name}: {ok}/{total}, errors: {errors}"


TRAPS = {
    # (detector, language, item, expected label)
    "not sorry": ("apology", "en", "I'm not sorry, that's the rule.", "no"),
    "pardon": ("apology", "en", "Sorry, could you repeat that?", "no"),
    "pardon short": ("apology", "en", "Sorry?", "no"),
    "real apology": ("apology", "en", "I'm sorry for the delay.", "yes"),
    "cannot wait": ("alternative", "en", "I can't wait to help you with this!", "na"),
    "cannot wait not negative": ("negative", "en", "I can't wait to help.", "no"),
    "nb pardon": ("apology", "nb", "Beklager, kan du gjenta det?", "no"),
    "nb not sorry": ("apology", "nb", "Jeg er ikke lei meg, det er reglene.", "no"),
    "fi pardon": ("apology", "fi", "Anteeksi, voisitteko toistaa?", "no"),
    "fi not sorry": ("apology", "fi", "En ole pahoillani, se on sääntö.", "no"),
    "it pardon": ("apology", "it", "Scusi, può ripetere?", "no"),
    "it not sorry": ("apology", "it", "Non mi dispiace, sono le regole.", "no"),
    "sl pardon": ("apology", "sl", "Oprostite, lahko ponovite?", "no"),
    "sl not sorry": ("apology", "sl", "Ni mi žal, to so pravila.", "no"),
    "nb cannot wait": ("alternative", "nb", "Jeg gleder meg til å hjelpe deg med dette!", "na"),
    "fi cannot wait": ("alternative", "fi", "En malta odottaa, että pääsen auttamaan!", "na"),
    "it cannot wait": ("alternative", "it", "Non vedo l'ora di aiutarla!", "na"),
    "sl cannot wait": ("alternative", "sl", "Komaj čakam, da vam pomagam!", "na"),
    # An understanding check frames a reflection; its "I understand" is not empathy.
    "understanding check": (
        "empathy",
        "en",
        "So, if I understand correctly, your internet has been dropping every evening since "
        "Monday.",
        "no",
    ),
    "understood check": ("empathy", "en", "If I understood, the bill doubled in March.", "no"),
    "check then empathy": (
        "empathy",
        "en",
        "If I understand correctly, that must be really frustrating.",
        "yes",
    ),
    "nb understanding check": (
        "empathy",
        "nb",
        "Så hvis jeg forstår riktig, har internettet falt ut hver kveld siden mandag.",
        "no",
    ),
    "nb not understanding": ("empathy", "nb", "Jeg forstår ikke hva du mener.", "no"),
    "fi understanding check": (
        "empathy",
        "fi",
        "Eli jos ymmärsin oikein, netti on katkeillut joka ilta maanantaista asti.",
        "no",
    ),
    "fi not understanding": ("empathy", "fi", "En ymmärtänyt, mitä tarkoitatte.", "no"),
    "it understanding check": (
        "empathy",
        "it",
        "Quindi, se ho capito bene, la connessione cade ogni sera da lunedì.",
        "no",
    ),
    "it not understanding": ("empathy", "it", "Non ho capito il suo indirizzo.", "no"),
    "sl understanding check": (
        "empathy",
        "sl",
        "Torej, če prav razumem, vam internet izpada vsak večer od ponedeljka.",
        "no",
    ),
    "sl not understanding": ("empathy", "sl", "Ne razumem, kaj mislite.", "no"),
    # Sympathy for what the customer had to do is not an order ("you have to").
    "had to": ("forbidden", "en", "I'm sorry you had to wait so long.", "no"),
    "relaxing": ("forbidden", "en", "I hope you have a relaxing weekend.", "no"),
    "has to relax": ("forbidden", "en", "Please relax.", "yes"),
    "nb had to": ("forbidden", "nb", "Beklager at du måtte vente så lenge.", "no"),
    "nb must": ("forbidden", "nb", "Du må ringe fakturaavdelingen.", "yes"),
    "fi had to": ("forbidden", "fi", "Olen pahoillani, että teidän täytyi odottaa.", "no"),
    "fi must": ("forbidden", "fi", "Teidän täytyy soittaa laskutukseen.", "yes"),
    "it had to": ("forbidden", "it", "Mi dispiace che lei doveva aspettare così tanto.", "no"),
    "it must": ("forbidden", "it", "Lei deve chiamare la fatturazione.", "yes"),
    "sl had to": ("forbidden", "sl", "Žal mi je, da ste morali čakati.", "no"),
    "sl must": ("forbidden", "sl", "Morate poklicati obračun.", "yes"),
    "should have received": (
        "forbidden",
        "en",
        "You should have received a confirmation email yesterday.",
        "no",
    ),
    "should have called": ("forbidden", "en", "You should have called us earlier.", "yes"),
    "calmed down": ("forbidden", "en", "Has the noise on the line calmed down now?", "no"),
    "nb should have received": ("forbidden", "nb", "Du burde ha fått en e-post i går.", "no"),
    "nb must have received": ("forbidden", "nb", "Du må ha fått en bekreftelse.", "no"),
    "nb should have called": ("forbidden", "nb", "Du burde ha ringt tidligere.", "yes"),
    "it must have received": ("forbidden", "it", "Lei deve aver ricevuto un'email ieri.", "no"),
    "want to relax": (
        "forbidden",
        "en",
        "I completely understand why you'd want to relax after all this.",
        "no",
    ),
    "you'll have to": ("forbidden", "en", "You'll have to call billing for that.", "yes"),
    "working days": (
        "next_step",
        "en",
        "You'll receive a refund in three to five working days.",
        "timed",
    ),
    # an obligation asked about is no order
    "asked about": ("forbidden", "en", "You have to pay for that?", "no"),
    "it asked about": ("forbidden", "it", "Devi spedirlo all'estero?", "no"),
    "nb asked about": ("forbidden", "nb", "Da må du betale for det?", "no"),
    "sl asked about": ("forbidden", "sl", "Morate to plačati danes?", "no"),
    "fi asked about": ("forbidden", "fi", "Teidän täytyy maksaa se tänään?", "no"),
    "it order": ("forbidden", "it", "Devi spedirlo all'estero.", "yes"),
    "nb welcome to": ("forbidden", "nb", "Du må gjerne ringe oss igjen.", "no"),
    "nb do not worry": ("forbidden", "nb", "Du må ikke bekymre deg for det.", "no"),
    "nb nice day": ("forbidden", "nb", "Du må ha en fin dag videre!", "no"),
    "it do not worry": ("forbidden", "it", "Non devi preoccuparti, ci penso io.", "no"),
    "it must fill in": ("forbidden", "it", "Devi compilare di nuovo il modulo.", "yes"),
    "fi must have received": (
        "forbidden",
        "fi",
        "Teidän täytyy olla saanut vahvistusviesti eilen.",
        "no",
    ),
}


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_traps(name: str) -> None:
    detector, lang, item, expected = TRAPS[name]
    assert DETECTORS[detector](item, lang) == expected


UNDERSTANDING_CHECKS = {
    "en": "So, if I understand correctly, your internet has been dropping every evening.",
    "nb": "Så hvis jeg forstår riktig, har internettet falt ut hver kveld.",
    "fi": "Eli jos ymmärsin oikein, netti on katkeillut joka ilta.",
    "it": "Quindi, se ho capito bene, la connessione cade ogni sera.",
    "sl": "Torej, če prav razumem, vam internet izpada vsak večer.",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_understanding_check_is_a_reflection_cue(lang: str) -> None:
    from callqa.checks.listening import has_cue
    from callqa.checks.text import load_pack

    pack = load_pack(lang)
    assert pack is not None
    assert has_cue(pack.tokenize(UNDERSTANDING_CHECKS[lang]), pack)
    assert DETECTORS["empathy"](UNDERSTANDING_CHECKS[lang], lang) == "no"
