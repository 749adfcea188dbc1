"""Ruin and recreate: the solver's distance phase. Pure: no Django import.

Slack induction by string removals (Christiaens & Vanden Berghe, Transportation Science 54(2),
2020) under simulated annealing. Each iteration removes a few strings of consecutive stops from
routes that lie close together (the ruin), puts every stop that is out back at its cheapest
feasible position, in a random order of four kinds, skipping each position with a small
probability (the recreate), and keeps the result by the annealing rule. Removing strings of
neighbouring stops from several routes at once leaves room (slack) that the recreate can use to
rebuild that part of the plan differently, which is what guided local search's single moves
cannot do on tight time windows (Homberger R1/RC1).

It works on the same problem and cost as the OR-Tools model (cost per km times distance, fixed
cost per vehicle used) with every constraint checked exactly: each capacity dimension, stop
windows, the vehicle's start and end window, its maximum duration (leaving the depot as late as
the stops allow), and which vehicles may serve a stop. A plan with fewer stops out always wins;
among plans with as many out, cost decides.

The iterations run compiled (numba) in chunks; Python between chunks keeps the wall-clock limit
and lowers the temperature with the time spent (or, on an iteration budget, with the iterations
done).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import njit

# The compiled loop below embeds these moves; numba's cache notices changes to this file only, so
# after editing local_search.py remove routing/__pycache__/ruin_recreate.*.nb[ic].
from routing.local_search import NO_LIMIT, descend, refresh

if TYPE_CHECKING:
    from routing.solver import Problem

# SISR's parameters: about this many stops removed per iteration on average, strings at most this
# long, and the probability that the recreate skips a position (blinks).
AVERAGE_REMOVED = 10
LONGEST_STRING = 10
BLINK_RATE = 0.01
# Half the strings are split strings; the block they keep grows by one stop while a draw exceeds
# the depth, up to the route's length.
SPLIT_RATE = 0.5
SPLIT_DEPTH = 0.01
# Neighbours listed per stop for the ruin: enough to reach the few routes it ruins.
NEIGHBOURS = 100
# Local search (routing.local_search) inside the loop, on each new best plan (improve's
# ``granularity``: the neighbours a stop tries moves with), is off by default: at granularity 20 and
# 20 s on nine Homberger-200 instances, one run each, it cut the gap on R2_2_1 (6.8 -> 2.3 %) and
# RC2_2_1 (2.3 -> 1.1 %) but raised it on R2_2_6 (3.2 -> 6.0 %) and R1_2_3 (0.6 -> 1.6 %), and
# RC2_2_6 ended with a stop out, so it is an option to measure (benchmark --local-search N).
# The best plan found gets one descent of the local search at the end, over this many neighbours:
# at 5,000 iterations on twelve Homberger-200 instances it lowered R2_2_1's gap from 5.46 to 5.05 %
# and R1_2_1's from 3.95 to 3.76 %, and left the clustered ones (already at 0-0.1 %) as they were.
POLISH_GRANULARITY = 20
# Annealing temperature, as a share of the start plan's mean arc cost, at the start (the solver's
# search strategies set their own): the rule accepts a plan costing up to about the temperature
# more than the current one. It falls geometrically to this share of itself at the end. 1.5, not
# the earlier 0.3: on nine Homberger-200 instances (one of each family and more of the wide-window
# ones), 200,000 iterations, the two default searches' best plan fell from 3.74 to 1.72 % mean gap.
TEMPERATURE_START = 1.5
TEMPERATURE_FALL = 0.01
# Chunks of compiled iterations take about this long, so the time limit is kept closely.
CHUNK_SECONDS = 0.1
# On an iteration budget the temperature is lowered this many times, once per chunk.
BUDGET_CHUNKS = 200


class _Instance(NamedTuple):
    distance: np.ndarray  # [location, location]
    travel_time: np.ndarray  # [location, location]
    location: np.ndarray  # [stop]
    demand: np.ndarray  # [stop, dimension]
    opens: np.ndarray  # [stop]
    closes: np.ndarray
    service: np.ndarray
    start: np.ndarray  # [vehicle] location
    end: np.ndarray
    earliest_start: np.ndarray  # [vehicle]
    latest_start: np.ndarray
    latest_end: np.ndarray
    max_duration: np.ndarray
    rate: np.ndarray
    fixed: np.ndarray
    capacity: np.ndarray  # [vehicle, dimension]
    allowed: np.ndarray  # [stop, vehicle] bool
    neighbours: np.ndarray  # [stop, k] other stops, nearest first
    size: np.ndarray  # [stop] float: demand as a share of the largest capacity, summed over dimensions
    remoteness: np.ndarray  # [stop] float: distance from the nearest depot
    symmetric: bool  # whether every distance is the same both ways


class _State(NamedTuple):
    """A plan: route[v, :length[v]] are vehicle v's stops in order; ``vehicle[s]`` is the vehicle
    serving stop s, or -1 when it is out. begin/latest: earliest and latest service start at each
    position that keeps the route within windows; load and cost per vehicle; load and distance
    accumulated up to each position (cumload, reach)."""

    route: np.ndarray
    length: np.ndarray
    vehicle: np.ndarray
    load: np.ndarray
    begin: np.ndarray
    latest: np.ndarray
    cost: np.ndarray
    cumload: np.ndarray  # [vehicle, position, dimension]
    reach: np.ndarray  # [vehicle, position]
    path: np.ndarray  # [vehicle, position + 1]: start depot, stops, end depot
    touched: np.ndarray  # [vehicle] bool: changed in this iteration


class Improvement(NamedTuple):
    routes: list[list[int]]  # stop positions per vehicle, in visit order
    cost: int  # in the OR-Tools model's units
    iterations: int


def improve(problem: Problem, routes: list[list[int]], seconds: float, seed: int = 0,
            iterations: int | None = None, granularity: int = 0, polish: int = POLISH_GRANULARITY,
            temperature: float = TEMPERATURE_START) -> Improvement:
    """The best plan found from ``routes`` (stop positions per vehicle) within ``seconds``, or in
    exactly ``iterations`` iterations when given (then the clock plays no part and the result
    depends on the seed alone), then polished by the local search over ``polish`` neighbours (0:
    not). ``temperature``: the annealing's start temperature, as a share of the mean arc cost.
    Stops left out of ``routes`` are put in where they fit."""
    instance = _instance(problem)
    current = _state(instance, routes)
    candidate, best = _copy(current), _copy(current)
    _seed(seed)
    scores = np.array(_score(current) * 2, dtype=np.float64)  # current: stops out, cost; then best's
    mean_arc = _mean_arc_cost(instance, current)
    absences = np.zeros(len(problem.stops), dtype=np.int64)
    started, chunk, done = time.monotonic(), 50 if iterations is None else max(1, iterations // BUDGET_CHUNKS), 0

    def used() -> float:
        """The share of the budget used."""
        if iterations is None:
            return (time.monotonic() - started) / seconds if seconds > 0 else 1.0
        return done / iterations if iterations > 0 else 1.0

    while (progress := used()) < 1.0:
        temperature_now = mean_arc * temperature * TEMPERATURE_FALL ** progress
        if iterations is not None:
            chunk = min(chunk, iterations - done)
        chunk_started = time.monotonic()
        _iterate(instance, current, candidate, best, scores, absences, chunk, temperature_now,
                 AVERAGE_REMOVED, LONGEST_STRING, SPLIT_RATE, SPLIT_DEPTH, BLINK_RATE, granularity)
        done += chunk
        if iterations is None:
            spent = time.monotonic() - chunk_started
            chunk = max(1, min(chunk * 4, int(chunk * CHUNK_SECONDS / max(spent, 1e-6))))
    if polish:
        # The descent only ever lowers a plan's cost and keeps every rule: the plan returned is at
        # least the best found, and long routes lose what string removal could not undo.
        best.touched[:] = True
        descend(instance, best, polish)
    return Improvement([best.route[v, :best.length[v]].tolist() for v in range(len(problem.vehicles))],
                       int(best.cost.sum()), done)


def _mean_arc_cost(instance: _Instance, plan: _State) -> float:
    """What an arc of ``plan`` costs on average, fixed costs aside: the temperature's scale. A plan
    with no routes yet takes the mean arc of the matrix at the mean rate."""
    used = plan.length > 0
    arcs = int(plan.length.sum() + used.sum())
    if arcs == 0:
        return float(instance.distance.mean() * instance.rate.mean()) or 1.0
    return float(plan.cost.sum() - instance.fixed[used].sum()) / arcs or 1.0


def compile_ahead() -> int:
    """Compile every compiled function (or load it from numba's cache, beside this file) by
    improving a two-stop plan, so that the first real plan spends its time limit searching; a cold
    compile takes several seconds. The Docker image runs it at build time. Returns the iterations."""
    from routing.solver import Depot, Problem, Stop, Vehicle

    distance = [[0, 5, 5], [5, 0, 5], [5, 5, 0]]
    problem = Problem(depots=[Depot("depot")], stops=[Stop("a", (1,), 0, 100), Stop("b", (1,), 0, 100)],
                      vehicles=[Vehicle("van", (2,), "depot", "depot", max_duration=100)],
                      distance=distance, travel_time=distance)
    return improve(problem, [[0]], 0.01).iterations


def _instance(problem: Problem) -> _Instance:
    from routing.solver import METRES_PER_KM  # the OR-Tools model's unit for fixed costs (solver imports us)

    n_depots = len(problem.depots)
    stops, vehicles = problem.stops, problem.vehicles
    distance = np.asarray(problem.distance, dtype=np.int64)
    depot_index = {d.id: i for i, d in enumerate(problem.depots)}
    start = np.array([depot_index[v.start_depot] for v in vehicles], dtype=np.int64)
    end = np.array([depot_index[v.end_depot] for v in vehicles], dtype=np.int64)
    earliest_start = np.array([max(v.shift_start, problem.depots[s].opens) for v, s in zip(vehicles, start)], np.int64)
    latest_start = np.array([min(v.shift_end, problem.depots[s].closes) for v, s in zip(vehicles, start)], np.int64)
    latest_end = np.array([min(v.shift_end, problem.depots[e].closes) for v, e in zip(vehicles, end)], np.int64)
    capacity = np.array([v.capacity for v in vehicles], dtype=np.int64).reshape(len(vehicles), -1)
    demand = np.array([s.demand for s in stops], dtype=np.int64).reshape(len(stops), capacity.shape[1])
    vehicle_index = {v.id: k for k, v in enumerate(vehicles)}
    allowed = np.ones((len(stops), len(vehicles)), dtype=np.bool_)
    for position, stop in enumerate(stops):
        if stop.vehicles is not None:
            allowed[position] = False
            allowed[position, [vehicle_index[v] for v in stop.vehicles if v in vehicle_index]] = True
    allowed[:, (earliest_start > latest_start) | (earliest_start > latest_end)] = False  # unusable shifts
    location = np.arange(len(stops), dtype=np.int64) + n_depots
    between = distance[np.ix_(location, location)]
    between = between + between.T
    np.fill_diagonal(between, np.iinfo(np.int64).max)
    k = min(NEIGHBOURS, len(stops) - 1)
    neighbours = np.argsort(between, axis=1, kind="stable")[:, :k].astype(np.int64)
    largest = np.maximum(capacity.max(axis=0), 1)
    return _Instance(
        distance=distance, travel_time=np.asarray(problem.travel_time, dtype=np.int64), location=location,
        demand=demand,
        opens=np.array([s.opens for s in stops], dtype=np.int64),
        closes=np.array([s.closes for s in stops], dtype=np.int64),
        service=np.array([s.service_time for s in stops], dtype=np.int64),
        start=start, end=end, earliest_start=earliest_start, latest_start=latest_start, latest_end=latest_end,
        max_duration=np.array([NO_LIMIT if v.max_duration is None else v.max_duration for v in vehicles], np.int64),
        rate=np.array([v.cost_per_km for v in vehicles], dtype=np.int64),
        fixed=np.array([v.fixed_cost * METRES_PER_KM for v in vehicles], dtype=np.int64),
        capacity=capacity, allowed=allowed, neighbours=neighbours,
        size=(demand / largest).sum(axis=1).astype(np.float64),
        remoteness=distance[:n_depots][:, location].min(axis=0).astype(np.float64),
        symmetric=bool((distance == distance.T).all()),
    )


def _state(instance: _Instance, routes: list[list[int]]) -> _State:
    n_vehicles, n_stops = len(instance.start), len(instance.location)
    state = _State(
        route=np.zeros((n_vehicles, max(n_stops, 1)), dtype=np.int64),
        length=np.zeros(n_vehicles, dtype=np.int64),
        vehicle=np.full(n_stops, -1, dtype=np.int64),
        load=np.zeros_like(instance.capacity),
        begin=np.zeros((n_vehicles, max(n_stops, 1)), dtype=np.int64),
        latest=np.zeros((n_vehicles, max(n_stops, 1)), dtype=np.int64),
        cost=np.zeros(n_vehicles, dtype=np.int64),
        touched=np.zeros(n_vehicles, dtype=np.bool_),
        cumload=np.zeros((n_vehicles, max(n_stops, 1), instance.capacity.shape[1]), dtype=np.int64),
        reach=np.zeros((n_vehicles, max(n_stops, 1)), dtype=np.int64),
        path=np.zeros((n_vehicles, max(n_stops, 1) + 2), dtype=np.int64),
    )
    for v, stops in enumerate(routes):
        state.route[v, :len(stops)] = stops
        state.length[v] = len(stops)
        state.vehicle[stops] = v
        refresh(instance, state, v)
    return state


def _copy(state: _State) -> _State:
    return _State(*(array.copy() for array in state))


def _score(state: _State) -> tuple[int, int]:
    return int((state.vehicle < 0).sum()), int(state.cost.sum())


@njit(cache=True)
def _seed(seed):
    np.random.seed(seed)


@njit(cache=True)
def _duration_fits(instance, state, v, position, stop):
    """Whether route v with ``stop`` inserted at ``position`` keeps within the vehicle's maximum
    duration, leaving the depot as late as waiting and the stops' windows allow."""
    i_ = instance
    clock, here, waited = i_.earliest_start[v], i_.start[v], 0
    delay = i_.latest_start[v] - i_.earliest_start[v]
    n = state.length[v]
    for i in range(n + 1):
        if i == position:
            s = stop
        else:
            s = state.route[v, i if i < position else i - 1]
        there = i_.location[s]
        arrival = clock + i_.travel_time[here, there]
        begin = max(arrival, i_.opens[s])
        waited += begin - arrival
        delay = min(delay, waited + i_.closes[s] - begin)
        clock, here = begin + i_.service[s], there
    end = clock + i_.travel_time[here, i_.end[v]]
    delay = max(0, min(delay, waited))
    return end - (i_.earliest_start[v] + delay) <= i_.max_duration[v]


@njit(cache=True)
def _cheapest_insertion(instance, state, stop, blink):
    """(vehicle, position, added cost) of the cheapest feasible insertion of ``stop``, skipping
    each cheaper candidate with probability ``blink``; vehicle -1 when it fits nowhere."""
    i_ = instance
    best_v, best_p, best_delta = -1, -1, NO_LIMIT
    here_stop = i_.location[stop]
    for v in range(len(i_.start)):
        if not i_.allowed[stop, v]:
            continue
        fits = True
        for k in range(i_.capacity.shape[1]):
            if state.load[v, k] + i_.demand[stop, k] > i_.capacity[v, k]:
                fits = False
        if not fits:
            continue
        n = state.length[v]
        fixed = i_.fixed[v] if n == 0 else 0
        before, departure = i_.start[v], i_.earliest_start[v]
        for p in range(n + 1):
            if p < n:
                following = state.route[v, p]
                after, after_opens, after_latest = i_.location[following], i_.opens[following], state.latest[v, p]
            else:
                after, after_opens, after_latest = i_.end[v], 0, i_.latest_end[v]
            delta = i_.rate[v] * (i_.distance[before, here_stop] + i_.distance[here_stop, after]
                                  - i_.distance[before, after]) + fixed
            if delta < best_delta and (blink == 0.0 or np.random.random() >= blink):
                begin = max(departure + i_.travel_time[before, here_stop], i_.opens[stop])
                if begin <= i_.closes[stop]:
                    next_begin = max(begin + i_.service[stop] + i_.travel_time[here_stop, after], after_opens)
                    if next_begin <= after_latest and (
                            i_.max_duration[v] >= NO_LIMIT or _duration_fits(i_, state, v, p, stop)):
                        best_v, best_p, best_delta = v, p, delta
            if p < n:
                s = state.route[v, p]
                before, departure = i_.location[s], state.begin[v, p] + i_.service[s]
    return best_v, best_p, best_delta


@njit(cache=True)
def _insert(instance, state, v, position, stop):
    n = state.length[v]
    state.route[v, position + 1:n + 1] = state.route[v, position:n].copy()
    state.route[v, position] = stop
    state.length[v] = n + 1
    state.vehicle[stop] = v
    state.touched[v] = True
    refresh(instance, state, v)


@njit(cache=True)
def _ruin(instance, state, average_removed, longest_string, split_rate, split_depth):
    """Remove strings of consecutive stops from routes near a random served stop (SISR)."""
    i_ = instance
    n_stops = len(i_.location)
    used = 0
    for v in range(len(i_.start)):
        if state.length[v] > 0:
            used += 1
    if used == 0:
        return
    served = n_stops - np.sum(state.vehicle < 0)
    string_max = min(float(longest_string), served / used)
    strings_max = 4.0 * average_removed / (1.0 + string_max) - 1.0
    strings = int(np.random.random() * strings_max) + 1
    seed = np.random.randint(n_stops)
    while state.vehicle[seed] < 0:
        seed = np.random.randint(n_stops)
    ruined = 0
    for j in range(-1, i_.neighbours.shape[1]):
        if ruined >= strings:
            break
        stop = seed if j < 0 else i_.neighbours[seed, j]
        v = state.vehicle[stop]
        if v < 0 or state.touched[v]:
            continue
        n = state.length[v]
        length = min(int(np.random.random() * min(float(n), string_max)) + 1, n)
        # A split string (half the time, when the route is longer): a longer string around the stop
        # that keeps a block of ``kept`` stops in its middle, so the gaps it leaves are spread out.
        kept = 0
        if length < n and np.random.random() < split_rate:
            kept = 1
            while length + kept < n and np.random.random() > split_depth:
                kept += 1
        span = length + kept
        position = 0
        while state.route[v, position] != stop:
            position += 1
        lowest, highest = max(0, position - span + 1), min(position, n - span)
        first = lowest + np.random.randint(highest - lowest + 1)
        keep_from = first + np.random.randint(length + 1)
        write = first
        for i in range(first, n):
            if i < first + span and not keep_from <= i < keep_from + kept:
                state.vehicle[state.route[v, i]] = -1
            else:
                state.route[v, write] = state.route[v, i]
                write += 1
        state.length[v] = write
        state.touched[v] = True
        refresh(i_, state, v)
        ruined += 1


@njit(cache=True)
def _recreate(instance, state, blink):
    """Put every stop that is out back at its cheapest position, in one of SISR's orders: random,
    largest demand first, farthest from the depot first, nearest first (weights 4, 4, 2, 1)."""
    out = np.nonzero(state.vehicle < 0)[0]
    if len(out) == 0:
        return
    kind = np.random.random() * 11.0
    if kind < 4.0:
        np.random.shuffle(out)
    elif kind < 8.0:
        out = out[np.argsort(-instance.size[out])]
    elif kind < 10.0:
        out = out[np.argsort(-instance.remoteness[out])]
    else:
        out = out[np.argsort(instance.remoteness[out])]
    for stop in out:
        v, position, _ = _cheapest_insertion(instance, state, stop, blink)
        if v >= 0:
            _insert(instance, state, v, position, stop)


@njit(cache=True)
def _copy_routes(source, target, every):
    """Copy the touched routes (or all) and the stop-to-vehicle map from source to target."""
    for v in range(len(source.length)):
        if every or source.touched[v]:
            n = source.length[v]
            target.route[v, :n] = source.route[v, :n]
            target.begin[v, :n] = source.begin[v, :n]
            target.latest[v, :n] = source.latest[v, :n]
            target.cumload[v, :n] = source.cumload[v, :n]
            target.reach[v, :n] = source.reach[v, :n]
            target.path[v, :n + 2] = source.path[v, :n + 2]
            target.load[v, :] = source.load[v, :]
            target.length[v] = n
            target.cost[v] = source.cost[v]
    target.vehicle[:] = source.vehicle[:]


@njit(cache=True)
def _absence(state, absences):
    total = 0
    for s in range(len(state.vehicle)):
        if state.vehicle[s] < 0:
            total += absences[s]
    return total


@njit(cache=True)
def _iterate(instance, current, candidate, best, scores, absences, iterations, temperature,
             average_removed, longest_string, split_rate, split_depth, blink, granularity):
    """``iterations`` rounds of ruin, recreate, local search on the routes they changed (with
    ``granularity`` neighbours per stop on each new best plan; none when 0) and the acceptance rule. ``scores`` holds the
    current plan's stops out and cost, then the best plan's; candidate equals current on entry
    and on return. ``absences`` counts, per stop, the iterations it spent out.

    A plan with fewer stops out is accepted, one with more is not. With as many out, one whose
    stops out have been out less often is accepted (SISR's fleet minimisation: the stops that keep
    failing go in, pushing easier ones out); with the same stops out, the annealing rule on cost
    decides."""
    for _ in range(iterations):
        candidate.touched[:] = False
        _ruin(instance, candidate, average_removed, longest_string, split_rate, split_depth)
        _recreate(instance, candidate, blink)
        out = np.sum(candidate.vehicle < 0)
        cost = np.sum(candidate.cost)
        if out < scores[0]:
            accept = True
        elif out > scores[0]:
            accept = False
        else:
            absent = _absence(candidate, absences) if out else 0
            absent_now = _absence(current, absences) if out else 0
            accept = absent < absent_now or (
                absent == absent_now and cost < scores[1] - temperature * math.log(1.0 - np.random.random()))
        if accept and granularity and out == 0 and (out < scores[2] or (out == scores[2] and cost < scores[3])):
            descend(instance, candidate, granularity)  # a new best plan: worth the descent
            cost = np.sum(candidate.cost)
        if accept:
            _copy_routes(candidate, current, False)
            scores[0], scores[1] = out, cost
            if out < scores[2] or (out == scores[2] and cost < scores[3]):
                _copy_routes(candidate, best, True)
                scores[2], scores[3] = out, cost
        else:
            current.touched[:] = candidate.touched[:]
            _copy_routes(current, candidate, False)
        for s in range(len(current.vehicle)):
            if current.vehicle[s] < 0:
                absences[s] += 1
