"""Learning curves: does active learning need fewer labels than random sampling?

Everything goes through the REST API of a live app (see ``bench/_al_oracle.py``):
gunicorn on 127.0.0.1 and a real Celery worker on the filesystem broker, both on a
throw-away SQLite file. Per data set, strategy and seed, a manager creates the project
(``POST /api/projects``), adds the oracle as annotator (``POST .../members``) and imports
the pool (``POST .../import``, JSON body). Then, per round, the oracle (who answers with
the true label) takes ``--batch`` items from ``GET /api/projects/{id}/next`` and answers
each with ``POST /api/items/{id}/annotations/``; the manager starts the retrain with
``POST /api/projects/{id}/jobs {"kind": "active_learning"}`` and follows
``GET /api/jobs/{id}`` until it succeeded. The model version that job stored is scored
on a held-out split the app never sees. Only user creation and that evaluation read the
database directly.

The first batch is what the app serves with its default settings. A project whose jobs are
automatic starts a cold-start job (k-means representatives first) on the first import of
image or embedding items with a non-random strategy (``annotation.jobs.triggers
.items_imported``); the benchmark's projects run their jobs on the manager's request, so the
benchmark starts that job itself, for digits. Text projects, and random sampling, begin
with the project's seeded random fallback order. ``--cold-start always`` / ``never``
overrides the rule for every set. The AL job's diverse batch is the app's default
of 20 items (the API takes no batch size), so ``--batch`` above 20 labels beyond it.

On two-label sets (SMS spam, sentiment) entropy and least confidence are not run: for
K = 2 they rank the pool exactly as margin does (all are monotone in |p_1 - p_0|), so the
table says "= margin" instead of spending minutes on a copy of its curve.

Data sets: scikit-learn digits (imported as 8x8 PNG images: image featurizer), SMS spam
and the UCI sentiment sentences (text featurizer: TF-IDF plus mean GloVe word vectors).
Each uses all its items: a fixed test split of ``--test`` and everything else as the pool
(1,297 / 5,074 / 2,500 items), because active learning is about choosing from a pool much
larger than the budget. "Full-pool accuracy" is the same classifier trained on every pool
item's true label.

    flock /tmp/quorum-bench.lock python bench/al_curve.py [--seeds 8] [--rounds N] [--cold-start app|always|never]

Writes bench/results/al_curve.json and, when matplotlib is installed (bench-only, not in
requirements.txt), bench/results/al_curve.png.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _al_oracle import Api, LiveApp, evaluate, features, import_payload, load_sets

RESULTS = Path(__file__).resolve().parent / "results"
# Rounds per data set: enough for random sampling to reach (or visibly miss) 95% of the
# full-pool accuracy. Sentiment learns slowly (2,500 items, hard sentences), so it gets more.
ROUNDS = {"digits": 15, "sms_spam": 15, "sentiment": 40}
STRATEGIES = ["margin", "entropy", "least_confidence", "random"]
SAME_AS_MARGIN_FOR_K2 = {"entropy", "least_confidence"}
ROUTE = ("REST API over HTTP: gunicorn (1 sync worker) + 1 Celery worker (solo pool, "
         "filesystem broker), SQLite")  # fmt: skip


def project_start(manager: Api, name: str, data: dict, strategy: str, seed: int) -> int:
    """Create the project, make the oracle an annotator, import the pool; returns its id."""
    project = manager.call("POST", "/api/projects", {
        "name": name, "labels": sorted(set(data["y"])), "strategy": strategy, "seed": seed,
        "data_type": data["kind"], "fallback_order": "random", "retrain_every": 0,
        "label_issues_every": 0, "agreement_every": 0,
    })  # fmt: skip
    pid = project["id"]
    manager.call(
        "POST", f"/api/projects/{pid}/members", {"username": "oracle", "role": "annotator"}
    )
    result = manager.call("POST", f"/api/projects/{pid}/import", {"items": import_payload(data)})
    assert result["created"] == len(data["pool"]), result
    return pid


def retrain(manager: Api, pid: int) -> dict:
    job = manager.call("POST", f"/api/projects/{pid}/jobs", {"kind": "active_learning"})
    return manager.job_wait(job["id"])


def label_batch(oracle: Api, pid: int, data: dict, n: int) -> int:
    """The oracle labels up to ``n`` items in the order the queue serves them."""
    done = 0
    while done < n:
        item = oracle.call("GET", f"/api/projects/{pid}/next", ok=(200, 204))
        if item is None:
            break
        truth = data["y"][int(item["external_id"])]
        oracle.call("POST", f"/api/items/{item['id']}/annotations/", {"label": truth})
        done += 1
    return done


def full_pool_accuracy(data: dict, seed: int) -> float:
    """The app's classifier trained on the whole pool with true labels, on the test split."""
    from learning.classifier import fit_classifier, predict_proba_full
    from learning.featurize import TextFeaturizer

    labels = sorted(set(data["y"]))
    texts = None
    if data["kind"] == "text":
        texts = TextFeaturizer().fit([data["x"][i] for i in data["pool"]])
    Xp, Xt = (features(data, idx, texts) for idx in (data["pool"], data["test"]))
    y = np.asarray([labels.index(data["y"][i]) for i in data["pool"]])
    model = fit_classifier(Xp, y, multi_label=False, seed=seed)
    predicted = predict_proba_full(model, Xt, len(labels)).argmax(axis=1)
    return float(np.mean(predicted == [labels.index(data["y"][i]) for i in data["test"]]))


