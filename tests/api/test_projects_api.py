"""The project, member, item, import and job endpoints, as scripts will use them."""

import io

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from annotation.models import Item, Membership
from annotation.services.users import user_allow_project_creation

pytestmark = pytest.mark.django_db


def test_token_auth_then_create_project_with_plain_and_rich_labels(make_user, client_for):
    user_allow_project_creation(user=make_user("ann"))
    anonymous = client_for()
    token = anonymous.post("/api/auth/token/", {"username": "ann", "password": "pw-ann"}).json()[
        "token"
    ]
    assert Token.objects.get(key=token).user.username == "ann"
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = anonymous.post(
        "/api/projects/",
        {"name": "Spam", "data_type": "text", "labels": ["ham", {"name": "spam", "color": "#ff0000", "key": "x"}],
         "multi_label": False, "overlap": 2, "strategy": "entropy", "guidelines": "# Spam?"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["labels"] == [
        {"name": "ham", "color": "#4e79a7", "key": "1"},
        {"name": "spam", "color": "#ff0000", "key": "x"},
    ]
    assert body["overlap"] == 2 and body["max_overlap"] == 2 and body["role"] == "manager"
    assert Membership.objects.get(project_id=body["id"]).user.username == "ann"


def test_project_validation_errors_name_the_field(api):
    response = api.post("/api/projects/", {"name": "x", "labels": ["a", "a"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"labels": ["labels[1]: duplicate label name 'a'."]}
    response = api.post(
        "/api/projects/", {"name": "x", "labels": ["a"], "data_type": "video"}, format="json"
    )
    assert response.status_code == 400 and "data_type" in response.json()


def test_members_add_change_remove(api, project, make_user):
    make_user("bob")
    url = f"/api/projects/{project.pk}/members/"
    assert api.post(url, {"username": "bob", "role": "annotator"}, format="json").status_code == 201
    assert api.patch(f"{url}bob/", {"role": "reviewer"}, format="json").json()["role"] == "reviewer"
    assert {m["username"]: m["role"] for m in api.get(url).json()} == {
        "bob": "reviewer",
        "manager": "manager",
    }
    assert api.delete(f"{url}bob/").status_code == 204
    assert api.post(url, {"username": "nobody", "role": "annotator"}, format="json").json() == {
        "username": ["No active user with that username."]
    }
    last_manager = api.delete(f"{url}manager/")
    assert last_manager.status_code == 400
    assert last_manager.json() == {"username": ["A project keeps at least one manager."]}


def test_import_json_body_and_file_then_list_items(api, project):
    url = f"/api/projects/{project.pk}/import"
    response = api.post(url, {"items": [{"id": "a", "text": "hello"}]}, format="json")
    assert response.status_code == 201
    assert response.json() | {"batch": None} == {
        "created": 1, "skipped": 0, "labels": 0, "rows": 1, "errors": [], "error_count": 0,
        "error_codes": {}, "batch": None, "file_name": "request.json",
        "sha256": response.json()["sha256"],
    }  # fmt: skip
    upload = io.BytesIO(b"id,text\nb,world\nc,again\n")
    upload.name = "more.csv"
    response = api.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 201 and response.json()["created"] == 2
    listing = api.get(f"/api/projects/{project.pk}/items/?status=open").json()
    assert listing["count"] == 3
    assert [i["external_id"] for i in listing["results"]] == ["a", "b", "c"]


def test_import_with_errors_answers_400_with_rows(api, project):
    upload = io.BytesIO(b"text,label\nfine,positive\nbad,unknown\n")
    upload.name = "labels.csv"
    response = api.post(f"/api/projects/{project.pk}/import", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == [{
        "row": 2, "field": "label",
        "message": "Unknown label 'unknown'; the project's labels are: negative, neutral, positive.",
        "code": "unknown_label", "line": 3, "params": {},
    }]  # fmt: skip
    assert Item.objects.count() == 0


def test_large_upload_becomes_a_job(api, project, settings, django_capture_on_commit_callbacks):
    settings.QUORUM_ASYNC_IMPORT_BYTES = 10
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from quorum.celery import app

    app.conf.task_always_eager = True
    try:
        upload = io.BytesIO(b"text\n" + b"".join(b"item %d\n" % i for i in range(50)))
        upload.name = "big.csv"
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/api/projects/{project.pk}/import", {"file": upload}, format="multipart"
            )
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 202
    job = api.get(f"/api/jobs/{response.json()['job']}").json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    assert job["result"]["created"] == 50
    assert Item.objects.filter(project=project).count() == 50


def test_export_streams_every_item_with_annotations(api, project):
    api.post(f"/api/projects/{project.pk}/import",
             {"items": [{"id": "a", "text": "x", "label": "positive"}, {"id": "b", "text": "y"}]},
             format="json")  # fmt: skip
    response = api.get(f"/api/projects/{project.pk}/export?format=jsonl")
    assert response.status_code == 200
    import json

    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [(r["id"], [a["labels"] for a in r["annotations"]]) for r in rows] == [
        ("a", [["positive"]]), ("b", []),
    ]  # fmt: skip
    csv_response = api.get(f"/api/projects/{project.pk}/export?format=csv")
    assert b"".join(csv_response.streaming_content).decode().splitlines()[0] == (
        "id,text,image,status,labels,annotators,meta"
    )
    assert api.get(f"/api/projects/{project.pk}/export?format=xml").status_code == 400


def test_staff_create_users(client_for, make_user):
    staff = make_user("root", is_staff=True)
    response = client_for(staff).post("/api/users/", {"username": "new", "password": "longenough"})
    assert response.status_code == 201
    assert get_user_model().objects.get(username="new").check_password("longenough")
    assert (
        client_for(make_user("plain"))
        .post("/api/users/", {"username": "x", "password": "longenough"})
        .status_code
        == 403
    )


def test_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/projects/" in schema.content
    assert api.get("/api/docs/").status_code == 200


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "ok"


def test_an_active_learning_job_can_ask_for_its_batch_size(api, project):
    response = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "active_learning",
                                                              "batch": 7}, format="json")  # fmt: skip

    assert response.status_code == 202, response.json()
    assert api.get(f"/api/jobs/{response.json()['job']}").json()["params"]["batch"] == 7


@pytest.mark.parametrize(
    "body", [{"kind": "agreement", "batch": 7}, {"kind": "active_learning", "batch": 0}]
)
def test_a_batch_is_refused_where_it_means_nothing(api, project, body):
    response = api.post(f"/api/projects/{project.pk}/jobs", body, format="json")

    assert response.status_code == 400
    assert "batch" in response.json()


def test_a_lease_longer_than_the_column_holds_is_a_400_on_every_database(api, project, members):
    # SQLite stored 10**10 minutes, then every GET .../next answered 500 (OverflowError
    # adding the lease to now); PostgreSQL's smallint refuses above 32,767.
    url = f"/api/projects/{project.pk}/"
    response = api.patch(url, {"lease_minutes": 10**10}, format="json")
    assert response.status_code == 400 and "lease_minutes" in response.json()
    assert api.patch(url, {"lease_minutes": 32_767}, format="json").status_code == 200
    Item.objects.create(project=project, external_id="x", text="hello")
    assert api.get(f"/api/projects/{project.pk}/next").status_code == 200
