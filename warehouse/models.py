from django.conf import settings
from django.db import models
from django.db.models.functions import Cast, Concat

from catalog.models import Depot, PickupPoint, Product, Warehouse
from grouporders.models import OrderLine


class LotSource(models.TextChoices):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    RETURN = "return"


class Lot(models.Model):
    """Goods of one product with one expiry date at one site. `quantity` is what is free to allocate."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="lots")
    depot = models.ForeignKey(Depot, null=True, blank=True, on_delete=models.PROTECT, related_name="lots")
    bin_location = models.CharField(max_length=32, blank=True)
    quantity = models.IntegerField()
    expiry_date = models.DateField()
    received_at = models.DateTimeField()
    source = models.CharField(max_length=12, choices=LotSource.choices)
    reference = models.CharField(max_length=100, blank=True)
    written_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product_id", "expiry_date", "id"]
        indexes = [models.Index(fields=["product", "expiry_date"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="lot_stock_never_negative"),
            models.CheckConstraint(
                condition=models.Q(warehouse__isnull=True, depot__isnull=False)
                | models.Q(warehouse__isnull=False, depot__isnull=True),
                name="lot_at_exactly_one_site",
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk} {self.product.sku} exp {self.expiry_date}"

    @property
    def site(self):
        return self.warehouse or self.depot


class MoveKind(models.TextChoices):
    RECEIPT = "receipt"
    ALLOCATION = "allocation"
    PICK = "pick"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"
    RETURN = "return"
    WRITE_OFF = "write_off"


class StockMove(models.Model):
    """The append-only stock ledger: every change of a lot's free quantity, with who and why."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="moves")
    kind = models.CharField(max_length=12, choices=MoveKind.choices)
    quantity = models.IntegerField(help_text="Signed: positive adds to the lot, negative takes from it.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.CharField(max_length=200)
    delivery_date = models.DateField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~models.Q(quantity=0), name="stock_move_not_zero")]


class DemandForecast(models.Model):
    """Forecast demand for a delivery day, per product at a pickup point or at a whole depot."""

    delivery_date = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="forecasts")
    depot = models.ForeignKey(Depot, on_delete=models.CASCADE, related_name="forecasts")
    pickup_point = models.ForeignKey(PickupPoint, null=True, blank=True, on_delete=models.CASCADE)
    mean = models.FloatField()
    p50 = models.PositiveIntegerField()
    p80 = models.PositiveIntegerField()
    p95 = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["delivery_date", "product", "pickup_point"],
                condition=models.Q(pickup_point__isnull=False),
                name="one_forecast_per_day_product_point",
            ),
            models.UniqueConstraint(
                fields=["delivery_date", "product", "depot"],
                condition=models.Q(pickup_point__isnull=True),
                name="one_depot_forecast_per_day_product",
            ),
            models.CheckConstraint(
                condition=models.Q(p50__lte=models.F("p80"), p80__lte=models.F("p95")), name="forecast_quantiles_ordered"
            ),
        ]


# Allocations and shortages are rebuilt wholesale for a day, up to a million rows a night, from rows
# that the same transaction has read and locked. Their references (all PROTECT) are kept by Django,
# not by per-row foreign-key triggers, which would cost more than the whole allocation.


class Allocation(models.Model):
    """Stock of one lot set aside for a pickup point's demand on a delivery day."""

    delivery_date = models.DateField()
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, db_constraint=False, db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, db_constraint=False, db_index=False)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="allocations", db_constraint=False)
    quantity = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["delivery_date", "pickup_point"], name="allocation_day_point")]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="allocation_quantity_positive")]


class LineShortage(models.Model):
    """The part of a resident's order line that stock could not fill, and the refund it is owed."""

    delivery_date = models.DateField(db_index=True)
    order_line = models.OneToOneField(OrderLine, on_delete=models.PROTECT, db_constraint=False, related_name="shortage")
    quantity = models.PositiveIntegerField()
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2)
    # Why: the pickup point's whole demand for the product and what it received as its fair share.
    point_demanded = models.PositiveIntegerField()
    point_allocated = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="shortage_quantity_positive")]

    @staticmethod
    def reason_expression():
        """Why the line was cut, in words, as a query expression: refunds are written from it in the
        database (a large city's day has tens of thousands of cut lines)."""
        def text(field):
            return Cast(field, models.CharField())

        return Concat(
            models.Value("stock short for "), text("delivery_date"), models.Value(": the pickup point received "),
            text("point_allocated"), models.Value(" of the "), text("point_demanded"),
            models.Value(" units ordered (a fair share of what was in stock); "), text("quantity"),
            models.Value(" of this line refunded"), output_field=models.CharField(),
        )


class SortList(models.Model):
    """What to load for one delivery route, stop by stop; built from the route's stop order."""

    delivery_date = models.DateField(db_index=True)
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="sort_lists")
    route_code = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery_date", "depot_id", "route_code"]
        constraints = [models.UniqueConstraint(fields=["delivery_date", "route_code"], name="one_sort_list_per_route_day")]

    def __str__(self) -> str:
        return f"{self.route_code} {self.delivery_date}"


class SortListStop(models.Model):
    """One stop of a route: the pickup point's goods go into `crates` totes labelled with the stop number."""

    sort_list = models.ForeignKey(SortList, on_delete=models.CASCADE, related_name="stops")
    stop_number = models.PositiveSmallIntegerField(help_text="1 = delivered first.")
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT)
    leader_name = models.CharField(max_length=150, blank=True)
    crates = models.PositiveIntegerField()
    units = models.PositiveIntegerField()

    class Meta:
        ordering = ["sort_list_id", "-stop_number"]
        constraints = [
            models.UniqueConstraint(fields=["sort_list", "stop_number"], name="one_stop_number_per_sort_list"),
        ]
