"""Label noise: does the app's label-issues job find the corrupted labels, as well and nearly as
fast as cleanlab called directly? And does CROWDLAB beat majority vote on a simulated crowd?

    python bench/label_noise.py                    # everything (about 15 min on 2 cores)
    python bench/label_noise.py --skip-100k        # without the 100k-item speed run
    python bench/label_noise.py --only-100k        # just the speed run

Noise (seeded): *uniform* flips round(p N) random items to a uniformly random other class;
*class-conditional* flips, within class k, a share p_k of its items to class (k + 1) mod K, with
p_k spread 0.5p..1.5p (mean p). Rates 10/20/30%.
Data: scikit-learn digits (1,797 items; imported as 64-d vector items), the UCI sentiment
sentences (3,000, binary) and the UCI SMS spam set (5,574, binary) from ../shared/data.
App: items imported with their noisy labels through ``POST /api/projects/{id}/import``, the job
started with ``POST /api/projects/{id}/jobs {"kind": "label_issues"}`` (Celery in eager mode: the
worker's code path, in this process), flags read back from ``GET .../label-issues``.
Direct: ``cleanlab.classification.CleanLearning(clf).find_label_issues(X, labels)`` on the same
features with the same classifier and 5 folds. Times: the job's run record (load, featurize,
cross-validate, cleanlab, write) vs the direct call plus the same featurization.
Crowd: 8 simulated annotators (accuracy 0.55-0.95), 3/4/5 of them per item, on digits and
sentiment; consensus accuracy of the app's CROWDLAB consensus vs plain majority vote.
Speed: 100k labeled text items (sentiment sentences, each with three random words appended so
they differ; 10% uniform noise), imported through the API, one job run.
Prints tables, writes bench/results/label_noise.json.
"""

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, RESULTS, app_env, django_setup

RATES = (0.1, 0.2, 0.3)


def setup_django(workdir: Path) -> None:
    django_setup(app_env(workdir / "var", CELERY_TASK_ALWAYS_EAGER="1"))


# --- data and noise ----------------------------------------------------------------------------


