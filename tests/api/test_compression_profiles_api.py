"""Compression profiles through the API: the default, versions, roles, field errors, schema."""

import pytest
import yaml
from django.core.management import call_command

from annotation.models import CompressionProfile
from annotation.services.projects import project_create
from learning.compress import DEFAULT_PROFILE

pytestmark = pytest.mark.django_db


def url(project, pk=None) -> str:
    base = f"/api/projects/{project.pk}/compression-profiles"
    return base if pk is None else f"{base}/{pk}"


def test_every_project_has_a_default_profile_even_one_made_before_profiles(api, project):
    assert not CompressionProfile.objects.filter(project=project).exists()  # an "old" project
    response = api.get(url(project))
    assert response.status_code == 200
    (default,) = response.json()
    assert default["name"] == "default" and default["version"] == 1
    assert default["filters"] == DEFAULT_PROFILE.to_dict()["filters"]
    assert api.get(url(project)).json() == [default]  # made once


def test_a_filters_change_bumps_the_version_and_a_rename_does_not(api, project):
    created = api.post(url(project), {"name": "strict", "filters": [{"name": "markup"}]},
                       format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["version"] == 1
    renamed = api.patch(url(project, pk), {"name": "stricter"}, format="json")
    assert renamed.json()["version"] == 1 and renamed.json()["name"] == "stricter"
    same = api.patch(url(project, pk), {"filters": [{"name": "markup"}]}, format="json")
    assert same.json()["version"] == 1
    changed = api.patch(url(project, pk), {"filters": [{"name": "markup"},
                                                       {"name": "boilerplate", "min_fraction": 0.3}]},
                        format="json")  # fmt: skip
    assert changed.status_code == 200, changed.json()
    assert changed.json()["version"] == 2
    assert api.get(url(project, pk)).json()["filters"][1] == {"name": "boilerplate",
                                                              "min_fraction": 0.3}  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ([{"name": "shredder"}], "filters[0].name"),
        ([{"name": "markup"}, {"name": "boilerplate", "min_fraction": "lots"}],
         "filters[1].min_fraction"),
        ([{"name": "boilerplate", "nonsense": 1}], "filters[0].nonsense"),
        ([], "filters"),
        ("markup", "filters"),
        ([["markup"]], "filters[0]"),
    ],
)  # fmt: skip
def test_bad_filters_answer_400_naming_the_field(api, project, filters, field):
    response = api.post(url(project), {"name": "x", "filters": filters}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not CompressionProfile.objects.filter(name="x").exists()


def test_names_are_unique_per_project_and_the_default_keeps_its_name(api, project, manager):
    body = {"name": "mine", "filters": [{"name": "normalize"}]}
    assert api.post(url(project), body, format="json").status_code == 201
    again = api.post(url(project), body, format="json")
    assert again.status_code == 400 and "name" in again.json()
    other = project_create(creator=manager, name="Other", labels=["a", "b"])
    assert api.post(url(other), body, format="json").status_code == 201
    default = api.get(url(project)).json()[0]
    refused = api.patch(url(project, default["id"]), {"name": "renamed"}, format="json")
    assert refused.status_code == 400 and "name" in refused.json()


def test_members_read_managers_write_outsiders_see_nothing(client_for, project, members):
    body = {"name": "p", "filters": [{"name": "markup"}]}
    for role in ("annotator", "reviewer", "engineer"):
        client = client_for(members[role])
        assert client.get(url(project)).status_code == 200
        assert client.post(url(project), body, format="json").status_code == 403
    outsider = client_for(members["outsider"])
    assert outsider.get(url(project)).status_code == 404
    assert client_for().get(url(project)).status_code in (401, 403)


def test_another_projects_profile_is_not_found(api, project, manager):
    other = project_create(creator=manager, name="Other", labels=["a", "b"])
    theirs = api.get(url(other)).json()[0]["id"]
    assert api.get(url(project, theirs)).status_code == 404
    assert api.patch(url(project, theirs), {"name": "z"}, format="json").status_code == 404
    assert api.get(url(project, 2**70)).status_code == 404


def test_the_schema_documents_the_profile_routes(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    listing = schema["paths"]["/api/projects/{project_pk}/compression-profiles/"]
    assert set(listing) >= {"get", "post"}
    array = listing["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert array["type"] == "array"  # as the route answers, not a page
    detail = schema["paths"]["/api/projects/{project_pk}/compression-profiles/{id}/"]
    assert set(detail) >= {"get", "patch"}
    profile = schema["components"]["schemas"]["CompressionProfile"]["properties"]
    assert {"id", "name", "filters", "version"} <= set(profile)
