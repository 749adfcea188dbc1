from django.contrib import admin

from .models import DroppedStop, Driver, Route, RoutePlan, RouteStop, RouteStopLine, Vehicle, VehicleOutage


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ("code", "depot", "capacity_kg", "capacity_litres", "capacity_crates", "has_chilled_zone",
                    "has_frozen_zone", "shift_start", "shift_end", "fixed_cost", "cost_per_km", "is_active")
    list_filter = ("depot", "has_chilled_zone", "has_frozen_zone", "is_active")
    search_fields = ("code",)


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin):
    list_display = ("user", "vehicle", "shift_start", "shift_end", "is_active")
    list_filter = ("is_active",)
    search_fields = ("user__username", "vehicle__code")
    raw_id_fields = ("user",)


@admin.register(VehicleOutage)
class VehicleOutageAdmin(admin.ModelAdmin):
    list_display = ("vehicle", "delivery_date", "reason", "created_at")
    list_filter = ("delivery_date",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Plans are written by the planner only; the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RouteInline(ReadOnlyInline):
    model = Route
    fields = ("code", "vehicle", "driver", "departure_at", "return_at", "distance_m", "cost", "crates")
    readonly_fields = fields
    show_change_link = True


class DroppedStopInline(ReadOnlyInline):
    model = DroppedStop
    fields = ("pickup_point", "reason", "crates", "units")
    readonly_fields = fields


@admin.register(RoutePlan)
class RoutePlanAdmin(ReadOnlyAdmin):
    list_display = ("depot", "delivery_date", "revision", "stop_count", "dropped_count", "distance_m", "cost", "planned_at")
    list_filter = ("delivery_date", "depot")
    inlines = [RouteInline, DroppedStopInline]


class RouteStopInline(ReadOnlyInline):
    model = RouteStop
    fields = ("sequence", "pickup_point", "eta", "departure_at", "crates", "units", "arrived_at", "delivered_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(Route)
class RouteAdmin(ReadOnlyAdmin):
    list_display = ("code", "plan", "vehicle", "driver", "departure_at", "return_at", "distance_m", "cost", "crates")
    list_filter = ("plan__delivery_date",)
    search_fields = ("code", "vehicle__code")
    inlines = [RouteStopInline]


class RouteStopLineInline(ReadOnlyInline):
    model = RouteStopLine
    readonly_fields = ("product", "quantity", "delivered_quantity")


@admin.register(RouteStop)
class RouteStopAdmin(ReadOnlyAdmin):
    list_display = ("route", "sequence", "pickup_point", "eta", "crates", "arrived_at", "delivered_at")
    list_filter = ("route__plan__delivery_date",)
    search_fields = ("route__code", "pickup_point__code")
    inlines = [RouteStopLineInline]


@admin.register(RouteStopLine)
class RouteStopLineAdmin(ReadOnlyAdmin):
    list_display = ("stop", "product", "quantity", "delivered_quantity")
    raw_id_fields = ("stop", "product")


@admin.register(DroppedStop)
class DroppedStopAdmin(ReadOnlyAdmin):
    list_display = ("plan", "pickup_point", "reason", "crates", "units")
    list_filter = ("plan__delivery_date",)