def load_sets() -> dict[str, tuple[list, np.ndarray, list[str], str]]:
    """name -> (items' payloads, true labels (N,), class names, payload kind)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    sets = {
        "digits": (
            [(row / 16.0).round(4).tolist() for row in digits.data],
            digits.target.astype(np.int64),
            [str(k) for k in range(10)],
            "vector",
        )
    }
    sentiment = DATA / "uci-sentiment-labelled-sentences"
    if sentiment.exists():
        texts, labels = [], []
        for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
            with (sentiment / name).open(encoding="utf-8") as f:
                for text, label in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                    texts.append(text.strip())
                    labels.append(int(label))
        sets["sentiment"] = (texts, np.array(labels), ["negative", "positive"], "text")
    sms = DATA / "uci-sms-spam" / "SMSSpamCollection"
    if sms.exists():
        rows = [line.rstrip("\n").split("\t", 1) for line in sms.open(encoding="utf-8")]
        sets["sms"] = ([t for _, t in rows], np.array([int(lab == "spam") for lab, _ in rows]),
                       ["ham", "spam"], "text")  # fmt: skip
    return sets


def add_noise(y: np.ndarray, K: int, rate: float, kind: str, rng) -> np.ndarray:
    noisy = y.copy()
    if kind == "uniform":
        flip = rng.choice(y.size, int(round(rate * y.size)), replace=False)
        noisy[flip] = (y[flip] + rng.integers(1, K, flip.size)) % K
        return noisy
    weights = np.linspace(0.5, 1.5, K)
    for k in range(K):
        members = np.flatnonzero(y == k)
        n = int(round(min(0.95, rate * weights[k]) * members.size))
        noisy[rng.choice(members, n, replace=False)] = (k + 1) % K
    return noisy


def prf(flagged: np.ndarray, corrupted: np.ndarray) -> tuple[float, float, float]:
    tp = float((flagged & corrupted).sum())
    p = tp / max(flagged.sum(), 1)
    r = tp / max(corrupted.sum(), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# --- the app -----------------------------------------------------------------------------------


def app_client():
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user, _ = get_user_model().objects.get_or_create(username="bench-lead")
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def app_project(client, user, names: list[str], tag: str):
    from annotation.services.projects import project_create

    return project_create(creator=user, name=f"noise {tag}", labels=names, label_issues_every=0,
                          retrain_every=0, agreement_every=0)  # fmt: skip


def app_import(client, project, payloads, kind: str, labels: list[str | None]) -> None:
    field = "vector" if kind == "vector" else "text"
    rows = [{"id": str(i), field: p, **({"label": lab} if lab else {})}
            for i, (p, lab) in enumerate(zip(payloads, labels, strict=True))]  # fmt: skip
    if kind == "vector":  # a vector item still needs its text field in a text project
        for row in rows:
            row["text"] = f"digit {row['id']}"
    for start in range(0, len(rows), 50_000):
        answer = client.post(f"/api/projects/{project.pk}/import",
                             {"items": rows[start : start + 50_000]}, format="json")  # fmt: skip
        assert answer.status_code == 201, answer.content[:500]


def app_run(client, project) -> tuple[dict, float, set[str]]:
    from annotation.models import Job

    t = time.perf_counter()
    answer = client.post(f"/api/projects/{project.pk}/jobs", {"kind": "label_issues"},
                         format="json")  # fmt: skip
    wall = time.perf_counter() - t
    job = Job.objects.get(pk=answer.json()["id"])
    assert job.status == "succeeded", job.error
    flagged, url = set(), f"/api/projects/{project.pk}/label-issues?status=open"
    while url:
        page = client.get(url).json()
        flagged |= {r["item"]["external_id"] for r in page["results"]}
        url = page["next"]
    return job.result, wall, flagged


# --- cleanlab directly -------------------------------------------------------------------------


def direct_run(payloads, kind: str, noisy: np.ndarray, seed: int = 0) -> tuple[np.ndarray, float]:
    from cleanlab.classification import CleanLearning

    from learning.classifier import make_classifier
    from learning.featurize import TextFeaturizer, vector_features

    t = time.perf_counter()
    if kind == "vector":
        X = vector_features(payloads)
    else:
        X = TextFeaturizer().fit(payloads).transform(payloads)
    learner = CleanLearning(make_classifier(multi_label=False, seed=seed), cv_n_folds=5, seed=seed,
                            verbose=False)  # fmt: skip
    issues = learner.find_label_issues(X, noisy)
    return issues["is_label_issue"].to_numpy(), time.perf_counter() - t


def noise_table(sets, client, user) -> list[dict]:
    rows = []
    for name, (payloads, truth, names, kind) in sets.items():
        for noise in ("uniform", "class-conditional"):
            for rate in RATES:
                rng = np.random.default_rng(int(rate * 100) + (noise == "uniform"))
                noisy = add_noise(truth, len(names), rate, noise, rng)
                corrupted = noisy != truth
                project = app_project(client, user, names, f"{name} {noise} {rate}")
                app_import(client, project, payloads, kind, [names[k] for k in noisy])
                result, wall, flagged_ids = app_run(client, project)
                flagged = np.isin(np.arange(truth.size).astype(str), list(flagged_ids))
                direct_flags, direct_s = direct_run(payloads, kind, noisy)
                p, r, f1 = prf(flagged, corrupted)
                dp, dr, df1 = prf(direct_flags, corrupted)
                job_s = sum(result["timings"].values())
                rows.append({
                    "data": name, "noise": noise, "rate": rate, "n": int(truth.size),
                    "corrupted": int(corrupted.sum()), "app_flagged": int(flagged.sum()),
                    "app_precision": round(p, 3), "app_recall": round(r, 3), "app_f1": round(f1, 3),
                    "direct_flagged": int(direct_flags.sum()), "direct_precision": round(dp, 3),
                    "direct_recall": round(dr, 3), "direct_f1": round(df1, 3),
                    "f1_gap": round(df1 - f1, 3), "app_job_s": round(job_s, 2),
                    "app_request_s": round(wall, 2), "direct_s": round(direct_s, 2),
                    "time_ratio": round(job_s / direct_s, 2), "timings": result["timings"],
                })  # fmt: skip
                print(_line(rows[-1], NOISE_COLUMNS), flush=True)
                project.delete()
    return rows


def crowd_table(sets, client, user, n_annotators: int = 8) -> list[dict]:
    """CROWDLAB (the app's consensus) vs majority vote, 3/4/5 simulated annotators per item."""
    from django.contrib.auth import get_user_model

    from annotation.models import Annotation, Item
    from annotation.services.projects import membership_set
    from learning.label_quality import majority_vote

    accuracy = np.linspace(0.55, 0.95, n_annotators)
    users = [get_user_model().objects.get_or_create(username=f"bench-ann-{a}")[0]
             for a in range(n_annotators)]  # fmt: skip
    rows = []
    for name in ("digits", "sentiment"):
        if name not in sets:
            continue
        payloads, truth, names, kind = sets[name]
        K = len(names)
        for per_item in (3, 4, 5):
            rng = np.random.default_rng(per_item)
            M = np.full((truth.size, n_annotators), -1)
            for i in range(truth.size):
                for a in rng.choice(n_annotators, per_item, replace=False):
                    right = rng.random() < accuracy[a]
                    M[i, a] = truth[i] if right else (truth[i] + rng.integers(1, K)) % K
            project = app_project(client, user, names, f"crowd {name} {per_item}")
            app_import(client, project, payloads, kind, [None] * truth.size)
            for u in users:
                membership_set(project=project, user=u, role="annotator")
            ids = dict(Item.objects.filter(project=project).values_list("external_id", "id"))
            Annotation.objects.bulk_create(
                Annotation(item_id=ids[str(i)], project=project, annotator=users[a],
                           labels=[names[M[i, a]]])
                for i, a in zip(*np.nonzero(M >= 0), strict=True)
            )  # fmt: skip
            result, _, _ = app_run(client, project)
            consensus = dict(Item.objects.filter(project=project)
                             .values_list("external_id", "consensus_labels"))  # fmt: skip
            app = np.array([names.index(consensus[str(i)][0]) for i in range(truth.size)])
            majority, _ = majority_vote(M, n_categories=K)
            rows.append({
                "data": name, "annotators_per_item": per_item, "n": int(truth.size),
                "mean_annotator_accuracy": round(float((M == truth[:, None])[M >= 0].mean()), 3),
                "majority_accuracy": round(float((majority == truth).mean()), 4),
                "crowdlab_accuracy": round(float((app == truth).mean()), 4),
                "method": result["consensus_method"],
            })  # fmt: skip
            print(_line(rows[-1], CROWD_COLUMNS), flush=True)
            project.delete()
    return rows


def speed_run(sets, client, user, n: int = 100_000) -> dict:
    payloads, truth, names, _ = sets["sentiment"]
    rng = np.random.default_rng(7)
    vocabulary = sorted({w for t in payloads for w in t.lower().split()})
    pick = rng.integers(0, len(payloads), n)
    texts = [f"{payloads[j]} {' '.join(rng.choice(vocabulary, 3))}" for j in pick]
    noisy = add_noise(truth[pick], 2, 0.1, "uniform", rng)
    project = app_project(client, user, names, "speed 100k")
    t = time.perf_counter()
    app_import(client, project, texts, "text", [names[k] for k in noisy])
    imported = time.perf_counter() - t
    result, wall, flagged = app_run(client, project)
    corrupted = noisy != truth[pick]
    p, r, f1 = prf(np.isin(np.arange(n).astype(str), list(flagged)), corrupted)
    row = {"n": n, "import_s": round(imported, 1), "job_s": round(sum(result["timings"].values()), 1),
           "request_s": round(wall, 1), "timings": result["timings"], "flagged": len(flagged),
           "precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3)}  # fmt: skip
    row["target_met"] = row["job_s"] < 120
    project.delete()
    return row


NOISE_COLUMNS = ["data", "noise", "rate", "n", "corrupted", "app_precision", "app_recall", "app_f1",
                 "direct_f1", "f1_gap", "app_job_s", "direct_s", "time_ratio"]  # fmt: skip
CROWD_COLUMNS = ["data", "annotators_per_item", "n", "mean_annotator_accuracy",
                 "majority_accuracy", "crowdlab_accuracy", "method"]  # fmt: skip


def _line(row: dict, columns: list[str]) -> str:
    return " | ".join(f"{row[c]!s:>{max(len(c), 6)}}" for c in columns)


def _table(rows: list[dict], columns: list[str]) -> None:
    print(" | ".join(f"{c:>{max(len(c), 6)}}" for c in columns))
    for row in rows:
        print(_line(row, columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-100k", action="store_true")
    parser.add_argument("--only-100k", action="store_true")
    parser.add_argument("--speed-items", type=int, default=100_000)
    parser.add_argument("--data", nargs="*", help="only these sets (digits, sentiment, sms)")
    args = parser.parse_args()
    out: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp))
        sets = load_sets()
        if args.data:
            sets = {k: v for k, v in sets.items() if k in args.data}
        client, user = app_client()
        if not args.only_100k:
            print(" | ".join(f"{c:>{max(len(c), 6)}}" for c in NOISE_COLUMNS))
            out["noise"] = noise_table(sets, client, user)
            print(" | ".join(f"{c:>{max(len(c), 6)}}" for c in CROWD_COLUMNS))
            out["crowd"] = crowd_table(sets, client, user)
        if not args.skip_100k and "sentiment" in sets:
            out["speed"] = speed_run(sets, client, user, args.speed_items)
            print(json.dumps(out["speed"]))
    if "noise" in out:
        print("\nFlagged set vs truly corrupted items (app job vs cleanlab directly)")
        _table(out["noise"], NOISE_COLUMNS)
        gaps = [abs(r["f1_gap"]) for r in out["noise"]]
        ratios = [r["time_ratio"] for r in out["noise"]]
        out["summary"] = {"max_abs_f1_gap": max(gaps), "max_time_ratio": max(ratios),
                          "median_time_ratio": float(np.median(ratios))}  # fmt: skip
        print(json.dumps(out["summary"]))
        print("\nConsensus accuracy: CROWDLAB (the app) vs majority vote")
        _table(out["crowd"], CROWD_COLUMNS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "label_noise.json"
    merged = json.loads(path.read_text()) if path.exists() else {}  # partial runs update theirs
    if args.data:  # a partial rerun is kept beside the full tables, not over them
        out = {f"{key}_only_{'_'.join(args.data)}": value for key, value in out.items()}
    path.write_text(json.dumps(merged | out, indent=2) + "\n")


if __name__ == "__main__":
    main()
