"""The nightly pipeline in eager mode: one day from the cutoff to the notices, recorded step by step,
a failed step resumed, and a rerun that duplicates nothing."""
from datetime import timedelta

import pytest
from django.core.management import call_command

from pipeline import steps
from pipeline.models import Notice, PipelineRun, RunStatus
from grouporders import services as order_services
from grouporders.models import WaveStatus
from pickup.models import PickupCode, Refund
from routing.models import Route, RouteStop
from tests.fixtures_routing import make_driver, make_vehicle
from warehouse import services as warehouse_services
from warehouse.models import Allocation, LineShortage, SortList, SortListStop

# These tests compare the dashboard's English.
pytestmark = pytest.mark.english


STEP_NAMES = ["close_wave", "allocate", "refund_shortages", "plan_routes", "pick_lists", "notify"]


def _line(name, phone, deal, quantity):
    return order_services.LineInput(resident=order_services.ResidentInput(name=name, phone=phone), deal_id=deal.pk,
                                    quantity=quantity)


@pytest.fixture
def ordered_day(network, wave, deals, leader, other_leader):
    """Three points ordered; the first product has stock for all, the second is 4 units short."""
    unlimited, limited = deals
    p1, p2, p3 = network["points"]
    order_services.submit_leader_order(user=leader, wave_id=wave.pk, pickup_point_id=p1.pk, lines=[
        _line("王芳", "13800000001", unlimited, 2), _line("李敏", "13800000002", limited, 5)])
    order_services.submit_leader_order(user=leader, wave_id=wave.pk, pickup_point_id=p2.pk, lines=[
        _line("Zhou Jing", "13800000003", limited, 5), _line("Chen Wei", "13800000004", unlimited, 1)])
    order_services.submit_leader_order(user=other_leader, wave_id=wave.pk, pickup_point_id=p3.pk, lines=[
        _line("Xu Lei", "13800000005", unlimited, 4)])
    site = warehouse_services.StockSite(depot_id=network["depot"].pk)
    day = wave.delivery_date
    warehouse_services.receive_lot(product_id=unlimited.product_id, site=site, quantity=50, expiry_date=day + timedelta(days=5))
    warehouse_services.receive_lot(product_id=limited.product_id, site=site, quantity=6, expiry_date=day + timedelta(days=5))
    van = make_vehicle(network["depot"], "VAN-1")
    make_driver("driver-1", van)
    return wave


def _outputs(day):
    """What the night leaves behind, in a comparable form."""
    return {
        "allocations": sorted(Allocation.objects.filter(delivery_date=day).values_list("pickup_point_id", "product_id", "quantity")),
        "shortages": sorted(LineShortage.objects.filter(delivery_date=day).values_list("order_line_id", "quantity", "refund_amount")),
        "refunds": Refund.objects.count(),
        "routes": Route.objects.filter(plan__delivery_date=day).count(),
        "stops": sorted(RouteStop.objects.filter(route__plan__delivery_date=day).values_list("pickup_point_id", flat=True)),
        "sort_lists": SortList.objects.filter(delivery_date=day).count(),
        "sort_stops": sorted(SortListStop.objects.filter(sort_list__delivery_date=day).values_list("pickup_point_id", "units")),
        "codes": PickupCode.objects.count(),
        "notices": Notice.objects.filter(delivery_date=day).count(),
    }


def test_operator_runs_the_night_through_the_api(ordered_day, operator_api, network):
    day = ordered_day.delivery_date
    response = operator_api.post("/api/pipeline/runs", {"delivery_date": day.isoformat()})
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["status"] == "succeeded"
    assert [s["name"] for s in run["steps"]] == STEP_NAMES
    assert all(s["status"] == "succeeded" and s["duration_seconds"] is not None for s in run["steps"])
    counts = {s["name"]: s["counts"] for s in run["steps"]}
    assert counts["close_wave"] == {"demand_lines": 5, "quantity": 17}
    assert counts["allocate"]["allocated"] == 13 and counts["allocate"]["short_lines"] >= 1
    assert counts["plan_routes"]["stops"] == 3 and counts["plan_routes"]["dropped_stops"] == 0
    assert counts["pick_lists"] == {"sort_lists": 1}
    assert counts["notify"]["pickup_codes"] == 5

    ordered_day.refresh_from_db()
    assert ordered_day.status == WaveStatus.CLOSED
    outputs = _outputs(day)
    assert outputs["refunds"] == len(outputs["shortages"]) >= 1
    # One notice for the driver, one per leader per stop.
    assert outputs["notices"] == 1 + 3
    assert operator_api.get(f"/api/pipeline/runs/{day}").json()["status"] == "succeeded"
    again = operator_api.post("/api/pipeline/runs", {"delivery_date": day.isoformat()})
    assert again.status_code == 409 and again.json()["field"] == "delivery_date"
    assert operator_api.post(f"/api/pipeline/runs/{day}/resume").status_code == 409


