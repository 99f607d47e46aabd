"""Every statement of ``learning.rawsql`` gives what its ORM twin gives, on random data
(SQLite here, PostgreSQL in CI: there the score writer goes through binary COPY)."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.models import Annotation, AnnotationSource, Item
from annotation.services.projects import project_create
from learning import rawsql
from learning.models import ModelVersion
from tests.learning import orm_twins
from tests.transactions import rolled_back

examples = settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
N_ITEMS = 8


@pytest.fixture
def cast(db, make_user):
    users = [make_user(f"rater{k}") for k in range(3)]
    project = project_create(creator=None, name="Raw", labels=["a", "b"])
    other = project_create(creator=None, name="Other", labels=["a", "b"])
    return project, other, users


def make_items(project, other, statuses) -> list[int]:
    """Items of ``project`` with ``statuses``, interleaved with items of another project."""
    ids = []
    for k, status in enumerate(statuses):
        Item.objects.create(project=other, external_id=f"o{k}", text="other", status="open")
        ids.append(Item.objects.create(project=project, external_id=f"i{k}", text=f"text {k} ü",
                                       status=status).pk)  # fmt: skip
    return ids


labels = st.lists(st.sampled_from(["a", "b", "ü"]), max_size=2)
votes = st.dictionaries(st.tuples(st.integers(0, N_ITEMS - 1), st.integers(0, 2)),
                        st.tuples(labels, st.sampled_from(["human", "review"])))  # fmt: skip


@examples
@given(votes=votes, imported=st.sets(st.integers(0, N_ITEMS - 1)))
def test_the_agreement_loader_matches_the_orm(cast, votes, imported):
    project, other, users = cast

    def ask():
        ids = make_items(project, other, ["open"] * N_ITEMS)
        Annotation.objects.bulk_create(
            [Annotation(item_id=ids[i], project=project, annotator=users[u], labels=lab,
                        source=src) for (i, u), (lab, src) in sorted(votes.items())]
            + [Annotation(item_id=ids[i], project=project, labels=["a"],
                          source=AnnotationSource.IMPORT) for i in sorted(imported)]
        )  # fmt: skip
        answers = []
        for m in (rawsql, orm_twins):
            items, annotators, texts = m.human_annotation_rows(project_id=project.pk)
            answers.append(sorted(zip(items.tolist(), annotators.tolist(),
                                      map(json.loads, texts), strict=True)))  # fmt: skip
        return answers

    raw, orm = rolled_back(ask)
    assert raw == orm
    assert len(raw) == sum(1 for _, src in votes.values() if src == "human")


@examples
@given(picks=st.lists(st.tuples(st.integers(0, N_ITEMS - 1), st.floats(0, 2), st.integers(0, 2),
                                st.floats(0, 1)), unique_by=lambda p: p[0], max_size=N_ITEMS),
       generation=st.integers(0, 2**62))  # fmt: skip
def test_the_score_writer_matches_bulk_update(cast, picks, generation):
    project, other, _ = cast
    names = ["a", "b", "ü"]

    def run(module, ids, version):
        rows = np.asarray([ids[k] for k, *_ in picks], dtype=np.int64)
        module.scores_write(rows, np.asarray([p[1] for p in picks], dtype=np.float64),
                            np.asarray([p[2] for p in picks], dtype=np.int64), names,
                            np.asarray([p[3] for p in picks], dtype=np.float64),
                            model_version_id=version, generation=generation)  # fmt: skip
        return list(Item.objects.order_by("id").values_list(
            "id", "priority", "predicted_label", "predicted_score", "scored_by_id",
            "score_generation"))  # fmt: skip

    def ask():
        ids = make_items(project, other, ["open"] * N_ITEMS)
        version = ModelVersion.objects.create(project=project, version=1, strategy="margin",
                                              featurizer="text", n_labels=0).pk  # fmt: skip
        return [rolled_back(lambda m=m: run(m, ids, version)) for m in (rawsql, orm_twins)]

    raw, orm = rolled_back(ask)
    assert raw == orm
    assert sum(1 for row in raw if row[4] is not None) == len(picks)
