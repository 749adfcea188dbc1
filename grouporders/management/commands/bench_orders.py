"""Benchmark: close one big wave (aggregate its order lines into demand lines) against a bare GROUP BY.

    python manage.py bench_orders --lines 1000000 --points 3000 --products 300 --json bench-out/orders.json

Generates one wave of that size with its own codes and delivery date (grouporders.benchdata), runs
VACUUM ANALYZE, times a bare SELECT with the grouping of aggregate_demand fetched in full, then
times services.close_wave, then the bare SELECT once more (groupby_seconds is the faster of the two).
For context it also times the same SELECT written into a temp table with no indexes or foreign keys
(aggregate_select_only_seconds) and a second close_wave, the idempotent rerun (reclose_seconds).
The run's data is removed at the end unless --keep is given.
"""
import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from grouporders import benchdata, services
from grouporders.models import Deal, DemandLine, LeaderOrder, LineStatus, OrderLine, Resident

# The grouping and aggregates of services.aggregate_demand, as a plain SELECT whose rows are fetched.
GROUP_BY_SQL = """
    SELECT o.wave_id, o.pickup_point_id, d.product_id,
           SUM(l.quantity) AS quantity, COUNT(DISTINCT l.order_id) AS order_count, COUNT(*) AS line_count,
           SUM(l.quantity * l.unit_price) AS amount
    FROM {line} l
    JOIN {order} o ON o.id = l.order_id
    JOIN {deal} d ON d.id = l.deal_id
    WHERE o.wave_id = %s AND l.status = %s
    GROUP BY o.wave_id, o.pickup_point_id, d.product_id
""".format(line=OrderLine._meta.db_table, order=LeaderOrder._meta.db_table, deal=Deal._meta.db_table)


class Command(BaseCommand):
    help = "Generate one wave of order lines, then time close_wave against a bare GROUP BY over the same lines."

    def add_arguments(self, parser):
        parser.add_argument("--lines", type=int, default=1_000_000)
        parser.add_argument("--points", type=int, default=3000)
        parser.add_argument("--products", type=int, default=300)
        parser.add_argument("--points-per-leader", type=int, default=1)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--json", dest="json_path", help="write the figures here as JSON")
        parser.add_argument("--keep", action="store_true", help="keep the generated data (default: remove it)")
        parser.add_argument(
            "--no-reclose", dest="reclose", action="store_false",
            help="skip timing a second close_wave (the idempotent rerun that deletes and rebuilds the demand lines)",
        )

    def handle(self, *args, lines, points, products, points_per_leader, seed, json_path, keep, reclose, **options):
        if min(lines, points, products, points_per_leader) < 1:
            raise CommandError("--lines, --points, --products and --points-per-leader must be positive")
        tag = benchdata.new_tag()
        self.stderr.write(f"run {tag}: generating {lines} lines over {points} points and {products} products")
        try:
            result = self._run(tag, lines, points, products, points_per_leader, seed, reclose)
            result["kept"] = keep
        finally:
            if not keep:
                started = time.perf_counter()
                benchdata.cleanup_run(tag)
                self.stderr.write(f"removed the run's data in {time.perf_counter() - started:.1f} s")
        text = json.dumps(result, indent=2)
        if json_path:
            Path(json_path).parent.mkdir(parents=True, exist_ok=True)
            Path(json_path).write_text(text + "\n")
        self.stdout.write(text)

    def _run(self, tag, lines, points, products, points_per_leader, seed, reclose) -> dict:
        started = time.perf_counter()
        timings = {}
        with transaction.atomic():
            network = benchdata.create_network(tag, points=points, products=products)
            leaders = benchdata.create_leaders(tag, network.points, points_per_leader=points_per_leader)
            wave, deals = benchdata.create_wave_with_deals(network.products)
            timings["master_data"] = time.perf_counter() - started
            shape = benchdata.generate_orders(tag, wave, deals, leaders, lines=lines, seed=seed, timings=timings)
        generate_seconds = time.perf_counter() - started
        self.stderr.write(f"generated in {generate_seconds:.1f} s; analyzing")

        started = time.perf_counter()
        benchdata.analyze(Resident, LeaderOrder, OrderLine, Deal, DemandLine)
        analyze_seconds = time.perf_counter() - started

        loadavg = benchdata.load_average()
        groupby_before, groups = self._time_group_by(wave.pk)
        started = time.perf_counter()
        closing = services.close_wave(wave.pk)
        aggregate_seconds = time.perf_counter() - started
        groupby_after, _ = self._time_group_by(wave.pk)
        groupby_seconds = min(groupby_before, groupby_after)
        # Where close_wave's time goes: the same SELECT written to a temp table without indexes or foreign keys.
        select_only_seconds = self._time_select_into_temp_table(wave.pk)
        reclose_seconds = None
        if reclose:
            started = time.perf_counter()
            again = services.close_wave(wave.pk)
            reclose_seconds = time.perf_counter() - started
            if again.demand_lines != closing.demand_lines or again.quantity != closing.quantity:
                raise CommandError(f"closing the wave again gave {again}, the first time {closing}")

        active = OrderLine.objects.filter(order__wave=wave, status=LineStatus.ACTIVE)
        expected_quantity = sum(row[3] for row in groups)
        if closing.demand_lines != len(groups) or closing.quantity != expected_quantity:
            raise CommandError(
                f"close_wave made {closing.demand_lines} demand lines ({closing.quantity} units) "
                f"but the GROUP BY gives {len(groups)} ({expected_quantity} units)"
            )
        self.stderr.write(
            f"close_wave {aggregate_seconds:.2f} s, bare GROUP BY {groupby_seconds:.2f} s "
            f"({aggregate_seconds / groupby_seconds:.2f}x)"
        )
        return {
            "database": benchdata.database_label(),
            "lines": lines,
            "active_lines": active.count(),
            "points": points,
            "products": products,
            "orders": shape.orders,
            "residents": Resident.objects.filter(name__startswith=f"{tag} resident ").count(),
            "demand_lines": closing.demand_lines,
            "demand_quantity": closing.quantity,
            "generate_seconds": round(generate_seconds, 3),
            "generate_breakdown": {k: round(v, 3) if isinstance(v, float) else v for k, v in timings.items()},
            "analyze_seconds": round(analyze_seconds, 3),
            "aggregate_seconds": round(aggregate_seconds, 3),
            "groupby_seconds": round(groupby_seconds, 3),
            "groupby_runs_seconds": [round(groupby_before, 3), round(groupby_after, 3)],
            "aggregate_to_groupby": round(aggregate_seconds / groupby_seconds, 2),
            "aggregate_select_only_seconds": round(select_only_seconds, 3),
            "reclose_seconds": None if reclose_seconds is None else round(reclose_seconds, 3),
            "loadavg_before_timing": loadavg,
            "tag": tag,
        }

    @staticmethod
    def _time_select_into_temp_table(wave_id: int) -> float:
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(f"CREATE TEMP TABLE bench_demand AS {GROUP_BY_SQL}", [wave_id, LineStatus.ACTIVE.value])
            elapsed = time.perf_counter() - started
            cursor.execute("DROP TABLE bench_demand")
        return elapsed

    @staticmethod
    def _time_group_by(wave_id: int) -> tuple[float, list]:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(GROUP_BY_SQL, [wave_id, LineStatus.ACTIVE.value])
            rows = cursor.fetchall()
        return time.perf_counter() - started, rows
