"""Role checks for project-scoped routes.

A non-member gets 404 for everything in a project (its existence is not
disclosed); a member whose role does not allow the action gets 403.
"""

from collections.abc import Mapping

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model
from django.http import Http404
from rest_framework import permissions
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from annotation.models import JobKind, Project, Role
from annotation.rawsql import object_by_id, project_with_role
from annotation.selectors import CAN_EXPORT, CAN_MANAGE, CAN_REVIEW
from annotation.services.text_access import text_view_for
from annotation.text_selectors import TextView

# Project-scoped requests (two per label on the labeling path) resolve the project and
# the requester's role first, with hand-written statements (``annotation.rawsql``).


def project_for(request, project_id) -> tuple[Project, str]:
    """The project and the user's role in it; 404 for non-members (one query)."""
    if not (request.user and request.user.is_authenticated):
        raise Http404("No such project.")
    project = project_with_role(project_id=url_id(project_id), user_id=request.user.pk)
    # The role is the `extra` column fetch_instance sets as an attribute (None: not a member).
    role: str | None = None if project is None else project.requester_role  # type: ignore[attr-defined]
    if project is None or role is None:
        raise Http404("No such project.")
    return project, role


def signed_in_user(request: Request) -> User:
    """``request.user`` on a route that ``IsAuthenticated`` guards; anonymous: 401/403."""
    if isinstance(request.user, AnonymousUser):
        raise NotAuthenticated()
    return request.user


def object_for(request, model: type[Model], pk, *, deferred: tuple[str, ...] = ()):
    """``(object, project, role)`` for an object that has a ``project``; 404 for non-members.

    ``deferred``: large columns left unread (loaded on access, like ``QuerySet.defer``).
    """
    obj = object_by_id(model, url_id(pk), deferred=tuple(deferred))
    if obj is None:
        raise Http404(f"No such {model._meta.verbose_name}.")
    # Every model routed here belongs to a project (a `project` foreign key).
    project, role = project_for(request, obj.project_id)  # type: ignore[attr-defined]
    obj.project = project  # type: ignore[attr-defined]
    return obj, project, role


# Who may follow a job of each kind: whoever may start it or read what it produces. Every
# member follows active learning (the project page's learning curve polls it); agreement and
# label-issue results show other people's labels (reviewers and managers, as their routes);
# imports are the managers' (their results quote the uploaded rows); snapshots go with exports.
JOB_KIND_ROLES: dict[str, frozenset[str]] = {
    JobKind.ACTIVE_LEARNING: frozenset(Role.values),
    JobKind.AGREEMENT: CAN_REVIEW,
    JobKind.LABEL_ISSUES: CAN_REVIEW,
    JobKind.IMPORT: CAN_MANAGE,
    JobKind.SNAPSHOT: CAN_EXPORT,
    JobKind.AUDIT: CAN_REVIEW,
    JobKind.COMPRESSION: CAN_MANAGE,
    JobKind.DRIFT: CAN_REVIEW,  # as /drift: annotators' agreement drops name them
}


def job_kinds_for(role: str | None) -> list[str]:
    """The job kinds ``role`` may see, for filtering a list the same way as the detail."""
    return [kind for kind, roles in JOB_KIND_ROLES.items() if role in roles]


def url_id(value) -> int:
    """An id captured from a URL as a bigint, or 404: the raw statements get no ORM casting,
    and PostgreSQL rejects non-ASCII digits and values beyond 2**63 with an error."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**63:
        raise Http404("No such object.")
    return int(text)


class ProjectRole(permissions.BasePermission):
    """Uses the view's ``roles`` mapping: action name -> roles allowed.

    Views set ``self.project`` / ``self.role`` via ``ProjectScopedMixin``.
    """

    def has_permission(self, request, view) -> bool:
        allowed = view.roles_for_action()
        return view.role in allowed


class ProjectScopedMixin(APIView):
    """For views under ``/api/projects/{project_pk}/``.

    ``project`` and ``role`` are set for a signed-in member before the permission checks;
    an anonymous request keeps ``role`` None (refused by ``IsAuthenticated`` first).
    """

    project_url_kwarg = "project_pk"
    roles: Mapping[str, frozenset[str]] = {}
    permission_classes = [permissions.IsAuthenticated, ProjectRole]
    project: Project
    role: str | None = None

    def initial(self, request, *args, **kwargs):
        # Authenticate first so that anonymous users get 401/403, never 404.
        self.perform_authentication(request)
        if request.user and request.user.is_authenticated:
            self.project, self.role = project_for(request, kwargs[self.project_url_kwarg])
        super().initial(request, *args, **kwargs)

    def roles_for_action(self) -> frozenset[str]:
        action = getattr(self, "action", None) or str(self.request.method).lower()
        return self.roles.get(action, frozenset())


def text_view_param(request, role: str | None) -> TextView:
    """The ``?originals=`` query parameter (``true``/``false``), checked: another value is a
    400, a non-manager asking for originals a 403 (``text_view_for``)."""
    value = request.query_params.get("originals", "false")
    if value not in ("true", "false"):
        raise ValidationError({"originals": ["Must be true or false."]})
    return text_view_for(role=role, originals=value == "true")
