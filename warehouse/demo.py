"""The warehouse's part of `manage.py demo`: stock the demo city, allocate its day, build its sort lists.

grouporders/demo.py seeds the city and runs the order side; this module goes on from the cutoff.
"""
import random
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from catalog.models import Depot, PickupPoint, Product, Warehouse
from grouporders.demo import CODE_PREFIX, DemoOptions, run_demo
from grouporders.models import DemandLine

from . import selectors, services, tasks
from .models import Allocation, LineShortage, Lot, SortList, StockMove

STOPS_PER_ROUTE = 8


def flush_warehouse_demo() -> None:
    """Remove the previous demo's stock and outputs, which refer to the demo products and orders."""
    demo_products = {"product__sku__startswith": CODE_PREFIX}
    SortList.objects.filter(route_code__startswith=CODE_PREFIX).delete()
    LineShortage.objects.filter(order_line__deal__product__sku__startswith=CODE_PREFIX).delete()
    Allocation.objects.filter(**demo_products).delete()
    StockMove.objects.filter(lot__product__sku__startswith=CODE_PREFIX).delete()
    Lot.objects.filter(**demo_products).delete()


def stock_the_day(rng: random.Random, delivery_date: date) -> int:
    """Goods received at the central warehouse: most products cover their demand, some fall short."""
    warehouse = Warehouse.objects.get(code__startswith=CODE_PREFIX)
    demand = (
        DemandLine.objects.filter(delivery_date=delivery_date, product__sku__startswith=CODE_PREFIX)
        .values_list("product_id")
        .annotate(units=Sum("quantity"))
        .order_by("product_id")
    )
    shelf_life = dict(Product.objects.filter(sku__startswith=CODE_PREFIX).values_list("pk", "shelf_life_days"))
    lots = 0
    for product_id, units in demand:
        received = int(units * rng.choice([0.6, 0.85, 1.0, 1.1, 1.2, 1.3]))
        first = received // 3 if received > 10 else 0
        for quantity, age in ((first, 1), (received - first, 0)):
            if quantity > 0:
                services.receive_lot(
                    product_id=product_id, site=services.StockSite(warehouse_id=warehouse.pk), quantity=quantity,
                    expiry_date=delivery_date + timedelta(days=max(1, shelf_life[product_id] - age)),
                    bin_location=f"{chr(65 + product_id % 6)}-{product_id % 40:02d}", reference="demo receipt",
                )
                lots += 1
    return lots


def plan_simple_routes(delivery_date: date) -> list[services.RouteStops]:
    """Until routing lands: each depot's points in runs of eight, nearest to the depot first."""
    routes = []
    for depot in Depot.objects.filter(code__startswith=CODE_PREFIX).order_by("code"):
        points = sorted(
            PickupPoint.objects.filter(depot=depot),
            key=lambda p: (p.latitude - depot.latitude) ** 2 + (p.longitude - depot.longitude) ** 2,
        )
        for start in range(0, len(points), STOPS_PER_ROUTE):
            run = points[start : start + STOPS_PER_ROUTE]
            routes.append(services.RouteStops(f"{depot.code}-R{start // STOPS_PER_ROUTE + 1}", depot.pk, tuple(p.pk for p in run)))
    return routes


def run_warehouse_day(rng: random.Random, delivery_date: date) -> dict:
    lots = stock_the_day(rng, delivery_date)
    allocation = tasks.allocate_day.delay(delivery_date.isoformat()).get()
    sort_lists = services.build_sort_lists(delivery_date=delivery_date, routes=plan_simple_routes(delivery_date))
    crates = sum(stop.crates for s in sort_lists for stop in selectors.sort_list_stops(s))
    demanded = DemandLine.objects.filter(delivery_date=delivery_date).aggregate(units=Sum("quantity"))["units"] or 0
    return {
        "lots_received": lots,
        "units_demanded": demanded,
        "units_allocated": allocation["allocated"],
        "fill_rate": round(allocation["allocated"] / demanded, 4) if demanded else 1.0,
        "short_demand_lines": allocation["short_lines"],
        "residents_refunded": LineShortage.objects.filter(delivery_date=delivery_date).count(),
        "shortage_refunds": Decimal(allocation["refund_amount"]),
        "pick_list_products": len(selectors.batch_pick_list(delivery_date)),
        "routes": len(sort_lists),
        "crates": crates,
    }


def run_day(options: DemoOptions) -> dict:
    """The demo city's day up to printed pick lists."""
    flush_warehouse_demo()
    summary = run_demo(options)
    summary["warehouse"] = run_warehouse_day(random.Random(options.seed), date.fromisoformat(summary["delivery_date"]))
    return summary
