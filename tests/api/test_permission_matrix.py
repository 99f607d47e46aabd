"""Every API route x every role: who gets through, who gets 403, who gets 404.

The routes come from the URL conf, so a new route without a rule here fails
``test_every_route_has_a_rule`` instead of escaping the matrix.
"""

import pytest
from django.urls import get_resolver
from django.urls.resolvers import URLResolver

from annotation.models import Annotation, AuditFinding, Item, Job, JobKind, Snapshot
from annotation.services.compression import compression_profile_default
from annotation.services.webhooks import webhook_create

M, A, R, E = "manager", "annotator", "reviewer", "engineer"
MEMBERS = frozenset({M, A, R, E})
ACTORS = [M, A, R, E, "outsider", "anonymous"]
PUBLIC = "public"  # no authentication needed
SIGNED_IN = "signed-in"  # any authenticated user, member or not
STAFF = "staff"
CREATOR = "creator"  # staff or annotation.add_project (can_create_project): here the manager
BROWSER_PAGE = "browser-page"  # any authenticated user; anonymous visitors go to the login page
OWNER = "owner"  # only the annotator who wrote it; other labelers 404, non-labelers 403

RULES: dict[tuple[str, str], object] = {
    ("auth-token", "post"): PUBLIC,
    ("auth-token", "delete"): SIGNED_IN,
    ("auth-token-rotate", "post"): SIGNED_IN,
    ("schema", "get"): SIGNED_IN,
    ("docs", "get"): BROWSER_PAGE,
    ("api-root", "get"): SIGNED_IN,
    ("project-list", "get"): SIGNED_IN,
    ("project-list", "post"): CREATOR,
    ("project-detail", "get"): MEMBERS,
    ("project-detail", "put"): {M},
    ("project-detail", "patch"): {M},
    ("project-detail", "delete"): {M},
    ("project-members", "get"): {M},
    ("project-members", "post"): {M},
    ("project-member", "patch"): {M},
    ("project-member", "put"): {M},
    ("project-member", "delete"): {M},
    ("project-items", "get"): MEMBERS,
    ("project-item", "get"): MEMBERS,
    ("project-import", "post"): {M},
    ("project-export", "get"): {M, E},
    ("project-jobs", "get"): {M, R, E},
    ("project-jobs", "post"): {M, R},
    ("project-models", "get"): MEMBERS,  # the learning curve: aggregate, no one's labels
    ("project-compression-profiles", "get"): MEMBERS,  # settings, no one's content
    ("project-compression-profiles", "post"): {M},
    ("project-compression-profile", "get"): MEMBERS,
    ("project-compression-profile", "patch"): {M},
    ("project-webhooks", "get"): {M},  # URLs of the team's systems: the managers'
    ("project-webhooks", "post"): {M},
    ("project-webhook", "get"): {M},
    ("project-webhook", "patch"): {M},
    ("project-webhook", "delete"): {M},
    ("project-webhook-deliveries", "get"): {M},
    ("project-webhook-test", "post"): {M},  # sends to the team's systems
    ("project-alerts", "get"): MEMBERS,  # every member sees what needs attention
    ("project-alert-rules", "get"): MEMBERS,
    ("project-alert-rules", "put"): {M},
    ("project-next", "get"): {M, A, R},
    ("project-history", "get"): {M, A, R},
    ("project-progress", "get"): {M, A, R},
    ("item-annotations", "post"): {M, A, R},
    ("item-skip", "post"): {M, A, R},
    ("annotation-detail", "get"): OWNER,
    ("annotation-detail", "patch"): OWNER,
    ("project-stats", "get"): {M, R},
    ("project-agreement", "get"): {M, R},
    ("project-label-issues", "get"): {M, R},
    ("project-audit", "get"): {M, R},
    ("project-drift", "get"): {M, R},
    ("finding-resolve", "post"): {M, R},
    ("project-access-log", "get"): {M},
    ("project-delete-content", "post"): {M},
    ("project-annotator-quality", "get"): {M, R},
    ("project-annotator-quality-history", "get"): {M, R},
    ("item-review", "post"): {M, R},
    ("item-audit", "get"): {M, R},
    ("project-snapshots", "get"): {M, E},
    ("project-snapshots", "post"): {M, E},
    ("snapshot-detail", "get"): {M, E},
    ("snapshot-diff", "get"): {M, E},
    ("snapshot-download", "get"): {M, E},
    ("user-list", "get"): STAFF,
    ("user-list", "post"): STAFF,
    ("job-detail", "get"): {M},  # the world's job is an import: see JOB_KINDS below
}

# Who follows a job of each kind (GET /api/jobs/{id}); other members 403, outsiders 404.
JOB_KINDS = {
    "active_learning": MEMBERS,  # the project page's learning curve polls it for everyone
    "agreement": {M, R},  # the agreement matrix: as /agreement
    "label_issues": {M, R},  # as /label-issues
    "import": {M},  # as /import
    "snapshot": {M, E},  # as /snapshots
    "audit": {M, R},  # as /audit: findings show contents and personal data
    "compression": {M},  # a project setting's measurement: the managers'
    "drift": {M, R},  # as /drift
}


