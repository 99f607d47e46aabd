"""Compression profiles: create, change (a new version when the filters change), and the
``default`` profile every project has.

The filters are checked by the rules ``learning`` registers (``annotation.compression_rules``);
their problems become a ``ValidationError`` keyed by the field at fault
(``filters[0].threshold``), which the API answers as 400.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotation.compression_rules import default_filters, profile_problems
from annotation.compression_selectors import (
    compression_latest_sweep,
    compression_levels,
    compression_profile_get,
    compression_sweep_result,
)
from annotation.jobs.dispatch import job_enqueue
from annotation.models import (
    DEFAULT_PROFILE_NAME,
    CompressedText,
    CompressionProfile,
    Item,
    Job,
    JobKind,
    JobStatus,
    Project,
)

MAX_NAME = 100
DEFAULT_TOLERANCE = 0.01


def compression_profile_default(*, project: Project) -> CompressionProfile:
    """The project's ``default`` profile, created with the registered filters on first use
    (so every project has one, old ones included, without a data migration)."""
    profile = CompressionProfile.objects.filter(project=project, name=DEFAULT_PROFILE_NAME).first()
    if profile is not None:
        return profile
    try:
        with transaction.atomic():
            return CompressionProfile.objects.create(
                project=project, name=DEFAULT_PROFILE_NAME, filters=default_filters()
            )
    except IntegrityError:  # a concurrent request created it first
        return CompressionProfile.objects.get(project=project, name=DEFAULT_PROFILE_NAME)


def _validated(name: Any, filters: Any) -> None:
    errors: dict[str, list[str]] = {}
    if isinstance(name, str) and len(name) > MAX_NAME:
        errors["name"] = [f"At most {MAX_NAME} characters."]
    for field, _code, message in profile_problems({"name": name, "filters": filters}):
        errors.setdefault(field or "non_field_errors", []).append(message)
    if errors:
        raise ValidationError(errors)


def _name_taken(project: Project, name: str) -> ValidationError:
    return ValidationError({"name": [f"The project already has a profile named {name!r}."]})


def compression_profile_create(*, project: Project, name: Any, filters: Any) -> CompressionProfile:
    """A new profile at version 1; ``ValidationError`` naming every bad field."""
    _validated(name, filters)
    compression_profile_default(project=project)  # "default" is always the project's own
    try:
        with transaction.atomic():
            return CompressionProfile.objects.create(project=project, name=name, filters=filters)
    except IntegrityError:
        raise _name_taken(project, name) from None


@transaction.atomic
def compression_profile_update(
    *, profile: CompressionProfile, name: Any = None, filters: Any = None
) -> CompressionProfile:
    """Rename and/or refilter; the version grows only when the filters really change."""
    locked = CompressionProfile.objects.select_for_update().get(pk=profile.pk)
    new_name = locked.name if name is None else name
    new_filters = locked.filters if filters is None else filters
    _validated(new_name, new_filters)
    if new_name != locked.name and locked.name == DEFAULT_PROFILE_NAME:
        raise ValidationError({"name": ["The default profile keeps its name."]})
    if new_filters != locked.filters:
        locked.version += 1
        locked.filters = new_filters
    locked.name = new_name
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise _name_taken(profile.project, new_name) from None
    return locked


CACHE_BATCH = 2000
CachedRow = tuple[int, str, int, int, list[list[int]]]  # item, text, tokens, original, segments


@transaction.atomic
def compressed_texts_replace(
    *, profile: CompressionProfile, version: int, level: float, rows: list[CachedRow]
) -> int:
    """Cache ``rows`` as the profile version's texts at ``level``, replacing any earlier
    ones of that key: a rerun overwrites, never duplicates. Originals are not touched.

    Items whose content was deleted while the job ran are left out (their compressed text
    is content too)."""
    CompressedText.objects.filter(profile=profile, version=version, level=level).delete()
    gone = set(Item.objects.filter(project_id=profile.project_id, content_deleted_at__isnull=False)
               .values_list("pk", flat=True))  # fmt: skip
    rows = [row for row in rows if row[0] not in gone]
    CompressedText.objects.bulk_create(
        (
            CompressedText(
                profile=profile,
                version=version,
                level=level,
                item_id=item_id,
                text=text,
                tokens=tokens,
                tokens_original=original,
                segments=segments,
            )  # fmt: skip
            for item_id, text, tokens, original, segments in rows
        ),
        batch_size=CACHE_BATCH,
    )
    return len(rows)


def compressed_texts_prune(*, profile: CompressionProfile, version: int) -> int:
    """Drop the cached texts of the profile's versions before ``version``: a snapshot can
    only ask for the current version's levels, so nothing reads them again."""
    deleted, _ = CompressedText.objects.filter(profile=profile, version__lt=version).delete()
    return deleted


def compression_job_start(
    *, project: Project, profile_id: Any = None, tolerance: Any = DEFAULT_TOLERANCE, user=None
) -> tuple[Job, bool]:
    """Queue a sweep of one of the project's profiles (its ``default`` when none is named).

    ``tolerance`` is the macro-F1 loss allowed against the uncompressed baseline (0.01 is one
    point). Whether there are enough labels is the job's to say (it reads them when it runs).
    """
    if profile_id is None:
        profile = compression_profile_default(project=project)
    else:
        found = compression_profile_get(project=project, profile_id=profile_id)
        if found is None:
            raise ValidationError({"profile": ["The project has no such compression profile."]})
        profile = found
    if (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
            or not 0 <= tolerance < 1):  # fmt: skip
        raise ValidationError(
            {"tolerance": ["Must be a number from 0 to below 1 (0.01: a point)."]}
        )
    params = {"profile": profile.pk, "version": profile.version, "tolerance": float(tolerance)}
    # One sweep per profile version at a time (two would overwrite each other's cache):
    # asking again while one waits or runs joins it.
    pending = Job.objects.filter(
        project=project, kind=JobKind.COMPRESSION, status__in=(JobStatus.QUEUED, JobStatus.RUNNING),
        params__profile=profile.pk, params__version=profile.version,
    ).first()  # fmt: skip
    if pending is not None:
        return pending, False
    return job_enqueue(project=project, kind=JobKind.COMPRESSION, params=params, user=user)


def snapshot_compression(*, project: Project, asked: dict[str, Any]) -> dict[str, Any]:
    """Resolve a snapshot's ``{"profile", "level"}`` against the profile's latest finished
    sweep of its current version: ``{"profile", "version", "level", "job"}``.

    The sweep's levels are the ones whose texts are cached, so only they (and 0, the
    originals) can be exported; ``"proposed"`` is the sweep's proposal.
    """
    profile = compression_profile_get(project=project, profile_id=asked["profile"])
    if profile is None:
        raise ValidationError({"compression": ["The project has no such compression profile."]})
    job = compression_latest_sweep(profile=profile)
    if job is None:
        raise ValidationError({"compression": [
            f"Profile {profile.name!r} v{profile.version} has no finished compression job; "
            "run one first (POST /api/projects/{id}/jobs {\"kind\": \"compression\"})."]})  # fmt: skip
    measured = compression_levels(job=job)
    level = asked["level"]
    if level == "proposed":
        level = float(compression_sweep_result(job=job)["proposed"])
    if level not in measured:
        raise ValidationError({"compression": [
            f"Level {level:g} was not measured; the latest sweep measured "
            f"{', '.join(f'{m:g}' for m in measured)}."]})  # fmt: skip
    return {"profile": profile.pk, "version": profile.version, "level": level, "job": job.pk,
            "asked": asked["level"]}  # fmt: skip
