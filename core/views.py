from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .models import Role
from .selectors import roles_of

# The roles as a 403 page names them.
ROLE_NAMES = {
    Role.LEADER: gettext_lazy("group leaders"), Role.WAREHOUSE: gettext_lazy("warehouse staff"),
    Role.PROCUREMENT: gettext_lazy("procurement"), Role.DRIVER: gettext_lazy("drivers"), Role.OPERATOR: gettext_lazy("operators"),
}


def role_required(*roles: str):
    """A page for some roles only: anonymous users go to the login page, others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not roles_of(request.user) & set(roles):
                names = pgettext("list separator", ", ").join(str(ROLE_NAMES.get(role, role)) for role in roles)
                raise PermissionDenied(_("This page is for: %(roles)s.") % {"roles": names})
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def home(request):
    """The start page (where logging in leads): the first page of the user's roles; the API docs otherwise."""
    from .templatetags.navigation import links_of

    return redirect(next(iter(links_of(request.user)), "/api/docs"))
