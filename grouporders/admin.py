from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Deal, DemandLine, GroupLeader, LeaderOrder, OrderLine, Resident, SalesWave


@admin.register(GroupLeader)
class GroupLeaderAdmin(admin.ModelAdmin):
    list_display = ("user", "phone", "tier", "is_active")
    list_filter = ("tier", "is_active")
    search_fields = ("user__username",)
    filter_horizontal = ("pickup_points",)


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ("name", "phone_masked", "consent", "consent_at", "created_at")
    search_fields = ("name",)
    readonly_fields = ("phone_masked", "phone_hash")


class DealInline(admin.TabularInline):
    model = Deal
    extra = 0
    raw_id_fields = ("product",)
    readonly_fields = ("sold_quantity",)


@admin.register(SalesWave)
class SalesWaveAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "cutoff_at", "status", "closed_at")
    list_filter = ("status",)
    inlines = [DealInline]
    actions = ["close_and_aggregate"]

    @admin.action(description=_("Close and aggregate demand"))
    def close_and_aggregate(self, request, queryset):
        for wave in queryset:
            closing = services.close_wave(wave.pk)
            self.message_user(
                request, gettext("%(wave)s: %(count)s demand lines") % {"wave": wave, "count": closing.demand_lines},
                messages.SUCCESS,
            )


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ("product", "wave", "price", "quantity_limit", "per_resident_limit", "sold_quantity")
    list_filter = ("wave",)
    raw_id_fields = ("product",)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ("resident", "deal")


@admin.register(LeaderOrder)
class LeaderOrderAdmin(admin.ModelAdmin):
    list_display = ("id", "leader", "pickup_point", "wave", "revision", "submitted_at")
    list_filter = ("wave",)
    raw_id_fields = ("leader", "pickup_point")
    inlines = [OrderLineInline]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "resident", "deal", "quantity", "unit_price", "status")
    list_filter = ("status",)
    raw_id_fields = ("order", "resident", "deal")


@admin.register(DemandLine)
class DemandLineAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "pickup_point", "product", "quantity", "order_count", "line_count", "amount")
    list_filter = ("delivery_date",)
    raw_id_fields = ("pickup_point", "product")
