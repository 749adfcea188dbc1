"""The routing API and the driver's page: planning for staff, a driver's own route and confirmations."""
import pytest

from core.models import Role
from routing.models import RouteStop
from tests.conftest import ApiClient, make_user
from tests.fixtures_routing import ROUTING_DAY

pytestmark = pytest.mark.django_db

DAY = ROUTING_DAY.isoformat()


@pytest.fixture
def planned(operator_api, routing_depot, two_vans):
    response = operator_api.post("/api/route-plans", {"depot_id": routing_depot["depot"].pk, "delivery_date": DAY, "time_limit_seconds": 0.5})
    assert response.status_code == 200, response.content
    return response.json()


def driver_api(two_vans, zone):
    return ApiClient(two_vans["drivers"][zone].user)


def test_staff_plan_a_depot_and_read_plans_routes_and_drops(planned, warehouse_api, leader_api, routing_depot):
    assert planned["stop_count"] == 5 and planned["dropped_count"] == 0 and planned["revision"] == 1
    assert planned["solver_stats"]["time_limit_seconds"] == 0.5 and planned["solver_stats"]["stops"] == 5
    stops = [s for route in planned["routes"] for s in route["stops"]]
    assert sorted(s["pickup_point_code"] for s in stops) == ["P1", "P2", "P3", "P4", "P5"]
    assert all(s["lines"] and s["navigation_url"].startswith("geo:") for s in stops)
    listed = warehouse_api.get("/api/route-plans", {"delivery_date": DAY}).json()
    assert [p["id"] for p in listed["items"]] == [planned["id"]]
    assert warehouse_api.get(f"/api/route-plans/{planned['id']}").json()["routes"] == planned["routes"]
    assert warehouse_api.get(f"/api/route-plans/{planned['id']}/dropped-stops").json() == []
    assert leader_api.get("/api/route-plans").status_code == 403
    assert warehouse_api.get("/api/route-plans/999999").status_code == 404


def test_bad_planning_requests_name_the_field(operator_api, routing_depot):
    bad_limit = operator_api.post("/api/route-plans", {"depot_id": routing_depot["depot"].pk, "delivery_date": DAY, "time_limit_seconds": 0})
    assert bad_limit.status_code == 422 and bad_limit.json()["field"] == "time_limit_seconds"
    no_vans = operator_api.post("/api/route-plans", {"depot_id": routing_depot["depot"].pk, "delivery_date": DAY})
    assert no_vans.status_code == 422 and no_vans.json()["field"] == "depot_id"
    unknown = operator_api.post("/api/route-plans", {"depot_id": 999999, "delivery_date": DAY})
    assert unknown.status_code == 404 and unknown.json()["field"] == "depot_id"


def test_a_driver_sees_and_confirms_only_their_own_route(planned, two_vans, leader):
    cold, dry = driver_api(two_vans, "chilled"), driver_api(two_vans, "ambient")
    mine = cold.get("/api/driver/route", {"delivery_date": DAY})
    assert mine.status_code == 200
    route = mine.json()
    assert route["vehicle_code"] == "VAN-COLD" and route["stops"]
    stop = route["stops"][0]
    assert stop["address"] and stop["eta"] and stop["crates"] >= 1
    routes = [r.json() for r in (mine, dry.get("/api/driver/route", {"delivery_date": DAY})) if r.status_code == 200]
    led = [(s["leader_name"], s["leader_phone"]) for r in routes for s in r["stops"] if s["pickup_point_code"] in ("P1", "P2")]
    assert led and set(led) == {("王丽", "139****0001")}  # the leader's number, masked
    assert dry.get(f"/api/routes/{route['id']}").status_code == 404
    assert dry.post(f"/api/route-stops/{stop['id']}/arrival").status_code == 404
    assert dry.post(f"/api/route-stops/{stop['id']}/delivery").status_code == 404
    assert cold.get("/api/route-plans").status_code == 403

    arrived = cold.post(f"/api/route-stops/{stop['id']}/arrival").json()
    again = cold.post(f"/api/route-stops/{stop['id']}/arrival").json()
    assert arrived["arrived_at"] and again["arrived_at"] == arrived["arrived_at"]

    line = stop["lines"][0]
    body = {"lines": [{"product_id": line["product_id"], "quantity": line["quantity"] - 1}]}
    delivered = cold.post(f"/api/route-stops/{stop['id']}/delivery", body)
    assert delivered.status_code == 200
    quantities = {ln["product_id"]: ln["delivered_quantity"] for ln in delivered.json()["lines"]}
    assert quantities[line["product_id"]] == line["quantity"] - 1
    assert all(ln["delivered_quantity"] == ln["quantity"] for ln in delivered.json()["lines"] if ln["product_id"] != line["product_id"])
    assert cold.post(f"/api/route-stops/{stop['id']}/delivery", body).json() == delivered.json()
    assert cold.post(f"/api/route-stops/{stop['id']}/delivery").status_code == 200
    other = cold.post(f"/api/route-stops/{stop['id']}/delivery", {"lines": [{"product_id": line["product_id"], "quantity": 0}]})
    assert other.status_code == 409 and other.json()["field"] == "lines"

    from routing import selectors
    assert selectors.delivered_quantities(ROUTING_DAY, stop["pickup_point_id"])[line["product_id"]] == line["quantity"] - 1


