"""The header's links: what each role of the logged-in user works with (a tag, so settings need no context processor)."""
from django import template
from django.urls import reverse
from django.utils.translation import pgettext_lazy

from core.models import Role
from core.selectors import roles_of

register = template.Library()

# Per role, in the order of the day: (label, URL name). A link two roles share is shown once.
LINKS_OF_ROLE = {
    Role.LEADER: (
        (pgettext_lazy("navigation", "Orders"), "grouporders:home"),
        (pgettext_lazy("navigation", "Pickup"), "pickup:point-day"),
        (pgettext_lazy("navigation", "Statement"), "pickup:statement"),
    ),
    Role.DRIVER: ((pgettext_lazy("navigation", "Route"), "routing:driver-route"),),
    Role.WAREHOUSE: (
        (pgettext_lazy("navigation", "Pick lists"), "warehouse-pick-lists"),
        (pgettext_lazy("navigation", "Goods receipts"), "procurement:receipts"),
    ),
    Role.PROCUREMENT: (
        (pgettext_lazy("navigation", "Purchasing"), "procurement:overview"),
        (pgettext_lazy("navigation", "Goods receipts"), "procurement:receipts"),
    ),
    Role.OPERATOR: (
        (pgettext_lazy("navigation", "Dashboard"), "dashboard"),
        (pgettext_lazy("navigation", "Admin"), "admin:index"),
    ),
}


def links_of(user) -> dict[str, str]:
    """{url: label} of the pages the user's roles work with, in the order of the day."""
    if not user.is_authenticated:
        return {}
    roles = roles_of(user)
    links = {}
    for role in (role for role in LINKS_OF_ROLE if role.value in roles):
        for label, url_name in LINKS_OF_ROLE[role]:
            links.setdefault(reverse(url_name), label)
    return links


@register.simple_tag(takes_context=True)
def role_links(context) -> list[dict]:
    """[{label, url, current}] for the request's user; empty when nobody is logged in."""
    request = context.get("request")
    if request is None:
        return []
    return [{"label": label, "url": url, "current": request.path == url} for url, label in links_of(request.user).items()]
