from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from .selectors import roles_of


def role_required(*roles: str):
    """A page for some roles only: anonymous users go to the login page, others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not roles_of(request.user) & set(roles):
                raise PermissionDenied(f"this page is for: {', '.join(roles)}")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
