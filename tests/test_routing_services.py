"""Route planning from allocations: loads, capacity, cold zones, drops, re-planning, hand-over to sort lists."""
from datetime import datetime, time

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from routing import services
from routing.models import DroppedStop, Route, RoutePlan, RouteStop, RouteStopLine
from tests.fixtures_routing import ROUTING_DAY, allocate, make_point, make_vehicle
from warehouse.models import Allocation, SortListStop

# These tests compare the solver's English drop reasons.
pytestmark = [pytest.mark.django_db, pytest.mark.english]



def plan(depot, **kwargs):
    return services.plan_depot_routes(depot_id=depot.pk, delivery_date=ROUTING_DAY, **kwargs)


def stops_by_point(plan_):
    return {s.pickup_point_id: s for s in RouteStop.objects.filter(route__plan=plan_).select_related("route__vehicle")}


def test_each_stop_carries_what_was_allocated_to_its_pickup_point(routing_depot, two_vans):
    plan_ = plan(routing_depot["depot"])
    assert plan_.dropped_count == 0 and plan_.stop_count == 5
    allocated = Allocation.objects.filter(delivery_date=ROUTING_DAY)
    expected_lines = {(a["pickup_point_id"], a["product_id"]): a["q"] for a in
                      allocated.values("pickup_point_id", "product_id").annotate(q=Sum("quantity"))}
    lines = {(line.stop.pickup_point_id, line.product_id): line.quantity
             for line in RouteStopLine.objects.filter(stop__route__plan=plan_).select_related("stop")}
    assert lines == expected_lines
    weights = dict(allocated.values("pickup_point_id").annotate(w=Sum(F("quantity") * F("product__weight_g")))
                   .values_list("pickup_point_id", "w"))
    stops = stops_by_point(plan_)
    assert {p: s.weight_g for p, s in stops.items()} == weights
    # Crates are counted the way the sort lists count them.
    assert services.send_stop_order_to_pick_lists(delivery_date=ROUTING_DAY) == plan_.routes.count()
    assert {s.pickup_point_id: s.crates for s in SortListStop.objects.all()} == {p: s.crates for p, s in stops.items()}


def test_stops_follow_in_time_within_windows_and_the_load_drops_to_zero(routing_depot, two_vans):
    plan_ = plan(routing_depot["depot"])
    for route in plan_.routes.all():
        stops = list(route.stops.select_related("pickup_point"))
        assert [s.sequence for s in stops] == list(range(1, len(stops) + 1))
        assert route.weight_g == sum(s.weight_g for s in stops)
        assert stops[-1].remaining_weight_g == 0 and stops[0].remaining_weight_g == route.weight_g - stops[0].weight_g
        clock = route.departure_at
        for stop in stops:
            assert clock <= stop.eta <= stop.service_start_at < stop.departure_at
            local = timezone.localtime(stop.service_start_at).time()
            assert stop.pickup_point.opens_at <= local <= stop.pickup_point.closes_at
            clock = stop.departure_at
        assert clock < route.return_at


def test_capacity_is_respected_and_what_does_not_fit_is_dropped_with_the_reason(routing_depot):
    depot = routing_depot["depot"]
    make_vehicle(depot, "SMALL-1", capacity_kg=20)
    make_vehicle(depot, "SMALL-2", capacity_kg=20)
    # 5 points of 3..15 kg ambient plus 1..5 kg chilled = 54 kg; two 20 kg vans cannot carry it all.
    plan_ = plan(depot)
    for route in plan_.routes.all():
        assert route.weight_g <= 20_000
    assert plan_.stop_count + plan_.dropped_count == 5 and plan_.dropped_count >= 1
    assert set(plan_.dropped_stops.values_list("reason", flat=True)) == {"not enough vehicle capacity or shift time left in the fleet"}


def test_chilled_stops_ride_only_on_chilled_vans(routing_depot, two_vans):
    stops = stops_by_point(plan(routing_depot["depot"]))
    chilled_points = set(Allocation.objects.filter(product__storage_temperature="chilled").values_list("pickup_point_id", flat=True))
    assert len(stops) == 5
    for point_id, stop in stops.items():
        if point_id in chilled_points:
            assert stop.route.vehicle.has_chilled_zone, stop