def test_delivering_more_than_planned_or_an_unknown_product_is_refused(planned, two_vans):
    cold = driver_api(two_vans, "chilled")
    stop = cold.get("/api/driver/route", {"delivery_date": DAY}).json()["stops"][0]
    line = stop["lines"][0]
    too_many = cold.post(f"/api/route-stops/{stop['id']}/delivery", {"lines": [{"product_id": line["product_id"], "quantity": line["quantity"] + 1}]})
    unknown = cold.post(f"/api/route-stops/{stop['id']}/delivery", {"lines": [{"product_id": 999999, "quantity": 1}]})
    assert too_many.status_code == unknown.status_code == 422
    assert RouteStop.objects.get(pk=stop["id"]).delivered_at is None


def test_a_confirmed_plan_answers_409_to_planning_and_is_replanned_after_a_breakdown(planned, operator_api, two_vans, routing_depot):
    cold = driver_api(two_vans, "chilled")
    stop = cold.get("/api/driver/route", {"delivery_date": DAY}).json()["stops"][0]
    cold.post(f"/api/route-stops/{stop['id']}/delivery")
    again = operator_api.post("/api/route-plans", {"depot_id": routing_depot["depot"].pk, "delivery_date": DAY})
    assert again.status_code == 409
    outage = operator_api.post(f"/api/vehicles/{two_vans['chilled'].pk}/outages", {"delivery_date": DAY, "reason": "engine", "time_limit_seconds": 0.5})
    assert outage.status_code == 200 and outage.json()["plan"]["revision"] == 2
    replanned = operator_api.get(f"/api/route-plans/{planned['id']}").json()
    kept = [s for r in replanned["routes"] for s in r["stops"] if s["id"] == stop["id"]]
    assert kept and kept[0]["delivered_at"]
    # The other chilled stops have no chilled van left.
    assert {d["reason"] for d in replanned["dropped_stops"]} <= {"needs a chilled vehicle and none is available"}
    assert replanned["dropped_count"] == 2
    assert operator_api.post(f"/api/route-plans/{planned['id']}/replan", {"time_limit_seconds": 0.5}).json()["revision"] == 3
    vehicles = operator_api.get("/api/vehicles", {"depot_id": routing_depot["depot"].pk}).json()["items"]
    assert {v["code"] for v in vehicles} == {"VAN-COLD", "VAN-DRY"}


def test_stop_order_is_handed_to_the_sort_lists(planned, warehouse_api):
    response = warehouse_api.post("/api/route-plans/pick-lists", {"delivery_date": DAY})
    assert response.json() == {"sort_lists": len(planned["routes"])}
    assert len(warehouse_api.get("/api/sort-lists", {"delivery_date": DAY}).json()) == len(planned["routes"])


def test_the_driver_page_shows_the_route_with_a_map_and_confirms_stops(planned, two_vans, client):
    client.force_login(two_vans["drivers"]["chilled"].user)
    page = client.get("/routing/driver/", {"date": DAY})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "VAN-COLD" in html and "https://uri.amap.com/navigation?" in html  # 导航 opens Amap
    stop = RouteStop.objects.filter(route__vehicle=two_vans["chilled"]).order_by("sequence").first()
    assert stop.pickup_point.name in html
    client.post(f"/routing/driver/stops/{stop.pk}/arrival/", {"date": DAY})
    quantities = {f"qty-{line.product_id}": line.quantity for line in stop.lines.all()}
    response = client.post(f"/routing/driver/stops/{stop.pk}/delivery/", {"date": DAY, **quantities})
    assert response.status_code == 302
    stop.refresh_from_db()
    assert stop.arrived_at and stop.delivered_at
    other = RouteStop.objects.filter(arrived_at__isnull=True).first()
    client.force_login(two_vans["drivers"]["ambient"].user if other.route.vehicle == two_vans["chilled"] else two_vans["drivers"]["chilled"].user)
    client.post(f"/routing/driver/stops/{other.pk}/arrival/", {"date": DAY})
    other.refresh_from_db()
    assert other.arrived_at is None
    client.force_login(make_user("not-a-driver", Role.LEADER))
    assert client.get("/routing/driver/").status_code == 403


def test_every_routing_model_has_an_admin_page_that_opens(planned, client, admin_user):
    from django.apps import apps
    from django.contrib import admin
    from django.urls import reverse

    client.force_login(admin_user)
    for model in apps.get_app_config("routing").get_models():
        assert model in admin.site._registry, model
        assert client.get(reverse(f"admin:routing_{model._meta.model_name}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:routing_routeplan_change", args=[planned["id"]])).status_code == 200
