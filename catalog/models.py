from datetime import time

from django.db import models
from django.utils.translation import gettext_lazy as _


class Site(models.Model):
    """A place on the map with a business code."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    latitude = models.FloatField(
        _("latitude"), help_text=_("WGS-84 (GPS) degrees, as a phone's GPS reads them; Chinese map links convert to GCJ-02.")
    )
    longitude = models.FloatField(
        _("longitude"), help_text=_("WGS-84 (GPS) degrees, as a phone's GPS reads them; Chinese map links convert to GCJ-02.")
    )

    class Meta:
        abstract = True
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90), name="%(class)s_latitude_range"
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__gte=-180, longitude__lte=180), name="%(class)s_longitude_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Warehouse(Site):
    """A central warehouse that receives from suppliers and supplies depots."""

    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta(Site.Meta):
        verbose_name = _("central warehouse")
        verbose_name_plural = _("central warehouses")


class Depot(Site):
    """A grid warehouse (网格仓): delivery runs to pickup points start here."""

    address = models.CharField(_("address"), max_length=300, blank=True)
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="depots",
        verbose_name=_("central warehouse"), help_text=_("The central warehouse that supplies this depot."),
    )

    class Meta(Site.Meta):
        verbose_name = _("depot")
        verbose_name_plural = _("depots")


class PickupPoint(Site):
    """A pickup point (自提点), usually a group leader's shop, served by one depot."""

    address = models.CharField(_("address"), max_length=300)
    depot = models.ForeignKey(
        Depot, on_delete=models.PROTECT, related_name="pickup_points", verbose_name=_("depot"),
        help_text=_("The depot whose vans deliver to this point."),
    )
    opens_at = models.TimeField(_("opens at"), default=time(8, 0), help_text=_("Residents can collect from this time."))
    closes_at = models.TimeField(_("closes at"), default=time(21, 0))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(Site.Meta):
        verbose_name = _("pickup point")
        verbose_name_plural = _("pickup points")
        constraints = Site.Meta.constraints + [
            models.CheckConstraint(condition=models.Q(opens_at__lt=models.F("closes_at")), name="pickuppoint_window_order"),
        ]


class StorageTemperature(models.TextChoices):
    AMBIENT = "ambient", _("Ambient")
    CHILLED = "chilled", _("Chilled")
    FROZEN = "frozen", _("Frozen")


class Product(models.Model):
    """A sellable item; quantities everywhere are whole units of `unit`."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, db_index=True)
    unit = models.CharField(_("unit"), max_length=32, help_text=_("What one unit is, e.g. 'bag 500 g' or 'box of 12'."))
    weight_g = models.PositiveIntegerField(_("weight (g)"), help_text=_("Of one unit, packed."))
    volume_ml = models.PositiveIntegerField(_("volume (ml)"), help_text=_("Of one unit, packed."))
    storage_temperature = models.CharField(_("storage temperature"), max_length=8, choices=StorageTemperature.choices)
    shelf_life_days = models.PositiveSmallIntegerField(_("shelf life (days)"))
    is_active = models.BooleanField(_("on sale"), default=True, help_text=_("Only products on sale can be offered in a wave."))

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
