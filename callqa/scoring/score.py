"""Running a rubric's checks on one call and weighting their results into scores.

:func:`run_checks` turns a transcript and its metrics into one :class:`CheckResult` per rubric
item; :func:`score_checks` weights them into section scores and an overall score 0-100, with
the auto-fail cap applied only to confident fails (see docs/rubric.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from callqa.checks import CheckContext, defaults, not_applicable, registry
from callqa.checks.custom import phrase_item
from callqa.checks.empathy import has_complaint
from callqa.checks.text import load_pack
from callqa.errors import ConfigError
from callqa.measures.metrics import CallMetrics
from callqa.scoring.rubric import NA_RULES, Rubric, RubricItem, RubricSection
from callqa.sentiment import CallSentiment
from callqa.types import CheckResult, ItemScore, SectionScore, Transcript


def _na_reason(item: RubricItem, ctx: CheckContext) -> str | None:
    """Why ``item`` is "na" by one of its ``na_if`` rules, or None."""
    for rule in item.na_if:
        if rule == "no_audio" and not ctx.has_audio:
            return NA_RULES[rule]
        if rule == "no_complaint" and has_complaint(ctx) is False:
            return NA_RULES[rule]
    return None


def run_checks(
    rubric: Rubric,
    transcript: Transcript,
    metrics: CallMetrics,
    *,
    has_audio: bool,
    phrase_packs: Sequence[str] = (),
    sentiment: CallSentiment | None = None,
) -> tuple[CheckResult, ...]:
    """Run every item's check on one call, in rubric order.

    Evidence times are clamped to the call, ``[0, metrics.duration_s]`` (a check that looks a
    second around a moment must not quote a time before the call starts).

    Parameters
    ----------
    rubric : Rubric
    transcript : Transcript
        The unredacted transcript.
    metrics : CallMetrics
    has_audio : bool
        False when scoring a transcript file (audio checks answer "na").
    phrase_packs : sequence of str
        Extra user phrase packs (e.g. from the config), merged after the rubric's.
    sentiment : CallSentiment or None
        The sentiment stage's result (the ``outcome.*`` checks and pressure read it).

    Raises
    ------
    ConfigError
        An item's check is not in :func:`callqa.checks.registry`.
    """
    checks = registry()
    packs = list(rubric.phrase_packs) + list(phrase_packs)
    n_words = sum(len(s.words) or len(s.text.split()) for s in transcript.segments)
    if n_words < rubric.min_words:
        why = f"too little speech was transcribed to judge the call ({n_words} words)"
        return tuple(not_applicable(item.check, why) for _, item in rubric.items)
    out = []
    for _, item in rubric.items:
        fn = phrase_item if item.kind == "phrases" else checks.get(item.check)
        if fn is None:
            raise ConfigError(f"rubric {rubric.name!r}: no check {item.check!r} is installed")
        params = {**defaults().get(item.check, {}), **item.params, "phrase_packs": packs}
        if item.kind == "phrases":
            params["id"] = item.check
        ctx = CheckContext(
            transcript, metrics, has_audio=has_audio, params=params, sentiment=sentiment
        )
        reason = _na_reason(item, ctx)
        result = not_applicable(item.check, reason) if reason else fn(ctx)
        out.append(result.clamped(metrics.duration_s) if metrics.duration_s > 0 else result)
    return tuple(out)


def _weighted(items: Sequence[ItemScore]) -> float | None:
    scored = [i for i in items if i.verdict != "na" and i.score is not None]
    total = sum(i.weight for i in scored)
    if not scored or total <= 0:
        return None
    return 100.0 * sum(i.weight * float(i.score or 0.0) for i in scored) / total


def score_checks(
    rubric: Rubric, checks: Sequence[CheckResult], language: str | None = None
) -> tuple[tuple[SectionScore, ...], float | None, tuple[str, ...]]:
    """Weight check results into section scores, an overall score and the auto-failed items.

    Returns
    -------
    sections : tuple of SectionScore
        Score 0-100 = weighted mean of the section's non-"na" items x 100 (None if all "na").
    overall : float in [0, 100] or None
        Weighted mean over every non-"na" item x 100, capped at ``rubric.auto_fail_cap`` when an
        auto-fail item failed with confidence >= ``rubric.auto_fail_min_confidence``; None when
        every item is "na" and none auto-failed, or when ``language`` (the call's, when given)
        has no phrase pack: the items that read the words cannot be judged, and a score of the
        audio items alone would not compare with other calls' (Whisper took the synthetic
        Norwegian sample call for Latin, and it scored 88 on 4 of 19 items).
    auto_failed : tuple of str
        Ids of auto-fail items whose verdict is a confident "fail" (a result without a
        confidence counts as confident).

    An item without a result in ``checks`` counts as "na". :func:`withheld_auto_fails` lists
    the auto-fail items that failed without enough confidence to cap the score.
    """
    by_id = {c.id: c for c in checks}
    sections = []
    every: list[ItemScore] = []
    for section in rubric.sections:
        items = tuple(_item_score(section, item, by_id.get(item.check)) for item in section.items)
        every += items
        sections.append(SectionScore(section.id, section.title, _round(_weighted(items)), items))
    unsure = set(withheld_auto_fails(rubric, checks))
    failed = tuple(
        i.id for i in every if i.auto_fail and i.verdict == "fail" and i.id not in unsure
    )
    overall = _weighted(every) if language is None or load_pack(language) else None
    if failed:
        overall = (
            min(overall, rubric.auto_fail_cap) if overall is not None else rubric.auto_fail_cap
        )
    return tuple(sections), _round(overall), failed


def withheld_auto_fails(rubric: Rubric, checks: Sequence[CheckResult]) -> tuple[str, ...]:
    """Auto-fail items whose "fail" has a confidence below ``rubric.auto_fail_min_confidence``:
    they count as an ordinary failed item, do not cap the score, and are listed for review."""
    auto = {item.check for _, item in rubric.items if item.auto_fail}
    return tuple(
        c.id
        for c in checks
        if c.id in auto
        and c.verdict == "fail"
        and c.confidence is not None
        and c.confidence < rubric.auto_fail_min_confidence
    )


def _item_score(section: RubricSection, item: RubricItem, result: CheckResult | None) -> ItemScore:
    verdict = result.verdict if result else "na"
    score = result.score if result and verdict != "na" else None
    return ItemScore(
        id=item.check,
        section=section.id,
        title=item.title,
        weight=item.weight,
        verdict=verdict,
        score=score,
        auto_fail=item.auto_fail,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
