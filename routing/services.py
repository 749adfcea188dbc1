"""Every write of routing: a depot's route plan for a day (and its re-plans), vehicle outages, the
drivers' stop confirmations, and handing the stop order to the warehouse's sort lists.

Times in the solver are seconds since local midnight of the delivery day; loads are grams,
millilitres and crates; money goes in as cents and comes back as Decimal.
"""
from __future__ import annotations

import time as clock
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from catalog.models import PickupPoint
from core.bulk import copy_rows, update_rows
from core.errors import Conflict, InvalidInput, NotFound
from warehouse.services import RouteStops, build_sort_lists

from . import matrix, selectors, solver
from .models import DroppedStop, Route, RoutePlan, RouteStop, RouteStopLine, Vehicle, VehicleOutage
from .selectors import StopLoad

DEPOT = "depot"
DAY_SECONDS = 24 * 3600
MAX_TIME_LIMIT_SECONDS = 600
# After kg, litres and crates, one capacity dimension per cold zone: a van with the zone can take
# every stop that needs it, a van without it none.
COLD_ZONES = ("chilled", "frozen")
REASON_NO_VEHICLE = "no vehicle of the depot is available on the day"
# A dropped stop's reason is stored for people to read (pages, the plan in the API): the solver's
# English constants are said in the language of whoever planned (zh-hans in the nightly pipeline).
DROP_REASONS = {
    solver.REASON_CAPACITY: gettext_lazy("demand exceeds the capacity of every vehicle"),
    solver.REASON_TIME_WINDOW: gettext_lazy("time window cannot be reached by any vehicle within its shift"),
    solver.REASON_FLEET: gettext_lazy("not enough vehicle capacity or shift time left in the fleet"),
    solver.REASON_NO_VEHICLE: gettext_lazy("no vehicle that may serve it is available"),
    REASON_NO_VEHICLE: gettext_lazy("no vehicle of the depot is available on the day"),
}
ZONE_NAMES = {"chilled": pgettext_lazy("temperature zone", "chilled"), "frozen": pgettext_lazy("temperature zone", "frozen")}
CENT = Decimal("0.01")


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _midnight(delivery_date: date) -> datetime:
    return timezone.make_aware(datetime.combine(delivery_date, time.min))


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _route_cost(vehicle: Vehicle, distance_m: int) -> Decimal:
    return (vehicle.fixed_cost + vehicle.cost_per_km * Decimal(distance_m) / 1000).quantize(CENT)


@dataclass(frozen=True)
class _DrivenPart:
    """A route's confirmed stops, which a re-plan keeps; its van goes on from the last one."""

    route: Route
    stops: list[RouteStop]
    available_from: int  # seconds of the day when the van can leave the last confirmed stop

    @property
    def depot_id(self) -> str:
        return f"at-stop-{self.stops[-1].pk}"


@dataclass(frozen=True)
class _Setup:
    problem: solver.Problem
    matrices: matrix.Matrices
    vehicles: dict[str, Vehicle]
    loads: dict[str, StopLoad]
    driven: dict[int, _DrivenPart]  # by vehicle id
    matrix_seconds: float


def plan_depot_routes(
    *, depot_id: int, delivery_date: date, time_limit_seconds: float | None = None, seed: int = 0
) -> RoutePlan:
    """Plan the depot's delivery runs of the day from its allocations and store them.

    Idempotent: a rerun replaces the depot's plan of the day. Once a driver has confirmed a stop
    of it, the plan is being driven and only :func:`replan_depot_routes` may change it (409).
    """
    return _plan(depot_id, delivery_date, time_limit_seconds, seed, now=None)


def depot_problem(*, depot_id: int, delivery_date: date) -> solver.Problem:
    """The routing problem :func:`plan_depot_routes` solves for the depot's day, for benchmarks that
    hand the very same problem to other solvers (bench_routing --peers)."""
    return _setup(selectors.depot(depot_id), delivery_date, [], 0).problem


def replan_depot_routes(
    *, depot_id: int, delivery_date: date, now: datetime | None = None, time_limit_seconds: float | None = None,
    seed: int = 0,
) -> RoutePlan:
    """Re-plan what is not yet delivered, e.g. after a breakdown or when stops were added or removed.

    Confirmed stops and the part of each route driven so far stay as they are; each van on the road
    goes on from its last confirmed stop, the others leave the depot no earlier than ``now``. The
    stops are read afresh from the allocations, so late stops join and cancelled ones leave.
    """
    return _plan(depot_id, delivery_date, time_limit_seconds, seed, now=now or timezone.now())


