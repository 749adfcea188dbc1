from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Depot, Product, Warehouse
from warehouse.models import Lot


class Supplier(models.Model):
    """Someone we buy from: orders placed before their cutoff arrive after their lead time."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    order_cutoff = models.TimeField(default=time(18, 0), help_text="Orders sent after this time count as next day's.")
    lead_time_days = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SupplierProduct(models.Model):
    """What a supplier sells us of a product and on which terms; priority 0 is the preferred supplier."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="supplier_products")
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2)
    case_pack = models.PositiveIntegerField(default=1, help_text="Units per case; we order whole cases.")
    moq = models.PositiveIntegerField(default=0, help_text="Minimum order quantity in units.")
    daily_capacity = models.PositiveIntegerField(help_text="Units the supplier can deliver for one day.")
    shelf_life_days = models.PositiveSmallIntegerField(help_text="Shelf life left when the goods arrive.")
    priority = models.PositiveSmallIntegerField(default=0, help_text="0 = preferred, then fallbacks in order.")

    class Meta:
        ordering = ["product_id", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="one_term_per_supplier_product"),
            models.UniqueConstraint(fields=["product", "priority"], name="one_supplier_per_product_priority"),
            models.CheckConstraint(condition=models.Q(unit_cost__gt=0), name="supplier_product_cost_positive"),
            models.CheckConstraint(condition=models.Q(case_pack__gte=1), name="supplier_product_case_pack_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} from {self.supplier.code} (priority {self.priority})"


class SuggestionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class PurchaseSuggestion(models.Model):
    """How much of a product to buy for a delivery day and a set of depots, and why."""

    delivery_date = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchase_suggestions")
    # Where the goods are received; exactly one of the two.
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT)
    depot = models.ForeignKey(Depot, null=True, blank=True, on_delete=models.PROTECT)
    depot_ids = models.JSONField(help_text="The depots whose demand this covers.")
    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PROPOSED)
    # The explanation: demand, the quantile used, stock, and how the target became cases per supplier.
    demand_source = models.CharField(max_length=10, help_text="forecast (before the cutoff) or orders (after it)")
    forecast_mean = models.FloatField()
    price = models.DecimalField(max_digits=10, decimal_places=2)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2)
    salvage = models.DecimalField(max_digits=10, decimal_places=2)
    critical_ratio = models.FloatField()
    target = models.PositiveIntegerField(help_text="Demand quantile at the critical ratio, or the ordered demand.")
    on_hand = models.PositiveIntegerField()
    in_transit = models.PositiveIntegerField()
    net_need = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField(help_text="Total of the split after case packs, MOQ and capacity.")
    split = models.JSONField(help_text="[{supplier_product_id, supplier_code, quantity, case_pack, moq, capacity}]")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["delivery_date", "product_id"]
        indexes = [models.Index(fields=["delivery_date", "status"])]

    def __str__(self) -> str:
        return f"buy {self.quantity} {self.product.sku} for {self.delivery_date} ({self.status})"


class PurchaseOrderState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    PARTIALLY_RECEIVED = "partially_received", _("Partially received")
    RECEIVED = "received", _("Received")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class PurchaseOrder(models.Model):
    """An order to one supplier for one delivery day, received at one warehouse or depot."""

    number = models.CharField(max_length=40, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    delivery_date = models.DateField(help_text="The delivery day whose demand it serves.")
    expected_on = models.DateField(help_text="When the goods are due at the receiving site.")
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT)
    depot = models.ForeignKey(Depot, null=True, blank=True, on_delete=models.PROTECT)
    state = models.CharField(max_length=20, choices=PurchaseOrderState.choices, default=PurchaseOrderState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-delivery_date", "number"]
        indexes = [models.Index(fields=["delivery_date", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warehouse__isnull=True, depot__isnull=False)
                | models.Q(warehouse__isnull=False, depot__isnull=True),
                name="purchase_order_to_exactly_one_site",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.supplier.code} ({self.state})"

    @property
    def site(self):
        return self.warehouse or self.depot


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    supplier_product = models.ForeignKey(SupplierProduct, on_delete=models.PROTECT)
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2)
    accepted_quantity = models.PositiveIntegerField(default=0, help_text="Received and passed QC, so far.")
    rejected_quantity = models.PositiveIntegerField(default=0, help_text="Received and refused at QC, so far.")

    class Meta:
        ordering = ["purchase_order_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="one_line_per_product_per_purchase_order"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="purchase_order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product.sku}"


class PurchaseOrderTransition(models.Model):
    """Every change of a purchase order's state, with who made it and when."""

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=PurchaseOrderState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=PurchaseOrderState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["purchase_order_id", "id"]


class GoodsReceipt(models.Model):
    """A delivery note checked in against a purchase order; its document number makes it idempotent."""

    document_number = models.CharField(max_length=64, unique=True)
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="receipts")
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the receipt's content, to tell a retry from a clash.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"receipt {self.document_number} for {self.purchase_order.number}"


class GoodsReceiptLine(models.Model):
    receipt = models.ForeignKey(GoodsReceipt, on_delete=models.CASCADE, related_name="lines")
    purchase_order_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipt_lines")
    accepted_quantity = models.PositiveIntegerField()
    rejected_quantity = models.PositiveIntegerField(default=0)
    qc_reason = models.CharField(max_length=200, blank=True)
    expiry_date = models.DateField(null=True, blank=True)
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, help_text="Where the accepted goods went.")

    class Meta:
        ordering = ["receipt_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(accepted_quantity__gt=0) | models.Q(rejected_quantity__gt=0),
                name="goods_receipt_line_not_empty",
            ),
        ]
