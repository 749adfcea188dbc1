"""The header's links: what each role of the logged-in user works with (a tag, so settings need no context processor)."""
from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.models import Role
from core.selectors import roles_of

register = template.Library()

# Per role, in the order of the day: (label, URL name). A link two roles share is shown once.
LINKS_OF_ROLE = {
    Role.LEADER: ((_("Orders"), "grouporders:home"), (_("Pickup"), "pickup:point-day"), (_("Statement"), "pickup:statement")),
    Role.DRIVER: ((_("Route"), "routing:driver-route"),),
    Role.WAREHOUSE: ((_("Pick lists"), "warehouse-pick-lists"), (_("Goods receipts"), "procurement:receipts")),
    Role.PROCUREMENT: ((_("Purchasing"), "procurement:overview"), (_("Goods receipts"), "procurement:receipts")),
    Role.OPERATOR: ((_("Dashboard"), "dashboard"), (_("Admin"), "admin:index")),
}


@register.simple_tag(takes_context=True)
def role_links(context) -> list[dict]:
    """[{label, url, current}] for the request's user; empty when nobody is logged in."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    roles = roles_of(request.user)
    links = {}
    for role in (role for role in LINKS_OF_ROLE if role.value in roles):
        for label, url_name in LINKS_OF_ROLE[role]:
            links.setdefault(reverse(url_name), label)
    return [{"label": label, "url": url, "current": request.path == url} for url, label in links.items()]
