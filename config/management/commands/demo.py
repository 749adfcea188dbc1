"""`manage.py demo`: seed a demo city around Hangzhou and run its day and night (config/demo.py)."""
import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from grouporders.demo import DemoOptions

from ...demo import run_day


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class Command(BaseCommand):
    help = "Seed a demo city (replacing the previous demo data), run the day through the services, write a summary."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="seed of the random choices (default 7)")
        parser.add_argument(
            "--out", default=str(Path(settings.VAR_DIR) / "demo"), help="directory for summary.json (default var/demo)"
        )
        parser.add_argument("--pickup-points", type=int, default=40)

    def handle(self, *args, seed, out, pickup_points, **options):
        summary = run_day(DemoOptions(seed=seed, pickup_points=pickup_points))
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "summary.json"
        path.write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
        self._print(summary, path)

    def _print(self, s, path):
        w = self.stdout.write
        net, orders, lines, demand = s["network"], s["orders"], s["lines"], s["demand"]
        w(self.style.MIGRATE_HEADING(f"Demo city, delivery day {s['delivery_date']} (seed {s['seed']})"))
        w(
            f"  network   {net['warehouses']} warehouse, {net['depots']} depots, {net['pickup_points']} pickup points, "
            f"{net['products']} products, {net['leaders']} leaders, {net['residents']} residents"
        )
        w(f"  deals     {s['deals']['total']} ({s['deals']['limited']} limited, {s['deals']['sold_out']} sold out)")
        w(
            f"  orders    {orders['leader_orders']} leader orders ({orders.get('resubmissions', 0)} resubmitted, "
            f"{orders.get('orders_cancelled', 0)} cancelled)"
        )
        w(f"  lines     {lines['active']} active, {lines['cancelled']} cancelled, {lines['units']} units")
        w(f"  GMV       ¥{s['gmv']}")
        w(
            f"  cutoff    wave {s['wave']['status']}; {demand['lines']} demand lines, {demand['units']} units, "
            f"¥{demand['amount']}; a late order was {'refused' if s['wave']['late_order_refused'] else 'ACCEPTED'}"
        )
        for depot in s["by_depot"]:
            w(f"  depot     {depot['depot']:<10} {depot['units']:>5} units  ¥{depot['amount']}")
        w("  top products by units:")
        for p in s["top_products"]:
            w(f"    {p['sku']:<14} {p['name']:<22} {p['units']:>4} units  ¥{p['amount']}")
        w(f"  stock     {s['lots_received']} lots received; {s['vans']} vans with drivers")
        pipeline = s["pipeline"]
        w(f"  night     pipeline {pipeline['status']}")
        for step in pipeline["steps"]:
            counts = ", ".join(f"{key} {value}" for key, value in step["counts"].items())
            w(f"    {step['name']:<17} {step['status']:<10} {step['seconds'] or 0:>6.2f} s  {counts}")
            if step["error"]:
                w(self.style.ERROR(f"      {step['error'].splitlines()[0]}"))
        k = s["kpis"]
        w(
            f"  KPIs      fill rate {k['fill_rate']:.1%}, shortage refunds ¥{k['shortage_refunds']}, "
            f"{k['vehicles_used']} vans, {k['km']} km ({k['km_per_order']} km per order)"
        )
        w(self.style.SUCCESS(f"Summary written to {path}"))
