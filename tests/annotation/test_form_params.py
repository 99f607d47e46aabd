"""Ids from forms and query strings: only ASCII digits within a bigint are ids; anything else
is "no id" and the page answers as if none was given (never a 500)."""

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from annotation.views.params import MAX_ID, form_id

HOSTILE_IDS = ["²", "٣", "１２", "-1", "0", "1e3", " ", "9" * 30, str(2**63), "\x00"]


@given(st.integers(min_value=1, max_value=MAX_ID))
def test_every_bigint_id_reads_back(number):
    assert form_id(str(number)) == number


@given(st.text())
def test_any_text_is_an_id_or_none_and_never_raises(text):
    parsed = form_id(text)
    assert parsed is None or (0 < parsed <= MAX_ID and str(parsed) == text.strip().lstrip("0"))


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_ids_are_no_id(value):
    assert form_id(value) is None


@pytest.mark.django_db
@pytest.mark.parametrize("value", [v for v in HOSTILE_IDS if v != "\x00"])  # NUL: 400 (nul_guard)
def test_the_pages_taking_ids_answer_hostile_ones_without_a_500(project, manager, value):
    """``isdigit`` accepts "²", which ``int`` refuses: these pages answered 500 to it."""
    client = Client()
    client.force_login(manager)
    assert client.get(f"/projects/{project.pk}/compression", {"profile": value}).status_code == 200
    started = client.post(f"/projects/{project.pk}/compression/run", {"profile": value})
    assert started.status_code == 302
    assert client.post(f"/projects/{project.pk}/audit", {"original": value}).status_code == 200
