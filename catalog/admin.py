from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Depot, PickupPoint, Product, Warehouse


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "unit", "weight_g", "storage_temperature", "shelf_life_days", "is_active")
    list_filter = ("category", "storage_temperature", "is_active")
    search_fields = ("sku", "name")
    fieldsets = (
        (None, {"fields": ("sku", "name", "category", "is_active")}),
        (_("Packing and storage"), {"fields": ("unit", "weight_g", "volume_ml", "storage_temperature", "shelf_life_days")}),
    )


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "latitude", "longitude")
    search_fields = ("code", "name")


@admin.register(Depot)
class DepotAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "warehouse", "latitude", "longitude")
    search_fields = ("code", "name")


@admin.register(PickupPoint)
class PickupPointAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "depot", "opens_at", "closes_at", "is_active")
    list_filter = ("depot", "is_active")
    search_fields = ("code", "name", "address")
    list_select_related = ("depot",)
    fieldsets = (
        (None, {"fields": ("code", "name", "depot", "is_active")}),
        (_("Address and location"), {"fields": ("address", "latitude", "longitude")}),
        (_("Opening hours"), {"fields": ("opens_at", "closes_at")}),
    )
