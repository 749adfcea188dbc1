"""Tests of the ruin-and-recreate search on its own (no Django, no OR-Tools). Its plans' rules are
also checked end to end by test_solver.py, since every solve ends with it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from routing.ruin_recreate import compile_ahead, improve
from routing.solver import METRES_PER_KM, Depot, Problem, Stop, Vehicle
from routing.tests.test_solver import FAST, problems


def _cost(problem: Problem, routes: list[list[int]]) -> int:
    """The OR-Tools model's cost of ``routes``, recomputed here."""
    depot = {d.id: k for k, d in enumerate(problem.depots)}
    total = 0
    for vehicle, stops in zip(problem.vehicles, routes):
        if stops:
            path = [depot[vehicle.start_depot], *(problem.location(s) for s in stops), depot[vehicle.end_depot]]
            total += vehicle.cost_per_km * sum(problem.distance[a][b] for a, b in zip(path, path[1:]))
            total += vehicle.fixed_cost * METRES_PER_KM
    return total


@FAST
@given(problems(), st.integers(0, 10))
def test_it_never_serves_fewer_stops_or_costs_more_than_its_start(problem, seed):
    start = [[] for _ in problem.vehicles]
    first, first_cost, _ = improve(problem, start, 0.02, seed=seed)
    again, again_cost, _ = improve(problem, first, 0.02, seed=seed)

    for routes, cost in ((first, first_cost), (again, again_cost)):
        served = [s for route in routes for s in route]
        assert len(served) == len(set(served))
        assert cost == _cost(problem, routes)
    served_first, served_again = sum(map(len, first)), sum(map(len, again))
    assert served_again >= served_first
    assert served_again > served_first or again_cost <= first_cost


@FAST
@given(problems(ample=True), st.integers(0, 10))
def test_from_nothing_it_serves_every_stop_when_the_fleet_is_ample(problem, seed):
    routes, _, _ = improve(problem, [[] for _ in problem.vehicles], 0.02, seed=seed)

    assert sorted(s for route in routes for s in route) == list(range(len(problem.stops)))


def test_it_untangles_two_crossed_routes():
    # Stops east and west of the depot, each vehicle given one of each: the best plan sends one
    # vehicle east and the other west, and ruin and recreate finds it.
    points = [(0, 0), (10, 0), (11, 0), (-10, 0), (-11, 0)]
    distance = [[math.floor(10 * math.dist(a, b)) for b in points] for a in points]
    problem = Problem(depots=[Depot("d")], stops=[Stop(f"s{k}", (1,), 0, 10_000) for k in range(4)],
                      vehicles=[Vehicle(f"v{k}", (2,), "d", "d") for k in range(2)],
                      distance=distance, travel_time=distance)

    routes, cost, _ = improve(problem, [[0, 2], [1, 3]], 0.2)

    assert sorted(map(sorted, routes)) == [[0, 1], [2, 3]]
    assert cost == 2 * 110 + 2 * 110


def test_a_stop_no_vehicle_can_reach_in_time_stays_out():
    distance = [[0, 50, 5], [50, 0, 50], [5, 50, 0]]
    problem = Problem(depots=[Depot("d")],
                      stops=[Stop("late", (1,), 0, 40), Stop("near", (1,), 0, 100)],
                      vehicles=[Vehicle("v", (5,), "d", "d", max_duration=20)],
                      distance=distance, travel_time=distance)

    routes, cost, _ = improve(problem, [[]], 0.1)

    assert routes == [[1]]
    assert cost == 10


def test_compiling_ahead_runs_the_search():
    assert compile_ahead() > 0
