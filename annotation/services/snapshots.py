"""Snapshots: cut a numbered, immutable training set from a project, build its files in a
job, and compare two of them.

The files live in ``settings.QUORUM_EXPORT_DIR/<project>/<version>/``; the API only
serves them. Building twice from the same spec and data gives byte-identical JSON Lines
and so the same content hash (the sha256 of that file).
"""

import contextlib
import ctypes
import dataclasses
import errno
import gc
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from annotation.audit_selectors import audit_curation
from annotation.compression_selectors import compression_ratios
from annotation.jobs.dispatch import job_enqueue
from annotation.models import Job, JobKind, Project, Snapshot, SnapshotStatus
from annotation.selectors import CAN_MANAGE, user_role
from annotation.services.compression import snapshot_compression
from annotation.snapshots import parquet_files
from annotation.snapshots.batches import scratch_batches
from annotation.snapshots.compressed import CompressedSource
from annotation.snapshots.data_card import data_card_collect
from annotation.snapshots.lineage import Tally, dataset_card, lineage_collect
from annotation.snapshots.parquet_files import HuggingFaceWriter
from annotation.snapshots.rows import first_pass, row_columns
from annotation.snapshots.side import SideProcess
from annotation.snapshots.spec import SnapshotSpec, spec_parse
from annotation.snapshots.writers import FORMAT_FILES, open_writers


class SnapshotDiskFull(Exception):
    """The export folder's disk filled up during the build (nothing of it was kept)."""


ProgressFn = Callable[[float], None]
# Spec fields only a manager may set: they put what others never see into the files.
MANAGER_ONLY = ("originals", "annotator_names")


def snapshot_managers_only(snapshot: Snapshot) -> bool:
    """Whether only managers may download the snapshot and read its lineage (its spec asked
    for ``MANAGER_ONLY``)."""
    return any(snapshot.spec.get(name) for name in MANAGER_ONLY)


def snapshot_create(*, project: Project, spec: dict[str, Any] | None, user=None,
                    enqueue: bool = True) -> Snapshot:  # fmt: skip
    """Validate the spec, number the snapshot and queue the job that builds it.

    Raises ``ValidationError`` keyed by the spec fields at fault, and ``PermissionDenied``
    when someone other than a manager asks for what only managers see (``MANAGER_ONLY``; no
    ``user``: the command line, trusted). With ``enqueue=False`` the job is only recorded
    (the management command runs it in-process).
    """
    parsed = spec_parse(spec, label_names=project.labels.values_list("name", flat=True))
    asked = [name for name in MANAGER_ONLY if getattr(parsed, name)]
    if asked and user is not None and user_role(user=user, project=project) not in CAN_MANAGE:
        raise PermissionDenied(f"Only the project's managers can ask for {' or '.join(asked)}.")
    if parsed.compression is not None:
        resolved = snapshot_compression(project=project, asked=parsed.compression)
        parsed = dataclasses.replace(parsed, compression=resolved)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # numbers in turn
        version = (project.snapshots.aggregate(v=Max("version"))["v"] or 0) + 1
        snapshot = Snapshot.objects.create(
            project=project, version=version, spec=parsed.as_dict(), created_by=user
        )
        params = {"snapshot": snapshot.pk, "version": version}
        if enqueue:
            job, _ = job_enqueue(project=project, kind=JobKind.SNAPSHOT, params=params, user=user)
        else:
            job = Job.objects.create(project=project, kind=JobKind.SNAPSHOT, params=params,
                                     created_by=user)  # fmt: skip
        snapshot.job = job
        snapshot.save(update_fields=["job"])
    return snapshot


def snapshot_directory(snapshot: Snapshot) -> Path:
    return Path(settings.QUORUM_EXPORT_DIR) / str(snapshot.project_id) / str(snapshot.version)


def snapshot_file(snapshot: Snapshot, fmt: str) -> Path:
    return snapshot_directory(snapshot) / FORMAT_FILES[fmt]


