"""Sections of the project stats that another app computes (``learning``'s stopping rule and
forecast): registered by dotted path from that app's ``AppConfig.ready()``, so annotation
does not import it. Each section is ``fn(*, project) -> dict``."""

from __future__ import annotations

from django.utils.module_loading import import_string

_SECTIONS: dict[str, str] = {}


def register_section(name: str, path: str) -> None:
    _SECTIONS[name] = path


def section_values(*, project) -> dict[str, dict]:
    return {name: import_string(path)(project=project) for name, path in sorted(_SECTIONS.items())}
