"""Reads of routing: what each stop carries, plans and routes, a driver's day, totals and notices."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import F, Prefetch, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import Depot, StorageTemperature
from core.formatting import day, person_name
from core.errors import NotFound
from core.models import Role
from core.selectors import roles_of
from grouporders.models import GroupLeader
from grouporders.phones import mask_phone
from warehouse.models import Allocation
# Crates are counted exactly as the sort lists count them (per temperature zone); see the report of
# the routing change: warehouse should expose this as a public function.
from warehouse.services import crates_needed

from .models import DroppedStop, Route, RoutePlan, RouteStop, RouteStopLine, Vehicle


@dataclass
class StopLoad:
    """What one pickup point receives on a day: the sum of its allocations."""

    pickup_point_id: int
    weight_g: int = 0
    volume_ml: int = 0
    crates: int = 0
    units: int = 0
    cold_zones: set[str] = field(default_factory=set)  # chilled / frozen goods on board
    lines: dict[int, int] = field(default_factory=dict)  # product id -> quantity


def stop_loads(depot_id: int, delivery_date: date) -> dict[int, StopLoad]:
    """Per pickup point of the depot, what was allocated to it for the day (kg, litres, crates, products)."""
    rows = (
        Allocation.objects.filter(delivery_date=delivery_date, pickup_point__depot_id=depot_id)
        .values("pickup_point_id", "product_id", "product__storage_temperature")
        .annotate(
            units=Sum("quantity"),
            volume=Sum(F("quantity") * F("product__volume_ml")),
            weight=Sum(F("quantity") * F("product__weight_g")),
        )
        .order_by("pickup_point_id", "product_id")
    )
    loads: dict[int, StopLoad] = {}
    zones: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])  # (point, zone) -> [volume, weight]
    for row in rows:
        point, zone = row["pickup_point_id"], row["product__storage_temperature"]
        load = loads.setdefault(point, StopLoad(point))
        load.weight_g += row["weight"]
        load.volume_ml += row["volume"]
        load.units += row["units"]
        load.lines[row["product_id"]] = row["units"]
        if zone != StorageTemperature.AMBIENT:
            load.cold_zones.add(zone)
        zones[point, zone][0] += row["volume"]
        zones[point, zone][1] += row["weight"]
    for (point, _), (volume, weight) in zones.items():
        loads[point].crates += crates_needed(volume, weight)
    return loads


def depot(depot_id: int) -> Depot:
    found = Depot.objects.filter(pk=depot_id).first()
    if found is None:
        raise NotFound(_("depot %(depot_id)s does not exist") % {"depot_id": depot_id}, field="depot_id", code="depot_not_found")
    return found


def vehicles(depot_id: int | None = None) -> QuerySet[Vehicle]:
    qs = Vehicle.objects.select_related("depot", "driver__user")
    return qs.filter(depot_id=depot_id) if depot_id is not None else qs


def plans(*, delivery_date: date | None = None, depot_id: int | None = None) -> QuerySet[RoutePlan]:
    qs = RoutePlan.objects.select_related("depot")
    if delivery_date is not None:
        qs = qs.filter(delivery_date=delivery_date)
    return qs.filter(depot_id=depot_id) if depot_id is not None else qs


def _routes_with_stops() -> QuerySet[Route]:
    stops = RouteStop.objects.select_related("pickup_point").prefetch_related(
        Prefetch("lines", queryset=RouteStopLine.objects.select_related("product"))
    )
    return Route.objects.select_related("vehicle", "driver__user", "plan__depot").prefetch_related(Prefetch("stops", queryset=stops))


def plan(plan_id: int) -> RoutePlan:
    found = (
        RoutePlan.objects.select_related("depot")
        .prefetch_related(Prefetch("routes", queryset=_routes_with_stops()), "dropped_stops__pickup_point")
        .filter(pk=plan_id)
        .first()
    )
    if found is None:
        raise NotFound(_("route plan %(plan_id)s does not exist") % {"plan_id": plan_id}, field="plan_id", code="route_plan_not_found")
    return found


def dropped_stops(plan_id: int) -> QuerySet[DroppedStop]:
    if not RoutePlan.objects.filter(pk=plan_id).exists():
        raise NotFound(_("route plan %(plan_id)s does not exist") % {"plan_id": plan_id}, field="plan_id", code="route_plan_not_found")
    return DroppedStop.objects.filter(plan_id=plan_id).select_related("pickup_point")


def _is_staff(user) -> bool:
    return bool(roles_of(user) & {Role.OPERATOR.value, Role.WAREHOUSE.value})


def routes_visible_to(user) -> QuerySet[Route]:
    """Operators and warehouse staff see every route; a driver only their own."""
    qs = _routes_with_stops()
    return qs if _is_staff(user) else qs.filter(driver__user=user)


def route(user, route_id: int) -> Route:
    found = routes_visible_to(user).filter(pk=route_id).first()
    if found is None:
        raise NotFound(_("route %(route_id)s does not exist") % {"route_id": route_id}, field="route_id", code="route_not_found")
    return _with_leader_names(found)


def driver_route(user, delivery_date: date) -> Route:
    found = _routes_with_stops().filter(driver__user=user, plan__delivery_date=delivery_date).first()
    if found is None:
        raise NotFound(_("you have no route on %(delivery_date)s") % {"delivery_date": delivery_date}, field="delivery_date", code="no_route")
    return _with_leader_names(found)


def _with_leader_names(found: Route) -> Route:
    """Who the driver hands the goods to at each stop."""
    stops = found.stops.all()
    leaders = leaders_of([stop.pickup_point_id for stop in stops])
    for stop in stops:
        stop.leader_name = ", ".join(leader.name for leader in leaders[stop.pickup_point_id])
        stop.leader_phone = ", ".join(leader.phone_masked for leader in leaders[stop.pickup_point_id] if leader.phone_masked)
    return found


def stop(user, stop_id: int) -> RouteStop:
    """A stop with its point and lines, as the user may see it."""
    found = (
        RouteStop.objects.select_related("pickup_point").prefetch_related("lines__product")
        .filter(pk=stop_id, route__in=routes_visible_to(user)).first()
    )
    if found is None:
        raise NotFound(_("stop %(stop_id)s does not exist") % {"stop_id": stop_id}, field="stop_id", code="stop_not_found")
    return found


def stop_for_confirmation(user, stop_id: int) -> QuerySet[RouteStop]:
    """The stop as a queryset (for locking), if the user may confirm it: its route's driver or an operator."""
    qs = RouteStop.objects.filter(pk=stop_id)
    if Role.OPERATOR.value not in roles_of(user):
        qs = qs.filter(route__driver__user=user)
    if not qs.exists():
        raise NotFound(_("stop %(stop_id)s does not exist") % {"stop_id": stop_id}, field="stop_id", code="stop_not_found")
    return qs


