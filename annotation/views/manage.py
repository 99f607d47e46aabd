"""Manager pages: create and configure a project, import items, manage members.

Forms only validate; the services in ``annotation/services/`` write. The import
page uploads through the REST import endpoint (session auth + CSRF header), so
a large file becomes a background job exactly as it does for scripts.
Non-members get 404 for a project's pages, members who are not managers 403.
"""

import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.guidelines import render_guidelines
from annotation.models import Project, Role
from annotation.selectors import (
    CAN_MANAGE,
    can_create_project,
    project_counts,
    recent_import_batches,
    user_role,
)
from annotation.services.projects import (
    PALETTE,
    PROJECT_FIELDS,
    membership_remove,
    membership_set,
    project_create,
    project_update,
)
from annotation.services.users import user_for_membership
from annotation.views.pages import AuthenticatedHttpRequest, member_project_or_404
from quorum.throttle import Locked

MAX_PREVIEW_CHARS = 200_000
SETTINGS_GROUPS = (
    ("Project", ("name", "description", "data_type", "multi_label")),
    (
        "Overlap",
        ("overlap", "max_overlap", "min_item_agreement", "agreement_sample", "lease_minutes"),
    ),
    ("Queue and model", ("strategy", "fallback_order", "seed", "model_in_loop")),
    ("Background jobs", ("retrain_every", "batch_size", "label_issues_every", "agreement_every")),
    ("Data audit", ("duplicate_threshold", "content_retention_days")),
    (
        "Monitoring",
        (
            "stop_threshold",
            "stop_on_plateau",
            "eval_sample",
            "forecast_target",
            "forecast_relative",
        ),
    ),
)
FRIENDLIER_LABELS = {
    "multi_label": "Multi-label (an item may get several labels)",
    "max_overlap": "Maximum overlap",
    "min_item_agreement": "Agreement needed to stop at the overlap",
    "agreement_sample": "Agreement sample (share of items a second annotator labels, overlap 1)",
    "lease_minutes": "Lease (minutes an item is held for an annotator)",
    "model_in_loop": "Show the model's suggestion",
    "content_retention_days": "Content retention (days)",
    "stop_on_plateau": "Also stop when kappa stops increasing",
    "eval_sample": "Evaluation sample (random items for a fair learning curve)",
}


class ProjectForm(forms.Form):
    """Every project setting, with the model's own fields, choices and help texts."""

    def __init__(self, *args, lock_data_type: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(Project, fields=PROJECT_FIELDS))
        self.fields["description"].widget.attrs["rows"] = 2
        for name, label in FRIENDLIER_LABELS.items():
            self.fields[name].label = label
        self.fields["guidelines"].widget.attrs.update(rows=14, placeholder="Markdown")
        if lock_data_type:
            self.fields["data_type"].disabled = True
            self.fields["data_type"].help_text = "Fixed once the project has items."

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in SETTINGS_GROUPS]


def label_rows_from_post(post) -> list[dict[str, str]]:
    """The label editor's rows, in page order: parallel ``label_name/color/key`` lists.

    A row the browser sent without a valid colour gets one from the palette.
    """
    names, colors, keys = (post.getlist(f"label_{f}") for f in ("name", "color", "key"))
    rows = []
    for i, (name, color, key) in enumerate(zip(names, colors, keys, strict=False)):
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            color = PALETTE[i % len(PALETTE)]
        rows.append({"name": name.strip(), "color": color.lower(), "key": key.strip()})
    return rows


def _label_rows_for(project: Project | None) -> list[dict[str, str]]:
    if project is None:
        return [{"name": "", "color": PALETTE[i], "key": ""} for i in range(2)]
    return [{"name": x.name, "color": x.color, "key": x.key} for x in project.labels.all()]


def _apply_service_errors(form: forms.Form, exc: ValidationError, rows: list) -> list[str]:
    """Put a service's errors on their form fields; return the label set's errors."""
    label_errors: list[str] = []
    errors = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
    for field, field_errors in errors.items():
        if field == "labels":
            label_errors.extend(_label_error_words(rows, error) for error in field_errors)
        elif field in form.fields:
            form.add_error(field, field_errors)
        else:
            form.add_error(None, field_errors)
    return label_errors


def _label_error_words(rows: list[dict[str, str]], error: ValidationError) -> str:
    """ "Label 'x': <problem>" (or "Label row 3" for a row without a name), from the error's
    params (``services.projects.label_error``); any other error as it is."""
    params = error.params or {}
    if "index" not in params:
        return " ".join(error.messages)
    index = params["index"]
    name = rows[index]["name"] if index < len(rows) else ""
    label = f"Label {name!r}" if name else f"Label row {index + 1}"
    return f"{label}: {params['problem']}"


def managed_project_or_403(request: HttpRequest, project_id: int) -> Project:
    """The project for its managers; 404 for non-members, 403 for other roles."""
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_MANAGE:
        raise PermissionDenied("Only the project's managers can do this.")
    return project


