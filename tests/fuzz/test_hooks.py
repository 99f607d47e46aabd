"""The fuzz run's guard: the seeded project and its manager survive whatever is drawn."""

import importlib

import pytest
import schemathesis
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--file", str(path))
    return schemathesis.openapi.from_path(str(path))


@pytest.fixture
def hooks(monkeypatch):
    monkeypatch.setenv("QUORUM_FUZZ_PROJECT", "7")
    monkeypatch.setenv("QUORUM_FUZZ_USER", "fuzz-manager")
    monkeypatch.setenv("QUORUM_FUZZ_TOKEN", "manager-token")
    monkeypatch.setenv("QUORUM_FUZZ_SPARE_TOKEN", "spare-token")
    import tests.fuzz.hooks as module

    return importlib.reload(module)


def sent(hooks, case):
    hooks.before_call(None, case)
    return case.path_parameters


def test_deleting_the_seeded_project_goes_to_a_missing_one(schema, hooks):
    delete = schema["/api/projects/{id}/"]["DELETE"]
    assert sent(hooks, delete.Case(path_parameters={"id": 7})) == {"id": hooks.NO_SUCH_PROJECT}
    assert sent(hooks, delete.Case(path_parameters={"id": 8})) == {"id": 8}


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_the_manager_membership_is_never_changed(schema, hooks, method):
    member = schema["/api/projects/{project_pk}/members/{username}/"][method]
    mine = member.Case(path_parameters={"project_pk": 7, "username": "fuzz-manager"})
    assert sent(hooks, mine)["project_pk"] == hooks.NO_SUCH_PROJECT
    other = member.Case(path_parameters={"project_pk": 7, "username": "fuzz-annotator"})
    assert sent(hooks, other)["project_pk"] == 7


def test_re_adding_the_manager_with_another_role_is_redirected(schema, hooks):
    add = schema["/api/projects/{project_pk}/members/"]["POST"]
    case = add.Case(path_parameters={"project_pk": 7}, media_type="application/json",
                    body={"username": "fuzz-manager", "role": "annotator"})  # fmt: skip
    assert sent(hooks, case)["project_pk"] == hooks.NO_SUCH_PROJECT


def test_account_routes_carry_the_spare_token(schema, hooks):
    token = schema["/api/auth/token/"]["POST"].Case(media_type="application/json", body={})
    hooks.before_call(None, token)
    assert token.headers["Authorization"] == "Token spare-token"
    project = schema["/api/projects/"]["GET"].Case()
    hooks.before_call(None, project)
    assert project.headers["Authorization"] == "Token manager-token"
