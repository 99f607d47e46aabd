"""Monitoring (#19): does the stopping rule fire in time, does the forecast hold, does drift show?

Stopping rule and forecast. Per data set and seed, an in-process simulation of the
active-learning job (``learning``'s own functions: the project's featurizer, classifier and
``rank_pool`` with the default strategy, margin, and its diverse batch): a seeded random
start of 20, then rounds that grow with the labeled set (15% of it; at least 20, the app's
default batch, and at most ``--batch-frac`` of the pool), up to ``--cap`` of the pool: many
versions early, where the curve bends, without a hundred rounds on the plateau. The app's HTTP loop (``bench/al_curve.py``) costs minutes per run; the stopping rule and
the forecast need only the sequence of models, so this bench skips the server. Each version
predicts a seeded 500-item stop set (``learning.monitoring.stopping``: kappa against the
previous version, mean of the last 3 >= 0.99) and is scored on a held-out test split.

- *fires at*: labels at the first version where the rule fires; *F1 there* vs *final*: the
  held-out macro-F1 of that version and of the classifier trained on the whole pool. A seed
  passes when it fires within 1 point of final using at most half the pool.
- *forecast*: fitted (``learning.monitoring.forecast``) on the versions up to 20% of the curve
  (the first fifth of its label range), predicting the labels for 95% of the plateau. The
  truth: the first version whose held-out macro-F1 reaches 95% of the plateau fitted on the
  whole curve. The bench's curve is the held-out macro-F1 (the app fits the cross-validated
  one, which costs five fits per version); the method is the same.

Drift. Windows of ``--window`` items: old from a base set, new from the same base (disjoint)
with a share of a new source mixed in (10 / 20 / 50%); ``--windows`` shifted and unshifted
windows per case. Sources: SMS spam mixed with review sentences, and Amazon+Yelp reviews
mixed with IMDb ones (a subtler shift). Label drift: a changed class mix (the share of one
class moved by 10 / 20 / 50% of the window). Annotator drift: an annotator who agrees with
the truth on 90% of items, with that share of recent answers replaced by random labels.
Timing: each check on 2,000 items (1,000 old + 1,000 new for data drift).

    flock /tmp/quorum-bench.lock python bench/monitoring.py [--seeds 8] [--sets digits,sms_spam,sentiment] [--windows 50]

Writes bench/results/monitoring.json. Needs ../shared/data for the text sets (outside CI a
missing directory skips them with a message; digits run anyway).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from _harness import DATA, RESULTS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from learning.classifier import fit_classifier, predict_proba_full
from learning.featurize import TextFeaturizer, image_features
from learning.monitoring.drift import annotator_drift, data_drift, label_drift, meta_drift
from learning.monitoring.forecast import fit_power_law, forecast
from learning.monitoring.stopping import prediction_kappa, stopping_signal
from learning.selection import rank_pool

STOP_SET = 500
TEST = 500
MIXES = (0.1, 0.2, 0.5)
GROWTH = 0.15  # each round labels 15% more (20 at least, --batch-frac of the pool at most)


def read_texts() -> dict[str, tuple[list[str], list[str]]] | None:
    """SMS spam and the three sentiment sources: name -> (texts, labels); None if absent."""
    if not DATA.exists():
        message = f"reference data {DATA} is missing: text sets and drift skipped"
        if os.environ.get("CI"):
            raise SystemExit(message)
        print(message)
        return None
    with open(DATA / "uci-sms-spam" / "SMSSpamCollection", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line]
    out = {"sms_spam": ([r[1] for r in rows], [r[0] for r in rows])}
    for name in ("amazon_cells", "imdb", "yelp"):
        path = DATA / "uci-sentiment-labelled-sentences" / f"{name}_labelled.txt"
        with open(path, encoding="utf-8") as fh:
            pairs = [line.rstrip("\n").rsplit("\t", 1) for line in fh if "\t" in line]
        out[name] = ([p[0] for p in pairs], [p[1].strip() for p in pairs])
    return out


def load_features(sets: list[str], texts) -> dict[str, tuple]:
    """name -> (X (N, D), y (N,) int); text features fitted on the set's texts, as the app's."""
    out = {}
    for name in sets:
        if name == "digits":
            from PIL import Image
            from sklearn.datasets import load_digits

            d = load_digits()
            images = [Image.fromarray(np.round(p.reshape(8, 8) * 255 / 16).astype(np.uint8), "L")
                      for p in d.data]  # fmt: skip
            out[name] = (image_features(images), d.target.astype(np.int64))
            continue
        if texts is None:
            continue
        if name == "sentiment":
            x = sum((texts[s][0] for s in ("amazon_cells", "imdb", "yelp")), [])
            y = sum((texts[s][1] for s in ("amazon_cells", "imdb", "yelp")), [])
        else:
            x, y = texts[name]
        _, codes = np.unique(y, return_inverse=True)
        out[name] = (TextFeaturizer().fit(x).transform(x), codes.astype(np.int64))
    return out


def macro_f1(model, X, y, k: int) -> float:
    from sklearn.metrics import f1_score

    predicted = predict_proba_full(model, X, k).argmax(axis=1)
    return float(f1_score(y, predicted, average="macro"))


def al_run(X, y, *, seed: int, batch_frac: float, cap: float) -> dict:
    """One simulated active-learning run: per version, labels, stop-set kappa, held-out F1."""
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    order = rng.permutation(y.size)
    test, pool = order[:TEST], order[TEST:]
    stop = rng.choice(pool, size=min(STOP_SET, pool.size), replace=False)
    largest = max(20, int(batch_frac * pool.size))
    labeled = list(rng.choice(pool, size=20, replace=False))
    while np.unique(y[labeled]).size < 2:
        labeled.append(int(rng.choice(pool)))
    versions, previous = [], None
    final = fit_classifier(X[pool], y[pool], multi_label=False, seed=seed)
    while True:
        model = fit_classifier(X[labeled], y[labeled], multi_label=False, seed=seed)
        predictions = predict_proba_full(model, X[stop], k).argmax(axis=1)
        kappa = None if previous is None else prediction_kappa(previous, predictions)
        previous = predictions
        versions.append({"labels": len(labeled), "kappa": kappa,
                         "f1": macro_f1(model, X[test], y[test], k)})  # fmt: skip
        unlabeled = np.setdiff1d(pool, labeled)
        if len(labeled) >= cap * pool.size or unlabeled.size == 0:
            break
        proba = predict_proba_full(model, X[unlabeled], k)
        counts = np.bincount(y[labeled], minlength=k)
        batch = int(np.clip(GROWTH * len(labeled), 20, largest))
        priority = rank_pool("margin", proba, X[unlabeled], counts, batch=batch, rng=rng)
        labeled += unlabeled[priority > 1].tolist()
    return {"pool": int(pool.size), "final_f1": macro_f1(final, X[test], y[test], k),
            "versions": versions}  # fmt: skip


def judge(run: dict) -> dict:
    """The stopping rule and the 20% forecast on one run."""
    v = run["versions"]
    signal = stopping_signal([x["kappa"] for x in v])
    fired = v[signal.stopped_at] if signal.stopped else None
    n = np.array([x["labels"] for x in v], dtype=float)
    f1 = np.array([x["f1"] for x in v])
    full = fit_power_law(n, f1)
    kappas = [x["kappa"] for x in v]
    means = [np.mean(kappas[i - 2 : i + 1]) for i in range(3, len(v))]  # windows of 3 defined
    out = {"fired_at": fired and fired["labels"], "f1_at": fired and fired["f1"],
           "final_f1": run["final_f1"], "pool": run["pool"], "versions": v,
           "max_mean_kappa": float(max(means)) if means else None}  # fmt: skip
    out["stop_ok"] = bool(fired and fired["labels"] <= run["pool"] / 2
                          and fired["f1"] >= run["final_f1"] - 0.01)  # fmt: skip
    first = n <= n[0] + 0.2 * (n[-1] - n[0])
    out["forecast_status"] = "no_full_fit"
    if full is not None:
        goal = 0.95 * full.params[0]
        reached = np.flatnonzero(f1 >= goal)
        truth = float(n[reached[0]]) if reached.size else None
        f = forecast(n[first], f1[first], target=0.95, relative=True)
        out |= {"forecast_status": f.status, "truth": truth, "predicted": f.labels_needed,
                "interval": f.labels_needed_interval, "points": int(first.sum())}  # fmt: skip
        if truth and f.labels_needed is not None:
            out["error"] = f.labels_needed / truth - 1
            lo, hi = f.labels_needed_interval or (None, None)
            out["covered"] = bool(lo is not None and lo <= truth <= (hi or np.inf))
    return out


def drift_bench(texts, *, windows: int, size: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    reviews = texts["amazon_cells"][0] + texts["yelp"][0]
    cases = {"sms+reviews": (texts["sms_spam"][0], reviews),
             "reviews+imdb": (reviews, texts["imdb"][0])}  # fmt: skip
    out: dict[str, dict] = {}
    for name, (base, source) in cases.items():
        featurizer = TextFeaturizer().fit(base)
        Xb, Xs = featurizer.transform(base), featurizer.transform(source)
        row = {}
        for mix in (0.0, *MIXES):
            flags = []
            for _ in range(windows):
                pick = rng.permutation(len(base))
                n_src = int(mix * size)
                old, new_base = pick[:size], pick[size : 2 * size - n_src]
                src = rng.choice(len(source), size=n_src, replace=False)
                new = Xb[new_base] if n_src == 0 else _vstack(Xb[new_base], Xs[src])
                flags.append(data_drift(Xb[old], new, rng=rng, permutations=499).drift)
            row[str(mix)] = float(np.mean(flags))
        out[f"data {name}"] = row
    y = np.array(texts["sms_spam"][1])
    classes = np.unique(y)
    row = {}
    for mix in (0.0, *MIXES):
        flags = []
        for _ in range(windows):
            earlier = rng.choice(y, size=size)
            recent = rng.choice(y, size=size)
            moved = rng.random(size) < mix  # that share of the window is all one class
            recent[moved] = classes[-1]
            flags.append(label_drift(earlier, recent).drift)
        row[str(mix)] = float(np.mean(flags))
    out["label class mix"] = row
    row = {}
    for mix in (0.0, *MIXES):
        flags = []
        for _ in range(windows):
            history = rng.random(size) < 0.9
            recent = rng.random(size // 4) < 0.9
            random_answers = rng.random(recent.size) < mix
            recent[random_answers] = rng.random(random_answers.sum()) < 0.5  # a coin: K = 2
            flags.append(annotator_drift(history, recent).drift)
        row[str(mix)] = float(np.mean(flags))
    out["annotator degraded"] = row
    return out


def _vstack(a, b):
    import scipy.sparse as sp

    return sp.vstack([a, b]).tocsr()


def timings(texts, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    base = texts["sms_spam"][0]
    featurizer = TextFeaturizer().fit(base[:2000])
    X = featurizer.transform(base[:2000])
    out = {}
    started = time.perf_counter()
    data_drift(X[:1000], X[1000:], rng=rng)
    out["data (1,000 vs 1,000, 999 permutations)"] = time.perf_counter() - started
    meta = [
        {"source": str(rng.choice(["a", "b", "c"])), "length": float(len(t))} for t in base[:2000]
    ]
    started = time.perf_counter()
    meta_drift(meta[:1000], meta[1000:])
    out["meta (2 fields)"] = time.perf_counter() - started
    labels = texts["sms_spam"][1][:2000]
    started = time.perf_counter()
    label_drift(labels[:1000], labels[1000:])
    out["label"] = time.perf_counter() - started
    started = time.perf_counter()
    annotator_drift(rng.random(1000) < 0.9, rng.random(1000) < 0.9)
    out["annotator"] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--sets", default="digits,sms_spam,sentiment")
    parser.add_argument("--batch-frac", type=float, default=0.025)
    parser.add_argument("--cap", type=float, default=0.6, help="stop each run at this pool share")
    parser.add_argument("--windows", type=int, default=50, help="windows per drift case")
    parser.add_argument("--window", type=int, default=1000, help="items per drift window")
    parser.add_argument("--skip-drift", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    texts = read_texts()
    data = load_features(args.sets.split(","), texts)
    results: dict = {"args": vars(args), "stopping": {}, "drift": None, "timings": None}
    print(f"{'set':<10}{'seeds ok':>9}{'fires at (median)':>19}{'pool':>6}{'F1 there':>10}"
          f"{'final':>7}{'max κ̄':>8}  {'fcst err (median)':>18}{'|err|<=25%':>11}{'covered':>9}")  # fmt: skip
    for name, (X, y) in data.items():
        judged = [judge(al_run(X, y, seed=s, batch_frac=args.batch_frac, cap=args.cap))
                  for s in range(args.seeds)]  # fmt: skip
        results["stopping"][name] = judged
        fired = [j["fired_at"] for j in judged if j["fired_at"]]
        errors = [j["error"] for j in judged if "error" in j]
        print(f"{name:<10}{sum(j['stop_ok'] for j in judged):>6}/{len(judged):<2}"
              f"{(np.median(fired) if fired else float('nan')):>19.0f}{judged[0]['pool']:>6}"
              f"{np.mean([j['f1_at'] for j in judged if j['f1_at']] or [np.nan]):>10.3f}"
              f"{np.mean([j['final_f1'] for j in judged]):>7.3f}"
              f"{np.median([j['max_mean_kappa'] or np.nan for j in judged]):>8.3f}  "
              f"{(np.median(errors) if errors else float('nan')):>+18.0%}"
              f"{sum(abs(e) <= 0.25 for e in errors):>8}/{len(errors):<2}"
              f"{sum(j.get('covered', False) for j in judged):>7}/{len(judged)}", flush=True)  # fmt: skip
    if texts is not None and not args.skip_drift:
        results["drift"] = drift_bench(texts, windows=args.windows, size=args.window, seed=0)
        print(f"\ndrift: share of windows flagged ({args.windows} per cell, {args.window} items)")
        print(f"{'case':<24}{'no shift':>9}" + "".join(f"{f'{m:.0%} mix':>9}" for m in MIXES))
        for case, row in results["drift"].items():
            print(f"{case:<24}" + "".join(f"{row[k]:>9.2f}" for k in row))
        results["timings"] = timings(texts, seed=0)
        print("\nseconds per check, 2,000 items:")
        for check, seconds in results["timings"].items():
            print(f"  {check:<40}{seconds:>7.3f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "monitoring.json"
    out.write_text(json.dumps(results, indent=1, default=float))
    print(f"\nwrote {out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