@dataclass(frozen=True)
class Leader:
    user_id: int
    name: str
    phone_masked: str


def leaders_of(pickup_point_ids) -> dict[int, list[Leader]]:
    """The leaders of each pickup point, by name, with their masked phone."""
    leaders: dict[int, list[Leader]] = defaultdict(list)
    rows = (
        GroupLeader.pickup_points.through.objects.filter(pickuppoint_id__in=pickup_point_ids)
        .order_by("pickuppoint_id", "groupleader_id")
        .values_list("pickuppoint_id", "groupleader__user_id", "groupleader__user__username",
                     "groupleader__user__first_name", "groupleader__user__last_name", "groupleader__phone")
    )
    for point_id, user_id, username, first, last, phone in rows:
        leaders[point_id].append(Leader(user_id, person_name(first, last, username), mask_phone(phone) if phone else ""))
    return leaders


def delivered_quantities(delivery_date: date, pickup_point_id: int) -> dict[int, int]:
    """Per product, what drivers confirmed handing over at the pickup point on the day (for the pickup side)."""
    rows = (
        RouteStopLine.objects.filter(
            stop__route__plan__delivery_date=delivery_date, stop__pickup_point_id=pickup_point_id,
            stop__delivered_at__isnull=False,
        )
        .values("product_id")
        .annotate(quantity=Sum("delivered_quantity"))
        .values_list("product_id", "quantity")
    )
    return dict(rows)


def day_totals(delivery_date: date) -> dict:
    """Counts of the day's plans for the pipeline's record."""
    plans_of_day = RoutePlan.objects.filter(delivery_date=delivery_date)
    totals = plans_of_day.aggregate(stops=Sum("stop_count"), dropped=Sum("dropped_count"), distance_m=Sum("distance_m"))
    return {
        "plans": plans_of_day.count(),
        "routes": Route.objects.filter(plan__delivery_date=delivery_date).count(),
        "stops": totals["stops"] or 0,
        "dropped_stops": totals["dropped"] or 0,
        "distance_km": round((totals["distance_m"] or 0) / 1000, 1),
        # Searching is most of planning; the rest (loads, matrices, storing) is what scales with the day.
        "solver_seconds": round(sum(stats.get("seconds", 0) for stats in plans_of_day.values_list("solver_stats", flat=True)), 3),
    }


def day_notices(delivery_date: date) -> list[tuple[int, str, str]]:
    """(user id, subject, body): one notice per driver with a route, one per leader of each stop."""
    notices = []
    stops = (
        RouteStop.objects.filter(route__plan__delivery_date=delivery_date)
        .select_related("route__driver", "pickup_point")
        .order_by("route_id", "sequence")
    )
    by_route: dict[Route, list[RouteStop]] = defaultdict(list)
    for stop in stops:
        by_route[stop.route].append(stop)
    leaders = leaders_of({s.pickup_point_id for s in stops})
    for route_, route_stops in by_route.items():
        if route_.driver is not None:
            notices.append((
                route_.driver.user_id,
                _("Your route %(route)s on %(day)s") % {"route": route_.code, "day": day(delivery_date)},
                ngettext(
                    "%(stops)s stop, leave the depot at %(time)s.", "%(stops)s stops, leave the depot at %(time)s.",
                    len(route_stops),
                ) % {"stops": len(route_stops), "time": _clock(route_.departure_at)},
            ))
        for stop in route_stops:
            for leader in leaders[stop.pickup_point_id]:
                notices.append((
                    leader.user_id,
                    _("Delivery to %(point)s on %(day)s") % {"point": stop.pickup_point.name, "day": day(delivery_date)},
                    _("Expected at %(time)s on route %(route)s: %(crates)s crate(s), %(units)s units.") % {
                        "time": _clock(stop.eta), "route": route_.code, "crates": stop.crates, "units": stop.units},
                ))
    return notices


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def stop_of_point(delivery_date: date, pickup_point_id: int) -> RouteStop | None:
    """The point's stop on the day's route, if one is planned (a point is on one depot's plan once a day)."""
    return (
        RouteStop.objects.select_related("route__driver__user")
        .prefetch_related("lines")
        .filter(route__plan__delivery_date=delivery_date, pickup_point_id=pickup_point_id)
        .first()
    )
