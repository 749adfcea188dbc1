"""The city simulator (`manage.py simulate`): a city around Hangzhou runs day after day through every app.

Per day D: leaders submit their residents' orders (D-1 daytime), depots are forecast and purchase
suggestions accepted and sent (D-1 18:00), suppliers deliver short now and then and QC rejects some
fresh goods (D-1 night), the nightly pipeline runs at the cutoff, drivers confirm their stops late by
traffic, leaders count what arrived, residents collect with their pickup codes or do not come, a few
claim; each morning beat's jobs expire stock, return the uncollected and settle commission. After
the last day the clock runs on until every day is returned and settled, then each day's KPIs are
read (pipeline/kpis.py) into summary.json and report.html.

A rerun replaces the previous simulated city: everything it creates is marked (codes and SKUs start
with DEMO-, usernames with demo-) and removed first. The morning jobs act on the whole database, as
beat's would on that simulated date: run the simulator on a development database.
"""
import json
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from django.test import override_settings
from django.utils import timezone, translation
from tqdm import tqdm

from grouporders.demo import first_free_day
from pipeline import kpis
from procurement.models import Supplier
from routing.models import Vehicle

from . import codes, concurrency, report
from . import day as phases
from .city import CITIES, build_city, flush_city
from .scenario import BASE, Scenario, orders_placed_by

ROUTE_ITERATIONS = 5000


@dataclass(frozen=True)
class SimulationOptions:
    city: str = "small"
    days: int = 3
    seed: int = 7
    out: Path = Path("var/simulation")
    history_days: int = 28
    lines_per_day: int | None = None  # instead of the city size's
    quiet: bool = False
    base_url: str = "http://127.0.0.1:8000"
    locale: str = "zh"  # the city's names and the report's language: "zh" (Chinese) or "en"
    # The route search's iteration budget per search: a run then repeats exactly on any machine.
    # None: the service's time limit (ROUTING_SOLVER_TIME_LIMIT_SECONDS), as in production.
    route_iterations: int | None = ROUTE_ITERATIONS
    scenario: Scenario = BASE  # what the operator changes; its route_iterations win over the option above


class Stopwatch:
    def __init__(self):
        self.laps: dict[str, float] = {}

    def run(self, name: str, func, *args, **kwargs):
        started = time.perf_counter()
        result = func(*args, **kwargs)
        self.laps[name] = round(time.perf_counter() - started, 3)
        return result


def _network(sim, shape) -> dict:
    city = sim.city
    return {
        "depots": len(city.depots), "pickup_points": len(city.points), "products": len(city.products),
        "leaders": len({user.pk for user in city.leader_of.values()}),
        "residents": sum(len(r) for r in city.residents.values()), "lines_per_day_target": shape.lines_per_day,
        "vans": Vehicle.objects.filter(depot__in=city.depots).count(),
        "suppliers": Supplier.objects.filter(code__startswith="DEMO-").count(),
    }


def simulate_day(sim, day: date, seed: int, quiet: bool) -> dict:
    watch = Stopwatch()
    record = {
        "orders_placed": watch.run("orders", phases.take_orders, sim, day, seed),
        "purchasing": watch.run("forecast_and_purchase", phases.forecast_and_buy, sim, day),
        "goods_receipt": watch.run("goods_receipt", phases.receive_purchases, sim, day, seed),
        "top_up": watch.run("top_up", phases.top_up, sim, day, seed),
        "pipeline": watch.run("pipeline", phases.run_pipeline, day),
        "morning_jobs": watch.run("morning_jobs", phases.morning_jobs, day),
        "deliveries": watch.run("deliveries", phases.deliver, sim, day, seed, quiet),
        "point_receipts": watch.run("point_receipts", phases.receive_at_points, sim, day, seed, quiet),
        "collection": watch.run("collection", phases.collect, sim, day, seed, quiet),
        "claims": watch.run("claims", phases.resident_claims, sim, day, seed),
    }
    steps = record["pipeline"]["steps"]
    solving = next((s["counts"].get("solver_seconds", 0) for s in steps if s["name"] == "plan_routes"), 0)
    record["timings"] = {
        "phases": watch.laps,
        "pipeline_steps": {step["name"]: step["seconds"] for step in steps},
        # The depots are planned one after another here (Celery eager), so their search times add up.
        "pipeline_route_solving": solving,
        "pipeline_besides_route_solving": round(sum(step["seconds"] or 0 for step in steps) - solving, 3),
    }
    return record


def run_simulation(options: SimulationOptions) -> dict:
    """Flush the previous city, build one, run its days, write summary.json and report.html; returns the summary."""
    shape = CITIES[options.city]
    concurrency.throwaway_commits()  # fsync per commit is most of SQLite's wall time otherwise
    scenario = options.scenario
    if options.lines_per_day:
        shape = replace(shape, lines_per_day=options.lines_per_day)
    # An earlier cutoff loses the lines residents would have ordered after it (a later one gains some).
    taken_in = orders_placed_by(scenario.cutoff) if scenario.cutoff else 1.0
    shape = replace(shape, lines_per_day=round(shape.lines_per_day * scenario.demand_scale * taken_in),
                    depots=scenario.depots or shape.depots)
    route_iterations = None if scenario.solver_seconds else scenario.route_iterations or options.route_iterations
    started = time.perf_counter()
    watch = Stopwatch()
    watch.run("flush", flush_city)
    # Two days ahead: each day's cutoff (23:00 the evening before) is still to come in real time, so
    # the waves take orders; later moments are simulated through the services' `now` arguments.
    start = timezone.localdate() + timedelta(days=2) - timedelta(days=options.history_days)
    first_day = first_free_day(start, options.history_days + options.days) + timedelta(days=options.history_days)
    sim = watch.run("build_city", build_city, options.seed, shape, first_day, options.history_days, options.locale, scenario)
    days = [first_day + timedelta(days=n) for n in range(options.days)]
    records = {}
    # DEBUG's query log formats every statement's SQL, bulk writes of thousands of rows included:
    # about a tenth of a simulated day, and nobody reads it in a batch run.
    with override_settings(DEBUG=False, PICKUP_CODE_SENDER=codes.SENDER, ROUTING_SOLVER_MAX_ITERATIONS=route_iterations,
                           **scenario.settings()):
        for day in tqdm(days, desc=f"{options.city} city", unit="day", disable=options.quiet, dynamic_ncols=True):
            records[day] = simulate_day(sim, day, options.seed, options.quiet)
        wind_down = []
        for morning in phases.wind_down_days(days[-1]):
            wind_down.append({"date": morning.isoformat(), **phases.morning_jobs(morning)})
            if morning - timedelta(days=1) == days[-1]:  # the last day's no-shows still come the day after
                wind_down[-1]["collected_late"] = phases.collect_late(sim, days[-1], options.seed, options.quiet)
    summary = {
        "city": options.city, "seed": options.seed, "days_simulated": options.days,
        "scenario": scenario.name, "route_iterations": route_iterations, "reproducible": route_iterations is not None, "first_day": first_day.isoformat(),
        "history_days": options.history_days, "history_demand_lines": sim.history_lines,
        "network": _network(sim, shape),
        "rerun": "replaces the previous simulated city (codes DEMO-, users demo-)",
        "days": [{**kpis.day_kpis(day), **record} for day, record in records.items()],
        "wind_down": wind_down,
        "setup_timings": watch.laps,
    }
    summary["total_seconds"] = round(time.perf_counter() - started, 1)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with translation.override("zh-hans" if options.locale == "zh" else "en"):
        (out / "report.html").write_text(report.render(summary, base_url=options.base_url), encoding="utf-8")
    return summary