def _plan(depot_id: int, delivery_date: date, time_limit_seconds: float | None, seed: int, now: datetime | None) -> RoutePlan:
    time_limit = settings.ROUTING_SOLVER_TIME_LIMIT_SECONDS if time_limit_seconds is None else time_limit_seconds
    if not 0 < time_limit <= MAX_TIME_LIMIT_SECONDS:
        raise InvalidInput(
            _("the time limit must be above 0 and at most %(max)s s") % {"max": MAX_TIME_LIMIT_SECONDS},
            field="time_limit_seconds", code="time_limit_out_of_range",
        )
    if seed < 0:
        raise InvalidInput(_("the seed cannot be negative"), field="seed", code="negative_seed")
    depot = selectors.depot(depot_id)
    existing = RoutePlan.objects.filter(depot_id=depot_id, delivery_date=delivery_date).first()
    confirmed = _confirmed_stops(existing)
    if confirmed and now is None:
        raise Conflict(
            _("stops of the %(delivery_date)s plan of depot %(depot)s are already confirmed; re-plan it instead") % {
                "delivery_date": delivery_date, "depot": depot.code},
            field="delivery_date", code="stops_already_confirmed",
        )
    now_seconds = 0 if now is None else max(0, int((now - _midnight(delivery_date)).total_seconds()))
    setup = _setup(depot, delivery_date, confirmed, now_seconds)
    result = solver.solve(setup.problem, time_limit=time_limit, seed=seed, workers=settings.ROUTING_SOLVER_WORKERS,
                          max_iterations=settings.ROUTING_SOLVER_MAX_ITERATIONS)
    stats = {
        **asdict(result.stats), "time_limit_seconds": time_limit, "seed": seed,
        "matrix": matrix.configured_provider().fingerprint, "matrix_seconds": round(setup.matrix_seconds, 3),
        "stops": len(setup.problem.stops), "vehicles": len(setup.problem.vehicles), "kept_stops": len(confirmed),
    }
    return _store(depot.pk, delivery_date, setup, result, stats, {s.pk for s in confirmed})


def _confirmed_stops(plan: RoutePlan | None) -> list[RouteStop]:
    if plan is None:
        return []
    return list(
        RouteStop.objects.filter(route__plan=plan, arrived_at__isnull=False)
        .select_related("route__vehicle", "pickup_point")
        .order_by("route_id", "sequence")
    )


def _driven_parts(confirmed: list[RouteStop], delivery_date: date, now_seconds: int) -> list[_DrivenPart]:
    by_route: dict[int, list[RouteStop]] = {}
    for stop in confirmed:
        by_route.setdefault(stop.route_id, []).append(stop)
    midnight = _midnight(delivery_date)
    parts = []
    for stops in by_route.values():
        last = stops[-1]
        # Still unloading: expect it to take as long as planned.
        leaves = last.delivered_at or last.arrived_at + (last.departure_at - last.service_start_at)
        # Never before the route left the depot, whatever clock the confirmations came with.
        leaves = max(leaves, last.route.departure_at)
        parts.append(_DrivenPart(last.route, stops, max(now_seconds, int((leaves - midnight).total_seconds()))))
    return parts


def _shift(vehicle: Vehicle) -> tuple[int, int]:
    """The vehicle's working window: its shift, narrowed to its driver's."""
    start, end = _seconds(vehicle.shift_start), _seconds(vehicle.shift_end)
    driver = getattr(vehicle, "driver", None)
    if driver is not None and driver.is_active:
        start, end = max(start, _seconds(driver.shift_start)), min(end, _seconds(driver.shift_end))
        if start >= end:
            raise InvalidInput(
                _("the shift of driver %(driver)s does not overlap the shift of vehicle %(vehicle)s") % {
                    "driver": driver, "vehicle": vehicle.code},
                field="shift_start", code="shifts_do_not_overlap",
            )
    return start, end


