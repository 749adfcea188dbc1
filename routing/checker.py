"""Independent check of a routing plan against its problem. Pure: no Django import.

Shares nothing with the solver but the data classes: it replays every route from the matrices
and reports each broken rule in words, and recomputes distance and cost itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from routing.solver import Plan, Problem


@dataclass(frozen=True)
class Check:
    violations: list[str]
    distance: int
    cost: float

    @property
    def feasible(self) -> bool:
        return not self.violations


def check_plan(problem: Problem, plan: Plan, max_vehicles: int | None = None) -> Check:
    """Check capacity on every dimension, stop windows, shifts and depot windows, maximum
    duration, the vehicles each stop allows, that every stop is served exactly once or reported
    dropped, and the fleet size (``max_vehicles``, default the number of vehicles in the problem)."""
    violations: list[str] = []
    stops = {s.id: (position, s) for position, s in enumerate(problem.stops)}
    vehicles = {v.id: v for v in problem.vehicles}
    depots = {d.id: i for i, d in enumerate(problem.depots)}

    served = Counter(visit.stop for route in plan.routes for visit in route.visits)
    dropped = Counter(d.stop for d in plan.dropped)
    for stop_id in stops:
        times = served[stop_id] + dropped[stop_id]
        if times != 1:
            violations.append(f"stop {stop_id} is served {served[stop_id]} and dropped {dropped[stop_id]} times")
    for stop_id in (served | dropped).keys() - stops.keys():
        violations.append(f"unknown stop {stop_id} in the plan")

    used = Counter(route.vehicle for route in plan.routes if route.visits)
    for vehicle_id, count in used.items():
        if vehicle_id not in vehicles:
            violations.append(f"unknown vehicle {vehicle_id}")
        elif count > 1:
            violations.append(f"vehicle {vehicle_id} drives {count} routes")
    limit = len(problem.vehicles) if max_vehicles is None else max_vehicles
    if sum(used.values()) > limit:
        violations.append(f"{sum(used.values())} vehicles used, at most {limit} allowed")

    total_distance, total_cost = 0, 0.0
    for route in plan.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None or not route.visits:
            continue
        distance = _check_route(problem, route, vehicle, stops, depots, violations)
        total_distance += distance
        total_cost += vehicle.fixed_cost + distance * vehicle.cost_per_km / 1000
    return Check(violations=violations, distance=total_distance, cost=total_cost)


def _check_route(problem, route, vehicle, stops, depots, violations) -> int:
    """Replay one route; append what is wrong to ``violations`` and return its distance."""
    where = f"route of {vehicle.id}"
    start_depot, end_depot = depots[vehicle.start_depot], depots[vehicle.end_depot]
    opens = max(vehicle.shift_start, problem.depots[start_depot].opens)
    closes = min(vehicle.shift_end, problem.depots[end_depot].closes)
    if route.start < opens:
        violations.append(f"{where} leaves at {route.start}, before {opens}")
    clock, here, distance = route.start, start_depot, 0
    load = [0] * len(vehicle.capacity)
    for visit in route.visits:
        if visit.stop not in stops:
            return distance
        position, stop = stops[visit.stop]
        if stop.vehicles is not None and vehicle.id not in stop.vehicles:
            violations.append(f"{where}: stop {stop.id} may only be served by {', '.join(stop.vehicles) or 'no vehicle'}")
        location = len(problem.depots) + position
        distance += problem.distance[here][location]
        earliest = clock + problem.travel_time[here][location]
        if visit.service_start < max(earliest, stop.opens):
            violations.append(f"{where}: stop {stop.id} starts at {visit.service_start}, "
                              f"before {max(earliest, stop.opens)}")
        if visit.service_start > stop.closes:
            violations.append(f"{where}: stop {stop.id} starts at {visit.service_start}, after its window "
                              f"closes at {stop.closes}")
        load = [a + b for a, b in zip(load, stop.demand)]
        if any(a > c for a, c in zip(load, vehicle.capacity)):
            violations.append(f"{where}: load {load} exceeds capacity {list(vehicle.capacity)} at stop {stop.id}")
        clock = max(earliest, stop.opens, visit.service_start) + stop.service_time
        here = location
    distance += problem.distance[here][end_depot]
    back = clock + problem.travel_time[here][end_depot]
    if back > closes:
        violations.append(f"{where} returns at {back}, after {closes}")
    if vehicle.max_duration is not None and back - route.start > vehicle.max_duration:
        violations.append(f"{where} lasts {back - route.start}, longer than {vehicle.max_duration}")
    return distance
