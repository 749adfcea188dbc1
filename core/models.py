from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext


class Role(models.TextChoices):
    """Roles are Django groups with these names."""

    LEADER = "leader", _("group leader")
    WAREHOUSE = "warehouse", _("warehouse staff")
    PROCUREMENT = "procurement", _("procurement")
    DRIVER = "driver", _("driver")
    OPERATOR = "operator", _("operator")


def role_list(roles) -> str:
    """Roles as people call them, listed in the reader's language: 团长、运营 / group leader, operator."""
    return pgettext("list separator", ", ").join(str(Role(role).label) if role in Role.values else role for role in roles)


class ApiToken(models.Model):
    """A bearer token for an API client. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. the client's name."))
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, help_text=_("SHA-256 of the secret."))
    prefix = models.CharField(_("prefix"), max_length=8, help_text=_("First characters of the token, to tell tokens apart."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user} · {self.name} ({self.prefix}…)"


class IdempotentRequest(models.Model):
    """The first successful answer to a write that carried an Idempotency-Key; retries get it back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user"))
    key = models.CharField(_("idempotency key"), max_length=200)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, help_text=_("SHA-256 of method, path and body."))
    status_code = models.PositiveSmallIntegerField(_("status code"))
    response_body = models.JSONField(_("response body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.user} · {self.key}"