def _available_vehicles(depot_id: int, delivery_date: date) -> tuple[list[Vehicle], list[Vehicle]]:
    """The depot's vehicles that run on the day, and its whole active fleet (validated)."""
    fleet = list(Vehicle.objects.filter(depot_id=depot_id, is_active=True).select_related("driver__user"))
    for vehicle in fleet:
        for name in ("capacity_kg", "capacity_litres", "capacity_crates"):
            if getattr(vehicle, name) <= 0:
                raise InvalidInput(
                    _("vehicle %(vehicle)s has no capacity (%(name)s is 0)") % {"vehicle": vehicle.code, "name": name},
                    field=name, code="vehicle_without_capacity",
                )
        _shift(vehicle)
    out = set(VehicleOutage.objects.filter(delivery_date=delivery_date).values_list("vehicle_id", flat=True))
    return [v for v in fleet if v.pk not in out], fleet


def _setup(depot, delivery_date: date, confirmed: list[RouteStop], now_seconds: int) -> _Setup:
    loads = selectors.stop_loads(depot.pk, delivery_date)
    for stop in confirmed:
        loads.pop(stop.pickup_point_id, None)
    available, fleet = _available_vehicles(depot.pk, delivery_date)
    if loads and not fleet:
        raise InvalidInput(_("depot %(depot)s has no vehicles") % {"depot": depot.code}, field="depot_id", code="no_vehicles")
    points = PickupPoint.objects.in_bulk(list(loads))
    stop_points = sorted(loads)
    parts = {part.route.vehicle_id: part for part in _driven_parts(confirmed, delivery_date, now_seconds)}

    depots = [solver.Depot(DEPOT)]
    locations = [(depot.latitude, depot.longitude)]
    # Every van on the road starts from where it is: its last confirmed stop, a depot of its own.
    for part in parts.values():
        depots.append(solver.Depot(part.depot_id, opens=part.available_from))
        last = part.stops[-1].pickup_point
        locations.append((last.latitude, last.longitude))
    vehicles, by_id = [], {}
    for vehicle in available:
        start, end = _shift(vehicle)
        max_duration = None if vehicle.max_duration_minutes is None else vehicle.max_duration_minutes * 60
        start_depot, fixed_cost = DEPOT, _cents(vehicle.fixed_cost)
        part = parts.get(vehicle.pk)
        if part is not None:  # on the road: it goes on from its last confirmed stop, already paid for
            spent = part.available_from - int((part.route.departure_at - _midnight(delivery_date)).total_seconds())
            start, start_depot, fixed_cost = part.available_from, part.depot_id, 0
            max_duration = None if max_duration is None else max_duration - spent
        else:
            start = max(start, now_seconds)
        if start >= end or (max_duration is not None and max_duration <= 0):
            continue  # its shift is over
        delivered = [sum(getattr(s, name) for s in part.stops) if part else 0 for name in ("weight_g", "volume_ml", "crates")]
        capacity = (
            vehicle.capacity_kg * 1000 - delivered[0], vehicle.capacity_litres * 1000 - delivered[1],
            vehicle.capacity_crates - delivered[2],
            *(len(stop_points) if getattr(vehicle, f"has_{zone}_zone") else 0 for zone in COLD_ZONES),
        )
        key = str(vehicle.pk)
        vehicles.append(solver.Vehicle(
            id=key, capacity=tuple(max(0, c) for c in capacity), start_depot=start_depot, end_depot=DEPOT,
            shift_start=start, shift_end=end, max_duration=max_duration, fixed_cost=fixed_cost,
            cost_per_km=_cents(vehicle.cost_per_km),
        ))
        by_id[key] = vehicle

    allowed = _allowed_vehicles(parts, vehicles)
    stops = []
    for point_id in stop_points:
        load, point = loads[point_id], points[point_id]
        stops.append(solver.Stop(
            id=str(point_id),
            demand=(load.weight_g, load.volume_ml, load.crates, *(int(zone in load.cold_zones) for zone in COLD_ZONES)),
            opens=_seconds(point.opens_at), closes=_seconds(point.closes_at),
            service_fixed=settings.ROUTING_SERVICE_FIXED_SECONDS,
            service_per_crate=settings.ROUTING_SERVICE_PER_CRATE_SECONDS, crates=load.crates,
            vehicles=allowed(point_id),
        ))
        locations.append((point.latitude, point.longitude))
    started = clock.monotonic()
    matrices = matrix.depot_matrices(depot.pk, locations)
    matrix_seconds = clock.monotonic() - started
    problem = solver.Problem(
        depots=depots, stops=stops, vehicles=vehicles,
        distance=matrices.distance.tolist(), travel_time=matrices.duration.tolist(),
    )
    return _Setup(problem, matrices, by_id, {str(p): loads[p] for p in stop_points}, parts, matrix_seconds)


