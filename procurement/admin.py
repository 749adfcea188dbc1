from django.contrib import admin

from .models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderTransition,
    PurchaseSuggestion,
    Supplier,
    SupplierProduct,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SupplierProductInline(admin.TabularInline):
    model = SupplierProduct
    extra = 0
    raw_id_fields = ("product",)


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "contact_name", "phone", "order_cutoff", "lead_time_days", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "contact_name")
    inlines = [SupplierProductInline]


@admin.register(SupplierProduct)
class SupplierProductAdmin(admin.ModelAdmin):
    list_display = ("product", "supplier", "priority", "unit_cost", "case_pack", "moq", "daily_capacity", "shelf_life_days")
    list_filter = ("supplier",)
    search_fields = ("product__sku", "product__name", "supplier__code")
    raw_id_fields = ("product",)


@admin.register(PurchaseSuggestion)
class PurchaseSuggestionAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "product", "status", "demand_source", "critical_ratio", "target", "on_hand",
                    "in_transit", "quantity", "decided_by")
    list_filter = ("status", "demand_source", "delivery_date")
    search_fields = ("product__sku", "product__name")
    raw_id_fields = ("product",)
    readonly_fields = ("decided_by", "decided_at")


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    raw_id_fields = ("product", "supplier_product")
    readonly_fields = ("accepted_quantity", "rejected_quantity")  # receipts write these


class TransitionInline(ReadOnlyInline):
    model = PurchaseOrderTransition
    readonly_fields = ("from_state", "to_state", "actor", "at", "note")


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ("number", "supplier", "delivery_date", "expected_on", "warehouse", "depot", "state", "created_at")
    list_filter = ("state", "supplier", "delivery_date")
    search_fields = ("number", "supplier__code")
    readonly_fields = ("state",)  # the lifecycle goes through the services, so every transition is recorded
    inlines = [PurchaseOrderLineInline, TransitionInline]


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(admin.ModelAdmin):
    list_display = ("purchase_order", "product", "quantity", "unit_cost", "accepted_quantity", "rejected_quantity")
    search_fields = ("purchase_order__number", "product__sku")
    raw_id_fields = ("purchase_order", "product", "supplier_product")
    readonly_fields = ("accepted_quantity", "rejected_quantity")


@admin.register(PurchaseOrderTransition)
class PurchaseOrderTransitionAdmin(admin.ModelAdmin):
    list_display = ("purchase_order", "from_state", "to_state", "actor", "at", "note")
    list_filter = ("to_state",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GoodsReceiptLineInline(ReadOnlyInline):
    model = GoodsReceiptLine
    readonly_fields = ("purchase_order_line", "accepted_quantity", "rejected_quantity", "qc_reason", "expiry_date", "lot")


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(admin.ModelAdmin):
    list_display = ("document_number", "purchase_order", "received_at", "received_by")
    search_fields = ("document_number", "purchase_order__number")
    readonly_fields = ("document_number", "purchase_order", "received_at", "received_by", "fingerprint")
    inlines = [GoodsReceiptLineInline]

    def has_add_permission(self, request):
        return False  # receipts create lots, so they go through the receipt service


@admin.register(GoodsReceiptLine)
class GoodsReceiptLineAdmin(admin.ModelAdmin):
    list_display = ("receipt", "purchase_order_line", "accepted_quantity", "rejected_quantity", "qc_reason", "expiry_date", "lot")
    search_fields = ("receipt__document_number", "qc_reason")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
