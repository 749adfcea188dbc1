from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .models import role_list
from .selectors import roles_of


def role_required(*roles: str):
    """A page for some roles only: anonymous users go to the login page, others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not roles_of(request.user) & set(roles):
                raise PermissionDenied(_("This page is for: %(roles)s.") % {"roles": role_list(roles)})
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def home(request):
    """The start page (where logging in leads): the first page of the user's roles; the API docs otherwise."""
    from .templatetags.navigation import links_of

    return redirect(next(iter(links_of(request.user)), "/api/docs"))
