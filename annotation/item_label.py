"""The one rule that decides an item's label, and how much its annotators agree on it.

Training, snapshots, the label-issue job, adaptive overlap and the review page all call
``decide_label`` (or ``majority`` / ``agreement``), so a model never trains on one label while
the exported snapshot says another. Pure Python: no Django, no database.

Precedence: a reviewer's ``final`` labels, else the ``consensus`` the label-quality job wrote,
else the majority of the votes.

The majority:
- single-label: the most frequent label; a tie goes to the label that comes first in the
  project's label order, so the result never depends on the order votes arrived in;
- multi-label: every label that at least half of the votes applied (majority per label),
  listed in label order.

Names outside the project's label set (a label removed after it was used) are ignored
everywhere, and a vote left with no known name is not a vote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Source = Literal["final", "consensus", "majority", ""]


@dataclass(frozen=True)
class LabelDecision:
    """One item's training label.

    Attributes
    ----------
    labels : the label names, in label order; empty when nothing decides a label.
    source : which input decided it: ``"final"``, ``"consensus"``, ``"majority"``, or ``""``.
    agreement : share of the votes whose label set equals the votes' majority, in [0, 1];
        None when there are no votes.
    n_votes : how many votes counted.
    """

    labels: tuple[str, ...]
    source: Source
    agreement: float | None
    n_votes: int


def known_names(names: Iterable[str] | str | None, order: Sequence[str]) -> tuple[str, ...]:
    """``names`` restricted to the label set, deduplicated, in label order."""
    if not names:
        return ()
    given = _as_set(names)
    return tuple(name for name in order if name in given)


def majority(votes: Sequence[tuple[str, ...]], *, multi_label: bool,
             order: Sequence[str]) -> tuple[str, ...]:  # fmt: skip
    """The majority of ``votes`` (each already passed through ``known_names``)."""
    votes = [vote for vote in votes if vote]
    if not votes:
        return ()
    # Every name is in ``order``: the callers pass votes through ``known_names`` first.
    rank = {name: i for i, name in enumerate(order)}
    if multi_label:
        counts = Counter(name for vote in votes for name in vote)
        return tuple(
            sorted((n for n, c in counts.items() if 2 * c >= len(votes)), key=rank.__getitem__)
        )
    counts = Counter(vote[0] for vote in votes)
    best = max(counts.values())
    return (min((n for n, c in counts.items() if c == best), key=rank.__getitem__),)


def agreement(votes: Iterable[Iterable[str] | str | None], *, multi_label: bool) -> float | None:
    """Share of ``votes`` that equal their majority; None without votes.

    The share does not depend on the label order (a tie changes which label wins, not how many
    voted for it), so no order is needed: the hot path that decides adaptive overlap calls this
    without reading the project's labels.
    """
    votes = list(votes)
    names = sorted({name for vote in votes if vote for name in _as_set(vote)})
    ballots = _ballots(votes, names, multi_label)
    if not ballots:
        return None
    chosen = majority(ballots, multi_label=multi_label, order=names)
    return sum(1 for vote in ballots if vote == chosen) / len(ballots)


def _ballots(votes, order: Sequence[str], multi_label: bool) -> list[tuple[str, ...]]:
    """Votes as label-ordered tuples of known names, empty ones dropped; one name each when the
    project is single-label."""
    ballots = [vote for vote in (known_names(v, order) for v in votes) if vote]
    return ballots if multi_label else [vote[:1] for vote in ballots]


def _as_set(names: Iterable[str] | str) -> set[str]:
    return {names} if isinstance(names, str) else set(names)


def decide_label(
    *,
    final: Iterable[str] | str | None,
    consensus: Iterable[str] | str | None,
    votes: Iterable[Iterable[str] | str | None],
    multi_label: bool,
    order: Sequence[str],
) -> LabelDecision:
    """An item's label, where it came from, and its annotators' agreement.

    Parameters
    ----------
    final, consensus : stored label lists (a bare string is one label), or None.
    votes : each annotation's labels, review decisions excluded (they are ``final``).
    multi_label : whether the project takes several labels per item.
    order : the project's label names in label order.
    """
    ballots = _ballots(votes, order, multi_label)
    voted = majority(ballots, multi_label=multi_label, order=order)
    share = agreement(ballots, multi_label=multi_label)
    stored: tuple[tuple[Iterable[str] | str | None, Source], ...] = (
        (final, "final"),
        (consensus, "consensus"),
    )
    for value, source in stored:
        names = known_names(value, order)
        if names:
            return LabelDecision(names if multi_label else names[:1], source, share, len(ballots))
    return LabelDecision(voted, "majority" if voted else "", share, len(ballots))
