"""Reads for compression: a project's profiles, the latest finished sweep of a profile's
current version, and the cached compressed texts with their project-level ratios."""

from typing import Any

from django.db.models import BigIntegerField, Count, F, Sum
from django.db.models.functions import Cast

from annotation.models import (
    CompressedText,
    CompressionProfile,
    Item,
    Job,
    JobKind,
    JobStatus,
    Project,
)
from annotation.text_selectors import SHOWN_TEXT


def compression_profiles(*, project: Project):
    return CompressionProfile.objects.filter(project=project).order_by("pk")


def compression_profile_get(*, project: Project, profile_id: Any) -> CompressionProfile | None:
    """The project's profile with this id; None for anything else (another project's, junk)."""
    if (
        isinstance(profile_id, bool)
        or not isinstance(profile_id, int)
        or not 0 < profile_id < 2**63
    ):
        return None
    return CompressionProfile.objects.filter(project=project, pk=profile_id).first()


def compression_latest_sweep(*, profile: CompressionProfile) -> Job | None:
    """The newest succeeded compression job of the profile's *current* version."""
    return (
        Job.objects.filter(
            project_id=profile.project_id,
            kind=JobKind.COMPRESSION,
            status=JobStatus.SUCCEEDED,
            result__profile=profile.pk,
            result__version=profile.version,
        )  # fmt: skip
        .order_by("-finished_at", "-pk")
        .first()
    )


def compression_sweep_result(*, job: Job) -> dict[str, Any]:
    """A finished sweep's result (``proposed``, ``settings``...): never None for the jobs
    ``compression_latest_sweep`` returns, which it matched on their result."""
    result = job.result
    if not isinstance(result, dict):
        raise ValueError(f"Job {job.pk} is not a finished compression sweep.")
    return result


def compression_levels(*, job: Job) -> list[float]:
    """The levels a sweep measured (and cached), level 0 (the originals) first."""
    return [0.0, *(float(s["level"]) for s in (job.result or {}).get("settings", []))]


def compression_ratios(
    *, profile: CompressionProfile, version: int, level: float
) -> dict[str, Any]:
    """Project-level tokens before and after, token ratio and attention ratio (sum of L^2
    after over before) of the cached texts at ``level``; level 0 gives ratios of 1."""
    rows = CompressedText.objects.filter(profile=profile, version=version)
    if level > 0:
        rows = rows.filter(level=level)
    else:  # the originals: one measured level's rows give every item's original count
        first = rows.order_by("level").values_list("level", flat=True).first()
        rows = rows.filter(level=first if first is not None else 0.0)
    before_, after_ = Cast("tokens_original", BigIntegerField()), Cast("tokens", BigIntegerField())
    totals = rows.aggregate(
        items=Count("pk"), before=Sum(before_), after=Sum(after_),
        square_before=Sum(before_ * before_), square_after=Sum(after_ * after_),
    )  # fmt: skip
    before, after = totals["before"] or 0, totals["after"] or 0
    square_before, square_after = totals["square_before"] or 0, totals["square_after"] or 0
    if level == 0:
        after, square_after = before, square_before
    return {
        "items": totals["items"] or 0,
        "tokens_original": before,
        "tokens": after,
        "token_ratio": after / before if before else 1.0,
        "attention_ratio": square_after / square_before if square_before else 1.0,
    }


def compressed_by_item(*, profile: CompressionProfile, version: int, level: float,
                       item_ids: list[int]) -> dict[int, CompressedText]:  # fmt: skip
    """The cached rows of these items, by item id (items compressed after the sweep lack one)."""
    rows = CompressedText.objects.filter(profile=profile, version=version, level=level,
                                         item_id__in=item_ids)  # fmt: skip
    return {row.item_id: row for row in rows}


def compression_sample(*, profile: CompressionProfile, level: float, limit: int = 10):
    """The first ``limit`` cached items at ``level`` with the text they were compressed from
    (a reviewer's redacted copy where there is one), most reduced first (what the profile
    removes is what a manager needs to see)."""
    rows = (
        CompressedText.objects.filter(profile=profile, version=profile.version, level=level)
        .annotate(removed=F("tokens_original") - F("tokens"))
        .order_by("-removed", "item_id")[:limit]
    )
    texts = dict(Item.objects.filter(pk__in=[r.item_id for r in rows])
                 .annotate(shown=SHOWN_TEXT).values_list("pk", "shown"))  # fmt: skip
    return [(row, texts.get(row.item_id, "")) for row in rows]
