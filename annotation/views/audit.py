"""The audit review page: the open findings of one kind, strongest first, each with its items and
the actions that fit it (keep, exclude, merge, redact). Server-rendered forms that post to
``audit_resolve``, which calls the same service as ``POST /api/findings/{id}/resolve``; the
page's small script (static/js/audit.js) only adds keys that press those buttons.

Texts with personal data are shown redacted; a manager may ask for one finding's originals
with a POST (CSRF-checked, never cached, never a link another site or a prefetcher could
follow), and that view is written to the access log.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from annotation.audit_selectors import (
    ACCESS_ACTIONS,
    access_log_entries,
    annotation_votes,
    audit_findings,
    audit_overview,
    listed_items,
    pii_spans,
)
from annotation.models import AuditFinding, FindingKind, FindingStatus
from annotation.selectors import CAN_MANAGE, CAN_REVIEW
from annotation.services.audit import MERGEABLE, access_log_write, finding_resolve
from annotation.text_selectors import shown_text
from annotation.views.pages import member_project_or_404
from annotation.views.params import form_id

PER_PAGE = 10
SHOWN_MEMBERS = 12  # items shown per finding; a larger group says how many more it has
# The kinds a person acts on, in the order a data lead works through them.
REVIEW_KINDS = [FindingKind.CONFLICT, FindingKind.DUPLICATE, FindingKind.NEAR_DUPLICATE,
                FindingKind.PII, FindingKind.OUTLIER, FindingKind.LOW_INFORMATION]  # fmt: skip


def _reviewer_project(request, project_id: int):
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_REVIEW:
        raise PermissionDenied("Only reviewers and managers review audit findings.")
    return project, role


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def audit_page(request, project_id: int):
    """``?kind=`` (default: the first kind with open findings), ``?page=``; a POST of
    ``original=<id>`` shows that finding's originals to a manager (and logs it)."""
    project, role = _reviewer_project(request, project_id)
    overview = audit_overview(project=project)
    open_by_kind = {k["kind"]: k["open"] for k in overview["kinds"]}
    kind = request.GET.get("kind")
    if kind not in REVIEW_KINDS:
        kind = next((k for k in REVIEW_KINDS if open_by_kind.get(k)), FindingKind.CONFLICT)
    findings = audit_findings(project=project, kind=kind, status=FindingStatus.OPEN,
                              members=SHOWN_MEMBERS)  # fmt: skip
    page = Paginator(findings, PER_PAGE).get_page(request.GET.get("page"))
    original = _original_requested(request, role, project, page)
    cards = _cards(list(page.object_list), original)
    tabs = [{"kind": k, "label": FindingKind(k).label, "open": open_by_kind.get(k, 0)}
            for k in REVIEW_KINDS]  # fmt: skip
    context = {"project": project, "role": role, "overview": overview, "tabs": tabs,
               "kind": kind, "kind_label": FindingKind(kind).label, "page": page,
               "cards": cards, "can_reveal": role in CAN_MANAGE}  # fmt: skip
    return render(request, "annotation/audit.html", context)


def _original_requested(request, role, project, page) -> int | None:
    """The finding whose originals a manager asked to see (logged), if it is on this page.

    Only a POST asks: a GET with a side effect could be triggered by any page the manager
    visits, writing "pii_view" entries in their name (and a prefetch would reveal and log)."""
    wanted = form_id(request.POST.get("original")) if request.method == "POST" else None
    if wanted is None or role not in CAN_MANAGE:
        return None
    finding = next((f for f in page.object_list if f.pk == wanted), None)
    if finding is None or finding.kind != FindingKind.PII:
        return None
    access_log_write(actor=request.user, action="pii_view", object_type="audit_finding",
                     object_id=finding.pk, project_id=project.pk,
                     detail={"items": [i.pk for i in listed_items(finding)]})  # fmt: skip
    return finding.pk


def _cards(findings: list[AuditFinding], original: int | None) -> list[dict]:
    """What the template shows per finding: its items (texts redacted where personal data was
    found, except the originals a manager asked for), and which actions fit it."""
    members = {f.pk: listed_items(f) for f in findings}  # the first SHOWN_MEMBERS, by id
    ids = [i.pk for items in members.values() for i in items]
    spans = pii_spans(item_ids=ids)
    votes = annotation_votes(item_ids=ids)
    cards = []
    for finding in findings:
        items = members[finding.pk]
        shown = [
            {"id": i.pk, "external_id": i.external_id, "image": bool(i.image),
             "labels": i.final_labels or i.consensus_labels or votes.get(i.pk, []),
             "text": shown_text(i.text, i.redacted_text, originals=finding.pk == original,
                                spans=spans.get(i.pk, ()))}
            for i in items
        ]  # fmt: skip
        count = finding.item_count  # type: ignore[attr-defined]  # annotated by audit_findings
        cards.append({
            "finding": finding, "items": shown, "more": max(0, count - len(items)),
            "mergeable": finding.kind in MERGEABLE and count > 1,
            "redactable": finding.kind == FindingKind.PII, "revealed": finding.pk == original,
            "entities": sorted({e.get("type", "") for e in finding.evidence.get("entities", [])}),
        })  # fmt: skip
    return cards


@login_required
@require_POST
def audit_resolve(request, project_id: int, finding_id: int):
    """One action on one finding, then back to the page it came from (post/redirect/get)."""
    project, _ = _reviewer_project(request, project_id)
    finding = get_object_or_404(AuditFinding, pk=finding_id, project=project)
    keep = request.POST.get("keep_item", "")
    try:
        if keep and form_id(keep) is None:
            raise ValidationError({"keep_item": "The item to keep must be one of the group's."})
        finding_resolve(finding=finding, user=request.user, action=request.POST.get("action", ""),
                        keep_item=form_id(keep))  # fmt: skip
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = FindingStatus(finding.status).label.lower()
        messages.success(request, f"{finding.get_kind_display()} finding {finding.pk}: {done}.")
    url = reverse("audit", args=[project.pk]) + f"?kind={finding.kind}"
    page = request.POST.get("page", "")
    number = form_id(page)
    return redirect(url + (f"&page={number}" if number is not None and number < 10**6 else ""))


@login_required
def access_log_page(request, project_id: int):
    """The project's access log for its managers, newest first, ``?action=`` to filter."""
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_MANAGE:
        raise PermissionDenied("Only managers read the access log.")
    action = request.GET.get("action") or None
    action = action if action in ACCESS_ACTIONS else None
    entries = access_log_entries(project=project, action=action)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    context = {"project": project, "role": role, "page": page, "action": action,
               "actions": ACCESS_ACTIONS}  # fmt: skip
    return render(request, "annotation/access_log.html", context)
