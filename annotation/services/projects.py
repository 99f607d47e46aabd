"""Creating and configuring projects, their label sets and memberships."""

import colorsys
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import Label, Membership, Project, Role
from annotation.services.audit import access_log_write
from annotation.services.overlap import fresh_item_overlaps_set

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# Keys the labeling page reserves: s skip, z back, g guidelines, ? help (and Tab, Enter, Backspace).
RESERVED_KEYS = frozenset("szg?")
DEFAULT_KEYS = "1234567890" + "".join(
    c for c in "abcdefghijklmnopqrtuvwxy" if c not in RESERVED_KEYS
)

PROJECT_FIELDS = (
    "name", "description", "guidelines", "data_type", "multi_label", "overlap", "max_overlap",
    "agreement_sample", "min_item_agreement", "strategy", "fallback_order", "seed",
    "lease_minutes", "retrain_every", "batch_size", "label_issues_every", "agreement_every",
    "model_in_loop", "duplicate_threshold", "content_retention_days", "stop_threshold",
    "stop_on_plateau", "eval_sample", "forecast_target", "forecast_relative",
)  # fmt: skip

LabelSpec = str | Mapping[str, Any]
LOGGED_TEXT = 200  # settings texts longer than this are logged by length and hash
MAX_LEASE_MINUTES = 32_767  # the column is a smallint; the same bound on every database


def label_error(*, index: int, code: str, problem: str) -> ValidationError:
    """One label's problem: ``params`` says which label (``index`` in the list given) and
    what is wrong (``problem``), so a page can name the label its own way; the message the
    API shows is "labels[<index>]: <problem>"."""
    return ValidationError(
        "labels[%(index)s]: %(problem)s", code=code, params={"index": index, "problem": problem}
    )


def normalize_label_specs(labels: Iterable[LabelSpec]) -> list[dict[str, str]]:
    """Turn plain names or ``{"name", "color", "key"}`` objects into complete specs.

    Missing colours come from the palette and missing keys from 1-9, 0, then
    letters, skipping keys already taken and keys the labeling page reserves.
    """
    specs = [{"name": s} if isinstance(s, str) else dict(s) for s in labels]
    errors: list[ValidationError] = []

    def fail(index: int, code: str, problem: str) -> None:
        errors.append(label_error(index=index, code=code, problem=problem))

    seen_names: set[str] = set()
    taken_keys: set[str] = set()
    for i, spec in enumerate(specs):
        name = str(spec.get("name", "")).strip()
        if not name:
            fail(i, "name_missing", "a label needs a name.")
        elif len(name) > 100:
            fail(i, "name_too_long", "name is longer than 100 characters.")
        elif name in seen_names:
            fail(i, "name_taken", f"duplicate label name {name!r}.")
        seen_names.add(name)
        spec["name"] = name
        key = str(spec.get("key") or "").strip().lower()
        if key:
            if len(key) != 1 or key in RESERVED_KEYS or key in taken_keys:
                fail(i, "bad_key", f"key {key!r} is reserved, taken or not one character.")
            taken_keys.add(key)
        spec["key"] = key
        color = spec.get("color") or ""
        # Pages put the colour in an attribute and CSS: exactly #rrggbb, nothing else.
        if color and not (isinstance(color, str) and COLOR.fullmatch(color)):
            fail(i, "bad_color", f"colour {str(color)[:20]!r} is not #rrggbb.")
        spec["color"] = str(color).lower()
    if errors:
        raise ValidationError({"labels": errors})
    free_keys = (k for k in DEFAULT_KEYS if k not in taken_keys)
    free_colors = _free_colors({spec["color"] for spec in specs if spec["color"]})
    for spec in specs:
        if not spec["key"]:
            spec["key"] = next(free_keys, "")
        if not spec["color"]:
            spec["color"] = next(free_colors)
    return [{"name": s["name"], "color": s["color"], "key": s["key"]} for s in specs]


def _free_colors(chosen: set[str]) -> Iterator[str]:
    """Colours for labels given none: the palette first, then evenly spread hues, never one
    a manager chose for another label of the set (two labels must not look alike)."""
    for color in PALETTE:
        if color not in chosen:
            yield color
    for n in itertools.count():
        hue = (n * 0.618033988749895) % 1.0  # golden-ratio steps spread the hues evenly
        r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.55)
        color = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        if color not in chosen:
            chosen.add(color)
            yield color


def _validate_overlap(project: Project) -> None:
    if project.max_overlap < project.overlap:
        project.max_overlap = project.overlap
    if project.lease_minutes is not None and project.lease_minutes > MAX_LEASE_MINUTES:
        # PostgreSQL's smallint refuses it in full_clean; SQLite would store it, and adding
        # that many minutes to now overflows a datetime on every GET .../next.
        raise ValidationError(
            {"lease_minutes": f"Ensure this value is less than or equal to {MAX_LEASE_MINUTES}."}
        )


