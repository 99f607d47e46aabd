"""Duplicate groups: exact by normalized content, near by verified MinHash LSH, images by hash."""

import io

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from learning.audit.duplicates import (
    NUM_PERM,
    exact_groups,
    image_hash_groups,
    near_duplicate_groups,
    normalize_text,
    shingles,
)


def test_normalization_folds_case_width_and_spaces():
    assert normalize_text("  Ｈｅｌｌｏ\tWORLD \n") == "hello world"


def test_exact_groups_gather_equal_keys_and_ignore_empty_ones():
    keys = ["a", "b", "a", "", "", "a"]
    assert exact_groups(keys) == [exact_groups(keys)[0]]
    assert exact_groups(keys)[0].members == (0, 2, 5)


def test_a_lightly_edited_copy_is_a_near_duplicate_and_an_unrelated_text_is_not():
    texts = [
        "free entry in a weekly competition to win the final tickets text now",
        "free entry in a weekly competition to win the cup final tickets text now",
        "are you coming to dinner tonight or should we meet tomorrow instead",
        "FREE entry in a weekly competition to win the final tickets text now",  # exact copy of 0
    ]
    (group,) = near_duplicate_groups(texts)
    assert group.members == (0, 1, 3)  # the exact copy comes along with its representative
    assert 0.7 <= group.score < 1


def test_exact_copies_alone_are_not_a_near_duplicate_cluster():
    assert near_duplicate_groups(["same words here", "Same  words here"]) == []


def test_clusters_are_reported_once_not_as_pairs():
    base = "the quick brown fox jumps over the lazy dog near the river bank today"
    texts = [base, base + " again", base + " once more", "unrelated words about a cat"]
    groups = near_duplicate_groups(texts)
    assert [g.members for g in groups] == [(0, 1, 2)]


@given(st.lists(st.text(alphabet="ab ", max_size=30), max_size=12))
def test_groups_never_overlap_and_every_member_is_an_index(texts):
    groups = near_duplicate_groups(texts, threshold=0.5) + exact_groups(
        [normalize_text(t) for t in texts]
    )
    near = [m for g in groups[: len(groups)] for m in g.members]
    assert all(0 <= m < len(texts) for m in near)
    seen: set[int] = set()
    for group in near_duplicate_groups(texts, threshold=0.5):
        assert not seen & set(group.members)
        seen |= set(group.members)


def test_shingles_of_a_short_text_are_its_words():
    assert shingles("Hi there", size=3) == {b"hi there"}
    assert shingles("", size=2) == set()


def test_image_hashes_within_the_distance_cluster_and_far_ones_do_not():
    base = np.uint64(0xF0F0_F0F0_1234_5678)
    near = base ^ np.uint64(0b1011)  # 3 bits differ
    far = ~base
    groups = image_hash_groups(np.array([base, far, near, base], dtype=np.uint64), max_distance=4)
    assert [g.members for g in groups] == [(0, 2, 3)]
    assert groups[0].score == pytest.approx(1 - 3 / 64, abs=1e-4)


@settings(deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=40), st.integers(0, 8))
def test_banded_search_finds_every_pair_within_the_distance(values, distance):
    hashes = np.array(values, dtype=np.uint64)
    clustered = {m for g in image_hash_groups(hashes, max_distance=distance) for m in g.members}
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            if bin(values[i] ^ values[j]).count("1") <= distance:
                assert {i, j} <= clustered


def test_perceptual_hash_of_a_resized_copy_is_close(tmp_path):
    import imagehash

    rng = np.random.default_rng(0)
    pixels = (rng.random((64, 64)) * 255).astype(np.uint8)
    image = Image.fromarray(pixels).resize((256, 256))
    buffer = io.BytesIO()
    image.resize((128, 128)).save(buffer, format="JPEG", quality=80)
    copy = Image.open(buffer)
    assert imagehash.phash(image) - imagehash.phash(copy) <= 4


def datasketch_pairs(texts: list[str], threshold: float) -> set[tuple[int, int]]:
    """The verified pairs datasketch's ``MinHashLSH`` proposes (the index the flat one
    replaced), over the same representatives and signatures."""
    normal = [normalize_text(t) for t in texts]
    reps = [i for key, i in {k: i for i, k in reversed(list(enumerate(normal)))}.items() if key]
    lsh, sets, pairs = MinHashLSH(threshold=threshold, num_perm=NUM_PERM), {}, set()
    for i in sorted(reps):
        words = shingles(texts[i])
        if not words:
            continue
        signature = MinHash(num_perm=NUM_PERM, seed=1)
        signature.update_batch(words)
        for other in lsh.query(signature):
            if len(sets[other] & words) / len(sets[other] | words) >= threshold:
                pairs.add((other, i))
        lsh.insert(i, signature)
        sets[i] = words
    return pairs


WORDS = st.sampled_from("win a free prize now call me later today the cup final tickets".split())


BASES = st.sampled_from([
    "free entry in a weekly competition to win the final tickets text now",
    "are you coming to dinner tonight or should we meet tomorrow instead",
    "",
])  # fmt: skip
# Texts around a few bases (buckets of many texts) and short random ones.
TEXTS = st.tuples(BASES, st.lists(WORDS, max_size=4)).map(lambda t: " ".join([t[0], *t[1]]))


@settings(deadline=None, max_examples=60)
@given(st.lists(TEXTS, max_size=25), st.sampled_from([0.5, 0.7, 0.9]))
def test_the_flat_index_finds_what_datasketchs_lsh_finds(texts, threshold):
    normal = [normalize_text(t) for t in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    pairs = datasketch_pairs(texts, threshold)
    for a, b in pairs:
        parent[root(a)] = root(b)
    clusters: dict[int, set[int]] = {}
    for a, _ in pairs:
        clusters.setdefault(root(a), set())
    for i, key in enumerate(normal):  # exact copies come along with their representative
        first = normal.index(key)
        if root(first) in clusters:
            clusters[root(first)].add(i)
    expected = {frozenset(members) for members in clusters.values()}
    found = {frozenset(g.members) for g in near_duplicate_groups(texts, threshold=threshold)}
    assert found == expected
