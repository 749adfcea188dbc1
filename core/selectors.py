from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q

from .models import ApiToken, Role
from .rawsql import columns, concrete_fields, fetch, fields_of, instance


def active_token(raw_hash: str) -> ApiToken | None:
    """The live token with its user, and the user's role names read in the same query.

    Every API request starts here, so it is one round trip of plain SQL (see core.rawsql) rather than
    one query for the token and another for the roles. One row per group of the user, or one with NULL.
    """
    user_model = get_user_model()
    user_fields = concrete_fields(user_model)
    token_fields = fields_of(ApiToken, "id", "user_id", "last_used_at")
    memberships = user_model.groups.through._meta.db_table
    rows = fetch(
        f"SELECT g.name, {columns(token_fields, 't')}, {columns(user_fields, 'u')}"
        f" FROM {ApiToken._meta.db_table} t JOIN {user_model._meta.db_table} u ON u.id = t.user_id"
        f" LEFT JOIN {memberships} m ON m.user_id = u.id LEFT JOIN {Group._meta.db_table} g ON g.id = m.group_id"
        " WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active",
        [raw_hash],
        prepare=True,
    )
    if not rows:
        return None
    token = instance(ApiToken, token_fields, rows[0][1 : 1 + len(token_fields)])
    token.user = user = instance(user_model, user_fields, rows[0][1 + len(token_fields) :])
    user._role_names = _role_names({row[0] for row in rows}, user.is_superuser)
    return token


def roles_of(user) -> frozenset[str]:
    """The user's role names, read once per request; superusers act as operators."""
    cached = getattr(user, "_role_names", None)
    if cached is None:
        names = user.groups.filter(Q(name__in=Role.values)).values_list("name", flat=True)
        cached = _role_names(names, user.is_superuser)
        user._role_names = cached
    return cached


def _role_names(group_names, is_superuser: bool) -> frozenset[str]:
    names = frozenset(name for name in group_names if name in Role.values)
    return names | {Role.OPERATOR.value} if is_superuser else names
