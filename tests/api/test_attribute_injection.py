"""User data that reaches an attribute (style, href, src) passes a strict grammar first:
label colours are ``#rrggbb``; guideline links and images are sanitised by nh3."""

import pytest
from django.test import Client

from annotation.guidelines import render_guidelines
from annotation.models import Project

pytestmark = pytest.mark.django_db

HOSTILE_COLOURS = [
    "#12345",  # short
    "#1234567",
    "#12345g",
    "red",
    "#fff;}x",
    '#"><b>',
    "#ff0000\n",
    "url(x)",
    7,
    ["#ffffff"],
]


@pytest.mark.parametrize("colour", HOSTILE_COLOURS, ids=repr)
def test_a_colour_that_is_not_rrggbb_is_a_field_error_and_nothing_is_written(api, colour):
    response = api.post(
        "/api/projects/",
        {"name": "Evil", "labels": ["ok", {"name": "bad", "color": colour}]},
        format="json",
    )
    assert response.status_code == 400
    assert "labels" in response.json()
    assert not Project.objects.filter(name="Evil").exists()


def test_a_colour_update_is_checked_too(api, project):
    response = api.patch(
        f"/api/projects/{project.pk}/",
        {"labels": [{"name": "positive", "color": "#000;x:y"}]},
        format="json",
    )
    assert response.status_code == 400
    assert project.labels.get(name="positive").color != "#000;x:y"


def test_colours_are_stored_lower_case(api):
    response = api.post(
        "/api/projects/", {"name": "Ok", "labels": [{"name": "a", "color": "#ABCDEF"}]},
        format="json",
    )  # fmt: skip
    assert response.json()["labels"][0]["color"] == "#abcdef"


def test_pages_carry_colours_in_data_attributes_never_in_style(members, project):
    browser = Client()
    browser.force_login(members["manager"])
    for path in (f"/projects/{project.pk}/label", f"/projects/{project.pk}/review",
                 f"/projects/{project.pk}/"):  # fmt: skip
        html = browser.get(path).content.decode()
        assert 'data-color="#' in html, path
        assert "style=" not in html, path


HOSTILE_MARKDOWN = """
# Rules
[click](javascript:alert(1)) [data](data:text/html,<script>alert(1)</script>)
<img src="x" onerror="alert(1)"> ![pixel](https://tracker.example/p.gif) ![ok](/static/x.png)
![sneaky](//tracker.example/p.gif)
<style>body{display:none}</style><script>alert(2)</script>
<a href="https://example.org" onclick="alert(3)" style="color:red">fine link</a>
<iframe src="https://example.org"></iframe><svg onload="alert(4)"></svg>
"""


def test_hostile_markdown_is_sanitised():
    html = render_guidelines(HOSTILE_MARKDOWN)
    lowered = html.lower()
    for needle in ("javascript:", "data:text", "onerror", "onclick", "onload", "<style",
                   "<script", "<iframe", "<svg", "style=", "tracker.example"):  # fmt: skip
        assert needle not in lowered, needle
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">fine link</a>' in html
    assert '<img alt="ok" src="/static/x.png">' in html
    assert "<h1>Rules</h1>" in html
