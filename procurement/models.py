from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Depot, Product, Warehouse
from warehouse.models import Lot


class Supplier(models.Model):
    """Someone we buy from: orders placed before their cutoff arrive after their lead time."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("telephone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    order_cutoff = models.TimeField(
        _("order cutoff"), default=time(18, 0), help_text=_("Orders sent after this time count as next day's.")
    )
    lead_time_days = models.PositiveSmallIntegerField(
        _("lead time (days)"), default=1, help_text=_("Days from the order to the goods' arrival.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SupplierProduct(models.Model):
    """What a supplier sells us of a product and on which terms; priority 0 is the preferred supplier."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products", verbose_name=_("supplier"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="supplier_products", verbose_name=_("product")
    )
    unit_cost = models.DecimalField(_("unit cost"), max_digits=10, decimal_places=2, help_text=_("Per unit, in yuan."))
    case_pack = models.PositiveIntegerField(
        _("case pack"), default=1, help_text=_("Units per case; we order whole cases.")
    )
    moq = models.PositiveIntegerField(_("MOQ"), default=0, help_text=_("Minimum order quantity in units."))
    daily_capacity = models.PositiveIntegerField(
        _("daily capacity"), help_text=_("Units the supplier can deliver for one day.")
    )
    shelf_life_days = models.PositiveSmallIntegerField(
        _("shelf life (days)"), help_text=_("Shelf life left when the goods arrive.")
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=0, help_text=_("0 = preferred, then fallbacks in order.")
    )

    class Meta:
        ordering = ["product_id", "priority"]
        verbose_name = _("supplier product")
        verbose_name_plural = _("supplier products")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="one_term_per_supplier_product"),
            models.UniqueConstraint(fields=["product", "priority"], name="one_supplier_per_product_priority"),
            models.CheckConstraint(condition=models.Q(unit_cost__gt=0), name="supplier_product_cost_positive"),
            models.CheckConstraint(condition=models.Q(case_pack__gte=1), name="supplier_product_case_pack_positive"),
        ]

    def __str__(self) -> str:
        return gettext("%(sku)s from %(supplier)s (priority %(priority)s)") % {
            "sku": self.product.sku, "supplier": self.supplier.code, "priority": self.priority,
        }


class SuggestionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class PurchaseSuggestion(models.Model):
    """How much of a product to buy for a delivery day and a set of depots, and why."""

    delivery_date = models.DateField(_("delivery day"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="purchase_suggestions", verbose_name=_("product")
    )
    # Where the goods are received; exactly one of the two.
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("central warehouse"),
        help_text=_("Where the goods are received: a central warehouse or a depot, not both."),
    )
    depot = models.ForeignKey(Depot, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("depot"))
    depot_ids = models.JSONField(_("depots covered"), help_text=_("The depots whose demand this covers."))
    status = models.CharField(
        _("status"), max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PROPOSED
    )
    # The explanation: demand, the quantile used, stock, and how the target became cases per supplier.
    demand_source = models.CharField(
        _("demand source"), max_length=10, help_text=_("forecast (before the cutoff) or orders (after it)")
    )
    forecast_mean = models.FloatField(_("forecast mean"))
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    unit_cost = models.DecimalField(_("unit cost"), max_digits=10, decimal_places=2)
    salvage = models.DecimalField(
        _("salvage value"), max_digits=10, decimal_places=2, help_text=_("What an unsold unit is still worth.")
    )
    critical_ratio = models.FloatField(_("critical ratio"))
    target = models.PositiveIntegerField(
        _("target"), help_text=_("Demand quantile at the critical ratio, or the ordered demand.")
    )
    on_hand = models.PositiveIntegerField(_("on hand"))
    in_transit = models.PositiveIntegerField(_("in transit"))
    net_need = models.PositiveIntegerField(_("net need"))
    quantity = models.PositiveIntegerField(
        _("quantity"), help_text=_("Total of the split after case packs, MOQ and capacity.")
    )
    split = models.JSONField(
        _("split by supplier"), help_text=_("[{supplier_product_id, supplier_code, quantity, case_pack, moq, capacity}]")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    class Meta:
        ordering = ["delivery_date", "product_id"]
        verbose_name = _("purchase suggestion")
        verbose_name_plural = _("purchase suggestions")
        indexes = [models.Index(fields=["delivery_date", "status"])]

    def __str__(self) -> str:
        return gettext("buy %(quantity)s %(sku)s for %(day)s (%(status)s)") % {
            "quantity": self.quantity, "sku": self.product.sku, "day": self.delivery_date, "status": self.get_status_display(),
        }


class PurchaseOrderState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    PARTIALLY_RECEIVED = "partially_received", _("Partially received")
    RECEIVED = "received", _("Received")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class PurchaseOrder(models.Model):
    """An order to one supplier for one delivery day, received at one warehouse or depot."""

    number = models.CharField(_("number"), max_length=40, unique=True)
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="purchase_orders", verbose_name=_("supplier")
    )
    delivery_date = models.DateField(_("delivery day"), help_text=_("The delivery day whose demand it serves."))
    expected_on = models.DateField(_("expected on"), help_text=_("When the goods are due at the receiving site."))
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("central warehouse"),
        help_text=_("Where the goods are received: a central warehouse or a depot, not both."),
    )
    depot = models.ForeignKey(Depot, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("depot"))
    state = models.CharField(
        _("state"), max_length=20, choices=PurchaseOrderState.choices, default=PurchaseOrderState.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-delivery_date", "number"]
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        indexes = [models.Index(fields=["delivery_date", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warehouse__isnull=True, depot__isnull=False)
                | models.Q(warehouse__isnull=False, depot__isnull=True),
                name="purchase_order_to_exactly_one_site",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.supplier.code} ({self.get_state_display()})"

    @property
    def site(self):
        return self.warehouse or self.depot


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("purchase order")
    )
    supplier_product = models.ForeignKey(SupplierProduct, on_delete=models.PROTECT, verbose_name=_("supplier product"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_cost = models.DecimalField(_("unit cost"), max_digits=10, decimal_places=2)
    accepted_quantity = models.PositiveIntegerField(
        _("accepted quantity"), default=0, help_text=_("Received and passed QC, so far.")
    )
    rejected_quantity = models.PositiveIntegerField(
        _("rejected quantity"), default=0, help_text=_("Received and refused at QC, so far.")
    )

    class Meta:
        ordering = ["purchase_order_id", "id"]
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="one_line_per_product_per_purchase_order"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="purchase_order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product.sku}"


class PurchaseOrderTransition(models.Model):
    """Every change of a purchase order's state, with who made it and when."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("purchase order")
    )
    from_state = models.CharField(_("from state"), max_length=20, choices=PurchaseOrderState.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=20, choices=PurchaseOrderState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("changed by")
    )
    at = models.DateTimeField(_("changed at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["purchase_order_id", "id"]
        verbose_name = _("purchase order state change")
        verbose_name_plural = _("purchase order state changes")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class GoodsReceipt(models.Model):
    """A delivery note checked in against a purchase order; its document number makes it idempotent."""

    document_number = models.CharField(
        _("document number"), max_length=64, unique=True, help_text=_("The delivery note's number.")
    )
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("purchase order")
    )
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("received by")
    )
    fingerprint = models.CharField(
        _("fingerprint"), max_length=64, help_text=_("SHA-256 of the receipt's content, to tell a retry from a clash.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("goods receipt")
        verbose_name_plural = _("goods receipts")

    def __str__(self) -> str:
        return gettext("receipt %(number)s for %(order)s") % {"number": self.document_number, "order": self.purchase_order.number}


class GoodsReceiptLine(models.Model):
    receipt = models.ForeignKey(GoodsReceipt, on_delete=models.CASCADE, related_name="lines", verbose_name=_("goods receipt"))
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipt_lines", verbose_name=_("purchase order line")
    )
    accepted_quantity = models.PositiveIntegerField(_("accepted quantity"))
    rejected_quantity = models.PositiveIntegerField(_("rejected quantity"), default=0)
    qc_reason = models.CharField(_("QC reason"), max_length=200, blank=True, help_text=_("Why goods were refused at QC."))
    expiry_date = models.DateField(_("expiry"), null=True, blank=True)
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("lot"),
        help_text=_("Where the accepted goods went."),
    )

    class Meta:
        ordering = ["receipt_id", "id"]
        verbose_name = _("goods receipt line")
        verbose_name_plural = _("goods receipt lines")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(accepted_quantity__gt=0) | models.Q(rejected_quantity__gt=0),
                name="goods_receipt_line_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"
