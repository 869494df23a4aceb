"""Precision and recall of personal-data detection on generated utterances.

Generates positive utterances (a card number, IBAN, national ID, phone number or e-mail in a
sentence, as digits or as spoken words, in en/nb/fi/it/sl) and hard negatives (the same shapes
with wrong check digits, order and reference numbers, amounts, dates, "at" without a domain),
runs :func:`callqa.privacy.redact.find_pii` and writes benchmarks/results/redact.md.

A positive counts as found when a span of the right type covers every token of the planted
value; a span on a negative utterance is a false positive. Run:
``python benchmarks/bench_redact.py [--n 500] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from callqa.privacy import find_pii, tokenize
from callqa.types import Transcript, Utterance

LANGS = ("en", "nb", "fi", "it", "sl")
DIGIT_WORDS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "nb": ["null", "en", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni"],
    "fi": ["nolla", "yksi", "kaksi", "kolme", "neljä", "viisi", "kuusi", "seitsemän", "kahdeksan",
           "yhdeksän"],
    "it": ["zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"],
    "sl": ["nič", "ena", "dva", "tri", "štiri", "pet", "šest", "sedem", "osem", "devet"],
}  # fmt: skip
INTRO = {
    "card": {"en": "my card number is", "nb": "kortnummeret mitt er", "fi": "korttini numero on",
             "it": "il numero della carta è", "sl": "številka moje kartice je"},
    "iban": {"en": "my IBAN is", "nb": "kontonummeret er", "fi": "tilinumero on",
             "it": "l'IBAN è", "sl": "moj IBAN je"},
    "national_id": {"en": "my personal number is", "nb": "fødselsnummeret mitt er",
                    "fi": "henkilötunnukseni on", "it": "il mio codice fiscale è",
                    "sl": "moj EMŠO je"},
    "phone": {"en": "you can call me on", "nb": "mobilnummeret mitt er",
              "fi": "puhelinnumeroni on", "it": "il mio cellulare è",
              "sl": "moja telefonska številka je"},
    "email": {"en": "my email is", "nb": "e-posten min er", "fi": "sähköpostini on",
              "it": "la mia mail è", "sl": "moj e-naslov je"},
    "order": {"en": "my order number is", "nb": "ordrenummeret er", "fi": "tilausnumero on",
              "it": "il numero d'ordine è", "sl": "številka naročila je"},
}  # fmt: skip
OUTRO = {"en": "thanks", "nb": "takk", "fi": "kiitos", "it": "grazie", "sl": "hvala"}
DOT = {"en": "dot", "nb": "punktum", "fi": "piste", "it": "punto", "sl": "pika"}
AT = {"en": "at", "nb": "alfakrøll", "fi": "ät", "it": "chiocciola", "sl": "afna"}
NAMES = ["anna", "ola", "matti", "mario", "janez", "kari", "laura", "marco", "petra", "john"]
SURNAMES = ["berg", "nordmann", "virtanen", "rossi", "novak", "hansen", "smith", "bianchi"]
DOMAINS = [("example", "com"), ("firma", "no"), ("yritys", "fi"), ("libero", "it"),
           ("podjetje", "si"), ("gmail", "com")]  # fmt: skip


# ----------------------------------------------------------------- identifiers


def luhn_digit(body: str) -> str:
    for check in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(body + check)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return check
    raise AssertionError


def card(rng: random.Random, valid: bool = True) -> str:
    length = rng.choice([15, 16, 16, 16, 19])
    body = rng.choice("3456") + "".join(str(rng.randrange(10)) for _ in range(length - 2))
    check = luhn_digit(body)
    return body + (check if valid else str((int(check) + rng.randrange(1, 10)) % 10))


def iban(rng: random.Random, valid: bool = True) -> str:
    country, n = rng.choice([("NO", 11), ("FI", 14), ("SI", 15), ("DE", 18), ("GB", 18)])
    bban = "".join(str(rng.randrange(10)) for _ in range(n))
    if country == "NO":  # a real kontonummer: its last digit is a mod-11 check digit
        bban = no_account(bban)
    if country == "GB":
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + bban[4:]
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randrange(1, 90)) % 97 + 2
    return f"{country}{check:02d}{bban}"


def no_account(digits: str) -> str:
    """11 digits with the Norwegian account number's mod-11 check digit last (weights 5 4 3
    2 7 6 5 4 3 2); a body whose check digit would be 10 has its 10th digit bumped."""
    body = digits[:10]
    while True:
        total = sum(w * int(c) for w, c in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), body, strict=True))
        check = (11 - total % 11) % 11
        if check < 10:
            return body + str(check)
        body = body[:9] + str((int(body[9]) + 1) % 10)


def _date(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(1, 28), rng.randint(1, 12), rng.randint(40, 99)


def fnr(rng: random.Random, valid: bool = True) -> str:
    while True:
        d, m, y = _date(rng)
        base = f"{d:02d}{m:02d}{y:02d}{rng.randrange(1000):03d}"
        w1, w2 = [3, 7, 6, 1, 8, 9, 4, 5, 2], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
        k1 = (11 - sum(a * int(c) for a, c in zip(w1, base, strict=True)) % 11) % 11
        if k1 == 10:
            continue
        k2 = (11 - sum(a * int(c) for a, c in zip(w2, base + str(k1), strict=True)) % 11) % 11
        if k2 == 10:
            continue
        value = base + str(k1) + str(k2)
        return value if valid else value[:-1] + str((k2 + 1) % 10)


def hetu(rng: random.Random, valid: bool = True) -> str:
    d, m, y = _date(rng)
    ddmmyy, individual = f"{d:02d}{m:02d}{y:02d}", f"{rng.randint(2, 899):03d}"
    chars = "0123456789ABCDEFHJKLMNPRSTUVWXY"
    k = int(ddmmyy + individual) % 31
    return ddmmyy + "-" + individual + chars[k if valid else (k + 1) % 31]


def emso(rng: random.Random, valid: bool = True) -> str:
    while True:
        d, m, y = _date(rng)
        base = f"{d:02d}{m:02d}9{y:02d}50{rng.randrange(1000):03d}"
        w = [7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
        k = 11 - sum(a * int(c) for a, c in zip(w, base, strict=True)) % 11
        if k == 10:
            continue
        return base + str(k % 11 if valid else (k + 1) % 10)


CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                  [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4,
                   18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23], strict=True))  # fmt: skip


def codice_fiscale(rng: random.Random, valid: bool = True) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    d, m, y = _date(rng)
    first = "".join(rng.choice(letters) for _ in range(6)) + f"{y:02d}" + "ABCDEHLMPRST"[m - 1]
    first += f"{d + rng.choice([0, 40]):02d}" + rng.choice(letters) + f"{rng.randrange(1000):03d}"
    even = {c: int(c) if c.isdigit() else ord(c) - 65 for c in CF_ODD}
    total = sum(CF_ODD[c] if i % 2 == 0 else even[c] for i, c in enumerate(first))
    return first + chr(65 + (total + (0 if valid else rng.randrange(1, 26))) % 26)


def phone(rng: random.Random, lang: str) -> str:
    def digits(n: int) -> str:
        return "".join(str(rng.randrange(10)) for _ in range(n))

    return {
        "nb": rng.choice("49") + digits(7),
        "fi": "04" + rng.choice("0123456") + digits(7),
        "it": "3" + rng.choice("2345689") + digits(8),
        "sl": "0" + rng.choice("34") + digits(7),
        "en": "07" + digits(9),
    }[lang]


# ----------------------------------------------------------------- surface forms


def say(value: str, lang: str, form: str, rng: random.Random) -> str:
    """Digits grouped ("4532 0151"), or every digit as a word; letters stay letters."""
    if form == "digits":
        size = rng.choice([3, 4, 4, 100])
        return " ".join(value[i : i + size] for i in range(0, len(value), size))
    words = [DIGIT_WORDS[lang][int(c)] if c.isdigit() else c for c in value]
    if lang == "en" and rng.random() < 0.3:
        words = ["oh" if w == "zero" else w for w in words]
    return " ".join(words)


def say_email(lang: str, spoken: bool, rng: random.Random) -> tuple[str, str]:
    local = f"{rng.choice(NAMES)}.{rng.choice(SURNAMES)}"
    name, tld = rng.choice(DOMAINS)
    if not spoken:
        value = f"{local}@{name}.{tld}"
        return value, value
    said = f"{local.replace('.', ' ' + DOT[lang] + ' ')} {AT[lang]} {name} {DOT[lang]} {tld}"
    return said, said


Example = tuple[str, str, str | None, str | None]  # language, text, planted text, type


def intro(kind: str, lang: str, cues: bool) -> str:
    """The words announcing a number ("my card number is"), or a neutral phrase without cues."""
    return INTRO[kind][lang] if cues else {"en": "it is", "nb": "det er", "fi": "se on",
                                           "it": "è", "sl": "to je"}[lang]  # fmt: skip


def positive(rng: random.Random, cues: bool = True) -> Example:
    lang = rng.choice(LANGS)
    typ = rng.choice(["card", "card", "iban", "national_id", "phone", "email"])
    form = rng.choice(["digits", "words"])
    if typ == "email":
        said, _ = say_email(lang, form == "words", rng)
    elif typ == "card":
        said = say(card(rng), lang, form, rng)
    elif typ == "iban":
        said = say(iban(rng), lang, form, rng)
    elif typ == "phone":
        said = say(phone(rng, lang), lang, form, rng)
    else:
        said = national_id(rng, lang, form, valid=True)
    return lang, f"{intro(typ, lang, cues)} {said} {OUTRO[lang]}", said, typ


def national_id(rng: random.Random, lang: str, form: str, *, valid: bool) -> str:
    if lang == "it":
        return codice_fiscale(rng, valid)
    if lang == "fi":
        value = hetu(rng, valid)
        if form == "words":
            return f"{say(value[:6], lang, form, rng)} viiva {say(value[7:], lang, form, rng)}"
        return value
    maker: Callable[..., str] = emso if lang == "sl" else fnr
    return say(maker(rng, valid), lang, form, rng)


NEGATIVE_KINDS = (
    "card shape, wrong check digit",
    "IBAN shape, wrong check digits",
    "national ID shape, wrong control",
    "order number",
    "order number",
    "amount, year, duration",
    "date and time",
    '"at" without a domain',
)
CHECK_DIGIT_KINDS = frozenset(NEGATIVE_KINDS[:3])


def negative(rng: random.Random, cues: bool = True) -> Example:
    lang = rng.choice(LANGS)
    kind = rng.randrange(8)
    form = rng.choice(["digits", "words"])
    if kind == 0:  # card shape, wrong Luhn digit
        text = f"{intro('card', lang, cues)} {say(card(rng, valid=False), lang, form, rng)}"
    elif kind == 1:  # IBAN shape, wrong check digits
        text = f"{intro('iban', lang, cues)} {say(iban(rng, valid=False), lang, form, rng)}"
    elif kind == 2:  # national ID shape, wrong control
        text = f"{intro('national_id', lang, cues)} {national_id(rng, lang, form, valid=False)}"
    elif kind in (3, 4):  # order / reference numbers of 6-16 digits
        n = rng.randint(6, 16)
        number = str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(n - 1))
        text = f"{intro('order', lang, cues)} {say(number, lang, form, rng)}"
    elif kind == 5:  # amounts, durations and years
        paid, year, wait = rng.randint(10, 9999), rng.randint(1990, 2025), rng.randint(2, 90)
        text = f"I paid {paid} kroner in {year} and waited {wait} minutes"
    elif kind == 6:  # a date and a time
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2020, 2025)
        text = f"on {day}.{month}.{year} at {rng.randint(8, 17)}:{rng.randint(10, 59)}"
    else:  # "at" without a domain, a dotted word
        place = rng.choice(["home", "work", "the office"])
        text = f"I was at {place} dot {rng.randint(2, 9)} {OUTRO[lang]}"
    return lang, text, None, NEGATIVE_KINDS[kind]


def misheard(rng: random.Random, lang: str, typ: str) -> str:
    """A valid card number or national ID (digits only: NO/SI) with one digit heard wrong,
    so that its check digit fails, as speech recognition garbles one."""
    value = card(rng) if typ == "card" else (emso if lang == "sl" else fnr)(rng, True)
    k = rng.randrange(len(value))
    wrong = str((int(value[k]) + rng.randrange(1, 10)) % 10)
    return value[:k] + wrong + value[k + 1 :]


def misheard_example(rng: random.Random, positive: bool) -> Example:
    """A misheard card/ID after a card or ID word (positive: to redact), or the same digits
    after an order-number word (negative: to keep)."""
    lang = rng.choice(("en", "nb", "fi", "it", "sl"))
    typ = rng.choice(["card", "national_id"]) if lang in ("nb", "sl") else "card"
    said = say(misheard(rng, lang, typ), lang, rng.choice(["digits", "words"]), rng)
    if positive:
        return lang, f"{INTRO[typ][lang]} {said} {OUTRO[lang]}", said, typ
    return lang, f"{INTRO['order'][lang]} {said} {OUTRO[lang]}", None, "misheard digits, order word"


# ----------------------------------------------------------------- scoring


def covered(text: str, planted: str, spans: tuple) -> bool:
    """Every token of ``planted`` lies inside a span piece."""
    start = text.index(planted)
    tokens = [t for t in tokenize(planted) if t.text.isalnum()]
    pieces = [(p.char_start, p.char_end) for s in spans for p in s.pieces]
    return all(any(a <= start + t.start and start + t.end <= b for a, b in pieces) for t in tokens)


def run(n: int, seed: int, cues: bool) -> str:
    rng = random.Random(seed)
    examples = [positive(rng, cues) for _ in range(n)] + [negative(rng, cues) for _ in range(n)]
    title = f"seed {seed}, " + ("with context words" if cues else "without context words")
    return evaluate(title, examples, cues=cues)


def run_misheard(n: int, seed: int) -> str:
    rng = random.Random(seed)
    examples = [misheard_example(rng, True) for _ in range(n)]
    examples += [misheard_example(rng, False) for _ in range(n)]
    return evaluate(f"seed {seed}, misheard card and ID numbers (one digit wrong)", examples)


def evaluate(title: str, examples: list[Example], *, cues: bool = False) -> str:
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    by_lang: Counter[tuple[str, str]] = Counter()
    misses: list[str] = []
    false_alarms: list[str] = []
    negatives: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    t0 = time.perf_counter()
    for lang, text, planted, typ in examples:
        transcript = Transcript(lang, (Utterance("customer", 0.0, 10.0, text),))
        spans = find_pii(transcript)
        if planted is not None and typ is not None:
            ok = any(s.type == typ for s in spans) and covered(text, planted, spans)
            (tp if ok else fn)[typ] += 1
            by_lang[(lang, "tp" if ok else "fn")] += 1
            if not ok and len(misses) < 15:
                misses.append(f"`{lang}` {text}")
            fp["(positives)"] += sum(1 for s in spans if s.type != typ)
        else:
            negatives[typ or "?"] += 1
            for s in spans:
                fp[s.type] += 1
                by_kind[typ or "?"] += 1
                by_lang[(lang, "fp")] += 1
                if len(false_alarms) < 15:
                    false_alarms.append(f"`{lang}` {text} -> {s.type} ({s.kind or 'validated'})")
    elapsed = time.perf_counter() - t0
    lines = report(title, tp, fn, fp, by_lang, misses, false_alarms, elapsed, len(examples))
    return lines + by_kind_table(tp, negatives, by_kind, cues=cues)


def by_kind_table(
    tp: Counter[str], negatives: Counter[str], by_kind: Counter[str], *, cues: bool
) -> str:
    """False positives per kind of negative, and the precision without the check-digit
    shapes said after a card or ID word (redacted by design: a misheard number)."""
    lines = [
        "| negative | utterances | with a span |",
        "|---|---:|---:|",
        *[f"| {k} | {negatives[k]} | {by_kind[k]} |" for k in sorted(negatives)],
        "",
    ]
    designed = sum(by_kind[k] for k in CHECK_DIGIT_KINDS)
    if designed and cues:
        found = sum(tp.values())
        rest = sum(by_kind.values()) - designed
        lines += [
            f"{designed} of the false positives are card, IBAN or ID shapes with a wrong check "
            "digit said right after a card or ID word: redacted on purpose (kind "
            "`unvalidated`: speech recognition mishears digits, and a number of card length "
            "where a card number was asked for is treated as the card). Precision without "
            f"them: {found / max(1, found + rest):.3f}.",
            "",
        ]
    return "\n".join(lines)


def report(title, tp, fn, fp, by_lang, misses, false_alarms, elapsed, total) -> str:  # type: ignore[no-untyped-def]
    lines = [
        f"## {title}",
        "",
        "| type | planted | found | recall |",
        "|---|---:|---:|---:|",
    ]
    for typ in sorted(set(tp) | set(fn)):
        planted = tp[typ] + fn[typ]
        lines.append(f"| {typ} | {planted} | {tp[typ]} | {tp[typ] / planted:.3f} |")
    all_tp, all_fn = sum(tp.values()), sum(fn.values())
    all_fp = sum(fp.values())
    lines += [
        f"| **all** | {all_tp + all_fn} | {all_tp} | {all_tp / (all_tp + all_fn):.3f} |",
        "",
        f"False positives (spans on negatives, or of another type on positives): {all_fp} "
        f"({dict(fp)}). Precision {all_tp / max(1, all_tp + all_fp):.3f}.",
        "",
        "| language | found | missed | false positives |",
        "|---|---:|---:|---:|",
    ]
    for lang in LANGS:
        found, missed, fps = (by_lang[(lang, k)] for k in ("tp", "fn", "fp"))
        lines.append(f"| {lang} | {found} | {missed} | {fps} |")
    lines += [
        "",
        f"Speed: {1000 * elapsed / total:.2f} ms per utterance (one core, {total} utterances).",
        "",
        "Missed (first 15):",
        "",
        *[f"- {m}" for m in misses],
        "",
        "False positives (first 15):",
        "",
        *[f"- {m}" for m in false_alarms],
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="positives (and negatives) to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "redact.md")
    args = parser.parse_args()
    header = [
        "# Personal-data detection: precision and recall",
        "",
        f"Generated by `benchmarks/bench_redact.py --n {args.n}`: per run, {args.n} positive "
        "utterances (card, IBAN, national ID, phone, e-mail; grouped digits or every digit as a "
        f"word; en/nb/fi/it/sl) and {args.n} hard negatives (the same shapes with wrong check "
        'digits, order numbers of 6-16 digits, amounts, years, dates, "at" without a domain). '
        "Default `RedactionConfig`. A positive counts when a span of the right type covers every "
        "token of the value; any span on a negative, or of another type on a positive, is a "
        "false positive. Seeds 1 and 2 were used while writing the rules (development); seed "
        "3 was run before the last rule changes but showed no error; seed 4 was held out, "
        "except that its context-free run exposed one bug (a Finnish ID with a digit control "
        'character was accepted only after a cue), fixed since. "Without context words" '
        "replaces the "
        'announcing phrase ("my card number is", "my order number is") with "it is". '
        "Each run ends with its false positives per kind of negative. A card, IBAN or ID "
        "shape with a wrong check digit said right after a card or ID word counts as a false "
        "positive although redacting it is intended (a misheard number, kind `unvalidated`); "
        "the precision without them is given too. The last run plants misheard numbers: a "
        "valid card number, fødselsnummer or EMŠO with one digit changed, after a card or ID "
        "word (positives, to redact) or after an order-number word (negatives, to keep).",
        "",
    ]
    runs = [(args.seed + k, True) for k in range(4)] + [(args.seed + 3, False)]
    text = "\n".join(header) + "\n".join(run(args.n, seed, cues) for seed, cues in runs)
    text += "\n" + run_misheard(args.n // 5, args.seed + 4)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
