"""Role checks for project-scoped routes.

A non-member gets 404 for everything in a project (its existence is not
disclosed); a member whose role does not allow the action gets 403.
"""

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from rest_framework import permissions

from annotation.models import Membership, Project


def with_requester_role(objects: QuerySet, *, user, project_ref: str = "pk") -> QuerySet:
    """Annotate ``requester_role``: the user's role in the row's project (None: not a member).

    Fetches the object and the role in one statement (the labeling hot path runs this
    on every request).
    """
    role = Membership.objects.filter(project=OuterRef(project_ref), user=user).values("role")[:1]
    return objects.annotate(requester_role=Subquery(role))


def project_for(request, project_id) -> tuple[Project, str]:
    """The project and the user's role in it; 404 for non-members (one query)."""
    if not (request.user and request.user.is_authenticated):
        raise Http404("No such project.")
    project = with_requester_role(Project.objects.filter(pk=project_id), user=request.user).first()
    if project is None or project.requester_role is None:
        raise Http404("No such project.")
    return project, project.requester_role


class ProjectRole(permissions.BasePermission):
    """Uses the view's ``roles`` mapping: action name -> roles allowed.

    Views set ``self.project`` / ``self.role`` via ``ProjectScopedMixin``.
    """

    def has_permission(self, request, view) -> bool:
        allowed = view.roles_for_action()
        return view.role in allowed


class ProjectScopedMixin:
    """For views under ``/api/projects/{project_pk}/``."""

    project_url_kwarg = "project_pk"
    roles: dict[str, frozenset[str]] = {}
    permission_classes = [permissions.IsAuthenticated, ProjectRole]

    def initial(self, request, *args, **kwargs):
        # Authenticate first so that anonymous users get 401/403, never 404.
        self.perform_authentication(request)
        if request.user and request.user.is_authenticated:
            self.project, self.role = project_for(request, kwargs[self.project_url_kwarg])
        else:
            self.project, self.role = None, None
        super().initial(request, *args, **kwargs)

    def roles_for_action(self) -> frozenset[str]:
        action = getattr(self, "action", None) or self.request.method.lower()
        return self.roles.get(action, frozenset())
