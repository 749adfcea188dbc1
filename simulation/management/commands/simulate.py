"""`manage.py simulate`: run a simulated city through every app for some days (simulation/)."""
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from simulation.compare import compare
from simulation.runner import CITIES, ROUTE_ITERATIONS, SimulationOptions, run_simulation
from simulation.scenario import ScenarioError, load_scenario


class Command(BaseCommand):
    help = (
        "Build a city around Hangzhou (replacing the previous simulated one), run its days through the services and "
        "the nightly pipeline, write DIR/summary.json and DIR/report.html. Use a development database: the daily "
        "jobs (expiry, returns, settlement) run at simulated dates. `simulate compare BASE VARIANT... --seeds N` runs "
        "each scenario file on the same N seeds and writes DIR/compare.json and DIR/compare.html."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["compare"], help="compare scenario files")
        parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="with compare: the base, then the variants")
        parser.add_argument("--scenario", metavar="FILE", help="a scenario file (TOML or JSON) for a single run")
        parser.add_argument("--seeds", type=int, default=5, help="with compare: seeds from --seed on (default 5)")
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

    def handle(self, *args, action, scenarios, scenario, seeds, city, days, seed, out, history_days, lines_per_day,
               base_url, locale, route_iterations, **options):
        if route_iterations < 0:
            raise CommandError("--route-iterations cannot be negative")
        if days < 1:
            raise CommandError("--days must be at least 1")
        run = SimulationOptions(
            city=city, days=days, seed=seed, out=Path(out), history_days=history_days, lines_per_day=lines_per_day,
            quiet=options["verbosity"] < 2 if action else options["verbosity"] < 1, base_url=base_url, locale=locale,
            route_iterations=route_iterations or None,
        )
        try:
            if action == "compare":
                self._compare(run, scenarios, seeds)
                return
            if scenarios:
                raise CommandError("scenario files without compare: use --scenario FILE for one run")
            if scenario:
                run = replace(run, scenario=load_scenario(Path(scenario)))
        except ScenarioError as error:
            raise CommandError(str(error)) from None
        summary = run_simulation(run)
        self._print(summary, Path(out))

    def _compare(self, run, files, seeds):
        if len(files) < 2:
            raise CommandError("compare needs a base scenario file and at least one variant")
        if seeds < 1:
            raise CommandError("--seeds must be at least 1")
        loaded = [load_scenario(Path(f)) for f in files]
        names = [s.name for s in loaded]
        if len(set(names)) != len(names):
            raise CommandError(f"two scenarios have one name: {', '.join(names)}; give each file a name = \"…\"")
        result = compare(run, loaded, list(range(run.seed, run.seed + seeds)), run.out)
        w = self.stdout.write
        for comparison in result["comparisons"]:
            w(self.style.MIGRATE_HEADING(f"{comparison['variant']} − {result['base']} ({seeds} seeds × {run.days} days)"))
            w(f"  {'KPI':<12} {'mean diff':>12} {'95% low':>12} {'95% high':>12}  verdict")
            for row in comparison["rows"]:
                w(f"  {row['kpi']:<12} {_num(row['mean'], 12)} {_num(row['low'], 12)} {_num(row['high'], 12)}  {row['verdict']}")
        w(self.style.SUCCESS(f"Report: {(run.out / 'compare.html').resolve()}  (compare.json beside it)"))

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


def _num(value, width: int = 0) -> str:
    return f"{'–' if value is None else f'{value:,.2f}':>{width}}"
