from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from catalog.models import PickupPoint, Product
from core.formatting import person_name


class LeaderTier(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary")
    CORE = "core", _("Core")


class GroupLeader(models.Model):
    """A group leader (团长): collects residents' orders for their pickup point(s)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="group_leader", verbose_name=_("user")
    )
    pickup_points = models.ManyToManyField(PickupPoint, related_name="leaders", verbose_name=_("pickup points"))
    tier = models.CharField(
        _("tier"), max_length=8, choices=LeaderTier.choices, default=LeaderTier.ORDINARY,
        help_text=_("Core leaders earn a higher commission rate."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # A partner's business number (unlike residents' phones, kept whole): drivers see it masked.
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("Kept whole; drivers see it masked."))

    class Meta:
        verbose_name = _("group leader")
        verbose_name_plural = _("group leaders")

    def __str__(self) -> str:
        return person_name(self.user.first_name, self.user.last_name, self.user.username)


def current_consent_version() -> str:
    """The wording of the privacy consent residents are shown now (settings.RESIDENT_CONSENT_VERSION)."""
    return settings.RESIDENT_CONSENT_VERSION


class Resident(models.Model):
    """A resident who orders through a leader. The phone is kept only masked and as a keyed hash."""

    name = models.CharField(_("name"), max_length=100)
    phone_masked = models.CharField(_("phone (masked)"), max_length=20)
    phone_hash = models.CharField(
        _("phone hash"), max_length=64, unique=True, help_text=_("Keyed hash of the phone number, to find the resident again.")
    )
    consent = models.BooleanField(_("privacy consent"), default=False)
    consent_at = models.DateTimeField(_("consented at"), null=True, blank=True)
    consent_version = models.CharField(
        _("consent version"), max_length=32, blank=True, default=current_consent_version,
        help_text=_("The consent wording the resident was shown."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    erased_at = models.DateTimeField(
        _("erased at"), null=True, blank=True, help_text=_("Personal fields anonymised; amounts kept.")
    )

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")

    def __str__(self) -> str:
        return f"{self.name} {self.phone_masked}"


class WaveStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("wave", "Open")
    CLOSED = "closed", pgettext_lazy("wave", "Closed")


class SalesWave(models.Model):
    """The sales wave for one delivery day; orders lock at its cutoff."""

    delivery_date = models.DateField(_("delivery day"), unique=True)
    cutoff_at = models.DateTimeField(_("cutoff"), help_text=_("Orders lock at this time."))
    status = models.CharField(_("status"), max_length=8, choices=WaveStatus.choices, default=WaveStatus.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-delivery_date"]
        verbose_name = _("sales wave")
        verbose_name_plural = _("sales waves")

    def __str__(self) -> str:
        return gettext("wave %(day)s") % {"day": self.delivery_date}

    def accepts_orders(self, now=None) -> bool:
        return self.status == WaveStatus.OPEN and (now or timezone.now()) < self.cutoff_at


class Deal(models.Model):
    """A product offered in a wave at a price, optionally limited in total and per resident."""

    wave = models.ForeignKey(SalesWave, on_delete=models.PROTECT, related_name="deals", verbose_name=_("sales wave"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="deals", verbose_name=_("product"))
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, help_text=_("Per unit, in yuan."))
    quantity_limit = models.PositiveIntegerField(
        _("quantity limit"), null=True, blank=True, help_text=_("Units for sale in total; empty: no limit.")
    )
    per_resident_limit = models.PositiveIntegerField(
        _("limit per resident"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    is_promotion = models.BooleanField(
        _("promotion"), default=False, help_text=_("Promoted on the day; forecasts expect an uplift.")
    )
    # Kept up to date only for limited deals, where it guards against overselling.
    sold_quantity = models.PositiveIntegerField(
        _("sold quantity"), default=0, help_text=_("Counted only for deals with a quantity limit.")
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
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

    leader = models.ForeignKey(GroupLeader, on_delete=models.PROTECT, related_name="orders", verbose_name=_("group leader"))
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="leader_orders", verbose_name=_("pickup point")
    )
    wave = models.ForeignKey(SalesWave, on_delete=models.PROTECT, related_name="leader_orders", verbose_name=_("sales wave"))
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    revision = models.PositiveIntegerField(_("revision"), default=0, help_text=_("Counts submissions and cancellations."))

    class Meta:
        ordering = ["id"]
        verbose_name = _("leader order")
        verbose_name_plural = _("leader orders")
        constraints = [
            models.UniqueConstraint(fields=["leader", "pickup_point", "wave"], name="one_order_per_leader_point_wave"),
        ]

    def __str__(self) -> str:
        return gettext("order %(number)s %(point)s %(day)s") % {
            "number": self.pk, "point": self.pickup_point.code, "day": self.wave.delivery_date,
        }


class LineStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("order line", "Active")
    CANCELLED = "cancelled", pgettext_lazy("order line", "Cancelled")


class OrderLine(models.Model):
    """One resident's quantity of one deal within a leader order."""

    order = models.ForeignKey(LeaderOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("leader order"))
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("resident"))
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("deal"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    status = models.CharField(_("status"), max_length=10, choices=LineStatus.choices, default=LineStatus.ACTIVE)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.UniqueConstraint(
                fields=["order", "resident", "deal"],
                condition=models.Q(status="active"),
                name="one_active_line_per_resident_deal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class DemandLine(models.Model):
    """Demand after the cutoff per (delivery day, pickup point, product); rebuilt by closing the wave.

    Up to a million rows a night, all derived in one INSERT … SELECT from rows that the same
    transaction has locked; per-row foreign-key triggers would cost more than the aggregation itself,
    so the references are kept by Django (CASCADE/PROTECT) rather than by database constraints.
    """

    wave = models.ForeignKey(
        SalesWave, on_delete=models.CASCADE, related_name="demand_lines", db_constraint=False, verbose_name=_("sales wave")
    )
    delivery_date = models.DateField(_("delivery day"))
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="demand_lines", db_constraint=False, db_index=False,
        verbose_name=_("pickup point"),
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="demand_lines", db_constraint=False, verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    order_count = models.PositiveIntegerField(_("order count"))
    line_count = models.PositiveIntegerField(_("line count"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["delivery_date", "pickup_point_id", "product_id"]
        verbose_name = _("demand line")
        verbose_name_plural = _("demand lines")
        constraints = [
            models.UniqueConstraint(fields=["delivery_date", "pickup_point", "product"], name="one_demand_line_per_day_point_product"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"
