from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiToken, IdempotentRequest


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "name", "prefix")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name") + readonly_fields
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        raw, token = services.issue_token(user=obj.user, name=obj.name)
        obj.pk = token.pk
        self.message_user(
            request,
            gettext("Token for %(user)s: %(token)s — copy it now, it is not shown again.") % {"user": obj.user, "token": raw},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            services.revoke_token(token)


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    list_display = ("user", "key", "status_code", "created_at")
    search_fields = ("key", "user__username")
    readonly_fields = ("user", "key", "fingerprint", "status_code", "response_body", "created_at")
