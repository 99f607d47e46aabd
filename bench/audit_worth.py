"""What the audit is worth: the project's model trained on a snapshot with and without the
audit's exclusions, scored on the same held-out texts.

    python bench/audit_worth.py                     # 5 seeds
    python bench/audit_worth.py --seeds 3 --conflict-rate 0.5

SMS spam (../shared/data/uci-sms-spam, 5,574 labeled texts). The texts are grouped by the
audit's own duplicate rules (exact after normalization, and near-duplicate groups), and 30%
of the groups are held out with their true labels, so no copy of a test text is trained on.
The rest becomes a project, made messy the way merged sources and repeated imports are:
``--copies`` originals get one to three near-duplicate copies each (``bench/audit.edit``:
about one word in ten changed), and ``--conflict-rate`` of those copies carry the other
label (a second source, or an annotator, who disagreed). The project is imported with those
labels, the audit job runs in-process through the job runner at the project's default settings, and snapshots
are cut three ways: the default spec (raw), ``exclude: ["duplicates", "near_duplicates"]``
(deduplicated: a duplicate group keeps one member), and those plus ``"conflicts"`` (curated:
duplicate groups whose labels disagree go). The project's model
(``TextFeaturizer`` + ``fit_classifier``, as the active-learning job fits it) is fitted on
every row of each snapshot and scored on the held-out texts: macro-F1 and spam recall.

Prints a table (per seed and the mean), writes bench/results/audit_worth.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
DATA = ROOT.parent / "shared" / "data" / "uci-sms-spam" / "SMSSpamCollection"
RESULTS = ROOT / "bench" / "results" / "audit_worth.json"
EXCLUDE = ["duplicates", "near_duplicates", "conflicts"]
DEDUPLICATE = ["duplicates", "near_duplicates"]


def labeled_sms() -> list[tuple[str, str]]:
    if not DATA.exists():
        sys.exit(f"bench/audit_worth.py needs the reference data at {DATA} (../shared/data).")
    rows = [line.rstrip("\n").split("\t", 1) for line in DATA.open(encoding="utf-8")]
    return [(text, label) for label, text in rows]


def group_split(texts: list[str], seed: int, held_out: float = 0.3) -> tuple[list[int], list[int]]:
    """Indices of the project's texts and of the held-out texts, split by duplicate group."""
    from learning.audit.duplicates import exact_groups, near_duplicate_groups, normalize_text

    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    groups = exact_groups([normalize_text(t) for t in texts]) + near_duplicate_groups(texts)
    for group in groups:
        for member in group.members[1:]:
            parent[find(member)] = find(group.members[0])
    roots = sorted({find(i) for i in range(len(texts))})
    random.Random(seed).shuffle(roots)
    test_roots = set(roots[: round(held_out * len(roots))])
    train = [i for i in range(len(texts)) if find(i) not in test_roots]
    test = [i for i in range(len(texts)) if find(i) in test_roots]
    return train, test


def messy_objects(
    pairs, train, *, copies: int, conflict_rate: float, seed: int
) -> tuple[list[dict], int]:
    """The project's import: the training texts, plus near-duplicate copies of ``copies`` of
    them, ``conflict_rate`` of which carry the other label. Returns the objects and the
    number of conflicting copies."""
    from audit import edit

    rng = random.Random(seed)
    vocabulary = sorted({w for text, _ in pairs for w in text.split() if w.isalpha()})
    objects = [{"id": f"t{i}", "text": pairs[i][0], "label": pairs[i][1]} for i in train]
    long_enough = [i for i in train if len(pairs[i][0].split()) >= 6]
    conflicts = 0
    for n, i in enumerate(rng.sample(long_enough, min(copies, len(long_enough)))):
        text, label = pairs[i]
        for k in range(rng.randint(1, 3)):
            if rng.random() < conflict_rate:
                label_of_copy = "ham" if label == "spam" else "spam"
                conflicts += 1
            else:
                label_of_copy = label
            objects.append({"id": f"c{n}-{k}", "text": edit(text, rng, vocabulary),
                            "label": label_of_copy})  # fmt: skip
    rng.shuffle(objects)
    return objects, conflicts


def setup_django(workdir: Path) -> None:
    os.environ.update(DEBUG="1", LOG_LEVEL="WARNING", QUORUM_VAR_DIR=str(workdir / "var"),
                      CELERY_TASK_ALWAYS_EAGER="1", SQLITE_PATH=str(workdir / "bench.sqlite3"),
                      DJANGO_SETTINGS_MODULE="quorum.settings", SECRET_KEY="bench",
                      QUORUM_AUDIT_AFTER_IMPORT="0")  # fmt: skip
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def snapshot_rows(project, spec: dict) -> list[tuple[str, str]]:
    from annotation.services.snapshots import snapshot_build, snapshot_create, snapshot_file

    snapshot = snapshot_create(project=project, spec=spec, enqueue=False)
    snapshot_build(snapshot=snapshot)
    with snapshot_file(snapshot, "jsonl").open(encoding="utf-8") as fh:
        return [(row["text"], row["label"]) for row in map(json.loads, fh)]


