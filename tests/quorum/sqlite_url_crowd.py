"""Run by tests/quorum/test_sqlite_url.py in a fresh process: settings are read at start, so
DATABASE_URL must be set before Django loads. Six annotators label one project at once through
the API on a SQLite file named by ``DATABASE_URL=sqlite:///...``; prints what happened as JSON.
"""

import json
import os
import sys
import threading
from collections import Counter

import django

ANNOTATORS = 6
ITEMS = 90


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections
    from rest_framework.test import APIClient

    from annotation.models import Annotation, Item, Role
    from annotation.services.projects import membership_set, project_create

    call_command("migrate", verbosity=0)
    users = [get_user_model().objects.create_user(f"a{i}") for i in range(ANNOTATORS)]
    project = project_create(creator=None, name="crowd", labels=["yes", "no"], overlap=2)
    for user in users:
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    Item.objects.bulk_create(
        Item(project=project, external_id=str(i), text=f"t{i}", sequence=i, required_overlap=2)
        for i in range(ITEMS)
    )
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
    connections.close_all()
    codes: Counter[int] = Counter()
    barrier = threading.Barrier(ANNOTATORS)

    def label(user) -> None:
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        try:
            while True:
                response = client.get(f"/api/projects/{project.pk}/next")
                codes[response.status_code] += 1
                if response.status_code != 200:
                    return
                item = response.json()["id"]
                answer = client.post(f"/api/items/{item}/annotations/", {"label": "yes"},
                                     format="json")  # fmt: skip
                codes[answer.status_code] += 1
                if answer.status_code != 201:
                    return
        finally:
            connections.close_all()

    threads = [threading.Thread(target=label, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    json.dump(
        {
            "engine": connection.vendor,
            "journal_mode": journal,
            "codes": {str(k): v for k, v in codes.items()},
            "annotations": Annotation.objects.filter(project=project).count(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
