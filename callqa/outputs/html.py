"""What the HTML pages share: the Jinja2 environment, static assets, safe JSON in ``<script>``,
and number formatting."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from importlib import resources
from typing import Any

from markupsafe import Markup

from callqa.scoring.scorecard import Scorecard, from_dict

SPEAKER_ORDER = ("agent", "customer", "unknown")
SPEAKER_LABEL = {"agent": "Agent", "customer": "Customer", "unknown": "Speaker"}
VERDICT_LABEL = {"pass": "Pass", "fail": "Fail", "na": "N/A"}


# ---------------------------------------------------------------------------- helpers


def script_json(data: Any) -> Markup:
    """JSON safe inside an HTML ``<script>`` element: ``<``, ``>``, ``&`` and U+2028/9 escaped.

    Escaping ``<`` covers ``</script>`` and ``<!--`` whatever text the transcript holds.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return Markup(text)


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("callqa.outputs", "templates"),
        autoescape=True,  # every template is HTML; transcript text is never trusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.lru_cache(maxsize=8)
def static_text(name: str) -> str:
    text = resources.files("callqa.outputs").joinpath(f"static/{name}").read_text("utf-8")
    return text.replace("</", "<\\/") if name.endswith(".js") else text


def num(value: Any) -> float | None:
    """A finite float, or None (for None, strings, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def clock(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour) for a time in seconds."""
    if seconds is None:
        return "–"
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def pct(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.0f}%"


def score_text(score: float | None) -> str:
    """A 0-100 score as a whole number, or with one decimal (rounded down) where rounding would
    lift it into the next colour band (59.64 is "59.6", never a red "60")."""
    if score is None:
        return "–"
    if any(score < edge <= round(score) for edge in (60, 80)):
        return f"{math.floor(score * 10) / 10:.1f}"
    return f"{score:.0f}"


def band(score: float | None) -> str:
    """Colour band of a 0-100 score: good >= 80, fair >= 60, poor below (see docs/report.md)."""
    if score is None:
        return "none"
    return "good" if score >= 80 else "fair" if score >= 60 else "poor"


def speaker_label(speaker: str) -> str:
    return SPEAKER_LABEL.get(speaker, speaker.replace("_", " ").title())


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at the last word boundary before ``limit`` characters ("…")."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def title_from_id(check_id: str) -> str:
    tail = check_id.rsplit(".", 1)[-1]
    return tail.replace("_", " ").capitalize() or check_id


def scorecard_of(card: Scorecard | Mapping[str, Any]) -> Scorecard:
    """A :class:`~callqa.scoring.scorecard.Scorecard`, read with ``from_dict`` when ``card`` is
    its JSON form (the edge where a dict comes in).

    Raises
    ------
    ScorecardError
        ``card`` is a mapping that is not a scorecard.
    """
    if isinstance(card, Scorecard):
        return card
    return from_dict(dict(card))
