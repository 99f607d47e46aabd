"""The audit job: load a project's items in bulk, run the pure audits, write the findings.

What it looks for (``learning.audit``): exact and near-duplicate groups (texts by normalized
content and MinHash LSH at the project's ``duplicate_threshold``; images by content hash and
perceptual hash), duplicates whose labels differ (conflicts), outliers in the project's
feature space, low-information texts, class imbalance and under-labeled metadata slices, and
personal data. The findings replace the open ones of earlier runs
(``annotation.services.audit.findings_replace``); the run's result holds the summary the
dashboard and ``GET /api/projects/{id}/audit`` show.
"""

from __future__ import annotations

import hashlib
import io
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import imagehash
import numpy as np
from django.core.files.storage import default_storage
from PIL import Image

from annotation.label_selectors import predicted_label_counts, training_labels
from annotation.models import FindingKind, Item, Job, Project
from annotation.selectors import featurizer_kind
from annotation.services.audit import FindingDraft, findings_replace
from learning.audit.duplicates import (
    Group,
    exact_groups,
    image_hash_groups,
    near_duplicate_groups,
    normalize_text,
)
from learning.audit.low_information import low_information_reasons
from learning.audit.outliers import knn_outliers, project_blocks
from learning.audit.pii import find_pii
from learning.featurize import TextFeaturizer
from learning.services.label_issues_features import IDF_SAMPLE, featurize_items

RARE_LABEL_COUNT = 5  # fewer labeled items than this: too rare for the model to learn
SLICE_MIN_SHARE = 0.05  # a metadata slice this share of the pool or more ...
SLICE_UNDER = 0.5  # ... is under-labeled below half its pool share among labeled items
SLICE_MAX_VALUES = 20  # meta fields with more distinct values are not slices


