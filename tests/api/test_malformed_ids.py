"""An id in a URL that is not a bigint answers a JSON 404 on every route, never a 500.

The routes come from the URL conf (as in the permission matrix), so a new route that takes
an id is covered without being listed here.
"""

import re

import pytest

from tests.api.test_permission_matrix import ROUTES

ID_GROUPS = ("pk", "project_pk", "item_pk", "other")
BAD_IDS = ["abc", "1.5", "-1", "0x10", "１２", "99999999999999999999", "9223372036854775808"]

ID_ROUTES = sorted(
    {(name, route, method) for name, route, method in ROUTES
     if any(f"(?P<{group}>" in route for group in ID_GROUPS)}
)  # fmt: skip


def test_the_id_routes_were_found():
    names = {name for name, _, _ in ID_ROUTES}
    assert {"job-detail", "snapshot-detail", "snapshot-download", "snapshot-diff",
            "project-detail", "item-annotations", "project-members"} <= names  # fmt: skip


def url_with(route: str, bad: str, group_to_break: str, good_ids: dict) -> str:
    """The route with ``group_to_break`` set to ``bad`` and every other group valid."""

    def fill(match: re.Match) -> str:
        group = match.group(1)
        return bad if group == group_to_break else str(good_ids[group])

    path = route.removeprefix("api/").lstrip("^").rstrip("$").replace("/?", "/")
    return "/api/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", fill, path)


CASES = [
    pytest.param(route, method, group, bad, id=f"{method.upper()} {name} {group}={bad}")
    for name, route, method in ID_ROUTES
    for group in ID_GROUPS
    if f"(?P<{group}>" in route
    for bad in BAD_IDS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "group", "bad"), CASES)
def test_a_malformed_id_is_a_json_404(route, method, group, bad, api, project):
    good = {"pk": 1, "project_pk": project.pk, "item_pk": 1, "other": 1, "username": "manager"}
    url = url_with(route, bad, group, good)
    response = getattr(api, method)(url, {}, format="json")
    assert response.status_code == 404, (url, response.status_code, response.content[:200])
    assert response["Content-Type"] == "application/json", url
    assert "detail" in response.json()


@pytest.mark.django_db
def test_an_unknown_api_url_is_a_json_404(api):
    response = api.post("/api/no-such-thing/", {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
