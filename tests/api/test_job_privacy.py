"""No role ever sees a server file path in a job: not in its params, result or error."""

import pytest
from django.conf import settings

from annotation.models import Job

M, E = "manager", "engineer"


@pytest.fixture
def failed_import(project):
    upload = settings.QUORUM_UPLOAD_DIR / "0f3a-items.csv"
    export = settings.QUORUM_EXPORT_DIR / "7" / ".v2.building-12" / "snapshot.csv"
    return Job.objects.create(
        project=project, kind="import", status="failed",
        params={"path": str(upload), "file_name": "items.csv", "size": 10},
        result={"errors": [{"row": 0, "message": f"could not read {upload}"}]},
        error=f"OSError: [Errno 28] No space left on device: '{export}'",
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["detail", "list"])
def test_a_job_never_shows_server_paths(where, failed_import, members, client_for):
    client = client_for(members[M])
    if where == "detail":
        response = client.get(f"/api/jobs/{failed_import.pk}")
        job = response.json()
    else:
        response = client.get(f"/api/projects/{failed_import.project_id}/jobs")
        job = response.json()["results"][0]
    assert response.status_code == 200
    text = response.content.decode()
    for root in (settings.BASE_DIR, settings.VAR_DIR, settings.QUORUM_UPLOAD_DIR):
        assert str(root) not in text
    assert job["params"] == {"file_name": "items.csv", "size": 10}
    assert job["result"]["errors"][0]["message"] == "could not read <server path>"
    assert job["error"] == "OSError: [Errno 28] No space left on device: '<server path>'"


@pytest.mark.django_db
def test_text_that_only_looks_like_a_root_is_kept(project, members, client_for):
    """A root ends at a path boundary: ``/usr`` must not eat ``/username``."""
    job = Job.objects.create(
        project=project, kind="import", status="failed", error="No such column /username"
    )
    response = client_for(members[M]).get(f"/api/jobs/{job.pk}")
    assert response.json()["error"] == "No such column /username"


@pytest.mark.django_db
def test_an_unknown_kind_filter_is_a_400_not_an_empty_list(project, members, client_for):
    response = client_for(members[M]).get(f"/api/projects/{project.pk}/jobs?kind=nope")
    assert response.status_code == 400
    assert "kind" in response.json()
