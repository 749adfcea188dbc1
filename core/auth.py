"""API authentication (bearer tokens, or the Django session for pages) and role checks."""
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from ninja.security import HttpBearer, SessionAuth

from .errors import Forbidden
from .models import Role
from .selectors import active_token, roles_of
from .services import token_hash, touch_token


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        api_token = active_token(token_hash(token))
        if api_token is None:
            return None
        touch_token(api_token)
        request.user = api_token.user
        return api_token.user


api_auth = [BearerToken(), SessionAuth()]


# The roles as people call them, for the message that names the roles a request needs.
ROLE_NAMES = {
    Role.LEADER: pgettext_lazy("role", "group leader"),
    Role.WAREHOUSE: pgettext_lazy("role", "warehouse staff"),
    Role.PROCUREMENT: pgettext_lazy("role", "procurement"),
    Role.DRIVER: pgettext_lazy("role", "driver"),
    Role.OPERATOR: pgettext_lazy("role", "operator"),
}


def require_role(request, *roles: str) -> None:
    if not roles_of(request.auth) & set(roles):
        names = pgettext("list separator", ", ").join(str(ROLE_NAMES.get(role, role)) for role in roles)
        raise Forbidden(_("this needs one of the roles: %(roles)s") % {"roles": names}, code="role_required")