def run_curve(apis: dict, name: str, data: dict, strategy: str, seed: int, args) -> list[dict]:
    manager, oracle = apis["manager"], apis["oracle"]
    pid = project_start(manager, f"{name}-{strategy}-{seed}", data, strategy, seed)
    if strategy != "random" and (
        args.cold_start == "always" or (args.cold_start == "app" and data["kind"] != "text")
    ):
        retrain(manager, pid)  # the job the app's first import would start
    curve = []
    for _ in range(args.rounds or ROUNDS[name]):
        if label_batch(oracle, pid, data, args.batch) == 0:
            break
        job = retrain(manager, pid)
        result = job["result"]
        if "model_version_id" in result:  # not a cold-start job (fewer than two classes)
            acc, f1 = evaluate(result["model_version_id"], data)
            curve.append(
                {
                    "n_labels": result["n_labels"],
                    "accuracy": acc,
                    "macro_f1": f1,
                    "job_timings": result.get("timings"),
                }
            )
    return curve


def mean_curve(curves: list[list[dict]], key: str = "accuracy") -> dict[int, float]:
    """Seed-averaged ``key`` per label count (counts every seed reached)."""
    by_n: dict[int, list[float]] = {}
    for curve in curves:
        for point in curve:
            by_n.setdefault(point["n_labels"], []).append(point[key])
    return {n: float(np.mean(v)) for n, v in sorted(by_n.items()) if len(v) == len(curves)}


def labels_to_target(curves: list[list[dict]], target: float) -> int | None:
    """First label count at which the seed-averaged accuracy reaches ``target``."""
    return next((n for n, acc in mean_curve(curves).items() if acc >= target), None)


def ratio_to_random(
    curves: list[list[dict]], random_curves: list[list[dict]], target: float, *, draws: int = 2000
) -> dict | None:
    """Labels to ``target`` of a strategy over random's, with a paired bootstrap over seeds.

    Seed s is the same project seed for both strategies (same first batch), so seeds are
    resampled in pairs. Returns the ratio of the seed means and the 5th-95th percentile of
    the resampled ratios (a draw where either curve never reaches the target counts as
    +inf, so an interval that ends in inf says the seeds cannot settle it)."""
    point = labels_to_target(curves, target), labels_to_target(random_curves, target)
    if None in point or len(curves) != len(random_curves):
        return None
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(draws):
        pick = rng.integers(len(curves), size=len(curves))
        a = labels_to_target([curves[i] for i in pick], target)
        b = labels_to_target([random_curves[i] for i in pick], target)
        ratios.append(a / b if a and b else np.inf)
    # Observed ratios, not interpolated between them: an interval may end in inf.
    low, high = np.quantile(ratios, [0.05, 0.95], method="inverted_cdf")
    return {"ratio": point[0] / point[1], "low": float(low), "high": float(high)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rounds", type=int, help=f"rounds per curve (default {ROUNDS})")
    parser.add_argument("--pool", type=int, help="pool size (default: all but the test split)")
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--sets", default="digits,sms_spam,sentiment")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--cold-start", choices=["app", "always", "never"], default="app",
                        help="k-means job before batch 1: as the app does (images), always, never")  # fmt: skip
    parser.add_argument("--out", default="al_curve", help="results file stem")
    args = parser.parse_args()
    app = LiveApp(Path(tempfile.mkdtemp(prefix="al-curve-")))
    app.setup_django()
    from django.contrib.auth import get_user_model

    from annotation.services.users import user_allow_project_creation

    for username in ("manager", "oracle"):
        get_user_model().objects.create_user(username, password=f"pw-{username}")
    user_allow_project_creation(user=get_user_model().objects.get(username="manager"))
    sets = load_sets(args.pool, args.test)
    report = {"args": vars(args), "route": ROUTE, "sets": {}}
    try:
        app.start()
        apis = {u: Api(app.url, u, f"pw-{u}") for u in ("manager", "oracle")}
        for name in args.sets.split(","):
            report["sets"][name] = run_set(apis, name, sets[name], args)
    finally:
        app.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(report, indent=1))
    plot(report, RESULTS / f"{args.out}.png")
    print_table(report)


