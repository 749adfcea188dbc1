"""The peers (PyVRP, VROOM) get our problems as they are, their plans pass the independent checker
and cost what they say; the benchmark runs them beside our solver and reports each. Skipped where
the peers are not installed (make test does not install them; make bench-deps does)."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest
from hypothesis import given

from routing import benchmark
from routing.checker import check_plan
from routing.instances import read_instance
from routing.peers import STATUS_FEASIBLE, solve_pyvrp, solve_vroom
from routing.solver import Depot, Problem, Stop, Vehicle
from routing.tests.test_solver import FAST, problems

pytest.importorskip("pyvrp")
pytest.importorskip("vroom")

CUSTOMERS, VEHICLES = 12, 4


def _unrestricted(problem: Problem, max_duration: bool = True) -> Problem:
    """``problem`` without what the peers cannot model: stops restricted to some vehicles, and (for
    VROOM) a maximum route duration."""
    return dataclasses.replace(
        problem, stops=[dataclasses.replace(s, vehicles=None) for s in problem.stops],
        vehicles=[v if max_duration else dataclasses.replace(v, max_duration=None) for v in problem.vehicles])


@FAST
@given(problems().map(_unrestricted))
def test_pyvrp_plans_keep_every_rule_and_cost_what_pyvrp_says(problem):
    plan = solve_pyvrp(problem, time_limit=0.2, optional_stops=True)

    check = check_plan(problem, plan)
    # PyVRP returns its best plan even when it breaks a rule (it found none that did not); the
    # checker agrees with its verdict either way.
    assert check.feasible == (plan.stats.status == STATUS_FEASIBLE), check.violations
    assert math.isclose(check.cost, plan.cost)


@FAST
@given(problems().map(lambda problem: _unrestricted(problem, max_duration=False)))
def test_vroom_plans_keep_every_rule_and_cost_what_vroom_says(problem):
    plan = solve_vroom(problem, time_limit=0.2)

    check = check_plan(problem, plan)
    assert check.violations == []
    assert math.isclose(check.cost, plan.cost)


def _city() -> Problem:
    """A depot day as the service builds it: kg, litres, crates and a cold zone, windows, service
    per stop, two kinds of van with a fixed cost and a cost per km, a maximum duration, and one stop
    whose window closes before any van can reach it."""
    rng = random.Random(7)
    points = [(50, 50)] + [(rng.randint(0, 100), rng.randint(0, 100)) for _ in range(20)]
    distance = [[round(100 * math.dist(a, b)) for b in points] for a in points]
    stops = [Stop(id=f"p{k}", demand=(rng.randint(500, 3000), rng.randint(1000, 5000), 2, int(k % 3 == 0)),
                  opens=0, closes=20_000 if k else 1, service_fixed=300, service_per_crate=20, crates=2)
             for k in range(20)]
    vans = [Vehicle(id=f"v{k}", capacity=(20_000, 40_000, 30, 20 if k < 2 else 0), start_depot="d", end_depot="d",
                    shift_start=0, shift_end=30_000, max_duration=25_000, fixed_cost=20_000 if k < 2 else 15_000,
                    cost_per_km=300 if k < 2 else 250)
            for k in range(4)]
    return Problem(depots=[Depot("d", 0, 30_000)], stops=stops, vehicles=vans, distance=distance, travel_time=distance)


def test_pyvrp_plans_the_city_problem_on_every_dimension_and_drops_only_what_cannot_be_served():
    problem = _city()

    plan = solve_pyvrp(problem, time_limit=1, optional_stops=True)

    check = check_plan(problem, plan)
    assert check.violations == []
    assert [d.stop for d in plan.dropped] == ["p0"]
    assert math.isclose(check.cost, plan.cost)


def _write_instance(folder, name: str, seed: int) -> None:
    """A small instance in the LKH-3 format of the benchmark sets (FLOOR_2D, SCALE 10)."""
    rng = random.Random(seed)
    nodes = range(1, CUSTOMERS + 2)
    coordinates = "\n".join(f"{n} {rng.randint(0, 50)} {rng.randint(0, 50)}" for n in nodes)
    demands = "\n".join(f"{n} {0 if n == 1 else rng.randint(1, 10)}" for n in nodes)
    windows = "\n".join(f"{n} 0 1000" if n == 1 else f"{n} {(a := rng.randint(0, 400))} {a + rng.randint(50, 300)}"
                        for n in nodes)
    (folder / f"{name}.{CUSTOMERS}.{VEHICLES}.vrptw").write_text(
        f"NAME : {name}\nTYPE : VRPTW\nDIMENSION : {CUSTOMERS + 1}\nVEHICLES : {VEHICLES}\nCAPACITY : 40\n"
        f"SERVICE_TIME : 10\nEDGE_WEIGHT_TYPE : FLOOR_2D\nSCALE : 10\nNODE_COORD_SECTION\n{coordinates}\n"
        f"DEMAND_SECTION\n{demands}\nTIME_WINDOW_SECTION\n{windows}\nDEPOT_SECTION\n1\n-1\nEOF\n")


def test_the_benchmark_runs_each_peer_beside_our_solver_and_reports_each(tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    for name, seed in (("R101", 1), ("RC201", 2)):
        _write_instance(folder, name, seed)
    (tmp_path / "best_known.csv").write_text("set,instance,best_known\nsmall,R101,1000\n")
    out = tmp_path / "out.json"

    benchmark.main([str(folder), "--time-limit", "0.3", "--workers", "1", "--peers", "pyvrp,vroom",
                    "--json", str(out)])

    report = json.loads(out.read_text())
    assert report["solvers"] == ["ours", "pyvrp", "vroom"]
    rows = {row["instance"]: row for row in report["rows"]}
    assert {name: row["family"] for name, row in rows.items()} == {"R101": "R1", "RC201": "RC2"}
    for row in rows.values():
        instance = read_instance(next(folder.glob(f"{row['instance']}.*")))
        assert 1 <= row["rank"] <= 3
        for result in row["solvers"].values():
            assert result.keys() >= {"cost", "gap", "feasible", "vehicles_used", "seconds", "violations"}
            assert result["feasible"] and result["violations"] == []  # the checker's verdict
            assert result["vehicles_used"] <= instance.vehicles
    r101 = rows["R101"]["solvers"]["pyvrp"]
    assert r101["gap"] == pytest.approx((r101["cost"] - 1000) / 1000)
    assert rows["RC201"]["solvers"]["pyvrp"]["gap"] is None  # no best known cost
    total, families = report["summary"]["total"], report["summary"]["families"]
    assert set(families) == {"R1", "RC2"}
    assert total["pyvrp"]["instances"] == 2 and total["vroom"]["feasible"] == 2
    assert 1 <= total["our_mean_rank"] <= 3


def test_peer_plans_cost_in_the_instance_metric_like_ours(tmp_path):
    _write_instance(tmp_path, "C101", 3)
    instance = read_instance(next(tmp_path.glob("*.vrptw")))

    for solve_peer in (solve_pyvrp, solve_vroom):
        plan = solve_peer(instance.problem(), time_limit=0.3)
        check = check_plan(instance.problem(), plan, max_vehicles=instance.vehicles)
        # The peer's own objective is the instance's integer distance the checker recomputes.
        assert check.violations == [] and check.distance == plan.stats.objective
