from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from catalog.models import Depot, PickupPoint, Product
from core.models import Role
from core.selectors import roles_of


class Vehicle(models.Model):
    """A delivery van of a depot: what it carries, when it runs and what it costs."""

    code = models.CharField(max_length=24, unique=True)
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="vehicles")
    capacity_kg = models.PositiveIntegerField()
    capacity_litres = models.PositiveIntegerField()
    capacity_crates = models.PositiveIntegerField()
    # Temperature zones besides ambient: a stop with chilled (frozen) goods needs a chilled (frozen) van.
    has_chilled_zone = models.BooleanField(default=False)
    has_frozen_zone = models.BooleanField(default=False)
    shift_start = models.TimeField(default=time(6, 0))
    shift_end = models.TimeField(default=time(14, 0))
    max_duration_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Longest route; empty: the shift.")
    fixed_cost = models.DecimalField(max_digits=10, decimal_places=2, default=0, help_text="Per day when used.")
    cost_per_km = models.DecimalField(max_digits=8, decimal_places=2, default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["depot_id", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(shift_start__lt=models.F("shift_end")), name="vehicle_shift_order"),
            models.CheckConstraint(condition=models.Q(fixed_cost__gte=0), name="vehicle_fixed_cost_not_negative"),
            models.CheckConstraint(condition=models.Q(cost_per_km__gt=0), name="vehicle_cost_per_km_positive"),
        ]

    def __str__(self) -> str:
        return self.code


class Driver(models.Model):
    """A user with the driver role who drives one vehicle in their shift."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="driver_profile")
    vehicle = models.OneToOneField(Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="driver")
    shift_start = models.TimeField(default=time(6, 0))
    shift_end = models.TimeField(default=time(14, 0))
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(shift_start__lt=models.F("shift_end")), name="driver_shift_order"),
        ]

    def __str__(self) -> str:
        return str(self.user)

    def clean(self):
        if Role.DRIVER.value not in roles_of(self.user):
            raise ValidationError({"user": f"{self.user} does not have the driver role"})


class VehicleOutage(models.Model):
    """A vehicle out of service for a delivery day (breakdown, repair); re-planning leaves it out."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="outages")
    delivery_date = models.DateField()
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vehicle", "delivery_date"], name="one_outage_per_vehicle_day")]

    def __str__(self) -> str:
        return f"{self.vehicle} out on {self.delivery_date}"


class RoutePlan(models.Model):
    """The delivery runs of one depot on one day, as the solver last planned them."""

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="route_plans")
    delivery_date = models.DateField()
    revision = models.PositiveIntegerField(default=1, help_text="1 = first plan; each re-plan adds one.")
    cost = models.DecimalField(max_digits=12, decimal_places=2)
    distance_m = models.PositiveIntegerField()
    duration_s = models.PositiveIntegerField(help_text="Sum of the routes' durations.")
    stop_count = models.PositiveIntegerField()
    dropped_count = models.PositiveIntegerField()
    solver_stats = models.JSONField(default=dict)
    planned_at = models.DateTimeField()

    class Meta:
        ordering = ["-delivery_date", "depot_id"]
        constraints = [models.UniqueConstraint(fields=["depot", "delivery_date"], name="one_route_plan_per_depot_day")]

    def __str__(self) -> str:
        return f"{self.depot.code} {self.delivery_date} r{self.revision}"


class Route(models.Model):
    """One vehicle's run: out of the depot, through its stops in order, back to the depot."""

    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="routes")
    code = models.CharField(max_length=40, help_text="Also the sort list's route code.")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="routes")
    driver = models.ForeignKey(Driver, null=True, blank=True, on_delete=models.SET_NULL, related_name="routes")
    departure_at = models.DateTimeField()
    return_at = models.DateTimeField()
    distance_m = models.PositiveIntegerField()
    cost = models.DecimalField(max_digits=12, decimal_places=2)
    weight_g = models.PositiveBigIntegerField(help_text="Loaded at the depot.")
    volume_ml = models.PositiveBigIntegerField()
    crates = models.PositiveIntegerField()

    class Meta:
        ordering = ["plan_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "vehicle"], name="one_route_per_vehicle_per_plan"),
            models.UniqueConstraint(fields=["plan", "code"], name="route_code_unique_in_plan"),
        ]

    def __str__(self) -> str:
        return self.code


class RouteStop(models.Model):
    """A pickup point on a route, with its planned times, its load and the driver's confirmations."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops")
    sequence = models.PositiveSmallIntegerField(help_text="1 = delivered first.")
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, related_name="route_stops")
    eta = models.DateTimeField(help_text="Planned arrival.")
    service_start_at = models.DateTimeField(help_text="Planned start of unloading (later than the ETA when early).")
    departure_at = models.DateTimeField()
    driven_m = models.PositiveIntegerField(help_text="Planned distance from the depot to this stop.")
    weight_g = models.PositiveBigIntegerField()
    volume_ml = models.PositiveBigIntegerField()
    crates = models.PositiveIntegerField()
    units = models.PositiveIntegerField()
    # What is still on board when the van leaves this stop.
    remaining_weight_g = models.PositiveBigIntegerField()
    remaining_volume_ml = models.PositiveBigIntegerField()
    remaining_crates = models.PositiveIntegerField()
    arrived_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["route_id", "sequence"]
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
    stop = models.ForeignKey(RouteStop, on_delete=models.CASCADE, related_name="lines", db_constraint=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, db_constraint=False)
    quantity = models.PositiveIntegerField()
    delivered_quantity = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["stop_id", "product_id"]
        constraints = [models.UniqueConstraint(fields=["stop", "product"], name="one_line_per_product_per_stop")]


class DroppedStop(models.Model):
    """A pickup point the plan could not serve, and why; its goods stay at the depot."""

    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="dropped_stops")
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT)
    reason = models.CharField(max_length=200)
    weight_g = models.PositiveBigIntegerField()
    volume_ml = models.PositiveBigIntegerField()
    crates = models.PositiveIntegerField()
    units = models.PositiveIntegerField()

    class Meta:
        ordering = ["plan_id", "pickup_point_id"]
        constraints = [models.UniqueConstraint(fields=["plan", "pickup_point"], name="pickup_point_dropped_once_per_plan")]
