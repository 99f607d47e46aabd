"""The whole domain is editable in the Django admin."""

import pytest
from django.contrib import admin
from django.urls import reverse

from annotation.models import Annotation, Item

pytestmark = pytest.mark.django_db

DOMAIN_APPS = {"annotation", "learning"}


def test_every_domain_model_is_registered():
    from django.apps import apps

    models = [m for app in DOMAIN_APPS for m in apps.get_app_config(app).get_models()]
    missing = [m.__name__ for m in models if m not in admin.site._registry]
    assert missing == []


def test_staff_can_open_every_changelist_and_change_form(client, make_user, project, manager):
    item = Item.objects.create(project=project, external_id="a", text="hello")
    Annotation.objects.create(item=item, project=project, annotator=manager, labels=["positive"])
    staff = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    for model in list(admin.site._registry):
        if model._meta.app_label not in DOMAIN_APPS:
            continue
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        first = model.objects.first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change
