"""The city simulator end to end: a tiny city for two days through every app, checked against the database."""
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from catalog.models import PickupPoint
from grouporders.models import DemandLine, LineStatus, OrderLine, SalesWave
from pickup.models import Collection, PickupCode, Refund, RefundCause
from routing.models import Route, RouteStop, Vehicle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulated(tmp_path, settings):
    settings.ROUTING_SOLVER_TIME_LIMIT_SECONDS = 0.5
    call_command("simulate", city="tiny", days=2, seed=3, out=str(tmp_path), history_days=14, verbosity=0)
    return json.loads((tmp_path / "summary.json").read_text(encoding="utf-8")), (tmp_path / "report.html").read_text(encoding="utf-8")


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def test_every_day_runs_the_whole_cycle_and_the_summary_matches_the_database(simulated):
    summary, html = simulated
    assert summary["network"]["pickup_points"] == 12 and len(summary["days"]) == 2
    for day in summary["days"]:
        delivery_date = date.fromisoformat(day["delivery_date"])
        assert day["pipeline"]["status"] == "succeeded"
        assert {s["status"] for s in day["pipeline"]["steps"]} == {"succeeded"}
        active = OrderLine.objects.filter(order__wave__delivery_date=delivery_date, status=LineStatus.ACTIVE)
        assert day["lines"] == active.count() > 0
        demand = DemandLine.objects.filter(delivery_date=delivery_date).aggregate(amount=Sum("amount"))["amount"]
        assert _money(day["gmv"]) == _money(demand) == sum((line.quantity * line.unit_price for line in active), Decimal(0))
        shortage_refunds = Refund.objects.filter(
            cause=RefundCause.SHORTAGE, order_line__order__wave__delivery_date=delivery_date
        ).aggregate(amount=Sum("amount"))["amount"]
        assert _money(day["shortage_refunds"]) == _money(shortage_refunds)
        assert 0 < day["fill_rate"] <= 1 and 0 < day["pickup_rate"] < 1 and 0 <= day["on_time_stop_rate"] <= 1
        # Every stop was confirmed by its driver, and residents collected with the codes the pipeline issued.
        stops = RouteStop.objects.filter(route__plan__delivery_date=delivery_date)
        assert day["stops_delivered"] == stops.filter(delivered_at__isnull=False).count() == stops.count() > 0
        assert day["collection"]["residents_collected"] > 0 and day["collection"]["no_shows"] >= 0
        assert PickupCode.objects.filter(delivery_date=delivery_date).count() == day["pipeline"]["steps"][-1]["counts"]["pickup_codes"]
        # The clock ran on past the return window: whatever was not collected was returned and refunded.
        assert _money(day["refunds_by_cause"]["uncollected"]) > 0
        assert day["forecast_wape"] is not None and Decimal(day["commission"]) > 0
        assert set(day["timings"]["pipeline_steps"]) == {s["name"] for s in day["pipeline"]["steps"]}


    for section in ('id="kpis"', 'id="charts"', 'id="timings"', 'id="routes"', "<svg", "汇总拣货单", "分拣单", "司机页面"):
        assert section in html
    # Each day's routes, a map per depot: two days, two depots.
    daily = html.split('id="daily-routes"')[1].split('id="routes"')[0]
    assert "每日路线" in html and daily.count("<h3>") == 2 and daily.count("<svg") == 4
    # In Chinese by default, with the Chinese city's names: depots, pickup points on the maps' links, money as ¥.
    assert '<html lang="zh-hans">' in html and "城市模拟" in html and "网格仓" in html and "¥" in html
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in point.name) for point in PickupPoint.objects.all())
    # Self-contained: no script, nothing fetched from elsewhere (links point to the running site).
    assert "<script" not in html and "http" not in html.replace("http://127.0.0.1:8000", "").replace("http://www.w3.org/2000/svg", "")