def _allowed_vehicles(parts: dict[int, _DrivenPart], vehicles: list[solver.Vehicle]):
    """Which vehicles may serve a pickup point (None: any), as a function of the point.

    A van on the road carries the goods of the stops it was loaded for: those stops stay with it,
    and it may serve nothing else. Every other stop (late, or left on a van taken out) goes to a van
    still at the depot, which loads it there."""
    if not parts:
        return lambda point_id: None
    at_depot = tuple(v.id for v in vehicles if v.start_depot == DEPOT)
    running = {str(vehicle_id) for vehicle_id in parts} & {v.id for v in vehicles}
    carrier = {
        point_id: str(vehicle_id)
        for vehicle_id, point_id in RouteStop.objects.filter(
            route__in=[part.route for part in parts.values()], arrived_at__isnull=True,
        ).values_list("route__vehicle_id", "pickup_point_id")
    }

    def allowed(point_id: int) -> tuple[str, ...]:
        van = carrier.get(point_id)
        return (van,) if van in running else at_depot

    return allowed


def _drop_reason(reason: str, load: StopLoad, vehicles: list[Vehicle]) -> str:
    """The solver's reason, made specific where no van has the room or the cold zone a stop needs."""
    if reason == solver.REASON_CAPACITY and not vehicles:
        reason = REASON_NO_VEHICLE
    elif reason == solver.REASON_CAPACITY:
        for zone in COLD_ZONES:
            if zone in load.cold_zones and not any(getattr(v, f"has_{zone}_zone") for v in vehicles):
                return _("needs a %(zone)s vehicle and none is available") % {"zone": ZONE_NAMES[zone]}
    return str(DROP_REASONS.get(reason, reason))


def _remaining_after(loads: list[StopLoad]) -> list[tuple[int, int, int]]:
    """What is still on board after each stop of a route: the loads of the stops that follow it."""
    remaining, after = [], (0, 0, 0)
    for load in reversed(loads):
        remaining.append(after)
        after = (after[0] + load.weight_g, after[1] + load.volume_ml, after[2] + load.crates)
    return remaining[::-1]


