"""Benchmark: allocate one large day of demand and build its pick and sort lists (a command, not a test)."""
import json
import random
import time
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Sum

from grouporders import benchdata
from grouporders.models import DemandLine, LeaderOrder, OrderLine
from grouporders.services import close_wave
from warehouse import selectors, services
from warehouse.models import Allocation, LineShortage, Lot, SortList, StockMove


class Command(BaseCommand):
    help = "Allocate a generated day (orders, demand, lots) and build sort lists for every route; JSON timings."

    def add_arguments(self, parser):
        parser.add_argument("--points", type=int, default=3000)
        parser.add_argument("--products", type=int, default=300)
        parser.add_argument("--depots", type=int, default=10)
        parser.add_argument("--lines", type=int, default=1_000_000, help="order lines of the day")
        parser.add_argument("--stops-per-route", type=int, default=25)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--json", dest="json_path", required=True)
        parser.add_argument("--keep", action="store_true", help="keep the generated data")

    def handle(self, *args, **o):
        tag = benchdata.new_tag()
        rng = random.Random(o["seed"])
        result = {"database": benchdata.database_label(), "points": o["points"], "products": o["products"], "depots": o["depots"]}
        try:
            started = time.perf_counter()
            network = benchdata.create_network(tag, points=o["points"], products=o["products"], depots=o["depots"])
            leaders = benchdata.create_leaders(tag, network.points)
            wave, deals = benchdata.create_wave_with_deals(network.products)
            benchdata.generate_orders(tag, wave, deals, leaders, lines=o["lines"], seed=o["seed"])
            closing = close_wave(wave.pk)
            day = wave.delivery_date
            demanded = dict(
                DemandLine.objects.filter(delivery_date=day).values_list("product_id").annotate(total=Sum("quantity"))
            )
            self._stock_lots(network, demanded, day, rng)
            benchdata.analyze(OrderLine, LeaderOrder, DemandLine, Lot, StockMove)
            result["generate_seconds"] = round(time.perf_counter() - started, 2)
            result["demand_lines"] = closing.demand_lines

            started = time.perf_counter()
            summary = services.allocate_day(delivery_date=day)
            result["allocate_seconds"] = round(time.perf_counter() - started, 2)
            result.update(
                demanded=summary.demanded, allocated=summary.allocated, short_lines=summary.short_lines,
                refunded_lines=LineShortage.objects.filter(delivery_date=day).count(), refund_amount=str(summary.refund_amount),
                allocation_rows=Allocation.objects.filter(delivery_date=day).count(),
            )

            routes = self._routes(network, o["stops_per_route"], tag)
            started = time.perf_counter()
            sort_lists = services.build_sort_lists(delivery_date=day, routes=routes)
            stops = sum(len(selectors.sort_list_stops(s)) for s in SortList.objects.filter(pk__in=[s.pk for s in sort_lists]).select_related("depot"))
            picks = sum(len(selectors.batch_pick_list(day, depot.pk)) for depot in network.depots)
            result["picklist_seconds"] = round(time.perf_counter() - started, 2)
            result.update(routes=len(sort_lists), stops=stops, batch_pick_products=picks)
            result["targets_met"] = {"allocate_seconds": result["allocate_seconds"] <= 10, "picklist_seconds": result["picklist_seconds"] <= 10}
        finally:
            if not o["keep"]:
                self._cleanup(tag)
        Path(o["json_path"]).write_text(json.dumps(result, indent=2))
        self.stdout.write(json.dumps(result, indent=2))

    def _stock_lots(self, network, demanded, day, rng):
        """One to four lots per product, 70–130 % of the day's demand in all, some too close to expiry to use."""
        depot_ids = [d.pk for d in network.depots]
        lots = []
        for i, product in enumerate(network.products):
            total = int(demanded.get(product.pk, 0) * rng.uniform(0.7, 1.3))
            parts = rng.randint(1, 4)
            for part in range(parts):
                quantity = total // parts + (1 if part < total % parts else 0)
                if quantity > 0:
                    expiry = day + timedelta(days=rng.choice([0, 2, 3, 5, 10]))
                    lots.append((product.pk, depot_ids[i % len(depot_ids)], quantity, expiry, f"B{i % 50:02d}-{part}"))
        with transaction.atomic():
            for product_id, depot_id, quantity, expiry, bin_location in lots:
                services.receive_lot(
                    product_id=product_id, site=services.StockSite(depot_id=depot_id), quantity=quantity,
                    expiry_date=expiry, bin_location=bin_location, reference="bench",
                )

    def _routes(self, network, per_route, tag):
        routes = []
        for depot in network.depots:
            point_ids = sorted(p.pk for p in network.points if p.depot_id == depot.pk)
            for start in range(0, len(point_ids), per_route):
                routes.append(services.RouteStops(f"{tag}-{depot.pk}-R{start // per_route:03d}", depot.pk, tuple(point_ids[start : start + per_route])))
        return routes

    def _cleanup(self, tag):
        """Remove the run's warehouse rows, then what benchdata made."""
        own = {"product__sku__startswith": f"{tag}-"}
        with transaction.atomic():
            SortList.objects.filter(route_code__startswith=f"{tag}-").delete()
            LineShortage.objects.filter(**{f"order_line__deal__{k}": v for k, v in own.items()}).delete()
            Allocation.objects.filter(**own).delete()
            StockMove.objects.filter(**{f"lot__{k}": v for k, v in own.items()}).delete()
            Lot.objects.filter(**own).delete()
        benchdata.cleanup_run(tag)