def run_set(apis: dict, name: str, data: dict, args) -> dict:
    full = full_pool_accuracy(data, seed=0)
    entry = {"full_pool_accuracy": full, "strategies": {}}
    for strategy in args.strategies.split(","):
        if len(set(data["y"])) == 2 and strategy in SAME_AS_MARGIN_FOR_K2:
            # K = 2: 1 - p_max, normalised entropy and the margin are all monotone in
            # |p_1 - p_0|, so the ranking, the boost and the batch are margin's.
            entry["strategies"][strategy] = {"same_as": "margin"}
            continue
        started = time.perf_counter()
        curves = [run_curve(apis, name, data, strategy, s, args) for s in range(args.seeds)]
        acc, f1 = mean_curve(curves), mean_curve(curves, "macro_f1")
        last = max(acc) if acc else None
        entry["strategies"][strategy] = {
            "curves": curves, "labels_to_95pct": labels_to_target(curves, 0.95 * full),
            "final_labels": last, "final_accuracy": acc.get(last), "final_macro_f1": f1.get(last),
            "seconds": round(time.perf_counter() - started, 1),
        }  # fmt: skip
        print(f"{name:10s} {strategy:17s} {entry['strategies'][strategy]['labels_to_95pct']}"
              f" labels to 95% of {full:.3f}", flush=True)  # fmt: skip
    random_curves = entry["strategies"].get("random", {}).get("curves")
    for strategy, r in entry["strategies"].items():
        if "curves" in r and random_curves and strategy != "random":
            r["ratio_to_random"] = ratio_to_random(r["curves"], random_curves, 0.95 * full)
    return entry


def print_table(report: dict) -> None:
    """One row per set and strategy. "to match random" is a second view of the same curves:
    the labels a strategy needs to reach the accuracy random sampling ends with."""
    print(f"\nroute: {report['route']}\nargs: {report['args']}")
    print("| data set | full-pool acc | strategy | labels to 95% | / random (90% bootstrap) "
          "| to match random | final acc (labels) | final macro-F1 | seconds |\n"
          "|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for name, entry in report["sets"].items():
        baseline = entry["strategies"].get("random", {}).get("final_accuracy")
        for strategy, r in entry["strategies"].items():
            if "same_as" in r:
                print(f"| {name} | | {strategy} | = {r['same_as']} (same ranking, K = 2) "
                      "| | | | | |")  # fmt: skip
                continue
            needed = r["labels_to_95pct"] or f"> {r['final_labels']}"
            match = labels_to_target(r["curves"], baseline) if baseline else None
            acc = f"{r['final_accuracy']:.3f} ({r['final_labels']})" if r["final_labels"] else "-"
            f1 = f"{r['final_macro_f1']:.3f}" if r["final_labels"] else "-"
            ratio = r.get("ratio_to_random")
            spread = (
                f"{ratio['ratio']:.2f} ({ratio['low']:.2f}-{ratio['high']:.2f})" if ratio else "-"
            )
            print(f"| {name} | {entry['full_pool_accuracy']:.3f} | {strategy} | {needed} | {spread} "
                  f"| {match or '-'} | {acc} | {f1} | {r['seconds']} |")  # fmt: skip


def plot(report: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (bench-only, optional): no PNG, JSON only")
        return
    sets = report["sets"]
    fig, axes = plt.subplots(2, len(sets), figsize=(5 * len(sets), 7), squeeze=False)
    for col, (name, entry) in enumerate(sets.items()):
        for strategy, result in entry["strategies"].items():
            for row, key in enumerate(("accuracy", "macro_f1")):
                if "same_as" in result:
                    continue
                points = mean_curve(result["curves"], key)
                axes[row][col].plot(list(points), list(points.values()), marker=".", label=strategy)
        axes[0][col].axhline(0.95 * entry["full_pool_accuracy"], color="grey", ls="--", lw=1)
        axes[0][col].set(title=name, ylabel="held-out accuracy")
        axes[1][col].set(xlabel="labels", ylabel="held-out macro-F1")
        axes[0][col].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
