"""Diverse-batch selection speed: k-center greedy on a dense 256-column view against the old
farthest-first on the sparse text features (one ``euclidean_distances`` call per pick).

    python bench/selection_speed.py                  # batches 100, 500, 1000 from 5k candidates
    python bench/selection_speed.py --batches 1000 --repeat 3

Candidates are SMS texts (../shared/data/uci-sms-spam, repeated to fill the pool when short),
featurized as the active-learning job does (``TextFeaturizer``: hashed TF-IDF plus word
vectors); each batch of k draws from the k x 5 best of random scores, as in the job. Timed:
``diverse_top_k`` alone, on one core (BLAS threads pinned to 1). Also reported: how spread
out each batch is (the smallest distance between two chosen items, in the full feature
space), so speed is not bought with near-copies. Target (issue 13, item 6): a batch of
1,000 from 5,000 candidates in under 2 s. Prints a table, writes bench/results/.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, as the target says

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.metrics.pairwise import euclidean_distances  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
SMS = ROOT.parent / "shared" / "data" / "uci-sms-spam" / "SMSSpamCollection"

from learning.featurize import TextFeaturizer  # noqa: E402
from learning.selection import _order_by_score, diverse_top_k  # noqa: E402


def old_diverse_top_k(scores, X, *, k, candidates_factor=5, rng):
    """The implementation this replaces, verbatim in its maths."""
    k = min(int(k), scores.shape[0])
    candidates = _order_by_score(scores, rng)[: min(scores.shape[0], k * candidates_factor)]
    Xc = X[candidates]
    chosen = [0]
    min_dist = euclidean_distances(Xc, Xc[[0]], squared=True).ravel()
    for _ in range(1, k):
        min_dist[chosen] = -np.inf
        nxt = int(np.argmax(min_dist))
        chosen.append(nxt)
        min_dist = np.minimum(min_dist, euclidean_distances(Xc, Xc[[nxt]], squared=True).ravel())
    return candidates[np.asarray(chosen)].astype(np.int64)


def texts(n: int) -> list[str]:
    lines = [line.split("\t", 1)[1] for line in SMS.read_text(encoding="utf-8").splitlines()]
    return [lines[i % len(lines)] + ("" if i < len(lines) else f" #{i}") for i in range(n)]


def min_pairwise(X, chosen: np.ndarray) -> float:
    d = euclidean_distances(X[chosen], squared=False)
    np.fill_diagonal(d, np.inf)
    return float(d.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pool = texts(5 * max(args.batches))
    X = TextFeaturizer().fit(pool).transform(pool)
    scores = np.random.default_rng(args.seed).random(X.shape[0])
    rows = []
    for k in args.batches:
        row = {"batch": k, "candidates": min(X.shape[0], 5 * k), "features": X.shape[1]}
        for name, fn in (("old", old_diverse_top_k), ("new", diverse_top_k)):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                chosen = fn(scores, X, k=k, rng=np.random.default_rng(args.seed))
                times.append(time.perf_counter() - started)
            row[f"{name}_s"] = round(min(times), 3)
            row[f"{name}_min_distance"] = round(min_pairwise(X, chosen), 4)
            row[f"{name}_unique"] = int(np.unique(chosen).size)
        row["speedup"] = round(row["old_s"] / max(row["new_s"], 1e-9), 1)
        rows.append(row)

    header = ("batch", "candidates", "old_s", "new_s", "speedup", "old_min_distance",
              "new_min_distance")  # fmt: skip
    print(" | ".join(f"{h:>16}" for h in header))
    for row in rows:
        print(" | ".join(f"{row[h]:>16}" for h in header))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"python": platform.python_version(), "machine": platform.machine(), "rows": rows,
           "target": "batch 1000 from 5000 candidates < 2 s on one core"}  # fmt: skip
    path = RESULTS / "selection_speed.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
