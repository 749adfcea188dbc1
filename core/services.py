"""Writes of the access layer: API tokens, roles, remembered answers to idempotent requests."""
import hashlib
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import InvalidInput
from .models import ApiToken, IdempotentRequest, Role
from .rawsql import columns, converted, execute, fetch, fields_of, placeholders


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(*, user, name: str = "api") -> tuple[str, ApiToken]:
    """Create a token; the secret is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=token_hash(raw), prefix=raw[:8])
    return raw, token


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def touch_token(token: ApiToken) -> None:
    """Record use at most every few minutes, so that every request does not write."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def ensure_role_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def grant_role(user, role: Role) -> None:
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def run_idempotent(*, user, key: str | None, fingerprint: str, action) -> tuple[int, object]:
    """Run `action` (returning status and JSON body) once per key; a retry gets the first answer.

    The action and the record commit together, so two concurrent requests with one key cannot both
    take effect: the second fails on the unique key, rolls back, and returns what the first stored.
    Errors are not remembered, so a failed request can be retried with the same key.
    """
    if not key:
        return action()
    if len(key) > 200:
        raise InvalidInput(
            _("Idempotency-Key is longer than 200 characters"), field="Idempotency-Key", code="idempotency_key_too_long"
        )
    stored = _remembered(user, key, fingerprint)
    if stored is not None:
        return stored
    try:
        with transaction.atomic():
            status, body = action()
            _remember(user, key, fingerprint, status, body)
        return status, body
    except IntegrityError:
        stored = _remembered(user, key, fingerprint)
        if stored is None:
            raise
        return stored


# Plain SQL (see core.rawsql): these two statements run on every idempotent write.
_REMEMBERED_FIELDS = fields_of(IdempotentRequest, "fingerprint", "status_code", "response_body")
_REMEMBER_FIELDS = fields_of(
    IdempotentRequest, "user_id", "key", "fingerprint", "status_code", "response_body", "created_at"
)


def _remembered(user, key: str, fingerprint: str) -> tuple[int, object] | None:
    rows = fetch(
        f"SELECT {columns(_REMEMBERED_FIELDS)} FROM {IdempotentRequest._meta.db_table}"
        " WHERE user_id = %s AND key = %s",
        [user.pk, key],
        prepare=True,
    )
    if not rows:
        return None
    stored_fingerprint, status_code, body = converted(_REMEMBERED_FIELDS, rows[0])
    if stored_fingerprint != fingerprint:
        raise InvalidInput(
            _("this Idempotency-Key was already used for a different request"), field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return status_code, body


def _remember(user, key: str, fingerprint: str, status: int, body) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    execute(
        f"INSERT INTO {IdempotentRequest._meta.db_table} ({columns(_REMEMBER_FIELDS)})"
        f" VALUES ({placeholders(len(_REMEMBER_FIELDS))})",
        [user.pk, key, fingerprint, status, json.dumps(body, cls=DjangoJSONEncoder), now],
        prepare=True,
    )


def forget_old_idempotency_keys() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    return IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()[0]
