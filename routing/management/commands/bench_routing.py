"""Benchmark: plan one generated depot day end to end (allocations in, stored plan out); a command, not a test.

With ``--peers pyvrp`` the same routing problem (matrix, every capacity dimension, windows, service
times, fleet with its shifts, fixed cost and cost per km) also goes to each peer (routing.peers) under
the same time limit, and its plan is judged and costed by the independent checker with the service's
cost function (fixed cost + cost per km x distance), next to ours.
"""
import json
import math
import random
import time
from datetime import date, time as clock_time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from catalog.models import Depot, PickupPoint, Product
from routing import peers, services
from routing.checker import check_plan
from routing.models import Vehicle
from warehouse.models import Allocation, Lot

DAY = date(2031, 1, 7)
CENT = Decimal("0.01")
CENTRE = (30.27, 120.15)
ZONES = ("ambient", "chilled", "frozen")


def peer_result(problem, name: str, time_limit: float, seed: int, threads: int) -> dict:
    """A peer's plan of ``problem``, as the checker sees it; money in yuan (the problem's costs are
    cents)."""
    started = time.perf_counter()
    plan = peers.PEERS[name](problem, time_limit, seed=seed, threads=threads, optional_stops=True)
    seconds = time.perf_counter() - started
    check = check_plan(problem, plan)
    return {
        "plan_seconds": round(seconds, 2), "routes": len(plan.routes), "stops": len(problem.stops) - len(plan.dropped),
        "dropped": len(plan.dropped), "cost": str((Decimal(repr(check.cost)) / 100).quantize(CENT)),
        "distance_km": round(check.distance / 1000, 1), "feasible": check.feasible, "violations": check.violations,
    }


class Rollback(Exception):
    """Raised to throw the generated data away."""


class Command(BaseCommand):
    help = "Generate a depot with N pickup points, allocations and a fleet, plan its day, print JSON timings."

    def add_arguments(self, parser):
        parser.add_argument("--points", type=int, default=300)
        parser.add_argument("--radius-km", type=float, default=12.0)
        parser.add_argument("--time-limit", type=float, default=None, help="default ROUTING_SOLVER_TIME_LIMIT_SECONDS")
        parser.add_argument("--workers", type=int, default=None, help="default ROUTING_SOLVER_WORKERS")
        parser.add_argument("--route-iterations", type=int, default=None,
                            help="plan on this iteration budget (reproducible) instead of the time limit; default "
                                 "ROUTING_SOLVER_MAX_ITERATIONS")
        parser.add_argument("--vans", type=int, default=None, help="the depot's fleet; default one van per 20 points")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--peers", type=peers.peer_names, default=[],
                            help=f"also plan the same problem with these, comma-separated: {', '.join(peers.PEERS)}")
        parser.add_argument("--json", dest="json_path", required=True)

    def handle(self, *args, **o):
        if o["workers"]:
            settings.ROUTING_SOLVER_WORKERS = o["workers"]
        if o["route_iterations"]:
            settings.ROUTING_SOLVER_MAX_ITERATIONS = o["route_iterations"]
        result = {"points": o["points"], "workers": settings.ROUTING_SOLVER_WORKERS,
                  "route_iterations": settings.ROUTING_SOLVER_MAX_ITERATIONS}
        try:
            with transaction.atomic():
                depot = self._generate(o["points"], o["radius_km"], random.Random(o["seed"]), result, o["vans"])
                started = time.perf_counter()
                plan = services.plan_depot_routes(depot_id=depot.pk, delivery_date=DAY, time_limit_seconds=o["time_limit"])
                result.update(
                    plan_seconds=round(time.perf_counter() - started, 2), routes=plan.routes.count(),
                    stops=plan.stop_count, dropped=plan.dropped_count, cost=str(plan.cost),
                    distance_km=round(plan.distance_m / 1000, 1), solver=plan.solver_stats,
                )
                if o["peers"]:
                    problem = services.depot_problem(depot_id=depot.pk, delivery_date=DAY)
                    time_limit = o["time_limit"] or settings.ROUTING_SOLVER_TIME_LIMIT_SECONDS
                    threads = settings.ROUTING_SOLVER_WORKERS  # the same as ours
                    result["peers"] = {name: peer_result(problem, name, time_limit, o["seed"], threads)
                                       for name in o["peers"]}
                raise Rollback
        except Rollback:
            pass
        except peers.PeerMissing as error:
            raise CommandError(str(error)) from error
        Path(o["json_path"]).write_text(json.dumps(result, indent=2))
        self.stdout.write(json.dumps(result, indent=2))

    def _generate(self, n_points: int, radius_km: float, rng: random.Random, result: dict, vans: int | None) -> Depot:
        depot = Depot.objects.create(code="BENCH-D", name="Bench depot", latitude=CENTRE[0], longitude=CENTRE[1])
        products = [
            Product.objects.create(sku=f"BENCH-{zone}-{i}", name=f"{zone} {i}", category="bench", unit="box",
                                   weight_g=rng.randint(300, 3000), volume_ml=rng.randint(500, 4000),
                                   storage_temperature=zone, shelf_life_days=10)
            for zone in ZONES for i in range(10)
        ]
        lots = {p.pk: Lot.objects.create(product=p, depot=depot, quantity=10**6, expiry_date=DAY, received_at=timezone.now(), source="receipt")
                for p in products}
        points = []
        for i in range(n_points):
            distance, bearing = radius_km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            narrow = rng.random() < 0.2  # one point in five takes deliveries only in the morning
            points.append(PickupPoint(
                code=f"BENCH-P{i}", name=f"Point {i}", address=f"{i} Bench Road", depot=depot,
                latitude=CENTRE[0] + distance / 111.0 * math.cos(bearing),
                longitude=CENTRE[1] + distance / (111.0 * math.cos(math.radians(CENTRE[0]))) * math.sin(bearing),
                opens_at=clock_time(7, 0), closes_at=clock_time(11, 0) if narrow else clock_time(20, 0),
            ))
        points = PickupPoint.objects.bulk_create(points)
        Allocation.objects.bulk_create(
            Allocation(delivery_date=DAY, pickup_point=point, product=product, lot=lots[product.pk], quantity=rng.randint(1, 12))
            for point in points for product in rng.sample(products, rng.randint(2, 6))
        )
        # Enough vans for the load with some slack (about four crates a stop); every van is chilled,
        # three in four also have a frozen zone.
        vans = vans or max(2, math.ceil(n_points / 20))
        Vehicle.objects.bulk_create(
            Vehicle(code=f"BENCH-V{i}", depot=depot, capacity_kg=1500, capacity_litres=8000, capacity_crates=120,
                    has_chilled_zone=True, has_frozen_zone=i % 4 != 3, shift_start=clock_time(6, 0),
                    shift_end=clock_time(16, 0), fixed_cost=200, cost_per_km=3)
            for i in range(vans)
        )
        result["vehicles"] = vans
        return depot
