from django.conf import settings
from django.db import models
from django.utils import timezone

from core.formatting import person_name
from catalog.models import PickupPoint, Product


class LeaderTier(models.TextChoices):
    ORDINARY = "ordinary"
    CORE = "core"


class GroupLeader(models.Model):
    """A group leader (团长): collects residents' orders for their pickup point(s)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="group_leader")
    pickup_points = models.ManyToManyField(PickupPoint, related_name="leaders")
    tier = models.CharField(max_length=8, choices=LeaderTier.choices, default=LeaderTier.ORDINARY)
    is_active = models.BooleanField(default=True)
    # A partner's business number (unlike residents' phones, kept whole): drivers see it masked.
    phone = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return person_name(self.user.first_name, self.user.last_name, self.user.username)


def current_consent_version() -> str:
    """The wording of the privacy consent residents are shown now (settings.RESIDENT_CONSENT_VERSION)."""
    return settings.RESIDENT_CONSENT_VERSION


class Resident(models.Model):
    """A resident who orders through a leader. The phone is kept only masked and as a keyed hash."""

    name = models.CharField(max_length=100)
    phone_masked = models.CharField(max_length=20)
    phone_hash = models.CharField(max_length=64, unique=True)
    consent = models.BooleanField(default=False)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.CharField(
        max_length=32, blank=True, default=current_consent_version, help_text="The consent wording the resident was shown."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True, help_text="Personal fields anonymised; amounts kept.")

    def __str__(self) -> str:
        return f"{self.name} {self.phone_masked}"


class WaveStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"


class SalesWave(models.Model):
    """The sales wave for one delivery day; orders lock at its cutoff."""

    delivery_date = models.DateField(unique=True)
    cutoff_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=WaveStatus.choices, default=WaveStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-delivery_date"]

    def __str__(self) -> str:
        return f"wave {self.delivery_date}"

    def accepts_orders(self, now=None) -> bool:
        return self.status == WaveStatus.OPEN and (now or timezone.now()) < self.cutoff_at


class Deal(models.Model):
    """A product offered in a wave at a price, optionally limited in total and per resident."""

    wave = models.ForeignKey(SalesWave, on_delete=models.PROTECT, related_name="deals")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="deals")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity_limit = models.PositiveIntegerField(null=True, blank=True)
    per_resident_limit = models.PositiveIntegerField(null=True, blank=True)
    is_promotion = models.BooleanField(default=False, help_text="Promoted on the day; forecasts expect an uplift.")
    # Kept up to date only for limited deals, where it guards against overselling.
    sold_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "product"], name="one_deal_per_product_per_wave"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="deal_price_positive"),
            models.CheckConstraint(
                condition=models.Q(quantity_limit__isnull=True) | models.Q(sold_quantity__lte=models.F("quantity_limit")),
                name="deal_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} @ {self.price} ({self.wave})"


class LeaderOrder(models.Model):
    """The one consolidated order a leader submits for a pickup point in a wave."""

    leader = models.ForeignKey(GroupLeader, on_delete=models.PROTECT, related_name="orders")
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, related_name="leader_orders")
    wave = models.ForeignKey(SalesWave, on_delete=models.PROTECT, related_name="leader_orders")
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    revision = models.PositiveIntegerField(default=0, help_text="Counts submissions and cancellations.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["leader", "pickup_point", "wave"], name="one_order_per_leader_point_wave"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} {self.pickup_point.code} {self.wave.delivery_date}"


class LineStatus(models.TextChoices):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class OrderLine(models.Model):
    """One resident's quantity of one deal within a leader order."""

    order = models.ForeignKey(LeaderOrder, on_delete=models.CASCADE, related_name="lines")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="order_lines")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=10, choices=LineStatus.choices, default=LineStatus.ACTIVE)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.UniqueConstraint(
                fields=["order", "resident", "deal"],
                condition=models.Q(status="active"),
                name="one_active_line_per_resident_deal",
            ),
        ]


class DemandLine(models.Model):
    """Demand after the cutoff per (delivery day, pickup point, product); rebuilt by closing the wave.

    Up to a million rows a night, all derived in one INSERT … SELECT from rows that the same
    transaction has locked; per-row foreign-key triggers would cost more than the aggregation itself,
    so the references are kept by Django (CASCADE/PROTECT) rather than by database constraints.
    """

    wave = models.ForeignKey(SalesWave, on_delete=models.CASCADE, related_name="demand_lines", db_constraint=False)
    delivery_date = models.DateField()
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="demand_lines", db_constraint=False, db_index=False
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="demand_lines", db_constraint=False)
    quantity = models.PositiveIntegerField()
    order_count = models.PositiveIntegerField()
    line_count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["delivery_date", "pickup_point_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery_date", "pickup_point", "product"], name="one_demand_line_per_day_point_product"),
        ]
