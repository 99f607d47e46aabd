"""Schemathesis hooks for the fuzz run (loaded by the CLI through ``SCHEMATHESIS_HOOKS``).

The fuzzer signs in as the seeded project's manager and may call every operation, DELETE
included. Deleting that project would leave the rest of the run testing 404s only, so a
request that would delete it (or remove its manager) is sent to an id that does not exist
instead: the operation is still exercised, the world the other operations need survives.
Projects the fuzzer creates itself (stateful links) it may delete freely.

Every request carries the manager's token, set here rather than by the CLI so that a request
to the account routes under /api/auth/ (rotating or revoking "the current token") carries a
spare user's token instead: rotating the manager's own would turn the rest of the run into 401s.

Random ids rarely name a real object, so half the time a path's ids are swapped for the
seeded ones (``QUORUM_FUZZ_IDS``): the other half still probes ids that do not exist.
"""

import json
import os

import schemathesis
from hypothesis import strategies as st

PROTECTED_PROJECT = int(os.environ.get("QUORUM_FUZZ_PROJECT", "0"))
PROTECTED_USER = os.environ.get("QUORUM_FUZZ_USER", "")
TOKEN = os.environ.get("QUORUM_FUZZ_TOKEN", "")
SPARE_TOKEN = os.environ.get("QUORUM_FUZZ_SPARE_TOKEN", "")
NO_SUCH_PROJECT = 2**62
# {"project": [..], "item": [..], "annotation": [..], "job": [..], "snapshot": [..],
#  "webhook": [..], "username": [..]}: the seeded objects, by the kind of thing a path parameter names.
SEEDED = json.loads(os.environ.get("QUORUM_FUZZ_IDS", "{}"))


def _kind_of(path: str, name: str) -> str | None:
    """Which seeded kind the path parameter ``name`` of ``path`` names."""
    if name in ("project_pk", "username"):
        return "project" if name == "project_pk" else "username"
    if name == "item_pk" or (
        name == "id" and path.startswith(("/api/items/", "/api/projects/{project_pk}/items/"))
    ):
        return "item"
    if name == "id" and path.startswith("/api/projects/{project_pk}/webhooks/"):
        return "webhook"
    for prefix, kind in (("/api/projects/", "project"), ("/api/annotations/", "annotation"),
                         ("/api/jobs/", "job"), ("/api/snapshots/", "snapshot")):  # fmt: skip
        if path.startswith(prefix) and name in ("id", "other"):
            return kind
    return None


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    """The drawn parameters, or the same with every id that names a seeded kind replaced."""
    if not path_parameters or ctx.operation is None:
        return st.just(path_parameters)
    kinds = {name: _kind_of(ctx.operation.path, name) for name in path_parameters}
    seeded = {name: st.sampled_from(SEEDED[kind]) for name, kind in kinds.items()
              if kind and SEEDED.get(kind)}  # fmt: skip
    if not seeded:
        return st.just(path_parameters)
    drawn = {name: st.just(value) for name, value in path_parameters.items()}
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries({**drawn, **seeded}))


def _names_protected_project(case) -> bool:
    parameters = case.path_parameters or {}
    project = parameters.get("id") if case.path == "/api/projects/{id}/" else None
    project = parameters.get("project_pk", project)
    return str(project) == str(PROTECTED_PROJECT)


def _changes_protected_manager(case) -> bool:
    """A request that could demote or remove the fuzzer's own manager role (it could once
    another member was made a manager): by path, or by a member body naming it."""
    if not _names_protected_project(case) or case.method.upper() == "GET":
        return False
    if case.path == "/api/projects/{project_pk}/members/{username}/":
        return case.path_parameters.get("username") == PROTECTED_USER
    if case.path == "/api/projects/{project_pk}/members/":
        return isinstance(case.body, dict) and case.body.get("username") == PROTECTED_USER
    return False


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    token = SPARE_TOKEN if case.path.startswith("/api/auth/") else TOKEN
    case.headers = {**(case.headers or {}), "Authorization": f"Token {token}"}
    deletes_project = case.method.upper() == "DELETE" and case.path == "/api/projects/{id}/"
    if deletes_project and _names_protected_project(case):
        case.path_parameters["id"] = NO_SUCH_PROJECT
    if _changes_protected_manager(case):
        case.path_parameters["project_pk"] = NO_SUCH_PROJECT