def test_a_rerun_replaces_the_previous_city(tmp_path, settings):
    settings.ROUTING_SOLVER_TIME_LIMIT_SECONDS = 0.5
    call_command("simulate", city="tiny", days=1, seed=3, out=str(tmp_path), history_days=7, verbosity=0)
    call_command("simulate", city="tiny", days=1, seed=4, out=str(tmp_path / "again"), history_days=7, verbosity=0)
    assert PickupPoint.objects.filter(code__startswith="DEMO-").count() == 12
    # Only the new city's waves are left: seven days of history and the one simulated day.
    assert SalesWave.objects.filter(deals__product__sku__startswith="DEMO-").distinct().count() == 8


def test_the_chinese_city_names_thousands_of_points_uniquely_and_english_is_kept_on_request():
    import random

    import numpy as np

    from catalog.models import Product
    from grouporders.demo import SHOPS_ZH, CityShape, _point_name_zh, flush_demo_data, seed_city

    taken: set[str] = set()
    rng = random.Random(8)
    names = [_point_name_zh(rng, taken) for _ in range(9000)]  # more than the large city, more than the draws cover
    assert len(set(names)) == 9000 and all(n.endswith(("幢", *SHOPS_ZH)) for n in names)

    seed_city(random.Random(1), np.random.default_rng(1), CityShape(pickup_points=6, depots=2, products=30, lines_per_day=100), "en")
    products = list(Product.objects.filter(sku__startswith="DEMO-"))
    assert products and all(p.name.isascii() for p in products)
    assert all(p.name.isascii() for p in PickupPoint.objects.filter(code__startswith="DEMO-"))
    flush_demo_data()


def _without_wall_clock(value):
    """The summary without what the clock measured (seconds, timings): every other figure."""
    if isinstance(value, dict):
        return {k: _without_wall_clock(v) for k, v in value.items() if "seconds" not in k and "timings" not in k}
    if isinstance(value, list):
        return [_without_wall_clock(v) for v in value]
    return value


def test_the_same_seed_gives_the_same_summary_to_the_last_figure(tmp_path):
    """Reproducible by default: the route search runs on an iteration budget and every draw comes
    from a stream keyed by what it decides, so a rerun (new database keys, other row order, another
    load on the machine) repeats every KPI."""
    summaries = []
    for run in ("first", "second"):
        call_command("simulate", city="tiny", days=2, seed=5, out=str(tmp_path / run), history_days=7, verbosity=0)
        summaries.append(json.loads((tmp_path / run / "summary.json").read_text(encoding="utf-8")))
    first, second = (_without_wall_clock(summary) for summary in summaries)
    assert first["reproducible"] and first["days"][0]["lines"] > 0 and first["days"][1]["km"] > 0
    assert first == second


def test_compare_runs_each_scenario_on_the_same_seeds_and_judges_the_differences(tmp_path):
    base, variant = tmp_path / "base.toml", tmp_path / "variant.json"
    base.write_text('name = "基准"\n', encoding="utf-8")
    variant.write_text(json.dumps({"name": "多人不来取", "no_show": [0.3, 0.4], "fleet": {"vans": 2, "crates": 150}}),
                       encoding="utf-8")
    out = tmp_path / "compare"
    call_command("simulate", "compare", str(base), str(variant), city="tiny", days=1, seed=3, seeds=2, out=str(out),
                 history_days=7, verbosity=0)

    result = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert result["seeds"] == [3, 4] and result["base"] == "基准" and len(result["runs"]["多人不来取"]) == 2
    rows = {row["kpi"]: row for row in result["comparisons"][0]["rows"]}
    # Common random numbers: the same residents order the same goods in both scenarios of a seed.
    assert rows["gmv"]["per_seed"] == [0, 0] and rows["gmv"]["verdict"] == "same"
    # Three to four in ten residents never come instead of up to one in ten: fewer collect, on every seed.
    assert all(diff < 0 for diff in rows["pickup_rate"]["per_seed"])
    assert rows["pickup_rate"]["low"] < rows["pickup_rate"]["mean"] < rows["pickup_rate"]["high"]
    assert rows["pickup_rate"]["verdict"] in {"worse", "same"}  # two seeds give a wide interval
    assert Vehicle.objects.filter(depot__code__startswith="DEMO-").count() == 2 * 2  # the variant ran last: 2 vans a depot

    html = (out / "compare.html").read_text(encoding="utf-8")
    assert "多人不来取" in html and "提货率" in html and "结论" in html and "<svg" in html and "基准/seed-3/report.html" in html
    assert (out / "基准" / "seed-4" / "summary.json").exists()


