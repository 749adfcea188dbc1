"""Benchmark purchasing: one day's suggestions on the database, and 60 simulated days of two buying policies.

    python manage.py bench_procurement --products 5000 --days 60 --json /tmp/bench_procurement.json

Demand comes from the forecast benchmark's generator (warehouse.forecast_eval.generate_panel): one
series per product. `suggest_seconds` times `procurement.services.suggest_purchases` for one delivery
day and every product, on tables seeded with that day's depot forecasts, supplier terms, some stock
and some open purchase orders. The simulation (procurement.simulation) compares the newsvendor
policy with order-up-to-the-mean on the same demand and the same daily forecasts. Everything the run
writes is tagged and removed at the end.
"""
import json
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog.models import Depot, Warehouse
from grouporders import benchdata
from procurement import services, simulation
from procurement.models import PurchaseOrder, PurchaseOrderLine, PurchaseSuggestion, Supplier, SupplierProduct
from warehouse import forecast_eval, forecasting
from warehouse.models import DemandForecast, Lot, StockMove

SUPPLIERS = 50


class Command(BaseCommand):
    help = "Time one day's purchase suggestions for every product and simulate newsvendor vs order-up-to-mean buying."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=5000)
        parser.add_argument("--days", type=int, default=60, help="simulated days of buying")
        parser.add_argument("--history", type=int, default=400, help="days of demand history before the first one")
        parser.add_argument("--depots", type=int, default=3)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", dest="json_path", required=True)

    def handle(self, *args, **o):
        if o["products"] < 1 or o["days"] < 1 or o["history"] < 28 or o["depots"] < 1:
            raise CommandError("--products, --days and --depots must be >= 1 and --history >= 28")
        n, days = o["products"], o["days"]
        result = {"database": benchdata.database_label(), "products": n, "days": days, "depots": o["depots"],
                  "load_average": benchdata.load_average()}
        started = time.perf_counter()
        panel = forecast_eval.generate_panel(n, o["history"] + days, horizon=days, seed=o["seed"])
        price = np.array([float(benchdata.deal_price(i)) for i in range(n)])
        catalogue = simulation.make_catalogue(panel, o["history"], price, o["seed"])
        result["generate_seconds"] = round(time.perf_counter() - started, 2)

        tag = benchdata.new_tag()
        try:
            self._seed_day(tag, panel, catalogue, o)
            started = time.perf_counter()
            run = services.suggest_purchases(delivery_date=self.delivery_date, depot_ids=self.depot_ids)
            result["suggest_seconds"] = round(time.perf_counter() - started, 3)
            result.update(suggestions=run.suggestions, suggested_units=run.units, demand_source=run.demand_source)
        finally:
            self._cleanup(tag)

        self.stdout.write(f"simulating {days} days x {n} products ...")
        started = time.perf_counter()
        policies = simulation.simulate(
            panel, catalogue, days, days_to_next_wave=2 + settings.ALLOCATION_MIN_REMAINING_DAYS,
            carry_cost_rate=settings.PROCUREMENT_CARRY_COST_RATE, history_window=o["history"], log=self.stdout.write,
        )
        result["simulate_seconds"] = round(time.perf_counter() - started, 1)
        result.update(policies)
        result["targets_met"] = {
            "suggest_seconds <= 5": result["suggest_seconds"] <= 5,
            "newsvendor gross_margin > order_up_to_mean": (
                policies["newsvendor"]["gross_margin"] > policies["order_up_to_mean"]["gross_margin"]
            ),
        }
        text = json.dumps(result, indent=2)
        Path(o["json_path"]).parent.mkdir(parents=True, exist_ok=True)
        Path(o["json_path"]).write_text(text + "\n")
        self.stdout.write(text)

    def _seed_day(self, tag, panel, catalogue, o):
        """Products, depots under one central warehouse, a wave with deals, supplier terms, depot forecasts
        for the first simulated day, stock for a third of the products and open orders for a tenth."""
        n, origin = panel.n_series, o["history"]
        rng = np.random.default_rng(o["seed"] + 1)
        network = benchdata.create_network(tag, points=o["depots"] * 2, products=n, depots=o["depots"])
        central = Warehouse.objects.create(code=f"{tag}-W", name="Bench central warehouse", latitude=30.2, longitude=120.1)
        self.depot_ids = [d.pk for d in network.depots]
        Depot.objects.filter(pk__in=self.depot_ids).update(warehouse=central)
        wave, _ = benchdata.create_wave_with_deals(network.products)
        self.delivery_date = wave.delivery_date
        suppliers = Supplier.objects.bulk_create(
            Supplier(code=f"{tag}-S{i:03d}", name=f"Bench supplier {i}") for i in range(SUPPLIERS)
        )
        terms = []
        for i, product in enumerate(network.products):
            for rank in range(2):
                terms.append(SupplierProduct(
                    supplier=suppliers[(i + rank * 7) % SUPPLIERS], product=product, priority=rank,
                    unit_cost=Decimal(f"{catalogue.cost[i, rank]:.2f}"), case_pack=int(catalogue.options.case_pack[i, rank]),
                    moq=int(catalogue.options.moq[i, rank]), daily_capacity=int(min(catalogue.options.capacity[i, rank], 10**8)),
                    shelf_life_days=int(catalogue.shelf_life_days[i]),
                ))
        terms = SupplierProduct.objects.bulk_create(terms, batch_size=benchdata.BATCH)

        # The first simulated day's forecast, shared among the depots, each with the forecaster's quantiles.
        history = slice(max(origin - o["history"], 0), origin)
        day = forecasting.forecast(
            forecasting.ForecastInput(panel.y[:, history], panel.promo[:, history], panel.promo[:, origin:origin + 1],
                                      panel.group, start_weekday=panel.start_weekday),
            horizon=1,
        )
        share = rng.dirichlet(np.ones(o["depots"]), n)
        depot_mean = day.mean[:, :1] * share
        quantiles = forecasting.nb_quantiles(depot_mean, day.dispersion, (0.5, 0.8, 0.95))
        DemandForecast.objects.bulk_create(
            (
                DemandForecast(delivery_date=wave.delivery_date, product=product, depot=depot, mean=round(float(depot_mean[i, d]), 3),
                               p50=int(quantiles[0.5][i, d]), p80=int(quantiles[0.8][i, d]), p95=int(quantiles[0.95][i, d]))
                for i, product in enumerate(network.products) for d, depot in enumerate(network.depots)
            ),
            batch_size=benchdata.BATCH,
        )
        stocked = [p for p in network.products if rng.random() < 0.33]
        with transaction.atomic():
            lots = Lot.objects.bulk_create(
                (Lot(product=p, warehouse=central, quantity=int(rng.integers(1, 20)), source="receipt", reference=f"{tag} stock",
                     expiry_date=wave.delivery_date + timedelta(days=int(rng.integers(-2, 10))), received_at=wave.cutoff_at)
                 for p in stocked),
                batch_size=benchdata.BATCH,
            )
            StockMove.objects.bulk_create(
                (StockMove(lot=lot, kind="receipt", quantity=lot.quantity, reason=f"{tag} stock") for lot in lots),
                batch_size=benchdata.BATCH,
            )
        preferred = terms[::2]
        on_order = [t for t in preferred if rng.random() < 0.1]
        for supplier in {t.supplier for t in on_order}:
            order = PurchaseOrder.objects.create(
                number=f"{tag}-PO-{supplier.code}", supplier=supplier, delivery_date=wave.delivery_date,
                expected_on=wave.delivery_date - timedelta(days=1), warehouse=central, state="sent",
            )
            PurchaseOrderLine.objects.bulk_create(
                PurchaseOrderLine(purchase_order=order, supplier_product=t, product_id=t.product_id, unit_cost=t.unit_cost,
                                  quantity=t.case_pack * int(rng.integers(1, 4)))
                for t in on_order if t.supplier_id == supplier.pk
            )
        benchdata.analyze(DemandForecast, SupplierProduct, Supplier, Lot, PurchaseOrder, PurchaseOrderLine, PurchaseSuggestion)

    def _cleanup(self, tag):
        """Remove the run's procurement and warehouse rows, then what benchdata made."""
        own = {"product__sku__startswith": f"{tag}-"}
        with transaction.atomic():
            PurchaseSuggestion.objects.filter(**own).delete()
            PurchaseOrderLine.objects.filter(**own).delete()
            PurchaseOrder.objects.filter(number__startswith=f"{tag}-").delete()
            SupplierProduct.objects.filter(**own).delete()
            Supplier.objects.filter(code__startswith=f"{tag}-").delete()
            DemandForecast.objects.filter(**own).delete()
            StockMove.objects.filter(lot__product__sku__startswith=f"{tag}-").delete()
            Lot.objects.filter(**own).delete()
        benchdata.cleanup_run(tag)
        Warehouse.objects.filter(code__startswith=f"{tag}-").delete()
