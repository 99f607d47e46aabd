"""Learning curves: does active learning need fewer labels than random sampling?

An oracle annotator (answers with the true label) labels the top of the project's queue
one batch at a time, through the labeling *service* (``annotation_submit``, the code
behind ``POST /api/items/{id}/annotations/``) rather than over HTTP: the REST round trip
adds nothing to what is measured and would not fit the time budget. After every batch
the real active-learning job handler retrains and re-ranks the pool (synchronously, no
broker), and the model it stored is scored on a held-out split.

Data sets: scikit-learn digits (given to the app as per-item ``vector`` pixels, the
vector featurizer path), SMS spam and the UCI sentiment sentences (text featurizer).

    python bench/al_curve.py [--seeds 2] [--batch 20] [--rounds 10] [--pool 1500]

Writes bench/results/al_curve.json and, when matplotlib is installed (it is NOT in
requirements.txt: bench-only, optional), bench/results/al_curve.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
STRATEGIES = ["margin", "entropy", "least_confidence", "random"]


def setup_django(tmp: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(DEBUG="1", QUORUM_VAR_DIR=str(tmp), SQLITE_PATH=str(tmp / "bench.sqlite3"),
                      DJANGO_SETTINGS_MODULE="quorum.settings", LOG_LEVEL="WARNING")  # fmt: skip
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load_sets(pool: int, test: int, seed: int = 0) -> dict[str, dict]:
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    sets = {}
    digits = load_digits()
    sets["digits"] = {"x": (digits.data / 16.0).tolist(), "y": digits.target.astype(str).tolist(),
                      "kind": "vector"}  # fmt: skip
    with open(DATA / "uci-sms-spam" / "SMSSpamCollection", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line]
    sets["sms_spam"] = {"x": [r[1] for r in rows], "y": [r[0] for r in rows], "kind": "text"}
    sentences = []
    for name in ("amazon_cells", "imdb", "yelp"):
        with open(DATA / "uci-sentiment-labelled-sentences" / f"{name}_labelled.txt") as fh:
            sentences += [
                r for r in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if len(r) == 2
            ]
    sets["sentiment"] = {"x": [r[0] for r in sentences], "y": [r[1].strip() for r in sentences],
                         "kind": "text"}  # fmt: skip
    for data in sets.values():
        order = rng.permutation(len(data["y"]))[: pool + test]
        data["pool"], data["test"] = order[:pool], order[pool:]
    return sets


def make_project(name: str, data: dict, strategy: str, seed: int, user):
    from annotation.models import Item
    from annotation.services.projects import project_create

    labels = sorted(set(data["y"]))
    project = project_create(creator=user, name=name, labels=labels, strategy=strategy, seed=seed,
                             retrain_every=0, label_issues_every=0, agreement_every=0)  # fmt: skip
    items = []
    for seq, i in enumerate(data["pool"]):
        fields = {"vector": data["x"][i]} if data["kind"] == "vector" else {"text": data["x"][i]}
        items.append(Item(project=project, external_id=str(i), sequence=int(rng_seq(seed, seq)),
                          meta={"truth": data["y"][i]}, **fields))  # fmt: skip
    Item.objects.bulk_create(items, batch_size=2000)
    return project


def rng_seq(seed: int, seq: int) -> int:
    """A seeded shuffle of the fallback order, so seeds differ before the first model too."""
    return int(np.random.default_rng([seed, seq]).integers(1 << 40))


def evaluate(project, data: dict) -> tuple[float, float] | None:
    from sklearn.metrics import accuracy_score, f1_score

    from learning.classifier import predict_proba_full
    from learning.models import ModelVersion
    from learning.services.scoring import pool_features

    version = ModelVersion.objects.filter(project=project).order_by("-version").first()
    if version is None:
        return None
    from learning.services.scoring import state_load

    state = state_load(version.pk)
    rows = [(0, data["x"][i], "", data["x"][i]) for i in data["test"]]
    proba = predict_proba_full(state["model"], pool_features(state, rows), len(state["labels"]))
    predicted = np.asarray(state["labels"])[proba.argmax(axis=1)]
    truth = np.asarray([data["y"][i] for i in data["test"]])
    return float(accuracy_score(truth, predicted)), float(
        f1_score(truth, predicted, average="macro")
    )


def full_pool_accuracy(data: dict, seed: int) -> float:
    from learning.classifier import fit_classifier, predict_proba_full
    from learning.featurize import TextFeaturizer, vector_features

    labels = sorted(set(data["y"]))
    y = np.asarray([labels.index(data["y"][i]) for i in data["pool"]])
    if data["kind"] == "text":
        feat = TextFeaturizer().fit([data["x"][i] for i in data["pool"]])
        Xp, Xt = (
            feat.transform([data["x"][i] for i in idx]) for idx in (data["pool"], data["test"])
        )
    else:
        Xp, Xt = (
            vector_features([data["x"][i] for i in idx]) for idx in (data["pool"], data["test"])
        )
    model = fit_classifier(Xp, y, multi_label=False, seed=seed)
    predicted = predict_proba_full(model, Xt, len(labels)).argmax(axis=1)
    return float(
        np.mean(predicted == np.asarray([labels.index(data["y"][i]) for i in data["test"]]))
    )


def run_curve(name: str, data: dict, strategy: str, seed: int, args, user) -> list[dict]:
    from annotation.models import Item, Job, JobKind
    from annotation.services.labeling import annotation_submit
    from learning.services.active_learning import active_learning_job_handler

    project = make_project(f"{name}-{strategy}-{seed}", data, strategy, seed, user)
    curve = []
    for _ in range(args.rounds):
        batch = Item.objects.filter(project=project, status="open").order_by(
            "-priority", "sequence"
        )
        for item in list(batch[: args.batch]):
            annotation_submit(item=item, annotator=user, labels=[item.meta["truth"]])
        job = Job.objects.create(project=project, kind=JobKind.ACTIVE_LEARNING, status="running",
                                 params={"batch": args.batch})  # fmt: skip
        active_learning_job_handler(job, lambda _: None)
        Job.objects.filter(pk=job.pk).update(status="succeeded")
        n_labels = Item.objects.filter(project=project, status="complete").count()
        metrics = evaluate(project, data)
        if metrics:
            curve.append({"n_labels": n_labels, "accuracy": metrics[0], "macro_f1": metrics[1]})
    return curve


def labels_to_target(curves: list[list[dict]], target: float) -> int | None:
    """First label count at which the seed-averaged accuracy reaches ``target``."""
    by_n: dict[int, list[float]] = {}
    for curve in curves:
        for point in curve:
            by_n.setdefault(point["n_labels"], []).append(point["accuracy"])
    for n in sorted(by_n):
        if np.mean(by_n[n]) >= target:
            return n
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pool", type=int, default=1500)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--sets", default="digits,sms_spam,sentiment")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="al-curve-"))
    setup_django(tmp)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("oracle", password="x")
    sets = load_sets(args.pool, args.test)
    report = {"args": vars(args), "route": "services (annotation_submit + job handler)", "sets": {}}
    for name in args.sets.split(","):
        data = sets[name]
        full = full_pool_accuracy(data, seed=0)
        entry = {"full_pool_accuracy": full, "strategies": {}}
        for strategy in STRATEGIES:
            started = time.perf_counter()
            curves = [run_curve(name, data, strategy, s, args, user) for s in range(args.seeds)]
            needed = labels_to_target(curves, 0.95 * full)
            entry["strategies"][strategy] = {"curves": curves, "labels_to_95pct": needed,
                                             "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
            print(
                f"{name:10s} {strategy:17s} labels to 95% of full ({full:.3f}): {needed}",
                flush=True,
            )
        report["sets"][name] = entry
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "al_curve.json").write_text(json.dumps(report, indent=1))
    plot(report)
    print_table(report)


def print_table(report: dict) -> None:
    print("\n| data set | full-pool acc | " + " | ".join(STRATEGIES) + " |")
    print("|---|---|" + "---|" * len(STRATEGIES))
    for name, entry in report["sets"].items():
        cells = [str(entry["strategies"][s]["labels_to_95pct"] or "> max") for s in STRATEGIES]
        print(f"| {name} | {entry['full_pool_accuracy']:.3f} | " + " | ".join(cells) + " |")


def plot(report: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (bench-only, optional): no PNG, JSON only")
        return
    sets = report["sets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 4), squeeze=False)
    for ax, (name, entry) in zip(axes[0], sets.items(), strict=True):
        for strategy, result in entry["strategies"].items():
            points: dict[int, list[float]] = {}
            for curve in result["curves"]:
                for p in curve:
                    points.setdefault(p["n_labels"], []).append(p["accuracy"])
            xs = sorted(points)
            ax.plot(xs, [np.mean(points[x]) for x in xs], marker=".", label=strategy)
        ax.axhline(0.95 * entry["full_pool_accuracy"], color="grey", ls="--", lw=1)
        ax.set(title=name, xlabel="labels", ylabel="held-out accuracy")
        ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "al_curve.png", dpi=100)


if __name__ == "__main__":
    main()
