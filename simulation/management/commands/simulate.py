"""`manage.py simulate`: run a simulated city through every app for some days (simulation/)."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from simulation.runner import CITIES, ROUTE_ITERATIONS, SimulationOptions, run_simulation


class Command(BaseCommand):
    help = (
        "Build a city around Hangzhou (replacing the previous simulated one), run its days through the services and "
        "the nightly pipeline, write DIR/summary.json and DIR/report.html. Use a development database: the daily "
        "jobs (expiry, returns, settlement) run at simulated dates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", choices=list(CITIES), default="small")
        parser.add_argument("--days", type=int, default=3)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--out", default=str(Path(settings.VAR_DIR) / "simulation"))
        parser.add_argument("--history-days", type=int, default=28, help="days of demand history seeded for the forecast")
        parser.add_argument("--lines-per-day", type=int, help="order lines a day instead of the city size's")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the report's links point")
        parser.add_argument(
            "--route-iterations", type=int, default=ROUTE_ITERATIONS,
            help=f"the route search's iteration budget (default {ROUTE_ITERATIONS}): the same seed gives the same KPIs on "
                 "any machine; 0 searches for the service's time limit instead, as in production, and runs then differ",
        )
        parser.add_argument("--locale", choices=["zh", "en"], default="zh",
                            help="the city's names and the report's language: Chinese (default) or English")

    def handle(self, *args, city, days, seed, out, history_days, lines_per_day, base_url, locale, route_iterations,
               **options):
        if route_iterations < 0:
            raise CommandError("--route-iterations cannot be negative")
        summary = run_simulation(SimulationOptions(
            city=city, days=days, seed=seed, out=Path(out), history_days=history_days, lines_per_day=lines_per_day, quiet=options["verbosity"] < 1,
            base_url=base_url, locale=locale, route_iterations=route_iterations or None,
        ))
        self._print(summary, Path(out))

    def _print(self, s, out):
        w = self.stdout.write
        net = s["network"]
        w(self.style.MIGRATE_HEADING(
            f"{s['city']} city (seed {s['seed']}): {net['depots']} depots, {net['pickup_points']} pickup points, "
            f"{net['products']} products, {net['residents']} residents, {net['vans']} vans"
        ))
        w(f"  {'day':<10} {'pipeline':<9} {'orders':>6} {'lines':>6} {'GMV':>11} {'fill':>6} {'refunds':>9} "
          f"{'vans':>4} {'km':>6} {'on time':>7} {'pickup':>6} {'WAPE':>5} {'seconds':>7} {'pipeline':>8} {'solving':>7}")
        for d in s["days"]:
            w(
                f"  {d['delivery_date']:<10} {d['pipeline']['status']:<9} {d['orders']:>6} {d['lines']:>6} {d['gmv']:>11} "
                f"{_pct(d['fill_rate']):>6} {d['shortage_refunds']:>9} {d['vehicles_used']:>4} {d['km']:>6} "
                f"{_pct(d['on_time_stop_rate']):>7} {_pct(d['pickup_rate']):>6} {_num(d['forecast_wape']):>5} "
                f"{sum(d['timings']['phases'].values()):>7.1f} {d['timings']['pipeline_besides_route_solving']:>8.1f} "
                f"{d['timings']['pipeline_route_solving']:>7.1f}"
            )
        w("  seconds: the whole simulated day; pipeline: its nightly steps besides route solving; solving: route search")
        w(self.style.SUCCESS(f"Report: {(out / 'report.html').resolve()}  (summary.json beside it; {s['total_seconds']} s)"))


def _pct(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value) -> str:
    return "–" if value is None else f"{value:.2f}"