def snapshot_job_handler(job: Job, report_progress: ProgressFn) -> dict[str, Any]:
    """Build the snapshot's files (the job runner's entry point for kind "snapshot")."""
    snapshot = Snapshot.objects.select_related("project").get(pk=job.params["snapshot"])
    if snapshot.status == SnapshotStatus.READY:  # a redelivered message: the work is done
        return _result(snapshot)
    Snapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.RUNNING)
    try:
        snapshot_build(snapshot=snapshot, report_progress=report_progress)
    except Exception as exc:
        Snapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.FAILED)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise SnapshotDiskFull(
                f"The disk holding the exports is full, so snapshot v{snapshot.version} could "
                "not be written; nothing of it was kept. Free some space, then cut it again."
            ) from exc
        raise
    return _result(snapshot)


def _result(snapshot: Snapshot) -> dict[str, Any]:
    return {"snapshot": snapshot.pk, "version": snapshot.version, "rows": snapshot.row_count,
            "content_hash": snapshot.content_hash, "stats": snapshot.stats}  # fmt: skip


def snapshot_build(*, snapshot: Snapshot, report_progress: ProgressFn | None = None) -> Snapshot:
    """Stream the rows once into every format, then record stats, lineage and hash.

    The first pass selects the rows into a scratch file; the second writes the formats on
    two cores (``annotation.snapshots.side``). Files are written to a scratch directory and
    renamed into place, so a crashed build, or a failed side process, leaves nothing a
    download could serve.
    """
    progress = report_progress or (lambda fraction: None)
    final = snapshot_directory(snapshot)
    work = final.parent / f".v{snapshot.version}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with _few_collections():
            _build_into(snapshot, work, progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # already renamed away when the build succeeded
    progress(1.0)
    return snapshot


@contextmanager
def _few_collections() -> Iterator[None]:
    """Run the build with the objects alive before it frozen out of the garbage collector and
    a higher first-generation threshold: the build allocates a dict or two per row, none in a
    cycle, and every full collection walked the worker's whole heap; that was a sixth of the
    build's time. The memory the build holds stays bounded either way."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(before[0], 50_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _build_into(snapshot: Snapshot, work: Path, progress: ProgressFn) -> None:
    project = snapshot.project
    spec = SnapshotSpec(**{**snapshot.spec, "labels": _tuple(snapshot.spec.get("labels")),
                            "exclude": tuple(snapshot.spec.get("exclude") or ())})  # fmt: skip
    compressed = CompressedSource.from_spec(spec.compression,
                                            include_original=spec.include_original)  # fmt: skip
    curation = audit_curation(project=project, exclude=spec.exclude, redact_pii=spec.redact_pii)
    total = max(1, project.items.count())
    tally = Tally()
    folder = f"{_slug(project.name)}-v{snapshot.version}"
    columns, scratch = row_columns(spec), work / "rows.scratch"

    def on_item(item) -> None:
        tally.add_item(item)
        if tally.items % 20_000 == 0:
            progress(0.5 * tally.items / total)

    side = SideProcess(work)  # its imports overlap the first pass
    try:
        splits = first_pass(project=project, spec=spec, scratch=scratch, on_item=on_item,
                            curation=curation, compressed=compressed)  # fmt: skip
        _release_heap()
        side.run(scratch=scratch, splits=splits, split_names=list(spec.splits), directory=work,
                 columns=columns, folder=folder,
                 row_group=parquet_files.ROW_GROUP)  # read now: tests set it smaller  # fmt: skip
        writers = open_writers(work, data_type=project.data_type, columns=columns)
        for batch in scratch_batches(scratch, splits, list(spec.splits)):
            before = tally.rows
            tally.add_batch(batch)
            for writer in writers.values():
                writer.write_batch(batch)
            if tally.rows // 20_000 != before // 20_000:  # a write to the job row each 20,000 rows
                progress(0.5 + 0.45 * min(1.0, tally.rows / max(1, tally.items)))
        for writer in writers.values():
            writer.close()
        side.wait()
    finally:
        side.stop()
    scratch.unlink()
    (work / "splits.bin").unlink()
    content_hash = writers["jsonl"].sha256.hexdigest()
    stats = tally.stats()
    lineage = lineage_collect(project=project, spec=spec, tally=tally)
    lineage.update(rows=stats["rows"], items=stats["items"], content_hash=content_hash,
                   audit=curation.lineage())  # fmt: skip
    if compressed is not None:
        lineage["compression"] = _compression_lineage(snapshot, compressed)
    lineage["data_card"] = data_card_collect(
        project=project, spec=spec, stats=stats, lineage=lineage, curation=curation,
        redacted_items=tally.redacted, redacted_types=tally.redacted_types,
    )  # fmt: skip
    card = dataset_card(title=f"{project.name} v{snapshot.version}", stats=stats,
                        lineage=lineage, content_hash=content_hash)  # fmt: skip
    HuggingFaceWriter(work / FORMAT_FILES["hf"], folder=folder).close(card)
    (work / "lineage.json").write_text(json.dumps(lineage, indent=2, default=str))
    final = snapshot_directory(snapshot)
    shutil.rmtree(final, ignore_errors=True)
    work.rename(final)
    snapshot.stats, snapshot.lineage, snapshot.content_hash = stats, lineage, content_hash
    snapshot.row_count, snapshot.status = stats["rows"], SnapshotStatus.READY
    snapshot.save(update_fields=["stats", "lineage", "content_hash", "row_count", "status"])


def _release_heap() -> None:
    """Hand the memory the first pass freed back to the OS (glibc keeps it for reuse
    otherwise, about 7 MB at 1M rows): the side process's memory adds to ours from here."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _compression_lineage(snapshot: Snapshot, compressed: CompressedSource) -> dict[str, Any]:
    """The profile version and level the texts come from, and the project-level token and
    attention ratios of that level (over every cached item, not only the exported ones)."""
    spec = snapshot.spec["compression"]
    profile = snapshot.project.compression_profiles.filter(pk=compressed.profile).first()
    ratios = (compression_ratios(profile=profile, version=compressed.version,
                                 level=compressed.level) if profile else {})  # fmt: skip
    return {"profile": compressed.profile, "profile_name": profile.name if profile else None,
            "version": compressed.version, "level": compressed.level,
            "asked_level": spec.get("asked"), "job": spec.get("job"),
            "project": ratios, "uncompressed_items": compressed.missing}  # fmt: skip


def _tuple(labels: list[str] | None) -> tuple[str, ...] | None:
    return tuple(labels) if labels is not None else None


def _slug(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return "-".join(part for part in slug.split("-") if part) or "snapshot"


def _item_labels(path: Path) -> Iterator[tuple[str, str]]:
    """(item id, its labels as one string) from a snapshot's JSON Lines; an item's rows
    are consecutive, so "every" snapshots compare all of an item's labels."""
    with path.open(encoding="utf-8") as lines:
        rows = (json.loads(line) for line in lines)
        for item_id, group in groupby(rows, key=lambda row: row["id"]):
            yield item_id, ";".join(sorted("|".join(row["labels"]) for row in group))


def snapshot_diff(a: Snapshot, b: Snapshot, *, limit: int = 100) -> dict[str, Any]:
    """Items added, removed and relabeled from ``a`` to ``b`` (counts and the first ``limit``).

    Holds one dict of ``a``'s item ids (about 100 bytes per item); ``b`` streams.
    """
    if a.project_id != b.project_id:
        raise ValidationError({"b": ["Both snapshots must belong to the same project."]})
    before = dict(_item_labels(snapshot_file(a, "jsonl")))
    added: list[str] = []
    relabeled: list[dict[str, str]] = []
    counts = {"added": 0, "removed": 0, "relabeled": 0, "unchanged": 0}
    for item_id, labels in _item_labels(snapshot_file(b, "jsonl")):
        old = before.pop(item_id, None)
        if old is None:
            counts["added"] += 1
            if len(added) < limit:
                added.append(item_id)
        elif old != labels:
            counts["relabeled"] += 1
            if len(relabeled) < limit:
                relabeled.append({"id": item_id, "before": old, "after": labels})
        else:
            counts["unchanged"] += 1
    counts["removed"] = len(before)
    return {"a": a.pk, "b": b.pk, "a_version": a.version, "b_version": b.version, **counts,
            "examples": {"added": added, "removed": list(before)[:limit],
                         "relabeled": relabeled}}  # fmt: skip
