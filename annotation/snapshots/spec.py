"""The curation spec: which items and labels a snapshot holds, and how it is split.

``spec_parse`` turns untrusted JSON into a frozen ``SnapshotSpec`` or raises a
Django ``ValidationError`` whose keys are the fields at fault, so the API can
answer 400 naming them.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

LABEL_SOURCES = ("final", "every")
SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_SPLITS = {"train": 0.8, "validation": 0.1, "test": 0.1}
FIELDS = frozenset(
    {"label_source", "min_agreement", "min_consensus_quality", "exclude_open_issues",
     "only_reviewed", "labels", "splits", "stratify", "seed", "exclude", "redact_pii",
     "originals", "annotator_names", "compression", "include_original"}
)  # fmt: skip
# What ``exclude`` may name: kinds of the latest audit's findings (annotation.audit_selectors).
AUDIT_EXCLUSIONS = ("duplicates", "near_duplicates", "conflicts", "pii", "outliers",
                    "low_information")  # fmt: skip


@dataclass(frozen=True)
class SnapshotSpec:
    """A validated curation spec.

    label_source: "final" gives one row per item with its best label (the
    reviewer's, else the consensus, else the annotators' majority); "every"
    gives one row per annotation.
    min_agreement: the share of an item's annotations (reviews aside) that give its
    majority label set; when set, items nobody annotated are left out.
    min_consensus_quality: the label-quality job's consensus quality of the item.
    labels: the label names to keep, or None for every label.
    splits: ratios per split name, summing to 1.
    exclude: kinds of the latest audit's findings whose items are left out (a duplicate
    group keeps one member); findings a reviewer kept do not exclude anything.
    redact_pii: rows carry the text with the personal data the latest audit found replaced.
    originals: rows carry the original text of items a reviewer redacted (managers only,
    checked by ``snapshot_create``); without it they carry the redacted copy.
    annotator_names: rows and lineage name annotators by username (managers only); without
    it, by stable pseudonyms (``annotator-1``, ...).
    compression: ``{"profile": id, "level": x | "proposed"}`` as asked; once the snapshot is
    created, ``{"profile", "version", "level", "job"}`` resolved against the profile's latest
    sweep (``annotation.services.compression.snapshot_compression``). Rows then carry the
    compressed text with ``tokens`` and ``tokens_original``.
    include_original: compressed rows also carry ``original_text``.
    """

    label_source: str = "final"
    min_agreement: float | None = None
    min_consensus_quality: float | None = None
    exclude_open_issues: bool = False
    only_reviewed: bool = False
    labels: tuple[str, ...] | None = None
    splits: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPLITS))
    stratify: bool = True
    seed: int = 0
    exclude: tuple[str, ...] = ()
    redact_pii: bool = False
    originals: bool = False
    annotator_names: bool = False
    compression: dict[str, Any] | None = None
    include_original: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels) if self.labels is not None else None
        data["exclude"] = list(self.exclude)
        return data


def spec_parse(data: Mapping[str, Any] | None, *, label_names: Iterable[str]) -> SnapshotSpec:
    """Validate ``data`` against the project's ``label_names``; every bad field is reported."""
    data = dict(data or {})
    errors: dict[str, str] = {}
    for key in sorted(set(data) - FIELDS):
        errors[key] = f"Unknown spec field {key!r}; the fields are {', '.join(sorted(FIELDS))}."
    values: dict[str, Any] = {}

    source = data.get("label_source", "final")
    if source not in LABEL_SOURCES:
        errors["label_source"] = f"Must be one of {', '.join(LABEL_SOURCES)}, not {source!r}."
    values["label_source"] = source
    for name in ("min_agreement", "min_consensus_quality"):
        values[name] = _fraction(data.get(name), name, errors)
    for name in ("exclude_open_issues", "only_reviewed", "stratify", "redact_pii",
                 "originals", "annotator_names", "include_original"):  # fmt: skip
        default = name == "stratify"
        value = data.get(name, default)
        if not isinstance(value, bool):
            errors[name] = "Must be true or false."
        values[name] = value
    if values["redact_pii"] is True and values["originals"] is True:
        errors["originals"] = "A snapshot cannot both redact personal data and keep originals."
    values["labels"] = _labels(data.get("labels"), set(label_names), errors)
    values["splits"] = _splits(data.get("splits"), errors)
    values["exclude"] = _exclusions(data.get("exclude"), errors)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        errors["seed"] = "Must be an integer from 0 to 2**32 - 1."
    values["seed"] = seed
    values["compression"] = _compression(data.get("compression"), errors)
    if values["include_original"] is True and values["compression"] is None:
        errors["include_original"] = "Only a compressed snapshot carries the original text too."
    if values["redact_pii"] is True and values["compression"] is not None:
        errors["redact_pii"] = "A snapshot is either redacted or compressed, not both (yet)."
    if errors:
        raise ValidationError({key: [message] for key, message in errors.items()})
    return SnapshotSpec(**values)


