from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Claim, ClaimStatus, Collection, CommissionEntry, HeadLeaderLink, PickupCode, PickupLine, Receipt, Refund


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by services only, so the ledgers and audit trails stay true; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ("delivery_date", "pickup_point", "product", "expected_quantity", "received_quantity", "confirmed_by", "confirmed_at")
    list_filter = ("delivery_date",)


class CollectionInline(admin.TabularInline):
    model = Collection
    extra = 0
    can_delete = False
    readonly_fields = ("quantity", "collected_by", "collected_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PickupLine)
class PickupLineAdmin(ReadOnlyAdmin):
    list_display = (
        "order_line_id", "delivery_date", "pickup_point", "resident", "product", "ordered_quantity", "shortage_quantity",
        "missing_quantity", "collected_quantity", "returned_quantity", "return_disposition",
    )
    list_filter = ("delivery_date", "return_disposition")
    inlines = [CollectionInline]


@admin.register(Collection)
class CollectionAdmin(ReadOnlyAdmin):
    list_display = ("pickup_line", "quantity", "collected_by", "collected_at")


@admin.register(PickupCode)
class PickupCodeAdmin(ReadOnlyAdmin):
    list_display = ("delivery_date", "resident", "issued_at")
    list_filter = ("delivery_date",)
    exclude = ("code_hash",)


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ("id", "pickup_line", "kind", "source", "quantity", "status", "filed_at", "decided_by", "decided_at")
    list_filter = ("status", "kind", "source")
    actions = ["approve", "reject"]

    def _decide(self, request, queryset, approve: bool):
        for claim in queryset.filter(status=ClaimStatus.OPEN):
            services.decide_claim(user=request.user, claim_id=claim.pk, approve=approve, note=gettext("decided in the admin"))
        self.message_user(request, gettext("Decided the open claims among those selected."), messages.SUCCESS)

    @admin.action(description=_("Approve (refund the exact amount)"))
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description=_("Reject"))
    def reject(self, request, queryset):
        self._decide(request, queryset, False)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("id", "cause", "order_line", "resident", "quantity", "amount", "created_by", "created_at")
    list_filter = ("cause",)


@admin.register(CommissionEntry)
class CommissionEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "beneficiary", "leader", "pickup_line", "quantity", "revenue", "rate", "amount", "earned_at", "settled_at")
    list_filter = ("kind", "beneficiary")


@admin.register(HeadLeaderLink)
class HeadLeaderLinkAdmin(admin.ModelAdmin):
    """Operators configure who a leader's one head leader is (the bonus itself is off unless enabled)."""

    list_display = ("leader", "head_leader")
    raw_id_fields = ("leader", "head_leader")