def _project_form_page(request: AuthenticatedHttpRequest, project: Project | None) -> HttpResponse:
    lock = project is not None and project.items.exists()
    rows = _label_rows_for(project)
    label_errors: list[str] = []
    if request.method == "POST":
        form = ProjectForm(request.POST, lock_data_type=lock)
        if project is not None and lock:
            form.fields["data_type"].initial = project.data_type
        rows = label_rows_from_post(request.POST)
        if form.is_valid():
            fields = dict(form.cleaned_data)
            labels = [r for r in rows if r["name"] or r["key"]]
            try:
                if project is None:
                    project = project_create(creator=request.user, labels=labels, **fields)
                    messages.success(request, f"Created {project.name}. Import its items next.")
                    return redirect("manage-import", project.pk)
                project = project_update(
                    project=project, labels=labels, actor=request.user, **fields
                )
                messages.success(request, "Settings saved.")
                return redirect("manage-settings", project.pk)
            except ValidationError as exc:
                label_errors = _apply_service_errors(form, exc, labels)
    else:
        initial = forms.model_to_dict(project, fields=PROJECT_FIELDS) if project else None
        form = ProjectForm(initial=initial, lock_data_type=lock)
    context = {
        "project": project,
        "form": form,
        "label_rows": rows,
        "label_errors": label_errors,
        "palette": list(PALETTE),
        "counts": project_counts(project=project) if project else None,
    }
    return render(request, "annotation/manage/project_form.html", context)


@login_required
def project_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Staff and users with the create permission start projects (the API's rule too); the
    creator becomes its manager. Others get the 403 page that says so."""
    if not can_create_project(user=request.user):
        raise PermissionDenied(
            "Only staff and users given the “create projects” permission can start a project. "
            "Ask an administrator to create one or to give you that permission."
        )
    return _project_form_page(request, None)


@login_required
def project_settings(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    return _project_form_page(request, managed_project_or_403(request, project_id))


@login_required
@require_POST
def guidelines_preview(request: HttpRequest) -> JsonResponse:
    """Render Markdown exactly as annotators will see it: server-side and sanitized."""
    source = request.POST.get("guidelines", "")
    if len(source) > MAX_PREVIEW_CHARS:
        return JsonResponse({"error": "The guidelines are too long to preview."}, status=413)
    return JsonResponse({"html": render_guidelines(source)})


@login_required
def project_import(request: HttpRequest, project_id: int) -> HttpResponse:
    project = managed_project_or_403(request, project_id)
    context = {
        "project": project,
        "counts": project_counts(project=project),
        "labels": list(project.labels.values_list("name", flat=True)),
        "batches": recent_import_batches(project=project),
        "api_url": reverse("project-import", kwargs={"project_pk": project.pk}),
        "jobs_url": reverse("job-detail", kwargs={"pk": 0}),  # the JS swaps in the job's id
        "async_bytes": settings.QUORUM_ASYNC_IMPORT_BYTES,
        "max_field_kb": settings.QUORUM_MAX_FIELD_BYTES // 1024,
    }
    return render(request, "annotation/manage/import.html", context)


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)


@login_required
def project_members(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """List members; POST ``action`` = add (username, role), role (username, role) or remove."""
    project = managed_project_or_403(request, project_id)
    form = MemberForm()
    if request.method == "POST":
        form, done = _members_post(request, project)
        if done:
            # A manager who removed or demoted themselves can no longer see this page.
            role = user_role(user=request.user, project=project)
            if role is None:
                return redirect("home")
            if role not in CAN_MANAGE:
                return redirect("project-detail", project.pk)
            return redirect("manage-members", project.pk)
    context = {
        "project": project,
        "form": form,
        "roles": Role.choices,
        "counts": project_counts(project=project),
        "members": project.memberships.select_related("user").order_by("role", "user__username"),
    }
    return render(request, "annotation/manage/members.html", context)


def _members_post(request: AuthenticatedHttpRequest, project: Project) -> tuple[MemberForm, bool]:
    action = request.POST.get("action")
    if action == "add":
        form = MemberForm(request.POST)
        if not form.is_valid():
            return form, False
        try:  # unknown and deactivated names answer alike; probing them is throttled
            user = user_for_membership(
                requester=request.user, username=form.cleaned_data["username"]
            )
        except ValidationError as exc:
            form.add_error("username", exc.message_dict["username"])
            return form, False
        except Locked as locked:
            form.add_error(
                "username", f"Too many unknown usernames: try again in {locked.retry_after} s."
            )
            return form, False
        role = form.cleaned_data["role"]
    else:
        form = MemberForm()
        member = project.memberships.filter(user__username=request.POST.get("username")).first()
        if member is None or action not in {"role", "remove"}:
            messages.error(request, "No such member.")
            return form, True
        user, role = member.user, request.POST.get("role", "")
    try:
        if action == "remove":
            membership_remove(project=project, user=user, actor=request.user)
            messages.success(request, f"Removed {user.username}.")
        else:
            membership_set(project=project, user=user, role=role, actor=request.user)
            messages.success(request, f"{user.username} is now {role} of {project.name}.")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return form, True