def _store(
    depot_id: int, delivery_date: date, setup: _Setup, result: solver.Plan, stats: dict, confirmed_before: set[int]
) -> RoutePlan:
    midnight = _midnight(delivery_date)
    at = lambda seconds: midnight + timedelta(seconds=seconds)  # noqa: E731
    problem, distance = setup.problem, setup.matrices.distance
    location = {stop.id: problem.location(i) for i, stop in enumerate(problem.stops)}
    with transaction.atomic():
        plan = RoutePlan.objects.select_for_update().filter(depot_id=depot_id, delivery_date=delivery_date).first()
        if set(RouteStop.objects.filter(route__plan=plan, arrived_at__isnull=False).values_list("pk", flat=True)) != confirmed_before:
            raise Conflict(
                _("a stop was confirmed while the plan was being solved; plan again"), field="delivery_date",
                code="stop_confirmed_meanwhile",
            )
        if plan is None:
            plan = RoutePlan(depot_id=depot_id, delivery_date=delivery_date, revision=0)
        else:
            DroppedStop.objects.filter(plan=plan).delete()
            RouteStop.objects.filter(route__plan=plan, arrived_at__isnull=True).delete()
            Route.objects.filter(plan=plan).exclude(stops__isnull=False).delete()
        plan.revision += 1
        plan.planned_at = timezone.now()
        plan.solver_stats = stats
        plan.cost, plan.distance_m, plan.duration_s, plan.stop_count, plan.dropped_count = Decimal(0), 0, 0, 0, 0
        plan.save()

        new_stops, new_lines = [], []
        for planned in result.routes:
            vehicle = setup.vehicles[planned.vehicle]
            part = setup.driven.get(vehicle.pk)
            route = part.route if part else Route(
                plan=plan, code=f"{vehicle.code}-{delivery_date:%Y%m%d}", vehicle=vehicle,
                driver=getattr(vehicle, "driver", None), departure_at=at(planned.start),
            )
            kept = part.stops if part else []
            driven_m = kept[-1].driven_m if kept else 0
            here = problem.depot_location(part.depot_id if part else DEPOT)
            loads = [setup.loads[visit.stop] for visit in planned.visits]
            route.return_at = at(planned.end)
            route.distance_m = driven_m + planned.distance
            route.cost = _route_cost(vehicle, route.distance_m)
            _load_route(route, [*kept, *loads])
            for sequence, (visit, load, remaining) in enumerate(
                zip(planned.visits, loads, _remaining_after(loads)), start=len(kept) + 1
            ):
                driven_m += distance[here][location[visit.stop]]
                here = location[visit.stop]
                stop = RouteStop(
                    route=route, sequence=sequence, pickup_point_id=load.pickup_point_id, eta=at(visit.arrival),
                    service_start_at=at(visit.service_start), departure_at=at(visit.departure), driven_m=int(driven_m),
                    weight_g=load.weight_g, volume_ml=load.volume_ml, crates=load.crates, units=load.units,
                    remaining_weight_g=remaining[0], remaining_volume_ml=remaining[1], remaining_crates=remaining[2],
                )
                new_stops.append(stop)
                new_lines.extend((stop, product_id, quantity) for product_id, quantity in load.lines.items())
        served = {int(planned.vehicle) for planned in result.routes}
        for vehicle_id, part in setup.driven.items():
            if vehicle_id not in served:  # on the road with nothing more to deliver: back to the depot
                _finish_route(part, setup, at)
        RouteStop.objects.bulk_create(new_stops)
        # A large depot's day is tens of thousands of stop lines: COPY them as plain rows.
        copy_rows(RouteStopLine, ["stop_id", "product_id", "quantity"], ((stop.pk, p, q) for stop, p, q in new_lines))
        available = list(setup.vehicles.values())
        DroppedStop.objects.bulk_create(
            DroppedStop(
                plan=plan, pickup_point_id=load.pickup_point_id, reason=_drop_reason(dropped.reason, load, available),
                weight_g=load.weight_g, volume_ml=load.volume_ml, crates=load.crates, units=load.units,
            )
            for dropped in result.dropped
            for load in [setup.loads[dropped.stop]]
        )
        _total_up(plan)
    return plan


def _finish_route(part: _DrivenPart, setup: _Setup, at) -> None:
    back = setup.problem.depot_location(part.depot_id), setup.problem.depot_location(DEPOT)
    route = part.route
    route.return_at = at(part.available_from + int(setup.matrices.duration[back]))
    route.distance_m = part.stops[-1].driven_m + int(setup.matrices.distance[back])
    route.cost = _route_cost(route.vehicle, route.distance_m)
    _load_route(route, part.stops)


def _load_route(route: Route, stops: list) -> None:
    """Save the route with what it loads at the depot: the sum over its stops (RouteStops or StopLoads)."""
    route.weight_g = sum(s.weight_g for s in stops)
    route.volume_ml = sum(s.volume_ml for s in stops)
    route.crates = sum(s.crates for s in stops)
    route.save()


def _total_up(plan: RoutePlan) -> None:
    routes = list(plan.routes.all())
    plan.cost = sum((r.cost for r in routes), Decimal(0))
    plan.distance_m = sum(r.distance_m for r in routes)
    plan.duration_s = int(sum((r.return_at - r.departure_at).total_seconds() for r in routes))
    plan.stop_count = RouteStop.objects.filter(route__plan=plan).count()
    plan.dropped_count = plan.dropped_stops.count()
    plan.save(update_fields=["cost", "distance_m", "duration_s", "stop_count", "dropped_count"])


