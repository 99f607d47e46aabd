"""Compression profiles: an ordered, validated list of filters and one aggressiveness knob.

A profile is plain data (``{"name", "filters": [{"name": ..., **params}]}``) so it can be
stored, versioned and sent over an API. ``build(level)`` turns it into a ``Pipeline``:
each filter takes the parameters its ``at_level(level)`` maps the level to, and then the
parameters the spec fixes, which always win. Level 0 is the uncompressed baseline.
Validation problems are data (field, code, message), never a string to parse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from learning.compress.corpus import Boilerplate, NearDuplicates
from learning.compress.markup import Markup
from learning.compress.model_guided import ModelGuided, SentenceScorer
from learning.compress.normalize import Normalize
from learning.compress.repetition import Repetition
from learning.compress.replies import Replies
from learning.compress.spans import Edit, compose, identity

__all__ = [
    "DEFAULT_PROFILE",
    "FILTERS",
    "RATCHET",
    "Pipeline",
    "Profile",
    "ProfileError",
    "Problem",
]


# The filter classes by spec name; each has a ``name`` and a static ``at_level(level)``.
FILTERS: dict[str, type[Any]] = {
    f.name: f
    for f in (Markup, Normalize, Boilerplate, Replies, Repetition, NearDuplicates, ModelGuided)
}
_RUNTIME_ONLY = {"scorer"}
# The sweep's levels: a level runs after each milder one of these (see ``Profile.build``).
RATCHET = (0.25, 0.5, 0.75)  # parameters that are objects, given to build(), never in a spec


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a profile spec."""

    field: str
    code: str
    message: str


class ProfileError(ValueError):
    """A profile spec that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def _spec_params(cls: type) -> dict[str, dataclasses.Field]:
    return {
        f.name: f
        for f in dataclasses.fields(cls)
        if f.init and not f.name.endswith("_") and f.name not in _RUNTIME_ONLY
    }


def _check_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


@dataclass(frozen=True)
class Profile:
    """A validated profile spec; build it from untrusted data with ``from_dict``."""

    name: str
    filters: tuple[tuple[str, Mapping[str, Any]], ...]

    @classmethod
    def from_dict(cls, data: Any) -> Profile:
        """Validate ``{"name", "filters": [...]}``; raise ``ProfileError`` listing every problem."""
        problems: list[Problem] = []
        if not isinstance(data, Mapping):
            raise ProfileError([Problem("", "invalid", "a profile is an object")])
        name = data.get("name", "")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem("name", "required", "a profile needs a non-empty name"))
        unknown_keys = set(data) - {"name", "filters"}
        for key in sorted(unknown_keys):
            problems.append(Problem(key, "unknown", f"unknown profile field {key!r}"))
        raw = data.get("filters")
        if not isinstance(raw, list) or not raw:
            problems.append(Problem("filters", "required", "filters must be a non-empty list"))
            raise ProfileError(problems)
        filters = []
        for i, item in enumerate(raw):
            where = f"filters[{i}]"
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                problems.append(Problem(where, "invalid", "each filter is an object with a name"))
                continue
            fname = item["name"]
            if fname not in FILTERS:
                known = ", ".join(sorted(FILTERS))
                problems.append(
                    Problem(f"{where}.name", "unknown", f"unknown filter {fname!r}; known: {known}")
                )
                continue
            params = {k: v for k, v in item.items() if k != "name"}
            problems += _check_params(FILTERS[fname], params, where)
            filters.append((fname, params))
        if problems:
            raise ProfileError(problems)
        return cls(name=name, filters=tuple(filters))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "filters": [{"name": n, **p} for n, p in self.filters]}

    def build(self, level: float, *, scorer: SentenceScorer | None = None) -> Pipeline:
        """The filters at ``level`` in [0, 1]; 0 builds the empty (uncompressed) pipeline.

        A level runs on the output of every milder ``RATCHET`` level first, so its text is
        that text with more removed, never more kept: filters fitted on what the filters
        before them left cannot agree across levels by themselves (repetition at 1.0 shortens
        a paragraph below ``near_duplicates``' ``min_words`` and so saves it; a header
        dropped at 0.75 makes a footer line rarer than the boilerplate threshold). The
        ``model`` filter runs in the last pass only: repeated, it would compound.
        """
        if not 0 <= level <= 1:
            raise ProfileError([Problem("level", "out_of_range", "level must be in [0, 1]")])
        if level == 0:
            return Pipeline(())
        steps: list[Any] = []
        for milder in (r for r in RATCHET if r < level):
            steps += self._steps(milder, scorer=None, model=False)
        return Pipeline(tuple(steps + self._steps(level, scorer=scorer, model=True)))

    def _steps(self, level: float, *, scorer: SentenceScorer | None, model: bool) -> list[Any]:
        steps = []
        for fname, params in self.filters:
            cls = FILTERS[fname]
            kwargs = {**cls.at_level(level), **params}
            if cls is ModelGuided:
                if not model:
                    continue
                if scorer is None:
                    raise ProfileError(
                        [
                            Problem(
                                "filters",
                                "needs_model",
                                "the model filter needs a fitted model's scorer",
                            )
                        ]
                    )
                kwargs["scorer"] = scorer
            steps.append(cls(**kwargs))
        return steps


def _check_params(cls: type[Any], params: Mapping[str, Any], where: str) -> list[Problem]:
    allowed = _spec_params(cls)
    problems = [
        Problem(
            f"{where}.{k}",
            "unknown",
            f"{cls.name} has no parameter {k!r}; it has {', '.join(sorted(allowed))}",
        )
        for k in params
        if k not in allowed
    ]
    for key, value in params.items():
        if key in allowed and not _check_type(value, allowed[key].default):
            kind = type(allowed[key].default).__name__
            problems.append(Problem(f"{where}.{key}", "invalid_type", f"{key} must be a {kind}"))
    if not problems:
        try:
            cls(**{**cls.at_level(1.0), **params})
        except ValueError as exc:
            problems.append(Problem(where, "invalid_value", str(exc)))
    return problems


@dataclass(frozen=True)
class Pipeline:
    """Filters in order. Corpus filters are fitted on the output of the filters before them."""

    steps: tuple[Any, ...]

    def fit_transform(self, texts: Sequence[str]) -> list[Edit]:
        """Fit the corpus filters on ``texts`` and return each text's composed edit."""
        edits = [identity(t) for t in texts]
        for step in self.steps:
            if getattr(step, "corpus", False):
                step.fit([e.text for e in edits])
            edits = [compose(e, step.apply(e.text)) for e in edits]
        return edits

    def apply(self, text: str) -> Edit:
        """Compress one new item with the already fitted filters."""
        edit = identity(text)
        for step in self.steps:
            edit = compose(edit, step.apply(edit.text))
        return edit


# Normalization goes last: it also tidies the blank lines the deletions before it leave.
DEFAULT_PROFILE = Profile.from_dict(
    {
        "name": "default",
        "filters": [
            {"name": "markup"},
            {"name": "replies"},
            {"name": "boilerplate"},
            {"name": "repetition"},
            {"name": "near_duplicates"},
            {"name": "normalize"},
        ],
    }
)
