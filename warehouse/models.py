import re

from django.conf import settings
from django.db import models
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from catalog.models import Depot, PickupPoint, Product, Warehouse
from grouporders.models import OrderLine


class LotSource(models.TextChoices):
    RECEIPT = "receipt", pgettext_lazy("stock", "Goods receipt")
    ADJUSTMENT = "adjustment", pgettext_lazy("stock", "Adjustment")
    RETURN = "return", pgettext_lazy("stock", "Return")


class Lot(models.Model):
    """Goods of one product with one expiry date at one site. `quantity` is what is free to allocate."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots", verbose_name=_("product"))
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="lots",
        verbose_name=_("central warehouse"), help_text=_("Where the lot is: a central warehouse or a depot, not both."),
    )
    depot = models.ForeignKey(
        Depot, null=True, blank=True, on_delete=models.PROTECT, related_name="lots", verbose_name=_("depot")
    )
    bin_location = models.CharField(_("bin location"), max_length=32, blank=True)
    quantity = models.IntegerField(_("free quantity"), help_text=_("What is free to allocate; changed by stock moves only."))
    expiry_date = models.DateField(_("expiry"))
    received_at = models.DateTimeField(_("received at"))
    source = models.CharField(_("source"), max_length=12, choices=LotSource.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("E.g. the delivery note's number."))
    written_off_at = models.DateTimeField(_("written off at"), null=True, blank=True)

    class Meta:
        ordering = ["product_id", "expiry_date", "id"]
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
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
        return gettext("lot %(id)s %(sku)s expires %(day)s") % {"id": self.pk, "sku": self.product.sku, "day": self.expiry_date}

    @property
    def site(self):
        return self.warehouse or self.depot


class MoveKind(models.TextChoices):
    RECEIPT = "receipt", pgettext_lazy("stock", "Goods receipt")
    ALLOCATION = "allocation", pgettext_lazy("stock", "Allocation")
    PICK = "pick", pgettext_lazy("stock", "Pick")
    TRANSFER = "transfer", pgettext_lazy("stock", "Transfer")
    ADJUSTMENT = "adjustment", pgettext_lazy("stock", "Adjustment")
    RETURN = "return", pgettext_lazy("stock", "Return")
    WRITE_OFF = "write_off", pgettext_lazy("stock", "Write-off")


class StockMove(models.Model):
    """The append-only stock ledger: every change of a lot's free quantity, with who and why."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="moves", verbose_name=_("lot"))
    kind = models.CharField(_("kind"), max_length=12, choices=MoveKind.choices)
    quantity = models.IntegerField(
        _("quantity"), help_text=_("Signed: positive adds to the lot, negative takes from it.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("by")
    )
    reason = models.CharField(_("reason"), max_length=200)
    delivery_date = models.DateField(_("delivery day"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("stock move")
        verbose_name_plural = _("stock ledger")
        constraints = [models.CheckConstraint(condition=~models.Q(quantity=0), name="stock_move_not_zero")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class DemandForecast(models.Model):
    """Forecast demand for a delivery day, per product at a pickup point or at a whole depot."""

    delivery_date = models.DateField(_("delivery day"))
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="forecasts", verbose_name=_("product"))
    depot = models.ForeignKey(Depot, on_delete=models.CASCADE, related_name="forecasts", verbose_name=_("depot"))
    pickup_point = models.ForeignKey(
        PickupPoint, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("pickup point"),
        help_text=_("Empty: the forecast for the whole depot."),
    )
    mean = models.FloatField(_("mean"))
    p50 = models.PositiveIntegerField(_("P50"), help_text=_("Demand is at most this with 50 % probability."))
    p80 = models.PositiveIntegerField(_("P80"), help_text=_("Demand is at most this with 80 % probability."))
    p95 = models.PositiveIntegerField(_("P95"), help_text=_("Demand is at most this with 95 % probability."))
    created_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("demand forecast")
        verbose_name_plural = _("demand forecasts")
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

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


# Allocations and shortages are rebuilt wholesale for a day, up to a million rows a night, from rows
# that the same transaction has read and locked. Their references (all PROTECT) are kept by Django,
# not by per-row foreign-key triggers, which would cost more than the whole allocation.


class Allocation(models.Model):
    """Stock of one lot set aside for a pickup point's demand on a delivery day."""

    delivery_date = models.DateField(_("delivery day"))
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, db_constraint=False, db_index=False, verbose_name=_("pickup point")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, db_constraint=False, db_index=False, verbose_name=_("product")
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, related_name="allocations", db_constraint=False, verbose_name=_("lot")
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        indexes = [models.Index(fields=["delivery_date", "pickup_point"], name="allocation_day_point")]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="allocation_quantity_positive")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class LineShortage(models.Model):
    """The part of a resident's order line that stock could not fill, and the refund it is owed."""

    delivery_date = models.DateField(_("delivery day"), db_index=True)
    order_line = models.OneToOneField(
        OrderLine, on_delete=models.PROTECT, db_constraint=False, related_name="shortage", verbose_name=_("order line")
    )
    quantity = models.PositiveIntegerField(_("short quantity"))
    refund_amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2)
    # Why: the pickup point's whole demand for the product and what it received as its fair share.
    point_demanded = models.PositiveIntegerField(
        _("point's demand"), help_text=_("The pickup point's whole demand for the product.")
    )
    point_allocated = models.PositiveIntegerField(
        _("point's allocation"), help_text=_("What the point received as its fair share of the stock.")
    )

    class Meta:
        verbose_name = _("shortage")
        verbose_name_plural = _("shortages")
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="shortage_quantity_positive")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"

    @staticmethod
    def reason_expression():
        """Why the line was cut, in words of the active language, as a query expression: refunds are written from it
        in the database (a large city's day has tens of thousands of cut lines). The one translated sentence is cut
        at its placeholders, so a translation may put them in the order its language needs."""
        fields = {"day": "delivery_date", "allocated": "point_allocated", "demanded": "point_demanded", "quantity": "quantity"}
        sentence = gettext(
            "stock short for %(day)s: the pickup point received %(allocated)s of the %(demanded)s units ordered"
            " (a fair share of what was in stock); %(quantity)s of this line refunded"
        )
        parts = [
            Cast(fields[piece], models.CharField()) if index % 2 else models.Value(piece)
            for index, piece in enumerate(re.split(r"%\((\w+)\)s", sentence))
            if index % 2 or piece
        ]
        return Concat(*parts, output_field=models.CharField())


