"""Property tests of the routing solver on small random instances (no Django)."""

from __future__ import annotations

import dataclasses
import math
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.checker import check_plan
from routing.solver import REASON_CAPACITY, REASON_NO_VEHICLE, SEARCH_STRATEGIES, Depot, Problem, Stop, Vehicle, solve

DIMENSIONS = 2  # kg and crates: enough to exercise several capacity dimensions
DAY = 10_000


@st.composite
def problems(draw, ample: bool = False):
    """Two depots, up to 8 stops, up to 3 vehicles; with ``ample`` the fleet and windows are so
    generous that every stop can be served."""
    n_depots, n_stops = 2, draw(st.integers(1, 8))
    points = draw(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)),
                           min_size=n_depots + n_stops, max_size=n_depots + n_stops))
    distance = [[math.floor(math.dist(a, b)) for b in points] for a in points]
    stops = []
    for k in range(n_stops):
        demand = tuple(draw(st.integers(0, 5 if ample else 40)) for _ in range(DIMENSIONS))
        if ample:
            opens, closes = 0, DAY
        else:
            opens = draw(st.integers(0, DAY // 2))
            closes = opens + draw(st.integers(0, DAY // 4))
        stops.append(Stop(id=f"s{k}", demand=demand, opens=opens, closes=closes,
                          service_fixed=draw(st.integers(0, 20)), service_per_crate=draw(st.integers(0, 5)),
                          crates=demand[1]))
    depots = [Depot(id=f"d{k}", opens=0, closes=DAY) for k in range(n_depots)]
    vehicles = []
    for k in range(n_stops if ample else draw(st.integers(1, 3))):
        start = draw(st.integers(0, n_depots - 1))
        end = start if ample else draw(st.integers(0, n_depots - 1))
        vehicles.append(Vehicle(
            id=f"v{k}", capacity=(100, 100) if ample else tuple(draw(st.integers(10, 80)) for _ in range(DIMENSIONS)),
            start_depot=f"d{start}", end_depot=f"d{end}",
            shift_start=0 if ample else draw(st.integers(0, DAY // 4)), shift_end=DAY,
            max_duration=None if ample else draw(st.none() | st.integers(200, DAY)),
            fixed_cost=draw(st.integers(0, 100)), cost_per_km=draw(st.integers(1, 3))))
    if not ample:  # some stops only some vehicles may serve (goods already on a van), possibly none
        ids = [v.id for v in vehicles]
        stops = [dataclasses.replace(stop, vehicles=draw(st.none() | st.lists(st.sampled_from(ids), unique=True).map(tuple)))
                 for stop in stops]
    return Problem(depots=depots, stops=stops, vehicles=vehicles, distance=distance, travel_time=distance)


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(problems())
def test_every_plan_keeps_every_rule(problem):
    plan = solve(problem, time_limit=0.2, workers=1)

    check = check_plan(problem, plan)
    assert check.violations == []
    assert check.distance == plan.distance
    assert math.isclose(check.cost, plan.cost)
    # Every stop is on exactly one route or dropped with a reason (the checker counts; the reason:)
    assert all(dropped.reason for dropped in plan.dropped)
    vehicles = {v.id: v for v in problem.vehicles}
    stops = {s.id: s for s in problem.stops}
    for route in plan.routes:
        vehicle = vehicles[route.vehicle]
        assert all(all(load <= cap for load, cap in zip(visit.load, vehicle.capacity)) for visit in route.visits)
        assert all(stops[v.stop].opens <= v.service_start <= stops[v.stop].closes for v in route.visits)
        assert vehicle.shift_start <= route.start and route.end <= vehicle.shift_end
        assert vehicle.max_duration is None or route.duration <= vehicle.max_duration


@FAST
@given(problems(ample=True))
def test_nothing_is_dropped_with_ample_fleet_and_wide_windows(problem):
    plan = solve(problem, time_limit=0.2, workers=1)

    assert plan.dropped == ()
    assert check_plan(problem, plan).violations == []


def test_a_stop_too_heavy_for_every_vehicle_is_dropped_with_the_reason():
    distance = [[0, 5, 5], [5, 0, 5], [5, 5, 0]]
    problem = Problem(
        depots=[Depot("d")],
        stops=[Stop("light", (5,), 0, 100), Stop("heavy", (50,), 0, 100)],
        vehicles=[Vehicle("v", (10,), "d", "d")],
        distance=distance, travel_time=distance)

    plan = solve(problem, time_limit=0.2, workers=1)

    assert [visit.stop for route in plan.routes for visit in route.visits] == ["light"]
    assert [(d.stop, d.reason) for d in plan.dropped] == [("heavy", REASON_CAPACITY)]


def test_a_stop_goes_only_to_the_vehicles_it_allows_and_is_dropped_when_none_is_left():
    # Depot d at 0, stop "near" next to it; "far" is closer to v-far's depot. "near" may only go on
    # v-far, which must then take it even though v-near is right there; "nobody" allows no vehicle.
    distance = [[0, 90, 1, 100, 1], [90, 0, 89, 10, 89], [1, 89, 0, 99, 1], [100, 10, 99, 0, 99], [1, 89, 1, 99, 0]]
    problem = Problem(
        depots=[Depot("d"), Depot("e")],
        stops=[Stop("near", (1,), 0, 1000, vehicles=("v-far",)), Stop("far", (1,), 0, 1000),
               Stop("nobody", (1,), 0, 1000, vehicles=())],
        vehicles=[Vehicle("v-near", (10,), "d", "d"), Vehicle("v-far", (10,), "e", "e")],
        distance=distance, travel_time=distance)

    plan = solve(problem, time_limit=0.2, workers=1)

    served_by = {visit.stop: route.vehicle for route in plan.routes for visit in route.visits}
    assert served_by == {"near": "v-far", "far": "v-far"}
    assert [(d.stop, d.reason) for d in plan.dropped] == [("nobody", REASON_NO_VEHICLE)]
    assert check_plan(problem, plan).violations == []
    moved = dataclasses.replace(plan, routes=tuple(dataclasses.replace(r, vehicle="v-near") for r in plan.routes))
    assert any("may only be served by v-far" in v for v in check_plan(problem, moved).violations)


def test_a_time_limit_too_short_for_any_solution_still_returns_a_plan():
    # Found by fuzzing the re-plan API: OR-Tools aborted the process reading an unbound solution.
    points = [(x, y) for x in range(0, 50, 10) for y in range(0, 50, 10)]
    distance = [[math.floor(10 * math.dist(a, b)) for b in points] for a in points]
    problem = Problem(
        depots=[Depot("d")],
        stops=[Stop(f"s{k}", (1,), 0, 10_000) for k in range(1, len(points))],
        vehicles=[Vehicle(f"v{k}", (5,), "d", "d") for k in range(6)],
        distance=distance, travel_time=distance)

    plan = solve(problem, time_limit=1e-4, workers=1)

    served = [visit.stop for route in plan.routes for visit in route.visits]
    assert sorted(served + [d.stop for d in plan.dropped]) == sorted(stop.id for stop in problem.stops)
    assert check_plan(problem, plan).violations == []


def test_two_worker_processes_find_the_same_plan_as_one():
    points = [(0, 0), (10, 0), (20, 0), (0, 10), (0, 20)]
    distance = [[math.floor(10 * math.dist(a, b)) for b in points] for a in points]
    problem = Problem(
        depots=[Depot("d")],
        stops=[Stop(f"s{k}", (1,), 0, 1000) for k in range(1, len(points))],
        vehicles=[Vehicle(f"v{k}", (2,), "d", "d") for k in range(3)],
        distance=distance, travel_time=distance)

    one, two = solve(problem, time_limit=0.3, workers=1), solve(problem, time_limit=0.3, workers=2)

    assert two.stats.workers == 2
    assert one.dropped == two.dropped == ()
    assert one.distance == two.distance == 800  # out and back along each axis


@FAST
@given(problems(), st.data())
def test_the_checker_catches_any_served_stop_taken_off_its_route(problem, data):
    plan = solve(problem, time_limit=0.2, workers=1)
    served = [(r, v) for r, route in enumerate(plan.routes) for v in range(len(route.visits))]
    if not served:
        return
    r, v = data.draw(st.sampled_from(served))
    routes = list(plan.routes)
    routes[r] = dataclasses.replace(routes[r], visits=routes[r].visits[:v] + routes[r].visits[v + 1:])

    violations = check_plan(problem, dataclasses.replace(plan, routes=tuple(routes))).violations

    assert f"stop {plan.routes[r].visits[v].stop} is served 0 and dropped 0 times" in violations


def test_a_fleet_that_is_exactly_full_serves_every_stop():
    """Six stops of one crate each, three vehicles of two crates, and windows that pair the stops
    up: every vehicle must be filled exactly, which first-solution heuristics rarely get right."""
    points = [(0, 0), (10, 0), (11, 0), (0, 10), (0, 11), (-10, 0), (-11, 0)]
    distance = [[math.floor(10 * math.dist(a, b)) for b in points] for a in points]
    windows = [(0, 400), (0, 400), (300, 700), (300, 700), (600, 1000), (600, 1000)]
    problem = Problem(
        depots=[Depot("d", 0, 2000)],
        stops=[Stop(f"s{k}", (1,), opens, closes, service_fixed=10) for k, (opens, closes) in enumerate(windows)],
        vehicles=[Vehicle(f"v{k}", (2,), "d", "d", 0, 2000) for k in range(3)],
        distance=distance, travel_time=distance)

    plan = solve(problem, time_limit=0.5, workers=1)

    assert plan.dropped == ()
    assert check_plan(problem, plan).violations == []
    assert len(plan.routes) == 3
    assert 0 <= plan.stats.fleet_phase_seconds <= 0.5


def test_the_seed_chooses_the_search_strategy():
    distance = [[0, 5], [5, 0]]
    problem = Problem(depots=[Depot("d")], stops=[Stop("s", (1,), 0, 100)],
                      vehicles=[Vehicle("v", (1,), "d", "d")], distance=distance, travel_time=distance)

    strategies = [solve(problem, time_limit=0.1, seed=seed, workers=1).stats.first_solution_strategy
                  for seed in range(len(SEARCH_STRATEGIES))]

    assert strategies == [strategy.first_solution for strategy in SEARCH_STRATEGIES]


def _random_city(stops: int, seed: int) -> Problem:
    """``stops`` stops scattered around one depot with morning windows of random width and a
    fleet that is short of shifts, so the search has real choices to make."""
    rng = random.Random(seed)
    points = [(50, 50)] + [(rng.randint(0, 100), rng.randint(0, 100)) for _ in range(stops)]
    distance = [[math.floor(10 * math.dist(a, b)) for b in points] for a in points]
    windows = [(opens, opens + rng.choice((300, 3000))) for opens in (rng.randint(0, 3000) for _ in range(stops))]
    return Problem(
        depots=[Depot("d", 0, 8000)],
        stops=[Stop(f"s{k}", (rng.randint(1, 10),), opens, closes, service_fixed=50)
               for k, (opens, closes) in enumerate(windows)],
        vehicles=[Vehicle(f"v{k}", (60,), "d", "d", max_duration=4000 + 500 * k, fixed_cost=k) for k in range(6)],
        distance=distance, travel_time=distance)


def test_an_iteration_budget_repeats_the_same_plan_whatever_the_workers():
    problem = _random_city(40, seed=3)

    plans = [solve(problem, time_limit=0.01, seed=7, workers=workers, max_iterations=3000) for workers in (1, 1, 2, 2)]

    assert check_plan(problem, plans[0]).violations == []
    assert plans[0].stats.iterations == 3000
    assert all(plan.routes == plans[0].routes and plan.dropped == plans[0].dropped for plan in plans)
    assert solve(problem, seed=8, workers=1, max_iterations=3000).routes != plans[0].routes


def _with_fleet(problem: Problem, vehicles: int, extra: list[Stop] = ()) -> Problem:
    """``problem`` with wide windows, ``vehicles`` roomy vans and ``extra`` stops at the depot."""
    stops = [dataclasses.replace(stop, closes=8000) for stop in problem.stops] + list(extra)
    n = len(problem.distance)
    distance = [row + [row[0]] * len(extra) for row in problem.distance] + [problem.distance[0] + [0] * len(extra)] * len(extra)
    assert len(distance) == n + len(extra)
    return dataclasses.replace(
        problem, stops=stops, distance=distance, travel_time=distance,
        vehicles=[Vehicle(f"v{k}", (60,), "d", "d") for k in range(vehicles)])


def test_a_stop_no_vehicle_can_carry_does_not_keep_the_fleet_phase_going():
    problem = _with_fleet(_random_city(30, seed=5), 8, [Stop("heavy", (500,), 0, 8000)])

    plan = solve(problem, time_limit=4, workers=1)

    assert [(d.stop, d.reason) for d in plan.dropped] == [("heavy", REASON_CAPACITY)]
    # It ends once every stop a van can carry is in, not after its share of the time (1 s) trying for "heavy".
    assert plan.stats.fleet_phase_seconds < 0.5


def test_on_a_budget_a_large_model_keeps_its_first_solution_and_still_repeats_its_plan():
    problem = _with_fleet(_random_city(100, seed=4), 160)  # 420 nodes: above FLEET_SEARCH_MAX_NODES

    plans = [solve(problem, seed=3, workers=workers, max_iterations=300) for workers in (1, 2)]

    assert plans[0].routes == plans[1].routes and plans[0].dropped == plans[1].dropped == ()
    assert check_plan(problem, plans[0]).violations == []
