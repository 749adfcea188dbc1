"""The independent checker catches broken plans; a real benchmark instance parses and solves."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from routing.checker import check_plan
from routing.instances import read_instance
from routing.solver import solve

SOLOMON = Path("/work/shared/benchmarks/vrptw/solomon_100")
C101 = SOLOMON / "C101.100.10.vrptw"

pytestmark = pytest.mark.skipif(not C101.exists(), reason="benchmark instances not available")


@pytest.fixture(scope="module")
def c101():
    return read_instance(C101)


@pytest.fixture(scope="module")
def c101_plan(c101):
    return solve(c101.problem(), time_limit=2, workers=1)


def test_parses_the_solomon_metric(c101):
    assert (c101.name, c101.customers, c101.vehicles, c101.capacity) == ("C101", 100, 10, 200)
    # FLOOR_2D with SCALE 10: depot (40, 50) to customer 1 (45, 68) is floor(10 * 18.68...) = 186
    assert c101.distance[0][1] == 186
    assert c101.windows[0] == (0, 12360) and c101.service_time == 900


def test_solves_a_real_instance_to_a_feasible_plan(c101, c101_plan):
    check = check_plan(c101.problem(), c101_plan, max_vehicles=c101.vehicles)

    assert check.violations == []
    assert c101_plan.dropped == ()
    assert check.distance == c101_plan.distance
    assert check.distance <= 8273 * 1.05  # best known 8273


def _broken(plan, route_index, **changes):
    routes = list(plan.routes)
    routes[route_index] = dataclasses.replace(routes[route_index], **changes)
    return dataclasses.replace(plan, routes=tuple(routes))


def test_checker_catches_a_stop_served_twice(c101, c101_plan):
    first, second = c101_plan.routes[0], c101_plan.routes[1]
    plan = _broken(c101_plan, 1, visits=second.visits + first.visits[:1])

    assert any("served 2" in v for v in check_plan(c101.problem(), plan).violations)


def test_checker_catches_a_missing_stop(c101, c101_plan):
    plan = _broken(c101_plan, 0, visits=c101_plan.routes[0].visits[1:])

    assert any("served 0 and dropped 0" in v for v in check_plan(c101.problem(), plan).violations)


def test_checker_catches_a_broken_time_window(c101, c101_plan):
    route = c101_plan.routes[0]
    late = dataclasses.replace(route.visits[-1], service_start=route.visits[-1].service_start + 10_000)
    plan = _broken(c101_plan, 0, visits=route.visits[:-1] + (late,))

    assert any("after its window" in v for v in check_plan(c101.problem(), plan).violations)


def test_checker_catches_overload_and_a_too_large_fleet(c101, c101_plan):
    merged = tuple(v for route in c101_plan.routes[:2] for v in route.visits)
    plan = _broken(c101_plan, 0, visits=merged)
    plan = _broken(plan, 1, visits=())
    violations = check_plan(c101.problem(), plan, max_vehicles=c101.vehicles - 2).violations

    assert any("exceeds capacity" in v for v in violations)
    assert any("vehicles used, at most" in v for v in violations)
