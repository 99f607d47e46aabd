"""Label-issue quality gate: from how many labels, and how good a model, are flags worth a look?

    python bench/issue_gate.py                 # 3 sets x 11 sizes x 2 noise models x 6 seeds
    python bench/issue_gate.py --seeds 2       # quicker

For each reference set (SMS spam, UCI sentiment, scikit-learn digits) and each labeled-set size
n, a random labeled set gets noisy labels from one of two noise models: *team* (each item labeled
by one of three annotators of accuracy 0.95 / 0.85 / 0.70, the issue's simulated team) and
*uniform 10%*. The label-issue job's pure core runs on it (the app's text or vector features,
``out_of_sample_proba`` with 5 folds, ``find_label_issues``), and we record the gate's inputs
(``learning.issue_gate.gate_inputs``: labels per class, cross-validated accuracy, chance,
lift over chance) beside the precision and recall of the flags against the true labels.

Then every candidate set of thresholds (fewest labels in a used class, least lift over chance,
and the highest label quality a flag may have) is scored: among the runs it lets through that
flag anything, the share whose precision is at least 0.6 (the target), and the share of all
true-noise flags it keeps. The chosen defaults keep the most true flags among the sets whose
flagging runs reach the target in at least 90% of cases. Writes bench/results/issue_gate.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import warnings
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
SIZES = (20, 30, 46, 60, 80, 100, 150, 200, 300, 400, 600)
TEAM = (0.95, 0.85, 0.70)
MIN_CLASS = (3, 5, 8, 10, 15, 20)
MIN_LIFT = (0.0, 0.1, 0.2, 0.3, 0.5)
MAX_QUALITY = (1.0, 0.3, 0.2, 0.1, 0.05)
TARGET_PRECISION = 0.6


def load_sets() -> dict[str, tuple[list | np.ndarray, np.ndarray, str]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    sets: dict[str, tuple] = {
        "digits": (digits.data / 16.0, digits.target.astype(np.int64), "vector")
    }
    sentiment = DATA / "uci-sentiment-labelled-sentences"
    texts, labels = [], []
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        with (sentiment / name).open(encoding="utf-8") as f:
            for text, label in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                texts.append(text.strip())
                labels.append(int(label))
    sets["sentiment"] = (texts, np.array(labels), "text")
    rows = [line.rstrip("\n").split("\t", 1)
            for line in (DATA / "uci-sms-spam" / "SMSSpamCollection").open(encoding="utf-8")]  # fmt: skip
    sets["sms"] = ([t for _, t in rows], np.array([int(lab == "spam") for lab, _ in rows]), "text")
    return sets


def noisy_labels(y: np.ndarray, K: int, model: str, rng: np.random.Generator) -> np.ndarray:
    if model == "team":
        accuracy = np.asarray(TEAM)[rng.integers(0, len(TEAM), y.size)]
        wrong = rng.random(y.size) > accuracy
    else:
        wrong = np.zeros(y.size, dtype=bool)
        wrong[rng.choice(y.size, int(round(0.1 * y.size)), replace=False)] = True
    out = y.copy()
    out[wrong] = (y[wrong] + rng.integers(1, K, wrong.sum())) % K
    return out


def one_run(X, y_true, K, n, model, seed) -> dict | None:
    from learning.classifier import out_of_sample_proba
    from learning.issue_gate import gate_inputs
    from learning.label_quality import find_label_issues

    rng = np.random.default_rng(seed)
    pick = rng.choice(y_true.size, n, replace=False)
    given = noisy_labels(y_true[pick], K, model, rng)
    if np.unique(given).size < 2:
        return None
    probs = out_of_sample_proba(X[pick], given, n_classes=K, folds=min(5, n), seed=seed)
    inputs = gate_inputs(given, probs, n_classes=K)
    issues = find_label_issues(given, probs)
    flagged = issues.is_issue
    wrong = given != y_true[pick]
    tp = int((flagged & wrong).sum())
    return inputs | {"flagged": int(flagged.sum()), "true_flags": tp, "wrong": int(wrong.sum()),
                     "precision": tp / flagged.sum() if flagged.any() else None,
                     "flag_quality": issues.label_quality[flagged].round(4).tolist(),
                     "flag_wrong": wrong[flagged].tolist()}  # fmt: skip


def features(payload, kind: str):
    if kind == "vector":
        return np.asarray(payload, dtype=np.float32)
    from learning.featurize import TextFeaturizer

    return TextFeaturizer().fit(payload).transform(payload).tocsr()


def score_thresholds(runs: list[dict]) -> list[dict]:
    all_true = sum(r["true_flags"] for r in runs) or 1
    table = []
    for min_class, min_lift, max_quality in product(MIN_CLASS, MIN_LIFT, MAX_QUALITY):
        passing = [r for r in runs if r["min_class_count"] >= min_class and r["lift"] >= min_lift]
        kept = [[w for q, w in zip(r["flag_quality"], r["flag_wrong"], strict=True)
                 if q < max_quality] for r in passing]  # fmt: skip
        flagging = [flags for flags in kept if flags]
        good = sum(np.mean(flags) >= TARGET_PRECISION for flags in flagging)
        true_kept = sum(sum(flags) for flags in kept)
        table.append({"min_class": min_class, "min_lift": min_lift, "max_quality": max_quality,
                      "runs_passing": len(passing), "runs_flagging": len(flagging),
                      "share_precise": round(good / len(flagging), 3) if flagging else None,
                      "pooled_precision": round(true_kept / max(sum(map(len, kept)), 1), 3),
                      "true_flags_kept": round(true_kept / all_true, 3)})  # fmt: skip
    return table


def main() -> None:
    # cleanlab warns about every small class: on purpose here, the gate is about small sets.
    warnings.filterwarnings("ignore", message="May not flag all label issues")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    started = time.perf_counter()
    runs = []
    for name, (payload, y, kind) in load_sets().items():
        X, K = features(payload, kind), int(y.max()) + 1
        for n, model, seed in product(SIZES, ("team", "uniform"), range(args.seeds)):
            run = one_run(X, y, K, n, model, seed)
            if run is not None:
                runs.append(run | {"set": name, "n": n, "noise": model, "seed": seed})
        print(f"{name}: done ({time.perf_counter() - started:.0f} s)", flush=True)
    print("\nper set and size (team noise, mean over seeds):")
    print(
        f"{'set':<10}{'n':>5}{'min/class':>10}{'cv acc':>8}{'lift':>7}{'flagged':>9}{'precision':>10}"
    )
    for name, n in sorted({(r["set"], r["n"]) for r in runs}, key=lambda k: (k[0], k[1])):
        group = [r for r in runs if (r["set"], r["n"], r["noise"]) == (name, n, "team")]
        if not group:
            continue
        precisions = [r["precision"] for r in group if r["precision"] is not None]
        print(f"{name:<10}{n:>5}{np.mean([r['min_class_count'] for r in group]):>10.1f}"
              f"{np.mean([r['cv_accuracy'] for r in group]):>8.2f}{np.mean([r['lift'] for r in group]):>7.2f}"
              f"{np.mean([r['flagged'] for r in group]):>9.1f}"
              f"{(np.mean(precisions) if precisions else float('nan')):>10.2f}")  # fmt: skip
    table = score_thresholds(runs)
    eligible = [t for t in table if t["share_precise"] is not None and t["share_precise"] >= 0.9]
    chosen = max(eligible, key=lambda t: (t["true_flags_kept"], -t["min_class"]), default=None)
    print("\nthresholds (runs of every set, size and noise model; min_class 5, 10, 20 shown):")
    cols = list(table[0])
    print("  ".join(f"{c:>16}" for c in cols))
    for row in (t for t in table if t["min_class"] in (5, 10, 20) or t is chosen):
        mark = "  <- chosen" if row is chosen else ""
        print("  ".join(f"{row[c]!s:>16}" for c in cols) + mark)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "issue_gate.json"
    out.write_text(json.dumps({"runs": runs, "thresholds": table, "chosen": chosen,
                               "seconds": round(time.perf_counter() - started, 1)}, indent=1))  # fmt: skip
    print(f"\nchosen: {chosen}\nwrote {out}")


if __name__ == "__main__":
    main()