def test_a_scenario_file_with_a_mistake_is_refused_naming_the_field(tmp_path):
    from django.core.management.base import CommandError

    bad = tmp_path / "bad.toml"
    for text, field in (("[fleet]\nvans = 0\n", "fleet.vans"), ('purchasing = "cheap"\n', "purchasing"),
                        ("speed = 3\n", "speed"), ("no_show = [0.5, 0.1]\n", "no_show"), ("depots = \n", "bad.toml"),
                        ("[fleet]\npayload_kg = 10\n", "fleet.payload_kg"), ("[fleet]\nlitres = 9\n", "fleet.litres"),
                        ("late_pickup = 1.5\n", "late_pickup"), ('[fleet]\nfixed_cost = "a lot"\n', "fleet.fixed_cost"),
                        ("[fleet]\ncost_per_km = 0\n", "fleet.cost_per_km"), ('cutoff = "17:00"\n', "cutoff"),
                        ('cutoff = "25:00"\n', "cutoff"), ("solver_seconds = 5\nroute_iterations = 100\n", "solver_seconds"),
                        ('cutoff = "23:59"\npicking_hours = 11\n', "picking_hours")):
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(CommandError, match=field.replace(".", r"\.")):
            call_command("simulate", scenario=str(bad), city="tiny", days=1, out=str(tmp_path), verbosity=0)


def test_a_fleet_of_bigger_trucks_says_their_payload_and_volume_as_well_as_their_crates():
    from simulation.scenario import parse_scenario

    fleet = parse_scenario({"fleet": {"crates": 450, "payload_kg": 8000, "volume_litres": 40000}}, "trucks").fleet
    assert (fleet.crates, fleet.payload_kg, fleet.volume_litres) == (450, 8000, 40000)
    assert (parse_scenario({}, "base").fleet.payload_kg, parse_scenario({}, "base").fleet.volume_litres) == (1800, 16000)
    costs = parse_scenario({"fleet": {"fixed_cost": 800, "cost_per_km": 2.1}}, "trucks").fleet
    assert (costs.fixed_cost, costs.cost_per_km) == (Decimal(800), Decimal("2.1"))  # money as written, not 2.100000000000000088


def test_no_shows_reminded_by_their_leader_come_the_next_day_while_the_point_holds_their_goods(tmp_path, settings):
    """With every reminded resident coming back (late_pickup = 1), nothing is left to return: each
    day's no-shows collect the next day, the last day's during the wind-down, and the delivery cost
    is what the routes cost."""
    settings.ROUTING_SOLVER_TIME_LIMIT_SECONDS = 0.5
    scenario = tmp_path / "reminded.toml"
    scenario.write_text('name = "都来补取"\nno_show = [0.2, 0.3]\nlate_pickup = 1\n[fleet]\nfixed_cost = 300\ncost_per_km = 1.5\n',
                        encoding="utf-8")
    call_command("simulate", scenario=str(scenario), city="tiny", days=2, seed=3, out=str(tmp_path), history_days=7, verbosity=0)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    first, second = summary["days"]
    assert first["collection"]["no_shows"] > 0 and first["collection"]["collected_late"] == 0
    assert second["collection"]["collected_late"] == first["collection"]["no_shows"]
    assert summary["wind_down"][0]["collected_late"] == second["collection"]["no_shows"] > 0
    for day in summary["days"]:
        assert day["pickup_rate"] == 1 and _money(day["refunds_by_cause"]["uncollected"]) == 0
        assert day["waste_uncollected_units"] == 0
        delivery_date = date.fromisoformat(day["delivery_date"])
        late = Collection.objects.filter(pickup_line__delivery_date=delivery_date, collected_at__date=delivery_date + timedelta(days=1))
        assert late.exists()  # handed over the day after, with the delivery day's codes
        routes = Route.objects.filter(plan__delivery_date=delivery_date)
        assert _money(day["delivery_cost"]) == sum(
            ((Decimal(300) + Decimal("1.5") * route.distance_m / 1000).quantize(Decimal("0.01")) for route in routes), Decimal(0)
        ) > 0


