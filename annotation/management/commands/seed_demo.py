"""Create the demo: users in every role and a project of real data that ships with
scikit-learn (the 1,797 handwritten digits), imported through the normal import path.
Idempotent: a second run only prints the logins."""

import base64
import io

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image

from annotation.models import Project
from annotation.services.importing import import_objects
from annotation.services.projects import membership_set, project_create
from annotation.services.users import user_allow_project_creation

DEMO_PROJECT = "Handwritten digits (demo)"
DEMO_USERS = [
    ("manager", "manager"),
    ("alice", "annotator"),
    ("bob", "annotator"),
    ("rita", "reviewer"),
    ("eve", "engineer"),
]
GUIDELINES = """# Which digit is it?

Each image is one handwritten digit, 0 to 9, scanned at 8 x 8 pixels.

* Press the digit's key (`1`..`9`, `0`).
* If you honestly cannot tell, **skip** it (`s`) rather than guess.
* `z` goes back to the previous image.
"""


def digit_png(pixels, scale: int = 10) -> str:
    """An 8x8 digit (values 0-16) as a data URI of a crisp, upscaled PNG."""
    image = Image.frombytes("L", (8, 8), bytes(int(255 - v * 255 / 16) for v in pixels))
    image = image.resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


class Command(BaseCommand):
    help = "Create demo users and a demo project (scikit-learn's handwritten digits)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", default="quorum-demo", help="Password for every demo user."
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="Where `make run` serves the site."
        )
        parser.add_argument("--limit", type=int, default=None, help="Import only this many digits.")

    def handle(self, *args, password: str, limit: int | None, **options):
        users = self._users(password)
        project = Project.objects.filter(name=DEMO_PROJECT).first()
        if project is None:
            project = self._project(users, limit)
        self.stdout.write(
            self.style.SUCCESS(f"Demo project: {project.name} ({project.items.count()} items)")
        )
        self.stdout.write(f"Log in at {options['url']} as any of (password: {password}):")
        for username, role in DEMO_USERS:
            self.stdout.write(f"  {username:<8} {role}")
        self.stdout.write("  admin    staff (Django admin at /admin/)")

    def _users(self, password: str) -> dict:
        User = get_user_model()
        users = {}
        for username, _ in [*DEMO_USERS, ("admin", "")]:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.is_staff = user.is_superuser = username == "admin"
                user.save()
            if username == "manager":  # the demo manager may start projects of their own
                user_allow_project_creation(user=user)
            users[username] = user
        return users

    @transaction.atomic
    def _project(self, users: dict, limit: int | None) -> Project:
        from sklearn.datasets import load_digits

        digits = load_digits()
        labels = [{"name": str(d), "key": str(d)} for d in range(10)]
        project = project_create(
            creator=users["manager"], name=DEMO_PROJECT, labels=labels, data_type="image",
            guidelines=GUIDELINES, overlap=2, max_overlap=3, retrain_every=20,
            description="Real data shipped with scikit-learn: 1,797 8x8 handwritten digits "
            "(UCI ML hand-written digits). Two annotators per digit, three when they disagree.",
        )  # fmt: skip
        for username, role in DEMO_USERS[1:]:
            membership_set(project=project, user=users[username], role=role)
        count = len(digits.images) if limit is None else limit
        objects = [
            {"id": f"digit-{i:04d}", "image": digit_png(digits.images[i].ravel()),
             "meta": {"source": "sklearn.datasets.load_digits", "index": i}}
            for i in range(count)
        ]  # fmt: skip
        result = import_objects(project=project, objects=objects, user=users["manager"])
        if not result.ok:
            raise RuntimeError(f"demo import failed: {result.errors[:3]}")
        return project
