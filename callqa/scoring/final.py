"""Final verdicts: a reviewer's verdict over callqa's, and the score they give.

A QA reviewer may overrule callqa on any rubric item of a call. callqa keeps both (the store
never overwrites its own verdict, docs/review.md); the *final* verdict of an item is the latest
human one where there is one, else callqa's. The final score is the same weighting as the
machine score, :func:`callqa.scoring.score.score_checks`, over the final verdicts:

- an item the reviewer judged the same as callqa keeps callqa's item score (a partial pass of
  0.5 stays 0.5);
- an item the reviewer changed scores 1 ("pass"), 0 ("fail") or drops out ("na");
- a reviewer's "fail" of an auto-fail item caps the score: a person's verdict counts as
  confident; an unreviewed auto-fail item caps it exactly when callqa's did
  (``auto_failed``), so without reviews the final score is callqa's own;
- weights, sections and auto-fail flags are the ones the call was scored with (its scorecard's
  sections); only the cap itself (``auto_fail_cap``) is not in a scorecard and comes from the
  rubric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from callqa.scoring.rubric import Rubric, RubricItem, RubricSection
from callqa.scoring.score import score_checks
from callqa.types import CheckResult, ItemScore, SectionScore, Verdict

VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "na")
_HUMAN_SCORE: dict[str, float | None] = {"pass": 1.0, "fail": 0.0, "na": None}


@dataclass(frozen=True)
class HumanVerdict:
    """A reviewer's verdict on one rubric item of one call.

    Attributes
    ----------
    item : str
        The check id ("empathise.apology").
    verdict : {"pass", "fail", "na"}
    reviewer : str
        Who judged it.
    note : str
        Why, in the reviewer's words ("" when none).
    reviewed_at : str
        When, ISO 8601 UTC ("2025-01-31T10:00:00"); when it was recorded if not given.
    """

    item: str
    verdict: Verdict
    reviewer: str
    note: str = ""
    reviewed_at: str = ""


@dataclass(frozen=True)
class FinalScore:
    """A call's scores over its final verdicts, beside callqa's own.

    Attributes
    ----------
    score : float in [0, 100] or None
        The overall score over the final verdicts.
    sections : tuple of SectionScore
        Section scores (and items) over the final verdicts.
    auto_failed : tuple of str
        Auto-fail items whose final verdict caps the score.
    machine_score : float in [0, 100] or None
        callqa's score (the scorecard's).
    human : dict of str -> HumanVerdict
        The reviewer verdicts applied, by item (the latest per item).
    overridden : tuple of str
        Items whose human verdict differs from callqa's, in rubric order.
    """

    score: float | None
    sections: tuple[SectionScore, ...]
    auto_failed: tuple[str, ...]
    machine_score: float | None
    human: dict[str, HumanVerdict] = field(default_factory=dict, hash=False, compare=False)
    overridden: tuple[str, ...] = ()

    @property
    def verdicts(self) -> dict[str, Verdict]:
        """Item id -> final verdict."""
        return {i.id: i.verdict for s in self.sections for i in s.items}


def final_score(
    sections: Sequence[SectionScore],
    *,
    machine_score: float | None,
    auto_failed: Sequence[str],
    human: Mapping[str, HumanVerdict],
    auto_fail_cap: float = 0.0,
) -> FinalScore:
    """Score a call's final verdicts with the weighting of :func:`score_checks`.

    Parameters
    ----------
    sections : sequence of SectionScore
        The scorecard's sections (items with weights, verdicts, scores, auto-fail flags).
    machine_score : float in [0, 100] or None
        The scorecard's score.
    auto_failed : sequence of str
        The scorecard's ``auto_failed`` (callqa's confident auto-fails).
    human : mapping of str -> HumanVerdict
        The latest reviewer verdict per item; items not in the sections are ignored.
    auto_fail_cap : float in [0, 100]
        The rubric's ceiling once an auto-fail item fails (0 in the built-in rubric).

    Returns
    -------
    FinalScore
        With no human verdicts, ``score`` equals callqa's own.
    """
    known = {i.id for s in sections for i in s.items}
    applied = {k: v for k, v in human.items() if k in known}
    if not applied:  # callqa's own numbers, exactly (no re-rounding of stored item scores)
        return FinalScore(machine_score, tuple(sections), tuple(auto_failed), machine_score)
    rubric = _rubric_of(sections, auto_fail_cap)
    checks = [_final_check(item, applied.get(item.id), auto_failed) for _, item in _items(sections)]
    final_sections, score, capped = score_checks(rubric, checks)
    overridden = tuple(
        item.id
        for _, item in _items(sections)
        if item.id in applied and applied[item.id].verdict != item.verdict
    )
    return FinalScore(
        score=score,
        sections=final_sections,
        auto_failed=capped,
        machine_score=machine_score,
        human=applied,
        overridden=overridden,
    )


def _items(sections: Sequence[SectionScore]) -> list[tuple[SectionScore, ItemScore]]:
    return [(s, i) for s in sections for i in s.items]


def _rubric_of(sections: Sequence[SectionScore], cap: float) -> Rubric:
    """The rubric as the call was scored: its sections, weights and auto-fail flags."""
    return Rubric(
        name="as scored",
        sections=tuple(
            RubricSection(
                s.id,
                s.title,
                tuple(RubricItem(i.id, i.title, i.weight, auto_fail=i.auto_fail) for i in s.items),
            )
            for s in sections
        ),
        auto_fail_cap=cap,
    )


def _final_check(
    item: ItemScore, human: HumanVerdict | None, auto_failed: Sequence[str]
) -> CheckResult:
    """The item's final result as :func:`score_checks` reads it (verdict, score, confidence)."""
    if human is not None and human.verdict != item.verdict:
        # a person's verdict is confident (no confidence: see score_checks)
        return CheckResult(item.id, human.verdict, _HUMAN_SCORE[human.verdict])
    if human is not None:
        return CheckResult(item.id, item.verdict, item.score)
    # callqa's own: an auto-fail "fail" it did not apply was too unsure to cap the score
    unsure = item.auto_fail and item.verdict == "fail" and item.id not in auto_failed
    return CheckResult(item.id, item.verdict, item.score, confidence=0.0 if unsure else None)


CALL_LEVEL = ("transcript", "roles", "language")  # scorecard review items about the whole call


def pending_review(review: object, judged: Sequence[str] | set[str]) -> int:
    """How many of a scorecard's ``review`` items (its JSON list) still wait for a person.

    An item a reviewer judged (``judged``: item ids) is no longer pending, and the whole-call
    doubts (:data:`CALL_LEVEL`: the transcript, the roles, the language) end once anyone has
    reviewed the call, as the review queue leaves such a call out. A dashboard had counted 55
    provisional scores where reviewers had settled 45 of them.
    """
    listed = [r for r in review if isinstance(r, Mapping)] if isinstance(review, list) else []
    done = set(judged)
    return sum(
        1
        for r in listed
        if r.get("item") not in done and not (done and r.get("item") in CALL_LEVEL)
    )