def test_a_failed_step_is_recorded_and_the_run_resumes_from_it(ordered_day, operator_api, monkeypatch):
    day = ordered_day.delivery_date

    def broken(delivery_date):
        raise RuntimeError("the routing service is down")

    monkeypatch.setitem(steps.STEP_BY_NAME, "pick_lists", steps.Step("pick_lists", run=broken))
    run = operator_api.post("/api/pipeline/runs", {"delivery_date": day.isoformat()}).json()
    statuses = {s["name"]: s["status"] for s in run["steps"]}
    assert run["status"] == "failed"
    assert statuses == {"close_wave": "succeeded", "allocate": "succeeded", "refund_shortages": "succeeded",
                        "plan_routes": "succeeded", "pick_lists": "failed", "notify": "pending"}
    failed = next(s for s in run["steps"] if s["name"] == "pick_lists")
    assert failed["error"].startswith("the routing service is down")
    before = _outputs(day)

    monkeypatch.undo()
    resumed = operator_api.post(f"/api/pipeline/runs/{day}/resume")
    assert resumed.status_code == 202
    body = resumed.json()
    assert body["status"] == "succeeded" and body["launches"] == 2
    attempts = {s["name"]: s["attempts"] for s in body["steps"]}
    # Only the failed step and the ones after it ran again.
    assert attempts == {"close_wave": 1, "allocate": 1, "refund_shortages": 1, "plan_routes": 1, "pick_lists": 2, "notify": 1}
    after = _outputs(day)
    assert after["allocations"] == before["allocations"] and after["refunds"] == before["refunds"]
    assert after["sort_lists"] == 1 and after["notices"] == 4


def test_rerunning_every_step_duplicates_nothing(ordered_day):
    day = ordered_day.delivery_date
    call_command("pipeline", "start", "--date", day.isoformat())
    first = _outputs(day)
    run = PipelineRun.objects.get(delivery_date=day)
    for name in ("close_wave", "allocate", "refund_shortages", "pick_lists", "notify"):
        steps.execute_step(run.pk, name)
    # The fan-out step by hand: every part, then its totals.
    for depot_id in steps.start_fan_out(run.pk, "plan_routes"):
        steps.execute_part(run.pk, "plan_routes", depot_id)
    steps.finish_fan_out(run.pk, "plan_routes")
    steps.execute_step(run.pk, "pick_lists")
    assert _outputs(day) == first
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_beat_starts_the_pipeline_of_a_day_past_its_cutoff(ordered_day):
    from pipeline.tasks import start_due_pipelines

    assert start_due_pipelines.delay().get() == []
    ordered_day.cutoff_at = ordered_day.cutoff_at - timedelta(days=3)
    ordered_day.save()
    assert start_due_pipelines.delay().get() == [ordered_day.delivery_date.isoformat()]
    assert PipelineRun.objects.get().status == RunStatus.SUCCEEDED
    assert start_due_pipelines.delay().get() == []


def test_only_operators_run_the_pipeline(ordered_day, leader_api, operator_api):
    day = ordered_day.delivery_date.isoformat()
    assert leader_api.post("/api/pipeline/runs", {"delivery_date": day}).status_code == 403
    assert operator_api.get("/api/pipeline/runs/2031-01-01").status_code == 404
    bad = operator_api.post("/api/pipeline/runs", {"delivery_date": "tomorrow"})
    assert bad.status_code == 422 and bad.json()["field"] == "delivery_date"
    no_wave = operator_api.post("/api/pipeline/runs", {"delivery_date": "2031-01-01"}).json()
    assert no_wave["status"] == "failed" and no_wave["steps"][0]["error"].startswith("there is no sales wave")


def test_the_dashboard_shows_the_days_kpis_and_runs(ordered_day, client):
    from tests.conftest import make_user

    day = ordered_day.delivery_date
    call_command("pipeline", "start", "--date", day.isoformat())
    make_user("watcher", "operator")
    client.login(username="watcher", password="pw-watcher")
    page = client.get(f"/dashboard/?date={day}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Succeeded" in text and "Plan routes" in text
    kpis = dict(page.context["kpis"])
    assert kpis["Leader orders"] == "3" and kpis["Units ordered"] == "17" and kpis["Routes"] == "1"
    assert kpis["Fill rate"] == "76.5%"  # 13 of 17 units allocated
    assert kpis["GMV"].startswith("¥") and kpis["GMV"][-3] == "."
    assert "demand lines" in text and "demand_lines" not in text  # the steps' counts, named
    make_user("leader-x", "leader")
    client.login(username="leader-x", password="pw-leader-x")
    assert client.get("/dashboard/").status_code == 403
