"""API authentication (bearer tokens, or the Django session for pages) and role checks."""
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from .errors import Forbidden
from .models import role_list
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


def require_role(request, *roles: str) -> None:
    if not roles_of(request.auth) & set(roles):
        raise Forbidden(_("this needs one of the roles: %(roles)s") % {"roles": role_list(roles)}, code="role_required")

