"""In a real browser: an image item imported through the manage page is shown as an image
and never runs as a page, and a stored non-image file is downloaded, not rendered."""

import base64
import contextlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from annotation.models import Item
from annotation.services.projects import project_create
from tests.api.test_hostile_images import HTML, SCRIPT, polyglot_gif

pytestmark = pytest.mark.browser


def csv_with_image(content: bytes, media_type: str) -> dict:
    uri = f"data:{media_type};base64," + base64.b64encode(content).decode()
    return {
        "name": "pics.csv",
        "mimeType": "text/csv",
        "buffer": f'id,image\np1,"{uri}"\n'.encode(),
    }


def test_the_import_page_refuses_html_and_serves_a_polyglot_only_as_a_gif(
    page, live_url, login, manager, settings, tmp_path, page_errors
):
    settings.MEDIA_ROOT = tmp_path
    project = project_create(creator=manager, name="Pics", labels=["a", "b"], data_type="image")
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/import")

    page.set_input_files("#import-file", csv_with_image(HTML, "image/gif"))
    page.click("#import-submit")
    expect(page.locator("#import-errors tbody tr")).to_have_count(1)
    expect(page.locator("#import-errors")).to_contain_text("allowed formats")
    assert not Item.objects.filter(project=project).exists()

    page.set_input_files("#import-file", csv_with_image(polyglot_gif(), "text/html"))
    page.click("#import-submit")
    expect(page.locator("#import-result .notice.ok")).to_contain_text("1 item")
    item = Item.objects.get(project=project)

    response = page.goto(f"{live_url}/media/items/{item.pk}")
    assert response.headers["content-type"] == "image/gif"
    assert SCRIPT not in response.body()
    assert page.evaluate("document.contentType") == "image/gif"  # an image document
    assert page.locator("script").count() == 0
    assert page_errors == []


def test_a_stored_html_file_is_downloaded_not_rendered(
    page, live_url, login, manager, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    project = project_create(creator=manager, name="Old", labels=["a", "b"], data_type="image")
    name = default_storage.save("projects/legacy/row1.html", ContentFile(HTML))
    item = Item.objects.create(project=project, external_id="old", image=name)
    login(page, "manager")
    page.goto(f"{live_url}/")
    # The navigation becomes a download, so there is no page and goto raises.
    with page.expect_download() as download, contextlib.suppress(PlaywrightError):
        page.goto(f"{live_url}/media/items/{item.pk}")
    assert download.value.suggested_filename == "row1.html"
    assert page.url == f"{live_url}/"  # still on the home page, nothing rendered
