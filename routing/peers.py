"""Other open solvers on our routing problems, for benchmarks only. Pure: no Django import.

Each peer gets a :class:`~routing.solver.Problem` as it is (the same matrices, every capacity
dimension, windows, service times, shifts, fleet, fixed cost and cost per km, in the same integer
units) and its answer comes back as a :class:`~routing.solver.Plan`: its stops in the order it visits
them, scheduled as our solver schedules its own routes, so the independent checker judges a peer's
plan and recomputes its cost exactly as it does ours.

PyVRP (0.14, iterated local search, one thread) and VROOM (1.15) are development dependencies
(requirements-bench.txt), imported only when asked for. Neither can restrict a stop to some
vehicles, so a problem that does (a re-plan) is refused; VROOM has no maximum route duration either.
"""

from __future__ import annotations

import argparse
import importlib
import time
import warnings
from collections.abc import Callable
from datetime import timedelta

import numpy as np

# A peer's stop sequences are timed by our solver's own schedule, as our routes are.
from routing.solver import METRES_PER_KM, DroppedStop, Plan, Problem, SolverStats, Vehicle, _schedule

# What a peer says of its own plan (SolverStats.status); the checker is the judge all the same.
STATUS_FEASIBLE = "feasible"
STATUS_INFEASIBLE = "infeasible"  # PyVRP returns its best plan even when it breaks a rule
# VROOM's deepest search; it ends on its own, usually well before the time limit.
VROOM_EXPLORATION_LEVEL = 5
# Cost per km and fixed cost are in money units per km and per vehicle, distances in metres: the
# peers take integer arc costs, so every cost is counted in thousandths (as OR-Tools is in solver.py).
COST_SCALE = METRES_PER_KM


class PeerMissing(RuntimeError):
    """A peer's package is not installed."""


