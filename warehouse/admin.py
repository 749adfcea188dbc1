from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Allocation, DemandForecast, LineShortage, Lot, SortList, SortListStop, StockMove


class StockMoveInline(admin.TabularInline):
    model = StockMove
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "quantity", "actor", "reason", "delivery_date", "created_at")

    def has_add_permission(self, request, obj=None):
        return False  # the ledger is written by services only


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    list_display = ("id", "product", "depot", "warehouse", "bin_location", "quantity", "expiry_date", "source", "written_off_at")
    list_filter = ("source", "depot", "expiry_date")
    search_fields = ("product__sku", "product__name", "reference", "bin_location")
    raw_id_fields = ("product",)
    readonly_fields = ("quantity",)  # changes go through counts and moves, so the ledger stays true
    inlines = [StockMoveInline]


@admin.register(StockMove)
class StockMoveAdmin(admin.ModelAdmin):
    list_display = ("id", "lot", "kind", "quantity", "actor", "reason", "delivery_date", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("lot",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(DemandForecast)
class DemandForecastAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "depot", "pickup_point", "product", "mean", "p50", "p80", "p95")
    list_filter = ("delivery_date", "depot")
    raw_id_fields = ("product", "pickup_point")


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "pickup_point", "product", "lot", "quantity")
    list_filter = ("delivery_date",)
    raw_id_fields = ("pickup_point", "product", "lot")


@admin.register(LineShortage)
class LineShortageAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "order_line", "quantity", "refund_amount", "reason")
    list_filter = ("delivery_date",)
    raw_id_fields = ("order_line",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(reason=LineShortage.reason_expression())

    @admin.display(description=_("reason"))
    def reason(self, shortage: LineShortage) -> str:
        return shortage.reason


class SortListStopInline(admin.TabularInline):
    model = SortListStop
    extra = 0
    raw_id_fields = ("pickup_point",)


@admin.register(SortList)
class SortListAdmin(admin.ModelAdmin):
    list_display = ("route_code", "delivery_date", "depot", "created_at")
    list_filter = ("delivery_date", "depot")
    inlines = [SortListStopInline]


@admin.register(SortListStop)
class SortListStopAdmin(admin.ModelAdmin):
    list_display = ("sort_list", "stop_number", "pickup_point", "leader_name", "crates", "units")
    raw_id_fields = ("sort_list", "pickup_point")
