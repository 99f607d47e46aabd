"""The compression job, and the profile rules ``learning`` gives ``annotation``.

One seam, as everywhere in ``learning.services``: load the labeled items' texts and labels,
call the pure sweep (``learning.compress.sweep``), then compress every item of the project
at each measured level and cache the results (``annotation.services.compression``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from annotation.jobs.registry import JobRejected
from annotation.models import CompressionProfile, Item, Job, Project
from annotation.services.compression import compressed_texts_prune, compressed_texts_replace
from annotation.text_selectors import SHOWN_TEXT
from learning.compress import DEFAULT_PROFILE, Profile, ProfileError, count_tokens, sweep
from learning.services.training_data import label_targets, training_labels

MIN_LABELED = 10  # fewer labeled items make a 5-fold macro-F1 noise
MIN_PER_CLASS = 2
# The sweep cross-validates the model 5 times per level: 5,000 labeled items took 166 s on
# this machine, so larger projects are measured on a seeded sample of this many (the job's
# time limit is 600 s). Every item is still compressed and cached.
MAX_SWEEP_ITEMS = 10_000
DEFAULT_TOLERANCE = 0.01


def profile_problems(spec: Any) -> list[tuple[str, str, str]]:
    """The pure profile validation's problems as (field, code, message)."""
    try:
        Profile.from_dict(spec)
    except ProfileError as exc:
        return [(p.field, p.code, p.message) for p in exc.problems]
    return []


def default_filters() -> list[dict[str, Any]]:
    return DEFAULT_PROFILE.to_dict()["filters"]


def labeled_shortfall(*, project: Project, n_labels: int, counts: np.ndarray) -> str | None:
    """Why a project cannot be swept yet, or None (the job fails with this message)."""
    if project.multi_label:
        return "The compression sweep measures single-label projects only."
    if project.data_type != "text":
        return "Only text projects can be compressed."
    enough = int((counts >= MIN_PER_CLASS).sum())
    if n_labels < MIN_LABELED or enough < 2:
        return (
            f"The sweep needs at least {MIN_LABELED} labeled items and two labels with "
            f"{MIN_PER_CLASS} items each; the project has {n_labels} labeled items and "
            f"{enough} such labels."
        )
    return None


def compression_job_handler(job: Job, report_progress: Callable[[float], None]) -> dict:
    """Sweep the profile named in ``job.params`` (at its version when the job runs, which
    the result records), then cache every item at every measured level."""
    project = job.project
    profile = CompressionProfile.objects.filter(project=project, pk=job.params["profile"]).first()
    if profile is None:
        raise JobRejected("The compression profile was deleted.", {"profile": None})
    try:
        spec = Profile.from_dict({"name": profile.name, "filters": profile.filters})
    except ProfileError as exc:
        raise JobRejected(f"The profile is not valid: {exc}", {"profile": profile.pk}) from exc
    if any(name == "model" for name, _ in spec.filters):
        raise JobRejected(
            "The sweep cannot measure the model filter (it needs a model fitted per fold); "
            "remove it from the profile.", {"profile": profile.pk},
        )  # fmt: skip
    names = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    training = training_labels(project=project)
    y = label_targets(training, names=names, multi_label=project.multi_label)
    # The text everyone reads (a reviewer's redacted copy where there is one): the cache is
    # shown to people who may not read originals.
    rows = list(Item.objects.filter(project=project, content_deleted_at__isnull=True)
                .annotate(shown=SHOWN_TEXT).order_by("pk").values_list("pk", "shown"))  # fmt: skip
    texts_by_id = {pk: text or "" for pk, text in rows}
    keep = np.asarray([int(pk) in texts_by_id for pk in training.item_ids], dtype=bool)
    if not project.multi_label:  # items whose content was deleted keep labels, not text
        y = y[keep]
    counts = np.bincount(y, minlength=len(names)) if not project.multi_label else np.zeros(0)
    shortfall = labeled_shortfall(project=project, n_labels=int(keep.sum()), counts=counts)
    if shortfall:
        raise JobRejected(shortfall, {"profile": profile.pk, "labeled": int(keep.sum())})
    ids = training.item_ids[keep]
    if len(ids) > MAX_SWEEP_ITEMS:
        chosen = np.sort(np.random.default_rng(project.seed).choice(len(ids), MAX_SWEEP_ITEMS,
                                                                    replace=False))  # fmt: skip
        ids, y = ids[chosen], y[chosen]
    texts = [texts_by_id[int(pk)] for pk in ids]
    report_progress(0.1)
    measured = sweep(texts, y, profile=spec, n_classes=len(names), seed=project.seed,
                     tolerance=float(job.params.get("tolerance", DEFAULT_TOLERANCE)))  # fmt: skip
    report_progress(0.7)
    levels = [s["level"] for s in measured["settings"]]
    _cache(profile, spec, levels, rows, report_progress)
    compressed_texts_prune(profile=profile, version=profile.version)
    report_progress(1.0)
    return {
        "profile": profile.pk,
        "version": profile.version,
        "baseline": measured["baseline"],
        "settings": [{k: s[k] for k in ("level", "tokens", "token_ratio", "attention_ratio",
                                        "macro_f1")} for s in measured["settings"]],
        "proposed": measured["proposed"],
    }  # fmt: skip


def _cache(profile: CompressionProfile, spec: Profile, levels: list[float],
           rows: list[tuple[int, str]], report_progress: Callable[[float], None]) -> None:  # fmt: skip
    """Compress every item of the project at each level (corpus filters fitted on all of
    them) and cache the texts, their token counts and kept segments."""
    ids, texts = [r[0] for r in rows], [r[1] or "" for r in rows]
    before = count_tokens(texts)
    for step, level in enumerate(levels, start=1):
        edits = spec.build(level).fit_transform(texts)
        after = count_tokens([e.text for e in edits])
        compressed_texts_replace(
            profile=profile, version=profile.version, level=level,
            rows=[(pk, e.text, int(a), int(b), [list(s) for s in e.segments])
                  for pk, e, a, b in zip(ids, edits, after, before, strict=True)],
        )  # fmt: skip
        report_progress(0.7 + 0.3 * step / len(levels))