def _import(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise PeerMissing(f"{package} is not installed: make bench-deps (requirements-bench.txt)") from error


def _refuse_unsupported(problem: Problem, peer: str, max_duration: bool = True) -> None:
    if any(stop.vehicles is not None for stop in problem.stops):
        raise ValueError(f"{peer} cannot restrict a stop to some vehicles")
    if not max_duration and any(v.max_duration is not None for v in problem.vehicles):
        raise ValueError(f"{peer} has no maximum route duration")


def _shift(problem: Problem, vehicle: Vehicle) -> tuple[int, int]:
    """When the vehicle may leave its start depot and must be back at its end depot."""
    start = problem.depots[problem.depot_location(vehicle.start_depot)]
    end = problem.depots[problem.depot_location(vehicle.end_depot)]
    return max(vehicle.shift_start, start.opens), min(vehicle.shift_end, end.closes)


def _plan(problem: Problem, routes: dict[int, list[int]], peer: str, objective: int, feasible: bool,
          seconds: float, threads: int, iterations: int = 0) -> Plan:
    """The plan of ``routes`` (stop positions by vehicle index); stops on no route are dropped.
    Its cost is the one the peer reports, in our units: the checker recomputes it independently."""
    scheduled = tuple(_schedule(problem, problem.vehicles[k], stops) for k, stops in sorted(routes.items()) if stops)
    served = {position for stops in routes.values() for position in stops}
    dropped = tuple(DroppedStop(stop.id, f"not served by {peer}")
                    for position, stop in enumerate(problem.stops) if position not in served)
    return Plan(routes=scheduled, dropped=dropped, cost=objective / COST_SCALE,
                distance=sum(r.distance for r in scheduled), duration=sum(r.duration for r in scheduled),
                stats=SolverStats(first_solution_strategy=peer, objective=objective, seconds=round(seconds, 3),
                                  workers=threads, status=STATUS_FEASIBLE if feasible else STATUS_INFEASIBLE,
                                  iterations=iterations))


def _vehicle_groups(problem: Problem) -> list[list[int]]:
    """Vehicle indices grouped by everything but their id: one vehicle type each for the peer."""
    groups: dict[tuple, list[int]] = {}
    for k, v in enumerate(problem.vehicles):
        key = (v.capacity, v.start_depot, v.end_depot, v.shift_start, v.shift_end, v.max_duration, v.fixed_cost,
               v.cost_per_km)
        groups.setdefault(key, []).append(k)
    return list(groups.values())


def _prize(problem: Problem) -> int:
    """What PyVRP gains by serving a stop: twice the most serving it can add to a plan (a vehicle of
    its own, or a detour of at most two of the longest arcs), so it serves every stop it can. Not our
    solver's drop penalty, which dwarfs PyVRP's penalties for broken rules: PyVRP then keeps stops
    on routes that break windows and loads rather than leave them out."""
    longest = max(max(row) for row in problem.distance)
    return 2 * max(v.fixed_cost * COST_SCALE + 2 * longest * v.cost_per_km for v in problem.vehicles) + 1


def _penalty_params(pyvrp, problem: Problem):
    """PyVRP's penalty bounds suit costs of one unit per unit of distance (Solomon); ours cost
    ``cost_per_km`` per metre, so the bounds scale with it or PyVRP settles on plans that break rules."""
    scale = max(v.cost_per_km for v in problem.vehicles)
    defaults = pyvrp.PenaltyParams()
    penalty = pyvrp.PenaltyParams(min_penalty=defaults.min_penalty * scale, max_penalty=defaults.max_penalty * scale)
    return pyvrp.SolveParams(penalty=penalty)


def solve_pyvrp(problem: Problem, time_limit: float, seed: int = 0, threads: int = 1,
                optional_stops: bool = False) -> Plan:
    """PyVRP for ``time_limit`` seconds (it runs one thread whatever ``threads`` says). Every stop
    must be served, unless ``optional_stops``: then PyVRP may leave out the stops it cannot serve
    (see _prize), as our solver does; without, its best plan may break rules to serve them all."""
    _refuse_unsupported(problem, "PyVRP")
    pyvrp = _import("pyvrp", "pyvrp")
    stop_criteria = _import("pyvrp.stop", "pyvrp")

    n_depots = len(problem.depots)
    prize = _prize(problem) if optional_stops else 0
    # Coordinates only draw plots in PyVRP; the matrices are all it searches on.
    locations = [pyvrp.Location(0, 0) for _ in range(n_depots + len(problem.stops))]
    depots = [pyvrp.Depot(k, tw_early=d.opens, tw_late=d.closes) for k, d in enumerate(problem.depots)]
    clients = [pyvrp.Client(problem.location(i), delivery=list(s.demand), service_duration=s.service_time,
                            tw_early=s.opens, tw_late=s.closes, required=not optional_stops,
                            prize=prize)
               for i, s in enumerate(problem.stops)]
    groups = _vehicle_groups(problem)
    vehicle_types = []
    for group in groups:
        v = problem.vehicles[group[0]]
        opens, closes = _shift(problem, v)
        vehicle_types.append(pyvrp.VehicleType(
            len(group), capacity=list(v.capacity), start_depot=problem.depot_location(v.start_depot),
            end_depot=problem.depot_location(v.end_depot), fixed_cost=v.fixed_cost * COST_SCALE,
            tw_early=opens, tw_late=closes, unit_distance_cost=v.cost_per_km,
            **({} if v.max_duration is None else {"shift_duration": v.max_duration})))
    data = pyvrp.ProblemData(locations, clients, depots, vehicle_types,
                             [np.asarray(problem.distance, dtype=np.int64)],
                             [np.asarray(problem.travel_time, dtype=np.int64)])
    started = time.monotonic()
    with warnings.catch_warnings():  # its penalty bound warnings say nothing about the plan
        warnings.simplefilter("ignore")
        result = pyvrp.solve(data, stop_criteria.MaxRuntime(time_limit), seed=seed, display=False,
                             params=_penalty_params(pyvrp, problem))
    seconds = time.monotonic() - started
    unused = [list(group) for group in groups]
    routes: dict[int, list[int]] = {}
    for route in result.best.routes():
        # A client activity's idx is its place in the clients, which are our stops in order.
        routes[unused[route.vehicle_type()].pop(0)] = [a.idx for a in route if a.is_client()]
    best = result.best
    return _plan(problem, routes, "pyvrp", int(best.distance_cost() + best.fixed_vehicle_cost()), best.is_feasible(),
                 seconds, 1, result.num_iterations)


def solve_vroom(problem: Problem, time_limit: float, seed: int = 0, threads: int = 1,
                optional_stops: bool = True) -> Plan:
    """VROOM at exploration level 5 on ``threads`` threads, stopped at ``time_limit`` seconds if it
    has not finished. It is deterministic (``seed`` is unused), and always leaves out the stops it
    cannot fit (``optional_stops`` is for the signature all peers share)."""
    _refuse_unsupported(problem, "VROOM", max_duration=False)
    vroom = _import("vroom", "pyvroom")

    problem_input = vroom.Input()
    # One routing profile per cost per km: VROOM has one cost matrix per profile.
    for rate in {v.cost_per_km for v in problem.vehicles}:
        problem_input.set_durations_matrix(f"rate{rate}", np.asarray(problem.travel_time, dtype=np.int64))
        problem_input.set_costs_matrix(f"rate{rate}", np.asarray(problem.distance, dtype=np.int64) * rate)
    for k, v in enumerate(problem.vehicles):
        opens, closes = _shift(problem, v)
        problem_input.add_vehicle(vroom.Vehicle(
            k, start=problem.depot_location(v.start_depot), end=problem.depot_location(v.end_depot),
            profile=f"rate{v.cost_per_km}", capacity=list(v.capacity), time_window=vroom.TimeWindow(opens, closes),
            costs=vroom.VehicleCosts(fixed=v.fixed_cost * COST_SCALE)))
    for i, s in enumerate(problem.stops):
        problem_input.add_job(vroom.Job(i, location=problem.location(i), delivery=list(s.demand),
                                        default_service=s.service_time,
                                        time_windows=[vroom.TimeWindow(s.opens, s.closes)]))
    started = time.monotonic()
    solution = problem_input.solve(exploration_level=VROOM_EXPLORATION_LEVEL, nb_threads=threads,
                                   timeout=timedelta(seconds=time_limit))
    seconds = time.monotonic() - started
    jobs = solution.routes[solution.routes["type"] == "job"]
    routes = {int(k): [int(i) for i in steps["id"]] for k, steps in jobs.groupby("vehicle_id", sort=True)}
    return _plan(problem, routes, "vroom", int(solution.summary.cost), True, seconds, threads)


PEERS: dict[str, Callable[..., Plan]] = {"pyvrp": solve_pyvrp, "vroom": solve_vroom}


def peer_names(text: str) -> list[str]:
    """The peers named in a comma-separated command-line value."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = set(names) - PEERS.keys()
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peer {', '.join(sorted(unknown))}; known: {', '.join(PEERS)}")
    return names
