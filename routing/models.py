from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Depot, PickupPoint, Product
from core.models import Role
from core.selectors import roles_of


class Vehicle(models.Model):
    """A delivery van of a depot: what it carries, when it runs and what it costs."""

    code = models.CharField(_("code"), max_length=24, unique=True)
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("depot"))
    capacity_kg = models.PositiveIntegerField(_("capacity (kg)"))
    capacity_litres = models.PositiveIntegerField(_("capacity (litres)"))
    capacity_crates = models.PositiveIntegerField(_("capacity (totes)"))
    # Temperature zones besides ambient: a stop with chilled (frozen) goods needs a chilled (frozen) van.
    has_chilled_zone = models.BooleanField(
        _("chilled zone"), default=False, help_text=_("Stops with chilled goods need a van with a chilled zone.")
    )
    has_frozen_zone = models.BooleanField(
        _("frozen zone"), default=False, help_text=_("Stops with frozen goods need a van with a frozen zone.")
    )
    shift_start = models.TimeField(_("shift start"), default=time(6, 0))
    shift_end = models.TimeField(_("shift end"), default=time(14, 0))
    max_duration_minutes = models.PositiveIntegerField(
        _("longest route (minutes)"), null=True, blank=True, help_text=_("Longest route; empty: the shift.")
    )
    fixed_cost = models.DecimalField(
        _("fixed cost"), max_digits=10, decimal_places=2, default=0, help_text=_("Per day when used.")
    )
    cost_per_km = models.DecimalField(_("cost per km"), max_digits=8, decimal_places=2, default=1)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["depot_id", "code"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        constraints = [
            models.CheckConstraint(condition=models.Q(shift_start__lt=models.F("shift_end")), name="vehicle_shift_order"),
            models.CheckConstraint(condition=models.Q(fixed_cost__gte=0), name="vehicle_fixed_cost_not_negative"),
            models.CheckConstraint(condition=models.Q(cost_per_km__gt=0), name="vehicle_cost_per_km_positive"),
        ]

    def __str__(self) -> str:
        return self.code


class Driver(models.Model):
    """A user with the driver role who drives one vehicle in their shift."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="driver_profile", verbose_name=_("user"),
        help_text=_("Needs the driver role."),
    )
    vehicle = models.OneToOneField(
        Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="driver", verbose_name=_("vehicle")
    )
    shift_start = models.TimeField(_("shift start"), default=time(6, 0))
    shift_end = models.TimeField(_("shift end"), default=time(14, 0))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("driver")
        verbose_name_plural = _("drivers")
        constraints = [
            models.CheckConstraint(condition=models.Q(shift_start__lt=models.F("shift_end")), name="driver_shift_order"),
        ]

    def __str__(self) -> str:
        return str(self.user)

    def clean(self):
        if Role.DRIVER.value not in roles_of(self.user):
            raise ValidationError({"user": gettext("%(user)s does not have the driver role") % {"user": self.user}})


class VehicleOutage(models.Model):
    """A vehicle out of service for a delivery day (breakdown, repair); re-planning leaves it out."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="outages", verbose_name=_("vehicle"))
    delivery_date = models.DateField(_("delivery day"))
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("vehicle outage")
        verbose_name_plural = _("vehicle outages")
        constraints = [models.UniqueConstraint(fields=["vehicle", "delivery_date"], name="one_outage_per_vehicle_day")]

    def __str__(self) -> str:
        return gettext("%(vehicle)s out on %(day)s") % {"vehicle": self.vehicle, "day": self.delivery_date}


class RoutePlan(models.Model):
    """The delivery runs of one depot on one day, as the solver last planned them."""

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="route_plans", verbose_name=_("depot"))
    delivery_date = models.DateField(_("delivery day"))
    revision = models.PositiveIntegerField(_("revision"), default=1, help_text=_("1 = first plan; each re-plan adds one."))
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2)
    distance_m = models.PositiveIntegerField(_("distance (m)"))
    duration_s = models.PositiveIntegerField(_("duration (s)"), help_text=_("Sum of the routes' durations."))
    stop_count = models.PositiveIntegerField(_("stop count"))
    dropped_count = models.PositiveIntegerField(_("dropped stops"))
    solver_stats = models.JSONField(_("solver statistics"), default=dict)
    planned_at = models.DateTimeField(_("planned at"))

    class Meta:
        ordering = ["-delivery_date", "depot_id"]
        verbose_name = _("route plan")
        verbose_name_plural = _("route plans")
        constraints = [models.UniqueConstraint(fields=["depot", "delivery_date"], name="one_route_plan_per_depot_day")]

    def __str__(self) -> str:
        return f"{self.depot.code} {self.delivery_date} r{self.revision}"


