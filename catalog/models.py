from datetime import time

from django.db import models
from django.utils.translation import gettext_lazy as _


class Site(models.Model):
    """A place on the map with a business code."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    latitude = models.FloatField()
    longitude = models.FloatField()

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

    address = models.CharField(max_length=300, blank=True)

    class Meta(Site.Meta):
        pass


class Depot(Site):
    """A grid warehouse (网格仓): delivery runs to pickup points start here."""

    address = models.CharField(max_length=300, blank=True)
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="depots")

    class Meta(Site.Meta):
        pass


class PickupPoint(Site):
    """A pickup point (自提点), usually a group leader's shop, served by one depot."""

    address = models.CharField(max_length=300)
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="pickup_points")
    opens_at = models.TimeField(default=time(8, 0))
    closes_at = models.TimeField(default=time(21, 0))
    is_active = models.BooleanField(default=True)

    class Meta(Site.Meta):
        constraints = Site.Meta.constraints + [
            models.CheckConstraint(condition=models.Q(opens_at__lt=models.F("closes_at")), name="pickuppoint_window_order"),
        ]


class StorageTemperature(models.TextChoices):
    AMBIENT = "ambient", _("Ambient")
    CHILLED = "chilled", _("Chilled")
    FROZEN = "frozen", _("Frozen")


class Product(models.Model):
    """A sellable item; quantities everywhere are whole units of `unit`."""

    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, db_index=True)
    unit = models.CharField(max_length=32, help_text="What one unit is, e.g. 'bag 500 g' or 'box of 12'.")
    weight_g = models.PositiveIntegerField()
    volume_ml = models.PositiveIntegerField()
    storage_temperature = models.CharField(max_length=8, choices=StorageTemperature.choices)
    shelf_life_days = models.PositiveSmallIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
