"""One rule decides an item's label: training, snapshots and the label-issue job agree on it."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.item_label import agreement, decide_label, majority
from annotation.models import Annotation, AnnotationSource, Item
from annotation.services.projects import project_create
from annotation.snapshots.rows import canonical_rows
from annotation.snapshots.spec import SnapshotSpec
from learning.services.label_issues import decided_labels, load_labeled_items
from learning.services.training_data import training_labels

ORDER = ["a", "b", "c"]


def test_single_label_ties_go_to_the_first_label_in_project_order():
    assert majority([("b",), ("a",)], multi_label=False, order=ORDER) == ("a",)
    assert majority([("c",), ("c",), ("a",)], multi_label=False, order=ORDER) == ("c",)


def test_multi_label_keeps_every_label_at_least_half_of_the_votes_applied():
    votes = [("a", "b"), ("b",), ("b", "c")]
    assert majority(votes, multi_label=True, order=ORDER) == ("b",)
    assert majority([("a",), ("b",)], multi_label=True, order=ORDER) == ("a", "b")


def test_precedence_is_final_then_consensus_then_majority():
    votes = [["a"], ["a"]]
    common = {"votes": votes, "multi_label": False, "order": ORDER}
    assert decide_label(final=["c"], consensus=["b"], **common).source == "final"
    assert decide_label(final=None, consensus=["b"], **common).labels == ("b",)
    decision = decide_label(final=None, consensus=None, **common)
    assert (decision.labels, decision.source, decision.agreement) == (("a",), "majority", 1.0)


def test_names_outside_the_label_set_are_ignored():
    decision = decide_label(final=["gone"], consensus=None, votes=[["gone"], ["b"]],
                            multi_label=False, order=ORDER)  # fmt: skip
    assert (decision.labels, decision.source, decision.n_votes) == (("b",), "majority", 1)
    empty = decide_label(final=None, consensus=None, votes=[], multi_label=False, order=ORDER)
    assert (empty.labels, empty.source, empty.agreement) == ((), "", None)


single_vote = st.sampled_from(ORDER).map(lambda n: [n])
multi_vote = st.sets(st.sampled_from(ORDER), min_size=1).map(sorted)


@given(votes=st.lists(single_vote, min_size=1, max_size=6), data=st.data())
def test_the_majority_never_depends_on_the_order_votes_arrived_in(votes, data):
    shuffled = data.draw(st.permutations(votes))
    for multi in (False, True):
        first = decide_label(final=None, consensus=None, votes=votes, multi_label=multi,
                             order=ORDER)  # fmt: skip
        again = decide_label(final=None, consensus=None, votes=shuffled, multi_label=multi,
                             order=ORDER)  # fmt: skip
        assert first == again


@given(votes=st.lists(multi_vote, min_size=1, max_size=6))
def test_agreement_is_the_share_of_votes_equal_to_the_majority(votes):
    decision = decide_label(final=None, consensus=None, votes=votes, multi_label=True, order=ORDER)
    expected = sum(tuple(v) == decision.labels for v in votes) / len(votes)
    assert decision.agreement == pytest.approx(expected)
    assert agreement(votes, multi_label=True) == pytest.approx(expected)


# --- the seam: every consumer of the rule sees the same label -------------------------------

item_case = st.fixed_dictionaries(
    {
        "votes": st.lists(
            st.lists(st.sampled_from(ORDER + ["gone"]), min_size=1, max_size=3), max_size=4
        ),  # fmt: skip
        "final": st.none() | st.lists(st.sampled_from(ORDER), min_size=1, max_size=2),
        "consensus": st.none() | st.lists(st.sampled_from(ORDER), min_size=1, max_size=2),
    }
)


def _make_project(cases, multi_label: bool, make_user):
    project = project_create(creator=None, name="rule", labels=["c", "a", "b"],
                             multi_label=multi_label)  # fmt: skip
    users = [make_user(f"rule-{project.pk}-{k}") for k in range(5)]
    for k, case in enumerate(cases):
        final, consensus = case["final"], case["consensus"]
        if not multi_label:  # a single-label project stores one name
            final, consensus = final and final[:1], consensus and consensus[:1]
        item = Item.objects.create(project=project, external_id=f"i{k}", text=f"t{k}",
                                   final_labels=final, consensus_labels=consensus)  # fmt: skip
        for user, vote in zip(users[:4], case["votes"], strict=False):
            names = vote if multi_label else vote[:1]
            Annotation.objects.create(item=item, project=project, annotator=user, labels=names)
        if case["final"]:
            Annotation.objects.create(item=item, project=project, annotator=users[4],
                                      labels=["b"], source=AnnotationSource.REVIEW)  # fmt: skip
    return project


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases=st.lists(item_case, min_size=1, max_size=8), multi_label=st.booleans())
def test_snapshot_labels_equal_training_labels_for_every_item(
    cases, multi_label, db, make_user, tmp_path
):
    project = _make_project(cases, multi_label, make_user)
    training = training_labels(project=project, exclude_open_issues=False)
    trained = {
        Item.objects.get(pk=pk).external_id: list(labels)
        for pk, labels in zip(training.item_ids.tolist(), training.labels, strict=True)
    }
    rows = canonical_rows(project=project, spec=SnapshotSpec(), scratch=Path(tmp_path, "s"),
                          on_item=lambda item: None)  # fmt: skip
    exported = {row["id"]: row["labels"] for row in rows}
    assert exported == trained
    if not multi_label:
        _assert_label_issue_job_agrees(project, trained)


def _assert_label_issue_job_agrees(project, trained):
    names = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    data = load_labeled_items(project=project, names=names)
    judged = decided_labels(data, names)
    external = dict(Item.objects.filter(project=project).values_list("pk", "external_id"))
    by_item = {external[pk]: [names[k]] for pk, k in zip(data.item_ids.tolist(), judged.tolist(),
                                                         strict=True)}  # fmt: skip
    # The label-issue job judges the same label (consensus is its own fresh one, so compare the
    # items the stored consensus does not decide).
    for ext, labels in by_item.items():
        item = Item.objects.get(project=project, external_id=ext)
        if item.consensus_labels and not item.final_labels:
            continue
        assert trained[ext] == labels
    assert np.all(judged >= 0)