def score(rows: list[tuple[str, str]], test: list[tuple[str, str]], seed: int) -> dict:
    import numpy as np
    from sklearn.metrics import f1_score, recall_score

    from learning.classifier import fit_classifier
    from learning.featurize import TextFeaturizer

    names = ["ham", "spam"]
    texts, labels = zip(*rows, strict=True)
    featurizer = TextFeaturizer().fit(list(texts))
    y = np.array([names.index(label) for label in labels])
    model = fit_classifier(featurizer.transform(list(texts)), y, multi_label=False, seed=seed)
    test_texts, test_labels = zip(*test, strict=True)
    truth = np.array([names.index(label) for label in test_labels])
    predicted = model.predict(featurizer.transform(list(test_texts)))
    return {"rows": len(rows),
            "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
            "spam_recall": round(float(recall_score(truth, predicted, pos_label=1)), 4)}  # fmt: skip


def one_seed(pairs, seed: int, args) -> dict:
    from annotation.jobs.runner import job_execute
    from annotation.models import Job, JobKind, Project
    from annotation.services.importing import import_objects
    from annotation.services.projects import project_create

    train, test = group_split([text for text, _ in pairs], seed)
    objects, conflicts = messy_objects(pairs, train, copies=args.copies,
                                       conflict_rate=args.conflict_rate, seed=seed)  # fmt: skip
    project = project_create(creator=None, name=f"worth {seed}", labels=["ham", "spam"],
                             retrain_every=0, label_issues_every=0, agreement_every=0)  # fmt: skip
    assert import_objects(project=project, objects=objects).ok
    started = time.perf_counter()
    job = Job.objects.create(project=project, kind=JobKind.AUDIT)
    audit = job_execute(job_id=job.pk, task_id="bench-audit-worth")  # as a worker runs it
    assert audit is not None, Job.objects.get(pk=job.pk).error
    audit_seconds = time.perf_counter() - started
    held_out = [pairs[i] for i in test]
    raw = score(snapshot_rows(project, {"seed": seed}), held_out, seed)
    deduplicated = score(snapshot_rows(project, {"seed": seed, "exclude": DEDUPLICATE}),
                         held_out, seed)  # fmt: skip
    curated = score(snapshot_rows(project, {"seed": seed, "exclude": EXCLUDE}), held_out, seed)
    Project.objects.filter(pk=project.pk).delete()
    return {"seed": seed, "imported": len(objects), "planted_conflicting_copies": conflicts,
            "held_out": len(held_out), "findings": audit["findings"],
            "audit_seconds": round(audit_seconds, 1),
            "raw": raw, "deduplicated": deduplicated, "curated": curated,
            "delta_macro_f1": round(curated["macro_f1"] - raw["macro_f1"], 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--copies", type=int, default=600,
                        help="originals that get 1-3 near-duplicate copies")  # fmt: skip
    parser.add_argument("--conflict-rate", type=float, default=0.3,
                        help="share of the copies that carry the other label")  # fmt: skip
    args = parser.parse_args()
    pairs = labeled_sms()
    setup_django(Path(tempfile.mkdtemp(prefix="quorum-audit-worth-")))
    runs = []
    print("seed | imported | conflicting copies | rows raw / dedup / curated | macro-F1 raw / "
          "dedup / curated | spam recall raw / dedup / curated | delta curated - raw")  # fmt: skip
    for seed in range(args.seeds):
        r = one_seed(pairs, seed, args)
        runs.append(r)
        print(f"{seed} | {r['imported']} | {r['planted_conflicting_copies']} | "
              f"{r['raw']['rows']} / {r['deduplicated']['rows']} / {r['curated']['rows']} | "
              f"{r['raw']['macro_f1']:.4f} / {r['deduplicated']['macro_f1']:.4f} / "
              f"{r['curated']['macro_f1']:.4f} | {r['raw']['spam_recall']:.4f} / "
              f"{r['deduplicated']['spam_recall']:.4f} / {r['curated']['spam_recall']:.4f} | "
              f"{r['delta_macro_f1']:+.4f}", flush=True)  # fmt: skip
    deltas = [r["delta_macro_f1"] for r in runs]
    summary = {
        "macro_f1_raw": round(statistics.mean(r["raw"]["macro_f1"] for r in runs), 4),
        "macro_f1_deduplicated": round(
            statistics.mean(r["deduplicated"]["macro_f1"] for r in runs), 4),
        "macro_f1_curated": round(statistics.mean(r["curated"]["macro_f1"] for r in runs), 4),
        "delta_mean": round(statistics.mean(deltas), 4),
        "delta_min": min(deltas), "delta_max": max(deltas),
        "seeds_improved": sum(d > 0 for d in deltas),
    }  # fmt: skip
    print(f"\nmean macro-F1 raw {summary['macro_f1_raw']:.4f}, deduplicated "
          f"{summary['macro_f1_deduplicated']:.4f}, curated "
          f"{summary['macro_f1_curated']:.4f}: {summary['delta_mean']:+.4f} "
          f"(min {summary['delta_min']:+.4f}, max {summary['delta_max']:+.4f}; "
          f"better in {summary['seeds_improved']} of {len(runs)} seeds)")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"args": vars(args), "runs": runs, "summary": summary},
                                  indent=1))  # fmt: skip
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