def audit_job_handler(job: Job, report_progress: Callable[[float], None]) -> dict:
    project = job.project
    clock, timings, peaks = time.perf_counter(), {}, {}  # seconds and the process's peak RSS (MB)

    def lap(name: str, progress: float) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name], clock = round(now - clock, 3), now
        peaks[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        report_progress(progress)

    rows = list(Item.objects.filter(project=project, content_deleted_at__isnull=True)
                .order_by("pk").values_list("pk", "text", "image", "meta"))  # fmt: skip
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    labels = _decided(project)
    lap("load", 0.1)
    drafts: list[FindingDraft] = []
    exact, near = _duplicates(project, rows)
    drafts += [_group_draft(FindingKind.DUPLICATE, g, ids) for g in exact]
    drafts += [_group_draft(FindingKind.NEAR_DUPLICATE, g, ids) for g in near]
    drafts += _conflicts(exact + near, ids, labels)
    lap("duplicates", 0.4)
    drafts += _outliers(project, ids, [r[1] for r in rows])
    lap("outliers", 0.6)
    if project.data_type == "text":
        drafts += _low_information([r[1] for r in rows], ids)
        drafts += _pii(rows)
    lap("text", 0.85)
    imbalance, chart = _imbalance(project, rows, labels)
    drafts += imbalance
    written = findings_replace(job=job, drafts=drafts)
    lap("write", 1.0)
    counts = Counter(d.kind for d in drafts)
    in_groups = {int(ids[m]) for g in exact + near for m in g.members}
    return {
        "items": len(rows),
        "findings": written,
        "summary": {kind: counts.get(kind, 0) for kind in FindingKind.values},
        "duplicate_rate": round(len(in_groups) / len(rows), 4) if rows else 0.0,
        "pii_by_type": dict(
            Counter(
                e["type"]
                for d in drafts
                if d.kind == FindingKind.PII
                for e in d.evidence["entities"]
            )
        ),  # fmt: skip
        "imbalance": chart,
        "duplicate_threshold": project.duplicate_threshold,
        "timings": timings,
        "peak_rss_mb": peaks,
    }


def _decided(project: Project) -> dict[int, tuple[str, ...]]:
    training = training_labels(project=project, exclude_open_issues=False)
    return dict(zip(training.item_ids.tolist(), training.labels, strict=True))


def _duplicates(project: Project, rows: list[tuple]) -> tuple[list[Group], list[Group]]:
    if project.data_type == "image":
        digests, hashes = _image_hashes(rows)
        exact = exact_groups(digests)
        same = {frozenset(g.members) for g in exact}
        near = [g for g in image_hash_groups(hashes) if frozenset(g.members) not in same]
        return exact, near
    texts = [r[1] for r in rows]
    exact = exact_groups([normalize_text(t) for t in texts])
    return exact, near_duplicate_groups(texts, threshold=project.duplicate_threshold)


def _image_hashes(rows: list[tuple]) -> tuple[list[str], np.ndarray]:
    """Each image's content hash and 64-bit perceptual hash, the file read once."""
    digests, hashes = [], np.zeros(len(rows), dtype=np.uint64)
    for index, (_, _, image, _) in enumerate(rows):
        if not image:
            digests.append("")
            continue
        with default_storage.open(image, "rb") as fh:
            content = fh.read()
        digests.append(hashlib.sha256(content).hexdigest())
        with Image.open(io.BytesIO(content)) as opened:
            hashes[index] = np.uint64(int(str(imagehash.phash(opened)), 16))
    return digests, hashes


def _group_draft(kind: str, group: Group, ids: np.ndarray) -> FindingDraft:
    members = [int(ids[m]) for m in group.members]
    return FindingDraft(kind, members, group.score, {"size": len(members),
                                                      "similarity": group.score})  # fmt: skip


def _conflicts(groups: list[Group], ids: np.ndarray, labels: dict) -> list[FindingDraft]:
    """Duplicate groups whose labeled members carry different labels."""
    drafts = []
    for group in groups:
        members = [int(ids[m]) for m in group.members]
        given = {m: list(labels[m]) for m in members if m in labels}
        if len({tuple(v) for v in given.values()}) > 1:
            evidence = {"labels": {str(k): v for k, v in given.items()}, "similarity": group.score}
            drafts.append(FindingDraft(FindingKind.CONFLICT, members, group.score, evidence))
    return drafts


def _outliers(project: Project, ids: np.ndarray, texts: list[str]) -> list[FindingDraft]:
    if ids.size < 20:
        return []
    if featurizer_kind(project) == "text":
        X = _projected_text_features(project, texts)
    else:
        X, _ = featurize_items(project=project, item_ids=ids)
    found = knn_outliers(X, seed=project.seed)
    top = float(found.scores[found.flagged].max()) if found.flagged.size else 1.0
    return [
        FindingDraft(
            FindingKind.OUTLIER,
            [int(ids[i])],
            float(found.scores[i]) / top,
            {"distance": round(float(found.scores[i]), 4), "cutoff": round(found.cutoff, 4)},
        )  # fmt: skip
        for i in found.flagged.tolist()
    ]


def _projected_text_features(project: Project, texts: list[str]) -> np.ndarray:
    """(N, 64) projections of the project's text features (IDF fitted on a seeded sample, as
    for label issues), made 10k texts at a time: 100k texts never hold their whole TF-IDF."""
    rng = np.random.default_rng(project.seed)
    sample = rng.choice(len(texts), size=min(len(texts), IDF_SAMPLE), replace=False)
    featurizer = TextFeaturizer().fit([texts[i] for i in sample])
    return project_blocks(featurizer.iter_transform(texts), n_features=featurizer.n_output_features,
                          seed=project.seed)  # fmt: skip


def _low_information(texts: list[str], ids: np.ndarray) -> list[FindingDraft]:
    """One finding per reason ("empty", "repeated template (40 items)", ...), with its items."""
    by_reason: dict[str, list[int]] = defaultdict(list)
    for index, reason in enumerate(low_information_reasons(texts)):
        if reason:
            by_reason[reason].append(int(ids[index]))
    n = max(len(texts), 1)
    return [FindingDraft(FindingKind.LOW_INFORMATION, members, len(members) / n,
                         {"reason": reason, "size": len(members)})
            for reason, members in by_reason.items()]  # fmt: skip


def _pii(rows: list[tuple]) -> list[FindingDraft]:
    """One finding per item with personal data; spans only (the text stays in the item)."""
    drafts = []
    for pk, text, *_ in rows:
        entities = find_pii(text) if text else []
        if entities:
            spans = [{"item": pk, "type": e.type, "start": e.start, "end": e.end}
                     for e in entities]  # fmt: skip
            drafts.append(FindingDraft(FindingKind.PII, [pk], 1.0, {"entities": spans}))
    return drafts


def _imbalance(project: Project, rows: list[tuple], labels: dict) -> tuple[list, dict]:
    """Labels too rare to learn, labeled vs predicted shares, and under-labeled meta slices."""
    names = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    given = Counter(name for chosen in labels.values() for name in chosen)
    predicted = Counter(predicted_label_counts(project=project))
    n_given, n_pred = max(sum(given.values()), 1), max(sum(predicted.values()), 1)
    chart = {"labels": names, "labeled_share": [round(given[n] / n_given, 4) for n in names],
             "predicted_share": [round(predicted[n] / n_pred, 4) for n in names]}  # fmt: skip
    drafts = [
        FindingDraft(
            FindingKind.IMBALANCE,
            [],
            1 - given[name] / RARE_LABEL_COUNT,
            {
                "label": name,
                "labeled": given[name],
                "why": f"{given[name]} labeled items: too rare to learn",
            },
        )  # fmt: skip
        for name in names
        if labels and given[name] < RARE_LABEL_COUNT
    ]
    return drafts + _slices(rows, labels), chart


def _slices(rows: list[tuple], labels: dict) -> list[FindingDraft]:
    """Values of a meta field whose share of the labeled items is under half their pool share."""
    if not labels:
        return []
    values: dict[str, Counter] = defaultdict(Counter)
    labeled: dict[str, Counter] = defaultdict(Counter)
    for pk, _, _, meta in rows:
        for key, value in (meta or {}).items():
            if isinstance(value, str | int | bool):
                values[key][str(value)] += 1
                if pk in labels:
                    labeled[key][str(value)] += 1
    drafts = []
    for key, counts in values.items():
        if len(counts) > SLICE_MAX_VALUES:
            continue
        total, total_labeled = sum(counts.values()), max(sum(labeled[key].values()), 1)
        for value, count in counts.items():
            pool_share, labeled_share = count / total, labeled[key][value] / total_labeled
            if pool_share >= SLICE_MIN_SHARE and labeled_share < SLICE_UNDER * pool_share:
                drafts.append(FindingDraft(
                    FindingKind.IMBALANCE, [], 1 - labeled_share / pool_share,
                    {"meta": key, "value": value, "pool_share": round(pool_share, 4),
                     "labeled_share": round(labeled_share, 4),
                     "why": f"meta {key}={value} is under-labeled"},
                ))  # fmt: skip
    return drafts
