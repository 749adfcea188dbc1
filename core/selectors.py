from django.db.models import Q

from .models import ApiToken, Role


def active_token(raw_hash: str) -> ApiToken | None:
    return (
        ApiToken.objects.select_related("user")
        .filter(key_hash=raw_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def roles_of(user) -> frozenset[str]:
    """The user's role names, read once per request; superusers act as operators."""
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.filter(Q(name__in=Role.values)).values_list("name", flat=True))
        if user.is_superuser:
            cached |= {Role.OPERATOR.value}
        user._role_names = cached
    return cached