def _compression(value: Any, errors: dict[str, str]) -> dict[str, Any] | None:
    """The shape of ``{"profile": id, "level": x | "proposed"}``; the service checks that the
    profile exists and that the level was measured."""
    if value is None:
        return None
    profile = value.get("profile") if isinstance(value, dict) else None
    level = value.get("level", "proposed") if isinstance(value, dict) else None
    if (not isinstance(value, dict) or set(value) - {"profile", "level"}
            or isinstance(profile, bool) or not isinstance(profile, int)
            or not 0 < profile < 2**63):  # fmt: skip
        errors["compression"] = 'Must be {"profile": <id>, "level": <0..1> or "proposed"}.'
        return None
    if level != "proposed" and (
        isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level <= 1
    ):
        errors["compression"] = 'The level must be a number from 0 to 1, or "proposed".'
        return None
    return {"profile": profile, "level": level if level == "proposed" else float(level)}


def _exclusions(value: Any, errors: dict[str, str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(v in AUDIT_EXCLUSIONS for v in value):
        errors["exclude"] = f"Must be a list of {', '.join(AUDIT_EXCLUSIONS)}."
        return ()
    return tuple(sorted(set(value)))


def _fraction(value: Any, name: str, errors: dict[str, str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        errors[name] = "Must be a number from 0 to 1, or null."
        return None
    return float(value)


def _labels(value: Any, known: set[str], errors: dict[str, str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        errors["labels"] = "Must be a non-empty list of label names, or null for all."
        return None
    unknown = [v for v in value if v not in known]
    if unknown:
        errors["labels"] = (
            f"Unknown label {unknown[0]!r}; the project's labels are {', '.join(sorted(known))}."
        )
        return None
    return tuple(dict.fromkeys(value))


def _splits(value: Any, errors: dict[str, str]) -> dict[str, float]:
    if value is None:
        return dict(DEFAULT_SPLITS)
    if not isinstance(value, dict) or not value:
        errors["splits"] = f"Must be an object of ratios keyed by {', '.join(SPLIT_NAMES)}."
        return {}
    unknown = [k for k in value if k not in SPLIT_NAMES]
    if unknown:
        errors["splits"] = f"Unknown split {unknown[0]!r}; use {', '.join(SPLIT_NAMES)}."
        return {}
    ratios = value.values()
    if not all(isinstance(r, (int, float)) and not isinstance(r, bool) and r >= 0 for r in ratios):
        errors["splits"] = "Every ratio must be a number >= 0."
        return {}
    total = sum(ratios)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        errors["splits"] = f"The ratios must sum to 1; they sum to {total:g}."
        return {}
    # Canonical order and no empty splits: equal specs give equal hashes.
    return {name: float(value[name]) for name in SPLIT_NAMES if value.get(name, 0) > 0}