@transaction.atomic
def project_create(
    *, creator: User | None, name: str, labels: Iterable[LabelSpec], **fields: Any
) -> Project:
    """Create a project with its label set; the creator becomes its manager."""
    unknown = set(fields) - set(PROJECT_FIELDS)
    if unknown:
        raise ValidationError({f: "Unknown project field." for f in sorted(unknown)})
    project = Project(name=name, created_by=creator, **fields)
    if "max_overlap" not in fields:
        project.max_overlap = project.overlap
    _validate_overlap(project)
    project.full_clean()
    project.save()
    label_set_replace(project=project, labels=labels)
    if creator is not None:
        Membership.objects.create(project=project, user=creator, role=Role.MANAGER)
    return project


@transaction.atomic
def project_update(
    *, project: Project, labels: Iterable[LabelSpec] | None = None,
    actor: User | None = None, **fields: Any,
) -> Project:  # fmt: skip
    """Change a project's settings (and labels); what changed goes to the access log."""
    unknown = set(fields) - set(PROJECT_FIELDS)
    if unknown:
        raise ValidationError({f: "Unknown project field." for f in sorted(unknown)})
    before = {field: getattr(project, field) for field in fields}
    old_labels = list(project.labels.values_list("name", flat=True)) if labels is not None else []
    for field, value in fields.items():
        setattr(project, field, value)
    _validate_overlap(project)
    project.full_clean()
    project.save()
    if labels is not None:
        label_set_replace(project=project, labels=labels)
    if {"overlap", "agreement_sample"} & set(fields):
        fresh_item_overlaps_set(project=project)
    changed = {f: {"from": _plain(before[f]), "to": _plain(getattr(project, f))}
               for f in fields if before[f] != getattr(project, f)}  # fmt: skip
    new_labels = list(project.labels.values_list("name", flat=True)) if labels is not None else []
    if new_labels != old_labels:
        changed["labels"] = {"from": old_labels, "to": new_labels}
    if changed:
        access_log_write(actor=actor, action="project_settings", object_type="project",
                         object_id=project.pk, project_id=project.pk, detail=changed)  # fmt: skip
    return project


def _plain(value: Any) -> Any:
    """A settings value as JSON can hold it (the access log's detail); a long text (guidelines)
    by its length and hash, so the log says it changed without copying it."""
    if isinstance(value, str) and len(value) > LOGGED_TEXT:
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        return f"{len(value)} characters, sha256 {digest}"
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def label_set_replace(*, project: Project, labels: Iterable[LabelSpec]) -> list[Label]:
    """Make the project's labels exactly ``labels``, in order.

    Labels keep their rows (and so their history) when their name stays; a label
    that is already used by an annotation cannot be removed.
    """
    from annotation.selectors import label_usage  # selectors import models only

    specs = normalize_label_specs(labels)
    if not specs:
        raise ValidationError({"labels": ["A project needs at least one label."]})
    existing = {label.name: label for label in project.labels.all()}
    wanted = {spec["name"] for spec in specs}
    removed = [name for name in existing if name not in wanted]
    in_use = [name for name, count in label_usage(project=project, names=removed).items() if count]
    if in_use:
        raise ValidationError({"labels": [f"Label {n!r} is used by annotations." for n in in_use]})
    project.labels.filter(name__in=removed).delete()
    # Clear keys first so that swapping two keys does not trip the unique constraint.
    project.labels.update(key="")
    result = []
    for position, spec in enumerate(specs):
        label = existing.get(spec["name"]) or Label(project=project, name=spec["name"])
        label.color, label.key, label.position = spec["color"], spec["key"], position
        label.save()
        result.append(label)
    return result


@transaction.atomic
def membership_set(*, project: Project, user: User, role: str,
                   actor: User | None = None) -> Membership:  # fmt: skip
    """Give ``user`` ``role`` in ``project`` (adding them if needed); logged when it changes."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; one of {', '.join(Role.values)}."})
    current = Membership.objects.filter(project=project, user=user).first()
    if current and current.role == Role.MANAGER and role != Role.MANAGER:
        _keep_a_manager(project)
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    if current is None or current.role != role:
        access_log_write(actor=actor, action="role_change", object_type="membership",
                         object_id=user.pk, project_id=project.pk,
                         detail={"user": user.username, "from": current.role if current else None,
                                 "to": role})  # fmt: skip
    return membership


@transaction.atomic
def membership_remove(*, project: Project, user: User,
                      actor: User | None = None) -> None:  # fmt: skip
    membership = Membership.objects.filter(project=project, user=user).first()
    if membership is None:
        raise ValidationError({"username": "Not a member of this project."})
    if membership.role == Role.MANAGER:
        _keep_a_manager(project)
    membership.delete()
    access_log_write(actor=actor, action="role_change", object_type="membership",
                     object_id=user.pk, project_id=project.pk,
                     detail={"user": user.username, "from": membership.role, "to": None})  # fmt: skip


def _keep_a_manager(project: Project) -> None:
    if Membership.objects.filter(project=project, role=Role.MANAGER).count() <= 1:
        raise ValidationError({"username": "A project keeps at least one manager."})
