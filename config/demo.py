"""`manage.py demo`: seed the demo city, take its orders, stock the warehouse, then run the night through
the pipeline (eager Celery by default) and report the day's KPIs.

The order side is grouporders/demo.py and the stock is warehouse/demo.py; this module adds what the
later apps need (vans and drivers) and clears their output of an earlier demo first.
"""
import random
from datetime import date, time

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import Depot
from core.models import Role
from core.services import grant_role
from grouporders.demo import CODE_PREFIX, USER_PREFIX, DemoOptions, run_demo
from grouporders.models import SalesWave
from pickup.models import Claim, Collection, CommissionEntry, PickupCode, PickupLine, Receipt, Refund
from routing.models import Driver, RoutePlan, Vehicle
from warehouse.demo import flush_warehouse_demo, stock_the_day

from . import kpis
from .models import Notice, PipelineRun
from .services import start_pipeline

STOPS_PER_VAN = 10


def flush_night_outputs() -> None:
    """The pickup, routing and pipeline rows of an earlier demo, which refer to its orders and points."""
    demo_points = {"pickup_point__code__startswith": CODE_PREFIX}
    demo_days = list(SalesWave.objects.filter(deals__product__sku__startswith=CODE_PREFIX).values_list("delivery_date", flat=True))
    with transaction.atomic():
        CommissionEntry.objects.filter(pickup_line__pickup_point__code__startswith=CODE_PREFIX).delete()
        Refund.objects.filter(order_line__order__pickup_point__code__startswith=CODE_PREFIX).delete()
        Collection.objects.filter(pickup_line__pickup_point__code__startswith=CODE_PREFIX).delete()
        Claim.objects.filter(pickup_line__pickup_point__code__startswith=CODE_PREFIX).delete()
        PickupLine.objects.filter(**demo_points).delete()
        Receipt.objects.filter(**demo_points).delete()
        PickupCode.objects.filter(delivery_date__in=demo_days).delete()
        RoutePlan.objects.filter(depot__code__startswith=CODE_PREFIX).delete()
        Driver.objects.filter(user__username__startswith=USER_PREFIX).delete()
        Vehicle.objects.filter(depot__code__startswith=CODE_PREFIX).delete()
        Notice.objects.filter(delivery_date__in=demo_days).delete()
        PipelineRun.objects.filter(delivery_date__in=demo_days).delete()


def add_fleet(rng: random.Random) -> int:
    """A van with a driver for every ten pickup points of each depot, the odd ones with a chilled zone."""
    users = get_user_model()
    vans = 0
    for depot in Depot.objects.filter(code__startswith=CODE_PREFIX).order_by("code"):
        needed = max(1, -(-depot.pickup_points.count() // STOPS_PER_VAN))
        for number in range(1, needed + 1):
            van = Vehicle.objects.create(
                code=f"{depot.code}-V{number}", depot=depot, capacity_kg=800, capacity_litres=4000, capacity_crates=80,
                has_chilled_zone=number % 2 == 1, has_frozen_zone=number == 1,
                shift_start=time(5, 30), shift_end=time(14, 0), cost_per_km=rng.choice([1, 2]),
            )
            user = users.objects.create_user(username=f"{USER_PREFIX}driver-{van.code.lower()}", password=None)
            grant_role(user, Role.DRIVER)
            Driver.objects.create(user=user, vehicle=van, shift_start=van.shift_start, shift_end=van.shift_end)
            vans += 1
    return vans


def run_day(options: DemoOptions) -> dict:
    flush_night_outputs()
    flush_warehouse_demo()
    summary = run_demo(options)
    rng = random.Random(options.seed)
    delivery_date = date.fromisoformat(summary["delivery_date"])
    summary["lots_received"] = stock_the_day(rng, delivery_date)
    summary["vans"] = add_fleet(rng)
    run = start_pipeline(delivery_date=delivery_date)
    run.refresh_from_db()
    summary["pipeline"] = {
        "status": run.status,
        "steps": [
            {"name": s.name, "status": s.status, "seconds": s.duration_seconds, "counts": s.counts, "error": s.error}
            for s in run.steps.all()
        ],
    }
    summary["kpis"] = kpis.day_kpis(delivery_date)
    return summary