def mark_vehicle_unavailable(
    *, vehicle_id: int, delivery_date: date, reason: str, now: datetime | None = None,
    time_limit_seconds: float | None = None, seed: int = 0,
) -> RoutePlan | None:
    """Take a vehicle out for the day (e.g. a breakdown) and re-plan its depot's day if it has a plan.

    Its stops not yet delivered go to the other vans; the stops it already confirmed stay on its route.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("say why the vehicle is unavailable"), field="reason", code="reason_required")
    vehicle = Vehicle.objects.filter(pk=vehicle_id).first()
    if vehicle is None:
        raise NotFound(_("vehicle %(vehicle_id)s does not exist") % {"vehicle_id": vehicle_id}, field="vehicle_id", code="vehicle_not_found")
    VehicleOutage.objects.update_or_create(vehicle=vehicle, delivery_date=delivery_date, defaults={"reason": reason})
    if not RoutePlan.objects.filter(depot_id=vehicle.depot_id, delivery_date=delivery_date).exists():
        return None
    return replan_depot_routes(
        depot_id=vehicle.depot_id, delivery_date=delivery_date, now=now, time_limit_seconds=time_limit_seconds, seed=seed
    )


# --- drivers' confirmations ---------------------------------------------------------------------


def _locked_stop(user, stop_id: int) -> RouteStop:
    """The stop, locked together with its plan so a re-plan and a confirmation never interleave."""
    stops = selectors.stop_for_confirmation(user, stop_id)
    RoutePlan.objects.select_for_update().filter(pk__in=stops.values("route__plan_id")).get()
    return stops.select_for_update().get()


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    return at if timezone.is_aware(at) else timezone.make_aware(at)


def confirm_arrival(*, user, stop_id: int, at: datetime | None = None) -> RouteStop:
    """The driver is at the stop. Idempotent: a repeat keeps the first time."""
    with transaction.atomic():
        stop = _locked_stop(user, stop_id)
        if stop.arrived_at is None:
            stop.arrived_at = _moment(at)
            stop.save(update_fields=["arrived_at"])
    return stop


def confirm_delivery(
    *, user, stop_id: int, at: datetime | None = None, delivered: list[tuple[int, int]] | None = None
) -> RouteStop:
    """The goods are handed over: per product what was delivered (by default everything planned).

    Idempotent: a repeat with the same quantities (or none) returns the stop as confirmed; other
    quantities than the confirmed ones are refused (409).
    """
    with transaction.atomic():
        stop = _locked_stop(user, stop_id)
        lines = {line.product_id: line for line in stop.lines.all()}
        if delivered is not None and len({product_id for product_id, _ in delivered}) != len(delivered):
            raise InvalidInput(_("each product once, please"), field="lines", code="duplicate_product")
        for product_id, quantity in delivered or []:
            if product_id not in lines:
                raise InvalidInput(
                    _("product %(product_id)s is not dropped off at this stop") % {"product_id": product_id}, field="lines",
                    code="product_not_at_stop",
                )
            if not 0 <= quantity <= lines[product_id].quantity:
                raise InvalidInput(
                    _("product %(product_id)s: between 0 and the %(planned)s planned can be delivered") % {
                        "product_id": product_id, "planned": lines[product_id].quantity},
                    field="lines", code="quantity_out_of_range",
                )
        quantities = {product_id: line.quantity for product_id, line in lines.items()} | dict(delivered or [])
        if stop.delivered_at is not None:
            if delivered is not None and any(lines[p].delivered_quantity != q for p, q in quantities.items()):
                raise Conflict(_("this stop was already confirmed with other quantities"), field="lines", code="stop_already_confirmed")
            return stop
        moment = _moment(at)
        if stop.arrived_at is not None and moment < stop.arrived_at:
            raise InvalidInput(_("the delivery cannot be before the arrival"), field="at", code="delivered_before_arrival")
        stop.arrived_at = stop.arrived_at or moment
        stop.delivered_at = moment
        stop.save(update_fields=["arrived_at", "delivered_at"])
        for product_id, line in lines.items():
            line.delivered_quantity = quantities[product_id]
        update_rows(list(lines.values()), ["delivered_quantity"])
    return stop


# --- to the warehouse ---------------------------------------------------------------------------


def send_stop_order_to_pick_lists(*, delivery_date: date) -> int:
    """Hand every route's stop order of the day to the warehouse, which rebuilds its sort lists."""
    routes = Route.objects.filter(plan__delivery_date=delivery_date).select_related("plan").order_by("plan__depot_id", "code")
    order: dict[int, list[int]] = {}
    for route_id, point_id in (
        RouteStop.objects.filter(route__in=routes).order_by("route_id", "sequence").values_list("route_id", "pickup_point_id")
    ):
        order.setdefault(route_id, []).append(point_id)
    return len(build_sort_lists(
        delivery_date=delivery_date,
        routes=[RouteStops(route.code, route.plan.depot_id, tuple(order[route.pk])) for route in routes if route.pk in order],
    ))
