from django.contrib import admin

from .models import Depot, PickupPoint, Product, Warehouse


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "unit", "weight_g", "storage_temperature", "shelf_life_days", "is_active")
    list_filter = ("category", "storage_temperature", "is_active")
    search_fields = ("sku", "name")


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
