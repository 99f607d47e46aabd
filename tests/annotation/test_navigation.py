"""Every project page's way around: the hub and bar show each role what it may do, the
rule for starting projects is one function, and refusals are pages that say why."""

import pytest
from django.test import Client
from django.urls import reverse

from annotation.selectors import can_create_project
from annotation.services.users import user_allow_project_creation

pytestmark = pytest.mark.django_db

HUB = {
    "manager": ["label", "review", "project-dashboard", "snapshots", "manage-settings",
                "manage-import", "manage-members"],
    "reviewer": ["label", "review", "project-dashboard"],
    "annotator": ["label"],
    "engineer": ["snapshots"],
}  # fmt: skip


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", list(HUB))
def test_the_project_page_offers_exactly_the_actions_of_the_role(members, project, role):
    page = signed_in(members[role]).get(reverse("project-detail", args=[project.pk]))
    html = page.content.decode()
    shown = [name for name in HUB["manager"] if f'data-hub="{name}"' in html]
    assert shown == HUB[role]
    # The bar carries the same actions (and the overview) on every project page.
    assert all(f'data-nav="{name}"' in html for name in HUB[role])


@pytest.mark.parametrize("name", ["label", "project-dashboard", "review", "manage-import"])
def test_every_project_page_has_the_shared_bar(members, project, name):
    html = signed_in(members["manager"]).get(reverse(name, args=[project.pk])).content.decode()
    assert 'class="project-nav"' in html and 'aria-current="page"' in html


def test_a_member_without_the_role_gets_a_styled_403_that_says_why_and_links_back(members, project):
    response = signed_in(members["annotator"]).get(reverse("review", args=[project.pk]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "Only reviewers and managers review flagged labels." in html
    assert f'href="{reverse("project-detail", args=[project.pk])}"' in html
    assert 'data-nav="label"' in html  # what the annotator can do instead


def test_an_unknown_page_is_a_styled_404_with_a_way_home(members):
    response = signed_in(members["annotator"]).get("/projects/999999/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert f'href="{reverse("home")}"' in response.content.decode()


def test_project_creation_is_for_staff_and_users_given_the_permission(make_user):
    plain, staff, allowed = make_user("plain"), make_user("staff", is_staff=True), make_user("ok")
    user_allow_project_creation(user=allowed)
    assert [can_create_project(user=u) for u in (plain, staff, allowed)] == [False, True, True]


def test_others_see_no_new_project_button_and_the_form_refuses_them(make_user, client_for):
    plain = make_user("plain")
    home = signed_in(plain).get(reverse("home")).content.decode()
    assert 'id="new-project"' not in home
    response = signed_in(plain).get(reverse("manage-new"))
    assert response.status_code == 403 and "create projects" in response.content.decode()
    api = client_for(plain).post("/api/projects/", {"name": "x", "labels": ["a"]}, format="json")
    assert api.status_code == 403


def test_every_page_has_a_favicon(client):
    page = client.get(reverse("login")).content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")