def api_routes() -> list[tuple[str, str, str]]:
    """(name, regex, method) for every API route, read from the URL conf."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            route = prefix + str(pattern.pattern)
            if not route.startswith("api/"):
                continue
            callback = pattern.callback
            actions = getattr(callback, "actions", None)
            if actions:
                methods = list(actions)
            else:
                view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
                names = ("get", "post", "put", "patch", "delete")
                methods = [m for m in names if hasattr(view, m)]
            found.extend((pattern.name, route, method) for method in methods)

    walk(get_resolver().url_patterns)
    return found


ROUTES = api_routes()


def test_every_route_has_a_rule():
    missing = sorted({(name, method) for name, _, method in ROUTES} - set(RULES))
    assert missing == [], f"API routes without a permission rule: {missing}"


@pytest.fixture
def world(members, project):
    """A project with one item, an annotation by the annotator, a job and a snapshot."""
    item = Item.objects.create(project=project, external_id="x", text="hello")
    annotation = Annotation.objects.create(
        item=item, project=project, annotator=members[A], labels=["positive"]
    )
    job = Job.objects.create(project=project, kind="import")
    snapshot = Snapshot.objects.create(project=project, version=1, spec={})
    other = Snapshot.objects.create(project=project, version=2, spec={})
    audit = Job.objects.create(project=project, kind="audit")
    finding = AuditFinding.objects.create(project=project, job=audit, kind="pii", score=1.0)
    profile = compression_profile_default(project=project)
    webhook = webhook_create(project=project, url="http://127.0.0.1:9/hook", secret="x" * 16,
                             events=["job.finished"])  # fmt: skip
    return {"item": item, "annotation": annotation, "job": job, "snapshot": snapshot,
            "other": other, "project": project, "finding": finding,
            "profile": profile, "webhook": webhook}  # fmt: skip


def concrete_url(name: str, route: str, world) -> str:
    """Fill the route's groups with ids from ``world``."""
    pk_owner = {
        "project-item": world["item"].pk, "item-annotations": world["item"].pk,
        "item-skip": world["item"].pk, "annotation-detail": world["annotation"].pk,
        "project-detail": world["project"].pk, "job-detail": world["job"].pk,
        "snapshot-detail": world["snapshot"].pk, "snapshot-diff": world["snapshot"].pk,
        "snapshot-download": world["snapshot"].pk, "finding-resolve": world["finding"].pk,
        "project-compression-profile": world["profile"].pk,
        "project-webhook": world["webhook"].pk, "project-webhook-deliveries": world["webhook"].pk,
        "project-webhook-test": world["webhook"].pk,
    }  # fmt: skip
    values = {
        "project_pk": world["project"].pk, "pk": pk_owner.get(name), "item_pk": world["item"].pk,
        "username": "annotator", "other": world["other"].pk,
    }  # fmt: skip
    import re

    path = route.removeprefix("api/").lstrip("^").rstrip("$").replace("/?", "/")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), path)
    return "/api/" + path


def expected(rule, actor: str) -> str:
    """'ok' (got through the permission check), or the status code the actor must get."""
    if rule == PUBLIC:
        return "ok"
    if actor == "anonymous":
        return "302" if rule == BROWSER_PAGE else "401"
    if rule in (SIGNED_IN, BROWSER_PAGE):
        return "ok"
    if rule == STAFF:
        return "403"
    if rule == CREATOR:
        return "ok" if actor == M else "403"
    if actor == "outsider":
        return "404"
    if rule == OWNER:
        return {A: "ok", E: "403"}.get(actor, "404")
    return "ok" if actor in rule else "403"


CASES = [
    pytest.param(name, route, method, actor, id=f"{method.upper()} {name} as {actor}")
    for name, route, method in ROUTES
    if (name, method) in RULES
    for actor in ACTORS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route", "method", "actor"), CASES)
def test_permission_matrix(name, route, method, actor, world, members, client_for):
    client = client_for(None if actor == "anonymous" else members[actor])
    url = concrete_url(name, route, world)
    response = getattr(client, method)(url, {}, format="json")
    want = expected(RULES[(name, method)], actor)
    if want == "ok":
        assert response.status_code not in (401, 403, 404), (url, response.status_code)
    else:
        assert str(response.status_code) == want, (
            url,
            response.status_code,
            response.content[:200],
        )


def test_every_job_kind_has_a_rule():
    assert set(JOB_KINDS) == set(JobKind.values)


JOB_CASES = [
    pytest.param(kind, actor, id=f"{kind} job as {actor}") for kind in JOB_KINDS for actor in ACTORS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "actor"), JOB_CASES)
def test_job_detail_by_kind(kind, actor, project, members, client_for):
    job = Job.objects.create(project=project, kind=kind)
    client = client_for(None if actor == "anonymous" else members[actor])
    response = client.get(f"/api/jobs/{job.pk}")
    want = expected(JOB_KINDS[kind], actor)
    if want == "ok":
        assert response.status_code == 200, response.content[:200]
        assert response.json()["kind"] == kind
    else:
        assert str(response.status_code) == want, response.content[:200]


@pytest.mark.django_db
@pytest.mark.parametrize("actor", [M, R, E])
def test_a_project_job_list_shows_only_the_kinds_the_role_may_follow(
    actor, project, members, client_for
):
    for kind in JobKind.values:
        Job.objects.create(project=project, kind=kind)
    response = client_for(members[actor]).get(f"/api/projects/{project.pk}/jobs")
    assert response.status_code == 200
    shown = sorted(job["kind"] for job in response.json()["results"])
    assert shown == sorted(kind for kind, roles in JOB_KINDS.items() if actor in roles)