def test_a_stop_no_van_can_take_is_dropped_with_a_specific_reason(routing_depot, two_vans):
    depot, products = routing_depot["depot"], routing_depot["products"]
    frozen_point = make_point(depot, "P-FROZEN", 30.26, 120.16)
    allocate(frozen_point, products["frozen"], 2)
    heavy_point = make_point(depot, "P-HEAVY", 30.26, 120.17)
    allocate(heavy_point, products["ambient"], 5000)  # 5 t
    late_point = make_point(depot, "P-LATE", 30.26, 120.18, opens=time(20, 0), closes=time(21, 0))
    allocate(late_point, products["ambient"], 1)
    plan_ = plan(depot)
    reasons = dict(DroppedStop.objects.filter(plan=plan_).values_list("pickup_point__code", "reason"))
    assert reasons == {
        "P-FROZEN": "needs a frozen vehicle and none is available",
        "P-HEAVY": "demand exceeds the capacity of every vehicle",
        "P-LATE": "time window cannot be reached by any vehicle within its shift",
    }
    assert plan_.stop_count == 5


def test_rerunning_replaces_the_plan_of_the_depot_and_day(routing_depot, two_vans):
    first = plan(routing_depot["depot"], seed=1)
    second = plan(routing_depot["depot"], seed=1)
    assert first.pk == second.pk and second.revision == 2
    assert RoutePlan.objects.count() == 1
    assert RouteStop.objects.count() == 5 and RouteStopLine.objects.count() == 8
    assert Route.objects.filter(plan=second).count() == second.routes.count()


def test_a_plan_with_confirmed_stops_is_not_replaced_but_can_be_replanned(routing_depot, two_vans):
    depot = routing_depot["depot"]
    first = plan(depot)
    stop = RouteStop.objects.filter(route__plan=first).order_by("route_id", "sequence").first()
    services.confirm_arrival(user=stop.route.driver.user, stop_id=stop.pk)
    with pytest.raises(Conflict):
        plan(depot)
    replanned = services.replan_depot_routes(depot_id=depot.pk, delivery_date=ROUTING_DAY, now=stop.eta)
    assert replanned.revision == 2 and replanned.stop_count == 5
    assert RouteStop.objects.get(pk=stop.pk).sequence == 1


def test_a_breakdown_moves_undelivered_stops_to_other_vans_and_keeps_the_delivered_ones(routing_depot):
    depot = routing_depot["depot"]
    vans = [make_vehicle(depot, f"VAN-{i}", capacity_kg=30) for i in range(3)]
    first = plan(depot)
    route = max(first.routes.all(), key=lambda r: r.stops.count())
    assert route.stops.count() >= 2
    delivered = route.stops.order_by("sequence").first()
    services.confirm_delivery(user=_operator(), stop_id=delivered.pk, at=delivered.departure_at)
    replanned = services.mark_vehicle_unavailable(
        vehicle_id=route.vehicle_id, delivery_date=ROUTING_DAY, reason="flat tyre", now=delivered.departure_at
    )
    assert replanned.revision == 2
    kept = RouteStop.objects.get(pk=delivered.pk)
    assert kept.route_id == route.pk and kept.sequence == 1 and kept.delivered_at is not None
    assert list(Route.objects.get(pk=route.pk).stops.values_list("pk", flat=True)) == [delivered.pk]
    others = RouteStop.objects.filter(route__plan=replanned).exclude(pk=delivered.pk)
    assert replanned.stop_count + replanned.dropped_count == 5
    assert all(s.route.vehicle_id != route.vehicle_id for s in others)
    # The other vans leave no earlier than the breakdown was reported.
    assert all(s.eta >= delivered.departure_at for s in others)
    assert len(vans) == 3


