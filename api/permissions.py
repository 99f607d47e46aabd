"""Role checks for project-scoped routes.

A non-member gets 404 for everything in a project (its existence is not
disclosed); a member whose role does not allow the action gets 403.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import permissions

from annotation.models import Project
from annotation.selectors import user_role


def project_for(request, project_id) -> tuple[Project, str]:
    """The project and the user's role in it; 404 for non-members."""
    project = get_object_or_404(Project, pk=project_id)
    role = user_role(user=request.user, project=project)
    if role is None:
        raise Http404("No such project.")
    return project, role


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
