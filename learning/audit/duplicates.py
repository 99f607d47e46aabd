"""Exact and near-duplicate groups of texts and images: arrays and strings in, groups out.

Texts
-----
*Exact* duplicates share their normalized form (``normalize_text``: Unicode NFKC, case folded,
runs of white space collapsed). *Near* duplicates are found with MinHash LSH (datasketch) over
word shingles: LSH proposes candidate pairs whose estimated Jaccard similarity is probably above
the threshold, and each candidate pair is then checked on its exact shingle sets, so a reported
pair is never a hashing accident. Pairs are joined into clusters (connected components), and a
cluster is reported once, not as its pairs. Each text is queried before it is inserted (so each
pair is found once, from its later text) and its signature is then dropped: memory grows with
the number of texts (the LSH's band keys and each text's shingle hashes), never with the
number of pairs.

Images
------
Exact duplicates share a content hash; near duplicates a perceptual hash (``imagehash.phash``,
64 bits) within ``max_distance`` bits. Candidates come from splitting the hash into
``max_distance + 1`` bands: two hashes within that distance agree on at least one whole band
(pigeonhole), so no pair is missed and only hashes sharing a band are compared.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

#: Measured on SMS spam with planted edits (bench/audit.py): single words at Jaccard 0.7 reached
#: F1 0.99 (word pairs: 0.77, since one edit in a short text breaks two pairs).
DEFAULT_THRESHOLD = 0.7
DEFAULT_SHINGLE = 1
NUM_PERM = 128
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Group:
    """Indices of the members (ascending) and the group's score in [0, 1]: 1.0 for exact
    duplicates, the smallest verified similarity that joined the cluster for near ones."""

    members: tuple[int, ...]
    score: float


def normalize_text(text: str) -> str:
    """The form exact duplicates share: NFKC, case folded, white space collapsed and trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def exact_groups(keys: Sequence[str | bytes]) -> list[Group]:
    """Groups of two or more indices with equal keys (normalized texts or content hashes)."""
    by_key: dict[str | bytes, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        if key:
            by_key[key].append(index)
    return [Group(tuple(members), 1.0) for members in by_key.values() if len(members) > 1]


def shingles(text: str, size: int = DEFAULT_SHINGLE) -> set[bytes]:
    """Word ``size``-grams of the normalized text (the words themselves for shorter texts)."""
    words = _WORD.findall(normalize_text(text))
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def near_duplicate_groups(
    texts: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    shingle: int = DEFAULT_SHINGLE,
    seed: int = 1,
) -> list[Group]:
    """Clusters of texts whose shingle sets have Jaccard similarity >= ``threshold``.

    Texts with equal normalized forms are searched once (as one representative) and come
    back together: a cluster here holds at least two *different* normalized texts, each with
    all of its exact copies. Exact-only groups are ``exact_groups``'s job.
    """
    normal = [normalize_text(t) for t in texts]
    representative: dict[str, int] = {}
    copies: dict[int, list[int]] = defaultdict(list)
    for index, key in enumerate(normal):
        copies[representative.setdefault(key, index)].append(index)
    reps = [i for i in representative.values() if normal[i]]
    words = ((i, shingles(texts[i], shingle)) for i in reps)
    words = ((i, w) for i, w in words if w)
    firsts, second = itertools.tee(words)
    signatures = MinHash.generator((w for _, w in firsts), num_perm=NUM_PERM, seed=seed)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    hashed: dict[int, np.ndarray] = {}  # each text's shingles as sorted 64-bit hashes
    edges: list[tuple[int, int, float]] = []
    for (index, shingle_set), signature in zip(second, signatures, strict=True):
        mine = _hashes(shingle_set)
        for other in lsh.query(signature):  # the texts before this one that LSH proposes
            similarity = _jaccard(hashed[other], mine)
            if similarity >= threshold:
                edges.append((other, index, similarity))
        lsh.insert(index, signature, check_duplication=False)
        hashed[index] = mine
    return [
        Group(tuple(sorted(i for rep in cluster for i in copies[rep])), score)
        for cluster, score in _components(edges)
    ]


def _hashes(words: set[bytes]) -> np.ndarray:
    """The shingle set as sorted unique int64 hashes: ~8 bytes a shingle instead of ~100 for a
    set of bytes objects (a 64-bit collision in one run is negligible)."""
    return np.unique(np.fromiter(map(hash, words), dtype=np.int64, count=len(words)))


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    both = np.intersect1d(a, b, assume_unique=True).size
    return both / (a.size + b.size - both)


def _components(edges: Iterable[tuple[int, int, float]]) -> list[tuple[list[int], float]]:
    """Connected components of the similarity graph, each with its weakest edge."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges = list(edges)
    for a, b, _ in edges:
        parent[find(a)] = find(b)
    weakest: dict[int, float] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for a, _, similarity in edges:
        root = find(a)
        weakest[root] = min(weakest.get(root, 1.0), similarity)
    for node in parent:
        members[find(node)].append(node)
    return [(sorted(nodes), round(weakest[root], 4)) for root, nodes in members.items()]


def image_hash_groups(hashes: np.ndarray, *, max_distance: int = 4) -> list[Group]:
    """Clusters of 64-bit perceptual hashes within ``max_distance`` bits of each other.

    Parameters
    ----------
    hashes : (N,) uint64.

    Returns
    -------
    Groups with score ``1 - d / 64`` for the largest distance ``d`` that joined them.
    Equal hashes (distance 0) count too: re-encoded or resized copies of one image.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    bands = max_distance + 1
    width = -(-64 // bands)
    edges = set()
    for band in range(bands):
        mask = np.uint64((1 << width) - 1)
        keys = (hashes >> np.uint64(band * width)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], order.size]
        for start, end in zip(starts, ends, strict=True):
            if end - start < 2:
                continue
            bucket = order[start:end]
            distances = _popcount(hashes[bucket][:, None] ^ hashes[bucket][None, :])
            for i, j in zip(*np.nonzero(np.triu(distances <= max_distance, k=1)), strict=True):
                edges.add((int(bucket[i]), int(bucket[j]), int(distances[i, j])))
    return [
        Group(tuple(nodes), round(score, 4))
        for nodes, score in _components((a, b, 1 - d / 64) for a, b, d in edges)
    ]


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.unpackbits(values.view(np.uint8), axis=-1).reshape(*values.shape, 64).sum(axis=-1)