def test_a_van_on_the_road_goes_on_from_its_last_confirmed_stop(routing_depot):
    depot = routing_depot["depot"]
    make_vehicle(depot, "VAN-ONLY")
    first = plan(depot)
    route = first.routes.get()
    stops = list(route.stops.order_by("sequence"))
    services.confirm_delivery(user=_operator(), stop_id=stops[0].pk, at=stops[0].departure_at)
    replanned = services.replan_depot_routes(depot_id=depot.pk, delivery_date=ROUTING_DAY, now=stops[0].departure_at)
    route = replanned.routes.get()
    after = list(route.stops.order_by("sequence"))
    assert after[0].pk == stops[0].pk and len(after) == 5
    assert all(s.eta >= stops[0].departure_at for s in after[1:])
    assert [s.driven_m for s in after] == sorted(s.driven_m for s in after)
    assert route.distance_m > after[-1].driven_m


def test_late_stops_join_and_cancelled_ones_leave_on_replanning(routing_depot, two_vans):
    depot, points = routing_depot["depot"], routing_depot["points"]
    plan(depot)
    late = make_point(depot, "P-LATE", 30.24, 120.12)
    allocate(late, routing_depot["products"]["ambient"], 4)
    Allocation.objects.filter(pickup_point=points[1]).delete()
    replanned = services.replan_depot_routes(
        depot_id=depot.pk, delivery_date=ROUTING_DAY, now=timezone.make_aware(datetime(2031, 5, 6, 5, 0))
    )
    assert set(stops_by_point(replanned)) == {p.pk for p in points if p != points[1]} | {late.pk}


def test_a_van_on_the_road_only_delivers_what_it_was_loaded_with(routing_depot):
    """Re-planning never hands a van on the road a stop whose goods are still at the depot: a late
    stop right next to it goes to a van at the depot, and the van keeps the stops it carries."""
    depot, points = routing_depot["depot"], routing_depot["points"]
    on_road = make_vehicle(depot, "VAN-ROAD")
    first = plan(depot)
    route = first.routes.get()
    stops = list(route.stops.order_by("sequence"))
    services.confirm_delivery(user=_operator(), stop_id=stops[0].pk, at=stops[0].departure_at)
    spare = make_vehicle(depot, "VAN-SPARE")
    near = stops[1].pickup_point
    late = make_point(depot, "P-LATE", near.latitude + 0.0005, near.longitude)
    allocate(late, routing_depot["products"]["ambient"], 2)

    replanned = services.replan_depot_routes(depot_id=depot.pk, delivery_date=ROUTING_DAY, now=stops[0].departure_at)

    by_point = stops_by_point(replanned)
    assert replanned.dropped_count == 0 and set(by_point) == {p.pk for p in points} | {late.pk}
    assert by_point[late.pk].route.vehicle_id == spare.pk
    assert {p for p, s in by_point.items() if s.route.vehicle_id == on_road.pk} == {s.pickup_point_id for s in stops}


def test_bad_fleet_data_is_a_clear_error_before_solving(routing_depot):
    depot = routing_depot["depot"]
    with pytest.raises(InvalidInput) as no_vans:
        plan(depot)
    assert no_vans.value.field == "depot_id"
    make_vehicle(depot, "EMPTY", capacity_crates=0)
    with pytest.raises(InvalidInput) as no_room:
        plan(depot)
    assert no_room.value.field == "capacity_crates"
    with pytest.raises(InvalidInput) as bad_limit:
        plan(depot, time_limit_seconds=0)
    assert bad_limit.value.field == "time_limit_seconds"
    assert not RoutePlan.objects.exists()


def test_stop_order_goes_to_the_sort_lists_route_by_route(routing_depot, two_vans):
    plan_ = plan(routing_depot["depot"])
    assert services.send_stop_order_to_pick_lists(delivery_date=ROUTING_DAY) == plan_.routes.count()
    for route in plan_.routes.all():
        sorted_stops = SortListStop.objects.filter(sort_list__route_code=route.code).order_by("stop_number")
        assert list(sorted_stops.values_list("pickup_point_id", flat=True)) == list(
            route.stops.order_by("sequence").values_list("pickup_point_id", flat=True))


def _operator():
    from core.models import Role
    from tests.conftest import make_user

    return make_user("routing-operator", Role.OPERATOR)
