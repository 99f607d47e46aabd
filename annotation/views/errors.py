"""The site's 403 and 404 pages: styled like every page, saying why, with a way back.

A 403 inside a project names the project and the user's role, and the shared project bar
(base.html) shows what that role can do instead. The reason is the ``PermissionDenied``
message the view raised: views write those messages for people.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.models import Project
from annotation.selectors import user_role


def _project_context(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    project_id = match.kwargs.get("project_id") if match else None
    if project_id is None or not request.user.is_authenticated:
        return {}
    project = Project.objects.filter(pk=project_id).first()
    role = user_role(user=request.user, project=project) if project else None
    return {"project": project, "role": role} if role else {}


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    context = {"reason": str(exception or ""), **_project_context(request)}
    return render(request, "403.html", context, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
