"""The navigation bar every project page shares: the actions the user's role may take.

One tag, so no page can forget a link: ``{% project_nav project %}`` (base.html calls it
whenever a page has a ``project``). The actions come from ``annotation.nav``.
"""

from django import template

from annotation.nav import project_actions
from annotation.selectors import user_role

register = template.Library()


@register.inclusion_tag("annotation/_project_nav.html", takes_context=True)
def project_nav(context, project) -> dict:
    request = context["request"]
    role = context.get("role") or user_role(user=request.user, project=project)
    match = request.resolver_match
    return {
        "project": project,
        "role": role,
        "actions": project_actions(project=project, role=role),
        "active": match.url_name if match else "",
    }