def test_light_points_make_long_routes(tmp_path):
    """The fleet is not a fixed few stops a van: when the points' loads are light (a small city at
    15 % of its demand, ~6 crates a point), each van carries what its crates and shift allow."""
    scenario = tmp_path / "light.toml"
    scenario.write_text('name = "轻载团点"\ndemand_scale = 0.15\n', encoding="utf-8")
    call_command("simulate", scenario=str(scenario), city="small", days=1, seed=7, out=str(tmp_path), history_days=7, verbosity=0)
    day = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["days"][0]
    stops = [route.stops.count() for route in Route.objects.filter(plan__delivery_date=day["delivery_date"])]
    assert day["stops_delivered"] == sum(stops) == 100  # every point served
    assert max(stops) >= 15 and sum(stops) / len(stops) >= 12


def test_an_earlier_cutoff_takes_fewer_orders_and_a_long_night_starts_the_vans_later(tmp_path):
    """The cutoff scenario: the wave closes at the scenario's time, the lines residents would order
    after it are lost, and the vans wait for the night's picking (cutoff + picking_hours)."""
    from datetime import time

    from django.utils import timezone

    from simulation.scenario import orders_placed_by, vans_ready

    assert orders_placed_by(time(23, 0)) == 1.0 and orders_placed_by(time(22, 0)) == 0.94
    assert orders_placed_by(time(18, 0)) < orders_placed_by(time(21, 30)) < orders_placed_by(time(23, 30))
    assert vans_ready(time(23, 0), 6) == time(5, 0) and vans_ready(time(20, 0), 2) == time(0, 0)

    scenario = tmp_path / "early.toml"
    scenario.write_text('name = "21点截单"\ncutoff = "21:00"\npicking_hours = 9\n', encoding="utf-8")
    call_command("simulate", scenario=str(scenario), city="tiny", days=1, seed=3, out=str(tmp_path), history_days=7, verbosity=0)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    day = date.fromisoformat(summary["days"][0]["delivery_date"])
    assert summary["network"]["lines_per_day_target"] == round(500 * 0.88)
    wave = SalesWave.objects.filter(delivery_date=day, deals__product__sku__startswith="DEMO-").distinct().get()
    assert timezone.localtime(wave.cutoff_at).time() == time(21, 0)
    assert set(Vehicle.objects.filter(depot__code__startswith="DEMO-").values_list("shift_start", flat=True)) == {time(6, 0)}
    routes = Route.objects.filter(plan__delivery_date=day)
    assert routes and all(timezone.localtime(route.departure_at).time() >= time(6, 0) for route in routes)


def test_solver_seconds_run_the_route_search_on_the_clock_as_in_production(tmp_path, settings):
    from simulation.scenario import parse_scenario

    assert parse_scenario({"solver_seconds": 2}, "clock").settings()["ROUTING_SOLVER_TIME_LIMIT_SECONDS"] == 2.0
    scenario = tmp_path / "clock.toml"
    scenario.write_text("solver_seconds = 0.5\n", encoding="utf-8")
    call_command("simulate", scenario=str(scenario), city="tiny", days=1, seed=3, out=str(tmp_path), history_days=7, verbosity=0)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["route_iterations"] is None and summary["reproducible"] is False
