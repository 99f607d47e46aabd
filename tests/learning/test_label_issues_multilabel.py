"""The label-issues job on multi-label projects: flagged label sets, suggestions, reviews, reruns."""

from annotation.models import Annotation, Item, LabelIssue
from annotation.services.projects import label_set_replace, membership_set
from annotation.services.review import item_fingerprint, review_item
from tests.annotation.review_helpers import run_job
from tests.learning.multilabel_helpers import N_ITEMS, TOPICS, project_with_flipped_sets


def assert_mostly_the_flipped(found: set[str], flipped: set[str]) -> None:
    # measured on seed 0: precision 1.0, recall 6/7 (item-60 misses: P(tech) = 0.95 is below
    # cleanlab's confident threshold for tech, the mean P(tech) of items labeled tech)
    assert found <= flipped and len(found) >= len(flipped) - 1


def test_the_job_flags_the_flipped_label_sets_with_the_set_the_model_believes(manager):
    project, truth, flipped = project_with_flipped_sets(manager)
    job = run_job(project)
    issues = list(LabelIssue.objects.filter(job=job).order_by("quality"))
    found = {i.item.external_id for i in issues}
    assert_mostly_the_flipped(found, flipped)
    for issue in issues:
        given = Annotation.objects.get(item=issue.item).labels
        assert issue.given_labels == given and issue.given_label == ", ".join(given)
        assert issue.suggested_labels == truth[issue.item.external_id]
        assert issue.suggested_probability >= 0.5 and issue.quality < 0.5
        assert "probably" in issue.reason
        assert issue.labels_fingerprint == item_fingerprint(issue.item)
    assert [i.quality for i in issues] == sorted(i.quality for i in issues)
    result = job.result
    assert result["multi_label"] is True and result["flagged"] == len(found)
    assert result["labeled"] == N_ITEMS and result["labels_judged"] == TOPICS
    assert (
        result["consensus_method"] == "majority_per_label"
        and "CROWDLAB" in result["consensus_note"]
    )
    assert result["labels_not_judged"] == [] and result["note"] is None


def test_a_label_too_rare_to_model_is_reported_and_never_flagged(manager):
    project, _, flipped = project_with_flipped_sets(manager)
    label_set_replace(project=project, labels=[*TOPICS, "rare"])
    for item in Item.objects.filter(project=project).order_by("id")[:2]:
        annotation = Annotation.objects.get(item=item)
        annotation.labels = [*annotation.labels, "rare"]
        annotation.save()
    job = run_job(project)
    assert job.result["labels_not_judged"] == ["rare"]
    assert "no model" in job.result["labels_not_judged_note"]
    issues = LabelIssue.objects.filter(job=job)
    assert_mostly_the_flipped({i.item.external_id for i in issues}, flipped)
    assert not any("rare" in i.reason for i in issues)


def test_several_annotators_count_as_a_majority_per_label(manager, make_user):
    project, truth, _ = project_with_flipped_sets(manager)
    item = Item.objects.get(project=project, external_id="item-1")  # imported with its true set
    right = truth["item-1"]
    wrong = [t for t in TOPICS if (t in right) != (t == "politics")] or ["sports"]
    for name in ("ann-1", "ann-2"):  # two of three annotators agree on the wrong set
        user = make_user(name)
        membership_set(project=project, user=user, role="annotator")
        Annotation.objects.create(item=item, project=project, annotator=user, labels=wrong)
    job = run_job(project)
    assert job.result["multi_annotated"] == 1
    issue = LabelIssue.objects.get(job=job, item=item)
    assert issue.given_labels == wrong and issue.suggested_labels == right
    item.refresh_from_db()
    assert item.consensus_labels is None  # CROWDLAB is single-label: nothing written


def test_a_reviewed_set_is_not_flagged_again_until_its_labels_change(manager, make_user):
    project, _, _ = project_with_flipped_sets(manager)
    reviewer = make_user("rev")
    membership_set(project=project, user=reviewer, role="reviewer")
    first = run_job(project)
    kept = LabelIssue.objects.filter(job=first).order_by("quality").first()
    review_item(item=kept.item, reviewer=reviewer, action="accept")
    assert Item.objects.get(pk=kept.item_id).final_labels == kept.given_labels
    second = run_job(project)
    assert second.result["suppressed_after_review"] == 1
    assert second.result["flagged"] == first.result["flagged"] - 1
    assert not LabelIssue.objects.filter(job=second, item_id=kept.item_id).exists()


def test_too_few_labeled_items_is_a_note_not_a_failure(manager):
    project, _, _ = project_with_flipped_sets(manager)
    Item.objects.filter(project=project).exclude(external_id__in=["item-1", "item-2"]).delete()
    job = run_job(project)
    assert job.result["multi_label"] is True and job.result["flagged"] == 0
    assert "too few labeled items (2)" in job.result["note"]
