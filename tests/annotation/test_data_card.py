"""The data card in every snapshot: in its lineage (GET /api/snapshots/{id}) and in the README
of its Hugging Face download, saying what was left out or redacted and why."""

import io
import re
import zipfile

import pytest

from annotation.jobs.runner import job_execute
from annotation.models import AuditFinding, Item
from annotation.services.audit import finding_resolve
from tests.audit_helpers import audit_run, audited_project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"


def cut(api, project, **spec) -> dict:
    created = api.post(f"/api/projects/{project.pk}/snapshots", spec, format="json").json()
    job_execute(job_id=created["job"]["id"], task_id="test")
    return api.get(f"/api/snapshots/{created['id']}").json()


def readme(api, snapshot) -> str:
    body = api.get(f"/api/snapshots/{snapshot['id']}/download?format=hf")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(body.streaming_content)))
    (name,) = [n for n in archive.namelist() if n.endswith("README.md")]
    return archive.read(name).decode()


def test_the_card_says_what_the_audit_excluded_and_redacted_and_why(project, api, make_user):
    run = audited_project(project, make_user("audit-annotator"))
    Item.objects.filter(external_id="filler-0").update(excluded=True)
    snapshot = cut(api, project, exclude=["duplicates", "near_duplicates"], redact_pii=True)
    card = snapshot["lineage"]["data_card"]
    assert card["audit"]["run"] == run.pk
    assert card["audit"]["findings_per_kind"] == run.result["summary"]
    assert card["excluded"] == {
        "by_audit": {"spec": ["duplicates", "near_duplicates"], "run": run.pk,
                     "items_per_kind": {"Exact duplicates": 1, "Near-duplicates": 1}},
        "by_review": 1, "content_deleted": 0,
    }  # fmt: skip
    assert card["redacted"] == {"spec": True, "originals": False, "items": 1,
                                "entities_per_type": {"email": 1, "phone": 1}}  # fmt: skip
    assert card["label_distribution"] == snapshot["stats"]["labels"]
    assert card["labels"] == [{"name": "ham", "key": "1"}, {"name": "spam", "key": "2"}]
    assert card["annotators"] == {
        "count": 1,
        "annotations": 3,
        "named": False,
    }  # same-copy and near-b are out
    assert "audit-annotator" not in str(card)
    limits = card["known_limitations"]
    assert any("nobody had reviewed" in note and "2 duplicates with different labels" in note
               for note in limits)  # fmt: skip
    assert any("names and postal addresses are not detected" in note for note in limits)
    text = readme(api, snapshot)
    assert "## Data card" in text and "### Known limitations" in text
    assert "Redacted: 1 items" in text and "jo.bloggs@example.com" not in text


def test_the_card_says_when_no_audit_ran_or_personal_data_stayed(project, api, make_user, manager):
    Item.objects.create(project=project, external_id="a", text="mail jo@example.com",
                        final_labels=["positive"])  # fmt: skip
    card = cut(api, project)["lineage"]["data_card"]
    assert card["audit"] is None and card["redacted"]["items"] == 0
    assert card["known_limitations"][0].startswith("No data audit has run on this project")
    run = audit_run(project)
    Item.objects.create(project=project, external_id="b", text="later", final_labels=["negative"])
    finding_resolve(finding=AuditFinding.objects.get(job=run, kind="pii"), user=manager,
                    action="keep")  # fmt: skip
    limits = cut(api, project)["lineage"]["data_card"]["known_limitations"]
    assert f"Items were imported after audit run {run.pk}; they were not audited." in limits
    assert any("Personal data was found in 1 items" in note for note in limits)


HOSTILE_NAMES = ["<img src=x onerror=alert(1)>", "a | b\n# Pwned", "[click](javascript:alert(1))",
                 "![t](http://evil.example/pixel.png)", "x\n---\nlicense: evil", "`code` *b* _i_"]  # fmt: skip


def test_names_in_the_readme_cannot_inject_markdown_or_html(project, api, make_user):
    """Project and label names are plain text in the README: no tags, links, images, headings,
    table cells or YAML of their own, whatever they hold (the lineage's JSON keeps them as is)."""
    from annotation.services.projects import label_set_replace

    run = audited_project(project, make_user("audit-annotator"))
    label_set_replace(project=project, labels=["ham", "spam", *HOSTILE_NAMES])
    Item.objects.filter(external_id="filler-0").update(final_labels=[HOSTILE_NAMES[1]])
    project.name = "Evil\n---\nlicense: evil\n<script>alert(1)</script>"
    project.save()
    AuditFinding.objects.create(project=project, job=run, kind="imbalance", score=1,
                                evidence={"label": HOSTILE_NAMES[0]})  # fmt: skip
    text = readme(api, cut(api, project))
    markdown = text.split("## Lineage")[0]
    assert markdown.count("\n---\n") == 1  # the YAML header's own end, nothing more
    for bad in ("<img", "<script", "\n# Pwned", "\nlicense:"):
        assert bad not in markdown, bad
    assert not re.search(r"(?<!\\)\]\(", markdown)  # a link or image: an unescaped "]("
    table = [line for line in markdown.splitlines() if line.startswith("| split |")][0]
    cells = re.split(r"(?<!\\)\|", table)[1:-1]  # split at the pipes that are not escaped
    assert sorted(c.strip() for c in cells[2:]) == [r"a \| b \# Pwned", "ham", "spam"]  # used
