"""Where a quote repeats redacted text: every run of tokens that a quote shares with the
spans' original text ("surfaces"), found in one pass over the quote.

A quote (an evidence sentence, a string in a check's details) may start or end in the middle
of a number, so whole-surface matches are not enough: every maximal run of tokens the quote
shares with some surface is a candidate. A suffix automaton over the surfaces' tokens
(Blumer et al. 1985; the generalised form for many strings) recognises every contiguous run
of every surface, so the runs of a quote of n tokens are found in O(n), and building it costs
O(total surface tokens): redaction stays linear however many numbers a long transcript holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from callqa.words.tokens import Token


@dataclass(frozen=True)
class Surface:
    """The original text of one piece of a span, who said it and when."""

    placeholder: str
    text: str
    tokens: tuple[str, ...]
    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class Run:
    """Quote tokens ``[start, start + len(tokens))`` found in ``surface``.

    Attributes
    ----------
    start : int
        Index of the run's first token in the quote.
    tokens : tuple of str
        The run's tokens.
    char_start, char_end : int
        Character offsets ``[start, end)`` of the run in the quote.
    surface : Surface
        A surface that contains the run.
    whole : bool
        The run is exactly one surface's tokens.
    last : bool
        The run ends with the quote's last token.
    """

    start: int
    tokens: tuple[str, ...]
    char_start: int
    char_end: int
    surface: Surface
    whole: bool
    last: bool


class SurfaceIndex:
    """A generalised suffix automaton over the token sequences of ``surfaces``.

    Parameters
    ----------
    surfaces : sequence of Surface
        Each surface's ``tokens`` are added as one string of the automaton.
    """

    def __init__(self, surfaces: Sequence[Surface]) -> None:
        self.surfaces = tuple(surfaces)
        self._whole = {s.tokens: s for s in self.surfaces}
        self._next: list[dict[str, int]] = [{}]
        self._link = [-1]
        self._length = [0]
        self._owner = [-1]  # a surface that contains every string of the state
        self._longest = max((len(s.tokens) for s in self.surfaces), default=0)
        for n, surface in enumerate(self.surfaces):
            last = 0
            for token in surface.tokens:
                last = self._extend(last, token, n)

    def _new(self, length: int, owner: int, nxt: dict[str, int], link: int) -> int:
        self._next.append(nxt)
        self._link.append(link)
        self._length.append(length)
        self._owner.append(owner)
        return len(self._length) - 1

    def _split(self, p: int, c: str, q: int) -> int:
        """Clone ``q`` (reached from ``p`` by ``c``) so that the clone's longest string is one
        token longer than ``p``'s; redirect ``p`` and its suffix links to the clone."""
        nxt, link = self._next, self._link
        clone = self._new(self._length[p] + 1, self._owner[q], dict(nxt[q]), link[q])
        link[q] = clone
        while p != -1 and nxt[p].get(c) == q:
            nxt[p][c] = clone
            p = link[p]
        return clone

    def _extend(self, last: int, c: str, owner: int) -> int:
        nxt, link, length = self._next, self._link, self._length
        if c in nxt[last]:  # the run is known already (another surface shares it)
            q = nxt[last][c]
            return q if length[q] == length[last] + 1 else self._split(last, c, q)
        cur = self._new(length[last] + 1, owner, {}, 0)
        p = last
        while p != -1 and c not in nxt[p]:
            nxt[p][c] = cur
            p = link[p]
        if p != -1:
            q = nxt[p][c]
            link[cur] = q if length[p] + 1 == length[q] else self._split(p, c, q)
        return cur

    def runs(self, tokens: Iterable[Token]) -> Iterator[Run]:
        """The maximal runs of ``tokens`` that occur in a surface (matching statistics).

        For each position, the longest run of tokens ending there that some surface contains;
        a run is given where the next token does not extend it. One pass, keeping only the
        last few tokens (as many as the longest surface has): the quote may be very long.
        """
        nxt, link, length = self._next, self._link, self._length
        recent: deque[Token] = deque(maxlen=max(1, self._longest))
        state, size = 0, 0
        ending: tuple[int, int, int] | None = None  # (length, state, index) of the last run
        index = -1
        for index, token in enumerate(tokens):
            c = token.text
            while state and c not in nxt[state]:
                state = link[state]
                size = length[state]
            if c in nxt[state]:
                state, size = nxt[state][c], size + 1
            else:
                state, size = 0, 0
            if ending is not None and size != ending[0] + 1:
                yield self._run(ending, recent, last=False)
            ending = (size, state, index) if size else None
            recent.append(token)
        if ending is not None:
            yield self._run(ending, recent, last=True)

    def _run(self, ending: tuple[int, int, int], recent: deque[Token], *, last: bool) -> Run:
        size, state, index = ending
        run = list(recent)[-size:]
        texts = tuple(t.text for t in run)
        whole = self._whole.get(texts)
        surface = whole or self.surfaces[self._owner[state]]
        return Run(
            index - size + 1, texts, run[0].start, run[-1].end, surface, whole is not None, last
        )