class Route(models.Model):
    """One vehicle's run: out of the depot, through its stops in order, back to the depot."""

    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="routes", verbose_name=_("route plan"))
    code = models.CharField(_("route code"), max_length=40, help_text=_("Also the sort list's route code."))
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="routes", verbose_name=_("vehicle"))
    driver = models.ForeignKey(
        Driver, null=True, blank=True, on_delete=models.SET_NULL, related_name="routes", verbose_name=_("driver")
    )
    departure_at = models.DateTimeField(_("departure"))
    return_at = models.DateTimeField(_("return"))
    distance_m = models.PositiveIntegerField(_("distance (m)"))
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2)
    weight_g = models.PositiveBigIntegerField(_("weight (g)"), help_text=_("Loaded at the depot."))
    volume_ml = models.PositiveBigIntegerField(_("volume (ml)"))
    crates = models.PositiveIntegerField(_("totes"))

    class Meta:
        ordering = ["plan_id", "code"]
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        constraints = [
            models.UniqueConstraint(fields=["plan", "vehicle"], name="one_route_per_vehicle_per_plan"),
            models.UniqueConstraint(fields=["plan", "code"], name="route_code_unique_in_plan"),
        ]

    def __str__(self) -> str:
        return self.code


class RouteStop(models.Model):
    """A pickup point on a route, with its planned times, its load and the driver's confirmations."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops", verbose_name=_("route"))
    sequence = models.PositiveSmallIntegerField(_("stop number"), help_text=_("1 = delivered first."))
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="route_stops", verbose_name=_("pickup point")
    )
    eta = models.DateTimeField(_("ETA"), help_text=_("Planned arrival."))
    service_start_at = models.DateTimeField(
        _("unloading starts"), help_text=_("Planned start of unloading (later than the ETA when early).")
    )
    departure_at = models.DateTimeField(_("departure"))
    driven_m = models.PositiveIntegerField(
        _("driven (m)"), help_text=_("Planned distance from the depot to this stop.")
    )
    weight_g = models.PositiveBigIntegerField(_("weight (g)"))
    volume_ml = models.PositiveBigIntegerField(_("volume (ml)"))
    crates = models.PositiveIntegerField(_("totes"))
    units = models.PositiveIntegerField(_("units"))
    # What is still on board when the van leaves this stop.
    remaining_weight_g = models.PositiveBigIntegerField(
        _("weight left on board (g)"), help_text=_("Still on board when the van leaves this stop.")
    )
    remaining_volume_ml = models.PositiveBigIntegerField(_("volume left on board (ml)"))
    remaining_crates = models.PositiveIntegerField(_("totes left on board"))
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["route_id", "sequence"]
        verbose_name = _("stop")
        verbose_name_plural = _("stops")
        constraints = [
            models.UniqueConstraint(fields=["route", "sequence"], name="one_stop_per_sequence_on_route"),
            models.UniqueConstraint(fields=["route", "pickup_point"], name="pickup_point_once_per_route"),
            models.CheckConstraint(
                condition=models.Q(delivered_at__isnull=True) | models.Q(arrived_at__isnull=False),
                name="route_stop_delivered_after_arrival",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.route.code} #{self.sequence} {self.pickup_point.code}"

    @property
    def is_confirmed(self) -> bool:
        return self.arrived_at is not None


class RouteStopLine(models.Model):
    """A product dropped off at a stop: what was allocated, and what the driver handed over."""

    # Written in bulk with the stops they belong to, from the day's allocations, so both references are
    # right by construction; Django's collector still cascades and protects. No per-row database check:
    # those ran at COMMIT, one index probe each, and were most of storing a large depot's plan (~1 s).
    stop = models.ForeignKey(
        RouteStop, on_delete=models.CASCADE, related_name="lines", db_constraint=False, verbose_name=_("stop")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, db_constraint=False, verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))
    delivered_quantity = models.PositiveIntegerField(
        _("delivered quantity"), null=True, blank=True, help_text=_("What the driver handed over; empty until then.")
    )

    class Meta:
        ordering = ["stop_id", "product_id"]
        verbose_name = _("stop line")
        verbose_name_plural = _("stop lines")
        constraints = [models.UniqueConstraint(fields=["stop", "product"], name="one_line_per_product_per_stop")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class DroppedStop(models.Model):
    """A pickup point the plan could not serve, and why; its goods stay at the depot."""

    plan = models.ForeignKey(
        RoutePlan, on_delete=models.CASCADE, related_name="dropped_stops", verbose_name=_("route plan")
    )
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, verbose_name=_("pickup point"))
    reason = models.CharField(_("reason"), max_length=200)
    weight_g = models.PositiveBigIntegerField(_("weight (g)"))
    volume_ml = models.PositiveBigIntegerField(_("volume (ml)"))
    crates = models.PositiveIntegerField(_("totes"))
    units = models.PositiveIntegerField(_("units"))

    class Meta:
        ordering = ["plan_id", "pickup_point_id"]
        verbose_name = _("dropped stop")
        verbose_name_plural = _("dropped stops")
        constraints = [models.UniqueConstraint(fields=["plan", "pickup_point"], name="pickup_point_dropped_once_per_plan")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"