class SortList(models.Model):
    """What to load for one delivery route, stop by stop; built from the route's stop order."""

    delivery_date = models.DateField(_("delivery day"), db_index=True)
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="sort_lists", verbose_name=_("depot"))
    route_code = models.CharField(_("route code"), max_length=40)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["delivery_date", "depot_id", "route_code"]
        verbose_name = _("sort list")
        verbose_name_plural = _("sort lists")
        constraints = [models.UniqueConstraint(fields=["delivery_date", "route_code"], name="one_sort_list_per_route_day")]

    def __str__(self) -> str:
        return f"{self.route_code} {self.delivery_date}"


class SortListStop(models.Model):
    """One stop of a route: the pickup point's goods go into `crates` totes labelled with the stop number."""

    sort_list = models.ForeignKey(SortList, on_delete=models.CASCADE, related_name="stops", verbose_name=_("sort list"))
    stop_number = models.PositiveSmallIntegerField(_("stop number"), help_text=_("1 = delivered first."))
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, verbose_name=_("pickup point"))
    leader_name = models.CharField(_("group leader"), max_length=150, blank=True)
    crates = models.PositiveIntegerField(_("totes"))
    units = models.PositiveIntegerField(_("units"))

    class Meta:
        ordering = ["sort_list_id", "-stop_number"]
        verbose_name = _("sort list stop")
        verbose_name_plural = _("sort list stops")
        constraints = [
            models.UniqueConstraint(fields=["sort_list", "stop_number"], name="one_stop_number_per_sort_list"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"
