"""``{% latest_agreement project as agreement %}`` for the project page's agreement partial,
whose context (project, role, counts) is shared by every feature's partial."""

from django import template

from annotation.agreement_selectors import agreement_latest

register = template.Library()


@register.simple_tag
def latest_agreement(project) -> dict:
    return agreement_latest(project=project)
