"""Manager pages: create and edit a project, members, import, the guidelines preview, and
who may see them (non-members 404, other roles 403)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import Item, Membership, Project, Role
from annotation.services.importing import import_objects

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def as_manager(browser_for, manager):
    return browser_for(manager)


def project_post(**overrides) -> dict:
    """A complete project form, as the page submits it."""
    data = {
        "name": "Reviews", "description": "Product reviews", "guidelines": "# Be *kind*",
        "data_type": "text", "overlap": "2", "max_overlap": "3", "min_item_agreement": "0.8", "agreement_sample": "0", "duplicate_threshold": "0.7",
        "strategy": "entropy", "fallback_order": "import", "seed": "7", "lease_minutes": "10",
        "retrain_every": "25", "batch_size": "20", "label_issues_every": "200", "agreement_every": "50",
        "stop_threshold": "0.99", "eval_sample": "0", "forecast_target": "0.95",
        "forecast_relative": "on",
        "multi_label": "on",
        "label_name": ["good", "bad", "mixed"],
        "label_color": ["#112233", "#445566", "#778899"],
        "label_key": ["x", "", "m"],
    }  # fmt: skip
    data.update(overrides)
    return data


def labels_of(project: Project) -> list[tuple[str, str, str]]:
    return [(x.name, x.color, x.key) for x in project.labels.all()]


class TestCreate:
    def test_the_home_page_links_to_the_new_project_page(self, as_manager):
        page = as_manager.get(reverse("home")).content.decode()
        assert f'href="{reverse("manage-new")}"' in page

    def test_creating_a_project_makes_the_creator_its_manager(self, make_user, browser_for):
        creator = make_user("ada", is_staff=True)
        response = browser_for(creator).post(reverse("manage-new"), project_post())
        project = Project.objects.get(name="Reviews")
        assert response.status_code == 302
        assert response["Location"] == reverse("manage-import", args=[project.pk])
        assert Membership.objects.get(project=project).role == Role.MANAGER
        assert (project.overlap, project.max_overlap, project.strategy) == (2, 3, "entropy")
        assert project.multi_label and not project.model_in_loop and project.retrain_every == 25
        # Label order is the page's row order; an empty key gets the first free one.
        assert labels_of(project) == [
            ("good", "#112233", "x"), ("bad", "#445566", "1"), ("mixed", "#778899", "m")
        ]  # fmt: skip

    def test_blank_label_rows_are_ignored(self, as_manager):
        post = project_post(
            label_name=["a", "", "b"], label_color=["#000000"] * 3, label_key=[""] * 3
        )
        as_manager.post(reverse("manage-new"), post)
        assert [x[0] for x in labels_of(Project.objects.get(name="Reviews"))] == ["a", "b"]

    @pytest.mark.parametrize(
        ("overrides", "shown"),
        [
            ({"label_name": ["a", "a"], "label_color": ["#000000"] * 2, "label_key": ["", ""]},
             "Label &#x27;a&#x27;: duplicate label name &#x27;a&#x27;."),
            ({"label_name": ["a", "b"], "label_color": ["#000000"] * 2, "label_key": ["s", ""]},
             "Label &#x27;a&#x27;: key &#x27;s&#x27; is reserved, taken or not one character."),
            ({"label_name": [""], "label_color": ["#000000"], "label_key": [""]},
             "A project needs at least one label."),
            ({"label_name": ["a", ""], "label_color": ["#000000"] * 2, "label_key": ["", "x"]},
             "Label row 2: a label needs a name."),
            # The page names the label from the error's params: a name that looks like a
            # format string or like the API's "labels[0]" is shown as it is.
            ({"label_name": ["50% labels[0]"] * 2, "label_color": ["#000000"] * 2,
              "label_key": ["", ""]},
             "Label &#x27;50% labels[0]&#x27;: duplicate label name &#x27;50% labels[0]&#x27;."),
            ({"overlap": "0"}, "Ensure this value is greater than or equal to 1."),
            ({"name": ""}, "This field is required."),
        ],
    )  # fmt: skip
    def test_invalid_input_is_shown_and_nothing_is_created(self, as_manager, overrides, shown):
        response = as_manager.post(reverse("manage-new"), project_post(**overrides))
        assert response.status_code == 200
        assert shown in response.content.decode()
        assert not Project.objects.filter(name="Reviews").exists()

    def test_the_rejected_label_rows_are_kept_for_fixing(self, as_manager):
        post = project_post(label_name=["keep me", "keep me"], label_key=["", "", ""])
        page = as_manager.post(reverse("manage-new"), post).content.decode()
        assert page.count('value="keep me"') == 2 and 'value="#445566"' in page


class TestSettings:
    def test_the_form_shows_the_current_settings_and_labels(self, as_manager, project):
        page = as_manager.get(reverse("manage-settings", args=[project.pk])).content.decode()
        assert 'value="Sentiment"' in page and "Label the *overall* sentiment." in page
        for label in project.labels.all():
            assert f'value="{label.name}"' in page and f'value="{label.color}"' in page

    def test_edit_settings_and_reorder_rename_and_recolour_labels(self, as_manager, project):
        post = project_post(
            name="Sentiment v2", model_in_loop="on", label_name=["neutral", "positive", "negative"],
            label_color=["#aaaaaa", "#00ff00", "#ff0000"], label_key=["n", "p", "x"],
            stop_on_plateau="on",
        )  # fmt: skip
        assert not project.stop_on_plateau  # off by default: the rule alone
        response = as_manager.post(reverse("manage-settings", args=[project.pk]), post)
        assert response.status_code == 302
        project.refresh_from_db()
        assert project.name == "Sentiment v2" and project.model_in_loop and project.stop_on_plateau
        assert labels_of(project) == [
            ("neutral", "#aaaaaa", "n"), ("positive", "#00ff00", "p"), ("negative", "#ff0000", "x")
        ]  # fmt: skip

    def test_a_label_in_use_cannot_be_removed(self, as_manager, project):
        import_objects(project=project, objects=[{"text": "x", "label": "neutral"}])
        post = project_post(label_name=["positive", "negative"], label_key=["", ""])
        response = as_manager.post(reverse("manage-settings", args=[project.pk]), post)
        assert "Label &#x27;neutral&#x27; is used by annotations." in response.content.decode()
        assert project.labels.count() == 3

    def test_data_type_is_fixed_once_items_exist(self, as_manager, project):
        import_objects(project=project, objects=[{"text": "x"}])
        post = project_post(data_type="image", label_name=["positive", "negative", "neutral"])
        as_manager.post(reverse("manage-settings", args=[project.pk]), post)
        project.refresh_from_db()
        assert project.data_type == "text" and project.name == "Reviews"


class TestGuidelinesPreview:
    def test_renders_markdown_sanitized_on_the_server(self, as_manager):
        source = "# Title\n\n*kind* <script>alert(1)</script> [x](javascript:alert(1))"
        response = as_manager.post(reverse("guidelines-preview"), {"guidelines": source})
        html = response.json()["html"]
        assert "<h1>Title</h1>" in html and "<em>kind</em>" in html
        assert "<script" not in html and "javascript:" not in html

    def test_needs_a_signed_in_post(self, as_manager):
        assert as_manager.get(reverse("guidelines-preview")).status_code == 405
        response = Client().post(reverse("guidelines-preview"), {"guidelines": "x"})
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_needs_the_csrf_token(self, manager):
        client = Client(enforce_csrf_checks=True)
        client.force_login(manager)
        assert client.post(reverse("guidelines-preview"), {"guidelines": "x"}).status_code == 403


class TestMembers:
    def url(self, project) -> str:
        return reverse("manage-members", args=[project.pk])

    def test_lists_members_with_their_roles(self, as_manager, project, members):
        page = as_manager.get(self.url(project)).content.decode()
        for username in ("manager", "annotator", "reviewer", "engineer"):
            assert f'data-username="{username}"' in page
        assert 'data-username="outsider"' not in page

    def test_add_change_and_remove_a_member(self, as_manager, project, make_user):
        newcomer = make_user("newcomer")
        as_manager.post(
            self.url(project), {"action": "add", "username": "newcomer", "role": "annotator"}
        )
        assert Membership.objects.get(project=project, user=newcomer).role == "annotator"
        as_manager.post(
            self.url(project), {"action": "role", "username": "newcomer", "role": "reviewer"}
        )
        assert Membership.objects.get(project=project, user=newcomer).role == "reviewer"
        response = as_manager.post(self.url(project), {"action": "remove", "username": "newcomer"})
        assert response.status_code == 302
        assert not Membership.objects.filter(project=project, user=newcomer).exists()

    def test_an_unknown_username_is_a_form_error(self, as_manager, project):
        response = as_manager.post(
            self.url(project), {"action": "add", "username": "ghost", "role": "annotator"}
        )
        assert response.status_code == 200
        assert "No active user with that username." in response.content.decode()

    def test_the_last_manager_stays(self, as_manager, project, manager):
        response = as_manager.post(
            self.url(project), {"action": "remove", "username": "manager"}, follow=True
        )
        assert "A project keeps at least one manager." in response.content.decode()
        assert Membership.objects.get(project=project, user=manager).role == Role.MANAGER

    def test_a_manager_who_steps_down_leaves_the_page(self, as_manager, project, make_user):
        other = make_user("other")
        as_manager.post(
            self.url(project), {"action": "add", "username": "other", "role": "manager"}
        )
        response = as_manager.post(
            self.url(project), {"action": "role", "username": "manager", "role": "annotator"}
        )
        assert response["Location"] == reverse("project-detail", args=[project.pk])
        assert Membership.objects.get(project=project, user=other).role == Role.MANAGER


class TestImportPage:
    def test_the_page_points_its_script_at_the_import_api(self, as_manager, project):
        page = as_manager.get(reverse("manage-import", args=[project.pk])).content.decode()
        assert f'data-api-url="/api/projects/{project.pk}/import"' in page
        assert 'data-jobs-url="/api/jobs/0"' in page and "js/import.js" in page

    def test_lists_imported_files_and_counts(self, as_manager, project, manager):
        import_objects(project=project, objects=[{"text": "a"}, {"text": "b"}], user=manager)
        page = as_manager.get(reverse("manage-import", args=[project.pk])).content.decode()
        assert "request.json" in page and '<strong data-count="items">2</strong>' in page

    def test_the_import_api_accepts_the_page_session_with_its_csrf_token(self, manager, project):
        client = Client(enforce_csrf_checks=True)
        client.force_login(manager)
        page = client.get(reverse("manage-import", args=[project.pk]))
        # The script reads the token the page renders into its form.
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
        url = reverse("project-import", kwargs={"project_pk": project.pk})
        upload = {"file": _csv("text\nhello\n")}
        assert client.post(url, upload).status_code == 403  # no CSRF header: refused
        response = client.post(url, {"file": _csv("text\nhello\n")}, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 201 and Item.objects.filter(project=project).count() == 1


def _csv(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("items.csv", text.encode(), content_type="text/csv")


MANAGER_PAGES = ["manage-settings", "manage-import", "manage-members"]


class TestPermissions:
    @pytest.mark.parametrize("page", MANAGER_PAGES)
    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("manager", 200),
            ("annotator", 403),
            ("reviewer", 403),
            ("engineer", 403),
            ("outsider", 404),
        ],
    )
    def test_manager_pages_by_role(self, browser_for, project, members, page, who, status):
        assert browser_for(members[who]).get(reverse(page, args=[project.pk])).status_code == status

    @pytest.mark.parametrize("page", MANAGER_PAGES)
    def test_posts_are_guarded_too(self, browser_for, project, members, page):
        post = {"action": "add", "username": "outsider", "role": "manager"} | project_post()
        for who, status in [("annotator", 403), ("outsider", 404)]:
            response = browser_for(members[who]).post(reverse(page, args=[project.pk]), post)
            assert response.status_code == status
        project.refresh_from_db()
        assert project.name == "Sentiment" and project.memberships.count() == 4

    @pytest.mark.parametrize("page", MANAGER_PAGES)
    def test_anonymous_users_are_sent_to_log_in(self, project, page):
        response = Client().get(reverse(page, args=[project.pk]))
        assert response.status_code == 302 and response["Location"].startswith("/login/")

    def test_a_missing_project_is_404(self, as_manager):
        assert as_manager.get(reverse("manage-settings", args=[9999])).status_code == 404


class TestProjectPageSection:
    def test_managers_see_links_and_counts(self, as_manager, project):
        import_objects(project=project, objects=[{"text": "a", "label": "positive"}])
        page = as_manager.get(reverse("project-detail", args=[project.pk])).content.decode()
        for name in MANAGER_PAGES:
            assert f'href="{reverse(name, args=[project.pk])}"' in page
        assert '<strong data-count="items">1</strong>' in page
        assert '<strong data-count="annotations">1</strong>' in page

    def test_other_roles_do_not(self, browser_for, project, members):
        page = browser_for(members["annotator"]).get(reverse("project-detail", args=[project.pk]))
        assert reverse("manage-settings", args=[project.pk]) not in page.content.decode()
