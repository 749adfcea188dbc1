"""Vehicle routing for one delivery day. Pure: no Django import.

The problem is a CVRPTW with several capacity dimensions (kg, litres, crates, ...), stop time
windows, service time per stop (fixed + per crate), vehicle shifts with a maximum duration, a
fixed cost per vehicle used, a cost per km and several depots. It is solved with the Google
OR-Tools RoutingModel.

Locations: the distance and time matrices are indexed by location, the depots first and then
the stops, in the order they are given in :class:`Problem`. Distances are metres, times seconds
(any integer units work as long as windows, service times and the time matrix agree).

Every stop is optional with a drop penalty larger than the cost of any plan, so the solver always
returns a plan, serves as many stops as it can, and reports each dropped stop with a reason.

Search: each worker process (one per CPU core by default) runs its own strategy (first-solution
heuristic and guided-local-search penalty weight, and its own random seed) in two phases. The
fleet phase gets every stop onto the fleet with OR-Tools, in rounds: the first costs distance
only, the later ones route duration too, so that schedules stay compact and leave room for the
stops still out; when a round stalls, the stops it leaves out weigh one more drop penalty in the
next (so the search trades them for easier ones instead of stalling). It ends as soon as every stop
is in. The distance phase is ruin and recreate (routing.ruin_recreate) from the fullest plan found:
it keeps putting in any stop still out and minimises the cost. Guided local search makes one move at
a time and stalls 5-20 % above the best-known costs on tight windows (Homberger R1/RC1); removing
strings of neighbouring stops from several routes and reinserting them rebuilds whole parts of the
plan. The plan with the fewest dropped stops, then the lowest cost, wins. Modelling choices that
matter for quality: costs, times and demands are native matrices and vectors in OR-Tools (no Python
callbacks in its search loop), the ruin-and-recreate iterations are compiled, waiting and (after the
fleet phase's first round) route span cost nothing, and dropping a stop costs more than any route.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing import ruin_recreate

FirstSolution = routing_enums_pb2.FirstSolutionStrategy.Value
Metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.Value


@dataclass(frozen=True)
class SearchStrategy:
    """How one worker searches: the first-solution heuristic, the weight guided local search
    gives its arc penalties (OR-Tools' ``guided_local_search_lambda_coefficient``) and ruin and
    recreate's start temperature (a share of the mean arc cost, see ruin_recreate)."""

    first_solution: str
    penalty_weight: float
    temperature: float = ruin_recreate.TEMPERATURE_START


# One strategy per worker, in this order (rotated by the seed); each worker also seeds ruin and
# recreate differently. Workers must differ to be worth running: searches from different starts
# end in different local optima, and which one is best varies from instance to instance. Local
# cheapest insertion serves the most stops on a tight fleet; savings builds long compact routes,
# which suits wide windows (Solomon R2/RC2), and a heavier penalty weight makes the fleet phase's
# guided local search leave them more freely. The second search also anneals hotter: at 200,000
# iterations on nine Homberger-200 instances the two searches' best plan had a mean gap of 1.72 %
# with both at 1.5, 1.54 % with the second at 0.75 and 1.48 % at 3.0 (wide windows: R2 1.02 %,
# RC2 1.88 % against 1.22 and 2.53 % at 0.75; clustered C1/C2 a little worse). The third and fourth
# searches' temperatures are not measured apart from that, and differ for diversity.
SEARCH_STRATEGIES = (
    SearchStrategy("LOCAL_CHEAPEST_INSERTION", 0.1),
    SearchStrategy("SAVINGS", 0.2, temperature=3.0),
    SearchStrategy("PARALLEL_CHEAPEST_INSERTION", 0.1, temperature=0.75),
    SearchStrategy("PATH_CHEAPEST_ARC", 0.2),
)

# Fleet phase: while stops are left out, route duration costs this much per time unit on top of
# distance. Compact schedules leave room in the shifts for the stops still out; distance alone
# lets guided local search stall with a few stops dropped on tight fleets (Solomon RC1,
# Homberger R2). The phase ends as soon as every stop is in, or after this share of the time.
FLEET_PHASE_DURATION_COST = 5
# Except in its first round: the first solution and the search up to the first stall cost distance
# only, so an instance whose stops all go in during that round reaches the distance phase with
# routes shaped for distance. A start built for compact schedules cost the distance phase dearly
# (Homberger, one worker, 60 s, single runs: R1_2_5 18.7 % -> 12.4 % gap,
# RC1_2_5 32.0 % -> 25.2 %, RC2_2_5 from 2 stops dropped to all served at 3.9 %).
FLEET_PHASE_SHARE = 0.25
# It runs in rounds: a round ends when no stop has gone in for this many seconds per stop (0.5 s
# for 100 stops), and every stop it leaves out weighs one more drop penalty in the next. With equal
# penalties the search stalls with the same few stops out (trading one out for one in is level);
# with the weights the hard stops go in and push easier ones out, which fit elsewhere. Rounds of a
# fixed length served more stops on the hardest instances but cut searches that were still
# progressing (Homberger RC1_2_9 lost a stop).
FLEET_STALL_SECONDS_PER_STOP = 0.005
# On an iteration budget the fleet phase counts OR-Tools solutions instead of seconds (guided local
# search finds 100-200 a second on 200 stops): a round stalls after this many solutions per stop
# without a stop going in, and the phase ends after this many per stop in all.
FLEET_STALL_SOLUTIONS_PER_STOP = 0.5
FLEET_SOLUTIONS_PER_STOP = 5
# But a count of solutions does not bound the time: each is a scan of neighbourhoods that grow with
# the square of the model's nodes (a stop each, a start and an end per vehicle), and as the vans
# fill guided local search scans many times between solutions. A simulated depot of 300 stops and
# 131 vans full to 98 % of their weight (562 nodes) found its first hundreds of solutions at 20-50 a
# second, then slowed to seconds per solution: one search ran over 10 minutes, whatever the count. So
# on an iteration budget a model above this many nodes keeps its first solution only and ruin and
# recreate puts in the stops still out: on the ten such depots it served every stop a van can carry
# in about 3 s each, at costs within 0.5 % of those after the guided search. Homberger's 200 stops
# with 50 vehicles (300 nodes) keep the guided search.
FLEET_SEARCH_MAX_NODES = 400
# Searches an iteration-budget run makes, whatever the number of workers, so its plan depends on
# the seed and the budget alone.
BUDGET_SEARCHES = 2

# A worker's status: whether OR-Tools found a first solution (without one, ruin and recreate
# starts from empty routes).
STATUS_SOLVED = "solved"
STATUS_NO_FIRST_SOLUTION = "no first solution"

# Reasons reported for dropped stops.
REASON_CAPACITY = "demand exceeds the capacity of every vehicle"
REASON_TIME_WINDOW = "time window cannot be reached by any vehicle within its shift"
REASON_FLEET = "not enough vehicle capacity or shift time left in the fleet"
REASON_NO_VEHICLE = "no vehicle that may serve it is available"

METRES_PER_KM = 1000


@dataclass(frozen=True)
class Depot:
    id: str
    opens: int = 0
    closes: int = 24 * 3600


@dataclass(frozen=True)
class Stop:
    id: str
    demand: tuple[int, ...]
    opens: int
    closes: int
    service_fixed: int = 0
    service_per_crate: int = 0
    crates: int = 0
    # The vehicles that may serve it, by id; None: any. A van already on the road carries the goods
    # of its own stops, so a re-plan keeps those stops on it and gives it no others.
    vehicles: tuple[str, ...] | None = None

    @property
    def service_time(self) -> int:
        return self.service_fixed + self.service_per_crate * self.crates


@dataclass(frozen=True)
class Vehicle:
    id: str
    capacity: tuple[int, ...]
    start_depot: str
    end_depot: str
    shift_start: int = 0
    shift_end: int = 24 * 3600
    max_duration: int | None = None
    fixed_cost: int = 0
    cost_per_km: int = 1


@dataclass(frozen=True)
class Problem:
    depots: Sequence[Depot]
    stops: Sequence[Stop]
    vehicles: Sequence[Vehicle]
    distance: Sequence[Sequence[int]]
    travel_time: Sequence[Sequence[int]]

    def location(self, stop_position: int) -> int:
        """Matrix index of the stop at ``stop_position`` in :attr:`stops`."""
        return len(self.depots) + stop_position

    def depot_location(self, depot_id: str) -> int:
        return next(i for i, depot in enumerate(self.depots) if depot.id == depot_id)


@dataclass(frozen=True)
class Visit:
    stop: str
    arrival: int
    service_start: int
    departure: int
    load: tuple[int, ...]  # cumulative load delivered so far on the route, per capacity dimension


@dataclass(frozen=True)
class Route:
    vehicle: str
    start: int  # departure from the start depot
    end: int  # arrival at the end depot
    visits: tuple[Visit, ...]
    distance: int

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class DroppedStop:
    stop: str
    reason: str


@dataclass(frozen=True)
class SolverStats:
    first_solution_strategy: str
    objective: int
    seconds: float
    workers: int
    status: str
    fleet_phase_seconds: float = 0.0  # spent getting every stop in before minimising distance
    iterations: int = 0  # of ruin and recreate


@dataclass(frozen=True)
class Plan:
    routes: tuple[Route, ...]
    dropped: tuple[DroppedStop, ...]
    cost: float
    distance: int
    duration: int
    stats: SolverStats = field(compare=False)


def solve(problem: Problem, time_limit: float = 10.0, seed: int = 0, workers: int | None = None,
          max_iterations: int | None = None, local_search: int = 0) -> Plan:
    """Plan routes for ``problem`` within about ``time_limit`` seconds, or, given ``max_iterations``,
    on an iteration budget instead.

    ``seed`` rotates the list of search strategies the workers use and seeds each worker's ruin
    and recreate. With a time limit the amount of search depends on the machine and its load, so
    runs repeat only up to that. With ``max_iterations`` the time limit is ignored and the plan
    depends on the problem, the seed and the budget alone: the fleet phase counts OR-Tools
    solutions instead of seconds, ruin and recreate runs exactly ``max_iterations`` iterations per
    search, and the same BUDGET_SEARCHES searches run whatever the number of workers (which then
    only decides how many run at once); ties go to the first search.
    ``local_search``: the granularity of the local search on each new best plan (see
    ruin_recreate's note on it); 0, the default, leaves it out.
    ``workers`` defaults to the number of CPU cores; it is capped by the number of strategies, and
    with one worker everything runs in this process.
    """
    started = time.monotonic()
    workers = min(workers or os.cpu_count() or 1, len(SEARCH_STRATEGIES))
    first = seed % len(SEARCH_STRATEGIES)
    searches = workers if max_iterations is None else BUDGET_SEARCHES
    strategies = (SEARCH_STRATEGIES[first:] + SEARCH_STRATEGIES[:first])[:searches]
    budgets = [_Budget(time_limit, max_iterations)] * searches
    seeds = [seed * len(SEARCH_STRATEGIES) + k for k in range(searches)]
    if not problem.stops or not problem.vehicles:
        outcomes = [_Outcome(routes=[], objective=0, strategy="none", status="trivial", fleet_phase_seconds=0.0,
                             iterations=0)]
    elif workers == 1:
        outcomes = list(map(_search, [problem] * searches, strategies, budgets, seeds, [local_search] * searches))
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, searches)) as pool:
            outcomes = list(pool.map(_search, [problem] * searches, strategies, budgets, seeds,
                                     [local_search] * searches))
    best = min(outcomes, key=lambda o: (_dropped_count(problem, o.routes), o.objective))  # the first of equals
    return _plan(problem, best, time.monotonic() - started, workers)


@dataclass(frozen=True)
class _Budget:
    """How much one search may do: ``seconds`` of wall clock, or, when ``iterations`` is set, that
    many ruin-and-recreate iterations after a fleet phase bounded by counts of OR-Tools solutions
    (FLEET_SOLUTIONS_PER_STOP; the first solution only on large models, FLEET_SEARCH_MAX_NODES), so
    that the search does not depend on the clock."""

    seconds: float
    iterations: int | None = None


@dataclass(frozen=True)
class _Outcome:
    """What a worker sends back: stop positions per vehicle, in visit order."""

    routes: list[list[int]]
    objective: int
    strategy: str
    status: str
    fleet_phase_seconds: float
    iterations: int


def _dropped_count(problem: Problem, routes: list[list[int]]) -> int:
    return len(problem.stops) - _served(routes)


class _Model:
    """The OR-Tools model of a problem; built in each worker (models cannot cross processes).
    ``drop_weights``: how many drop penalties leaving out each stop costs (default one each)."""

    def __init__(self, problem: Problem, duration_cost: int = 0, drop_weights: Sequence[int] | None = None):
        self.problem = problem
        n_depots = len(problem.depots)
        depot_index = {d.id: i for i, d in enumerate(problem.depots)}
        starts = [depot_index[v.start_depot] for v in problem.vehicles]
        ends = [depot_index[v.end_depot] for v in problem.vehicles]
        self.manager = pywrapcp.RoutingIndexManager(len(problem.depots) + len(problem.stops),
                                                    len(problem.vehicles), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        manager, routing = self.manager, self.routing
        # Costs, times and demands go in as matrices and vectors, not Python callbacks: OR-Tools
        # then evaluates them natively, which makes local search an order of magnitude faster.
        for rate in {v.cost_per_km for v in problem.vehicles}:
            arc_cost = routing.RegisterTransitMatrix([[d * rate for d in row] for row in problem.distance])
            for vehicle, v in enumerate(problem.vehicles):
                if v.cost_per_km == rate:
                    routing.SetArcCostEvaluatorOfVehicle(arc_cost, vehicle)
        for vehicle, v in enumerate(problem.vehicles):
            routing.SetFixedCostOfVehicle(v.fixed_cost * METRES_PER_KM, vehicle)

        service = [0] * n_depots + [s.service_time for s in problem.stops]
        transit_time = routing.RegisterTransitMatrix(
            [[service[i] + t for t in row] for i, row in enumerate(problem.travel_time)])
        horizon = max([v.shift_end for v in problem.vehicles] + [d.closes for d in problem.depots])
        # Waiting is free (slack up to the horizon) and the span costs nothing outside the fleet
        # phase: only distance and vehicles count, so local search is not distracted by schedule
        # compactness.
        routing.AddDimension(transit_time, horizon, horizon, False, "time")
        self.time = routing.GetDimensionOrDie("time")
        self.time.SetSpanCostCoefficientForAllVehicles(duration_cost)
        for position, stop in enumerate(problem.stops):
            self.time.CumulVar(manager.NodeToIndex(problem.location(position))).SetRange(stop.opens, stop.closes)
        for vehicle, v in enumerate(problem.vehicles):
            start_depot, end_depot = problem.depots[starts[vehicle]], problem.depots[ends[vehicle]]
            self.time.CumulVar(routing.Start(vehicle)).SetRange(
                max(v.shift_start, start_depot.opens), min(v.shift_end, start_depot.closes))
            self.time.CumulVar(routing.End(vehicle)).SetRange(
                max(v.shift_start, end_depot.opens), min(v.shift_end, end_depot.closes))
            if v.max_duration is not None:
                self.time.SetSpanUpperBoundForVehicle(v.max_duration, vehicle)

        for dimension in range(len(problem.vehicles[0].capacity)):
            demand = routing.RegisterUnaryTransitVector([0] * n_depots + [s.demand[dimension] for s in problem.stops])
            routing.AddDimensionWithVehicleCapacity(
                demand, 0, [v.capacity[dimension] for v in problem.vehicles], True, f"capacity{dimension}")

        # A depot no vehicle starts or ends at would otherwise be a node to visit.
        for location in set(range(n_depots)) - set(starts) - set(ends):
            routing.ActiveVar(manager.NodeToIndex(location)).SetValue(0)

        penalty = _drop_penalty(problem)
        drop_weights = drop_weights or [1] * len(problem.stops)
        vehicle_index = {v.id: k for k, v in enumerate(problem.vehicles)}
        for position, stop in enumerate(problem.stops):
            index = manager.NodeToIndex(problem.location(position))
            routing.AddDisjunction([index], penalty * drop_weights[position])
            if not _carriable(problem, stop):  # out for good: no move need try it
                routing.ActiveVar(index).SetValue(0)
            if stop.vehicles is not None:  # -1: the stop left out
                routing.VehicleVar(index).SetValues([-1, *(vehicle_index[v] for v in stop.vehicles if v in vehicle_index)])

    def routes(self, assignment=None) -> list[list[int]]:
        """Stop positions per vehicle in ``assignment``, or in the solution being reported to an
        at-solution callback when there is none."""
        n_depots = len(self.problem.depots)

        def successor(index: int) -> int:
            variable = self.routing.NextVar(index)
            return variable.Value() if assignment is None else assignment.Value(variable)

        routes = []
        for vehicle in range(len(self.problem.vehicles)):
            index, route = successor(self.routing.Start(vehicle)), []
            while not self.routing.IsEnd(index):
                route.append(self.manager.IndexToNode(index) - n_depots)
                index = successor(index)
            routes.append(route)
        return routes

    def assignment(self, routes: list[list[int]]):
        """The OR-Tools assignment of ``routes`` (stop positions per vehicle) in this model."""
        n_depots = len(self.problem.depots)
        return self.routing.ReadAssignmentFromRoutes(
            [[self.manager.NodeToIndex(n_depots + i) for i in route] for route in routes], True)


def _drop_penalty(problem: Problem) -> int:
    """A penalty above the cost of any plan, so serving one more stop always pays off."""
    longest_arc = max(max(row) for row in problem.distance)
    highest_rate = max(v.cost_per_km for v in problem.vehicles)
    all_fixed = sum(v.fixed_cost for v in problem.vehicles) * METRES_PER_KM
    return 10 * (longest_arc * highest_rate * (len(problem.stops) + len(problem.vehicles)) + all_fixed) + 1


def _search(problem: Problem, strategy: SearchStrategy, budget: _Budget, seed: int, local_search: int = 0) -> _Outcome:
    """One search, in two phases. The fleet phase builds the first solution with OR-Tools and, while
    stops are left out, runs guided local search (after its first round with route duration costed,
    see FLEET_PHASE_DURATION_COST) with the stops it keeps leaving out weighted heavier, round by
    round; it ends at once when the first solution serves every stop. The distance phase then runs
    ruin and recreate (routing.ruin_recreate) from the fullest plan found for the rest of the budget:
    it puts in the stops still out where it can, and minimises cost."""
    started = time.monotonic()
    fleet_routes = _fleet_phase(problem, strategy, budget)
    fleet_seconds = time.monotonic() - started
    start = fleet_routes if fleet_routes is not None else [[] for _ in problem.vehicles]
    improved = ruin_recreate.improve(problem, start, budget.seconds - fleet_seconds, seed=seed,
                                     iterations=budget.iterations, granularity=local_search,
                                     temperature=strategy.temperature)
    return _Outcome(routes=improved.routes, objective=improved.cost, strategy=strategy.first_solution,
                    status=STATUS_SOLVED if fleet_routes is not None else STATUS_NO_FIRST_SOLUTION,
                    fleet_phase_seconds=round(fleet_seconds, 3), iterations=improved.iterations)


def _fleet_phase(problem: Problem, strategy: SearchStrategy, budget: _Budget) -> list[list[int]] | None:
    """The plan serving the most stops found within its share of ``budget`` (the first that serves
    them all ends the phase), or None when the first-solution heuristic finds nothing. Each round
    starts from where the last one stalled, with the drop penalty of the stops it left out raised
    (see FLEET_STALL_SECONDS_PER_STOP). On an iteration budget, time is counted in solutions found."""
    solutions = [0]
    goal = sum(1 for stop in problem.stops if _carriable(problem, stop))  # every stop some vehicle can carry
    if budget.iterations is None:
        now, limit = time.monotonic, time.monotonic() + budget.seconds * FLEET_PHASE_SHARE
        stall = FLEET_STALL_SECONDS_PER_STOP * len(problem.stops)
    else:
        now, limit = (lambda: solutions[0]), FLEET_SOLUTIONS_PER_STOP * len(problem.stops)
        stall = FLEET_STALL_SOLUTIONS_PER_STOP * len(problem.stops)
        if len(problem.stops) + 2 * len(problem.vehicles) > FLEET_SEARCH_MAX_NODES:
            limit = 1  # the first solution
    weights = [1] * len(problem.stops)
    best: list[list[list[int]]] = []
    current = None
    while True:
        model = _Model(problem, duration_cost=0 if current is None else FLEET_PHASE_DURATION_COST,
                       drop_weights=weights)
        progress = [now()]  # when the last stop went in

        def keep_the_fullest(model: _Model = model) -> None:
            solutions[0] += 1
            routes = model.routes()
            if not best or _served(routes) > _served(best[0]):
                best[:] = [routes]
                progress[0] = now()
            if _served(routes) >= goal or now() - progress[0] > stall or now() >= limit:
                model.routing.solver().FinishCurrentSearch()

        model.routing.AddAtSolutionCallback(keep_the_fullest)
        parameters = _improvement_parameters(strategy)
        if budget.iterations is None:
            parameters.time_limit.FromMilliseconds(_milliseconds(limit - now()))
        else:
            parameters.solution_limit = max(1, limit - now())
        if current is None:
            parameters.first_solution_strategy = FirstSolution.Value(strategy.first_solution)
            solution = model.routing.SolveWithParameters(parameters)
        else:
            solution = model.routing.SolveFromAssignmentWithParameters(model.assignment(current), parameters)
        if solution is not None and not best:  # returned before the callback saw it (a limit of a few ms)
            best[:] = [model.routes(solution)]
        if solution is None or _served(best[0]) >= goal or now() >= limit:
            return best[0] if best else None
        current = model.routes(solution)
        served = {i for route in current for i in route}
        weights = [w + (i not in served) for i, w in enumerate(weights)]


def _served(routes: list[list[int]]) -> int:
    return sum(len(route) for route in routes)


def _milliseconds(seconds: float) -> int:
    return max(1, int(1000 * seconds))


def _improvement_parameters(strategy: SearchStrategy):
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.local_search_metaheuristic = Metaheuristic.GUIDED_LOCAL_SEARCH
    parameters.guided_local_search_lambda_coefficient = strategy.penalty_weight
    return parameters


def _plan(problem: Problem, outcome: _Outcome, seconds: float, workers: int) -> Plan:
    routes = []
    for vehicle, stops in zip(problem.vehicles, outcome.routes):
        if stops:
            routes.append(_schedule(problem, vehicle, stops))
    served = {i for stops in outcome.routes for i in stops}
    dropped = tuple(DroppedStop(stop.id, _drop_reason(problem, stop, position))
                    for position, stop in enumerate(problem.stops) if position not in served)
    by_id = {v.id: v for v in problem.vehicles}
    cost = sum(by_id[r.vehicle].fixed_cost + r.distance * by_id[r.vehicle].cost_per_km / METRES_PER_KM
               for r in routes)
    return Plan(
        routes=tuple(routes), dropped=dropped, cost=cost,
        distance=sum(r.distance for r in routes), duration=sum(r.duration for r in routes),
        stats=SolverStats(first_solution_strategy=outcome.strategy, objective=outcome.objective,
                          seconds=round(seconds, 3), workers=workers, status=outcome.status,
                          fleet_phase_seconds=outcome.fleet_phase_seconds, iterations=outcome.iterations))


def _schedule(problem: Problem, vehicle: Vehicle, stops: list[int]) -> Route:
    """Times and loads along a route: service as early as possible, and the depot departure as
    late as possible without delaying the return, so the route's duration is the shortest."""
    start_depot, end_depot = problem.depot_location(vehicle.start_depot), problem.depot_location(vehicle.end_depot)
    earliest_start = max(vehicle.shift_start, problem.depots[start_depot].opens)
    latest_start = min(vehicle.shift_end, problem.depots[start_depot].closes)
    locations = [problem.location(i) for i in stops]

    def service_starts(departure: int) -> list[tuple[int, int]]:
        times, clock, here = [], departure, start_depot
        for position, location in zip(stops, locations):
            arrival = clock + problem.travel_time[here][location]
            begin = max(arrival, problem.stops[position].opens)
            times.append((arrival, begin))
            clock, here = begin + problem.stops[position].service_time, location
        return times

    # Delay the departure by the waiting it can absorb, bounded by how late each stop may start.
    earliest = service_starts(earliest_start)
    delay, waited = latest_start - earliest_start, 0
    for position, (arrival, begin) in zip(stops, earliest):
        waited += begin - arrival
        delay = min(delay, waited + problem.stops[position].closes - begin)
    delay = max(0, min(delay, waited))
    departure = earliest_start + delay

    visits, load, here, distance = [], (0,) * len(vehicle.capacity), start_depot, 0
    for position, location, (arrival, begin) in zip(stops, locations, service_starts(departure)):
        stop = problem.stops[position]
        load = tuple(a + b for a, b in zip(load, stop.demand))
        visits.append(Visit(stop.id, arrival, begin, begin + stop.service_time, load))
        distance += problem.distance[here][location]
        here = location
    end = visits[-1].departure + problem.travel_time[here][end_depot]
    distance += problem.distance[here][end_depot]
    return Route(vehicle.id, departure, end, tuple(visits), distance)


def _allowed(problem: Problem, stop: Stop) -> list[Vehicle]:
    return [v for v in problem.vehicles if stop.vehicles is None or v.id in stop.vehicles]


def _carriable(problem: Problem, stop: Stop) -> list[Vehicle]:
    """The vehicles that may serve ``stop`` and can carry its demand; none: no plan serves it."""
    return [v for v in _allowed(problem, stop) if all(d <= c for d, c in zip(stop.demand, v.capacity))]


def _drop_reason(problem: Problem, stop: Stop, position: int) -> str:
    location = problem.location(position)
    if not _allowed(problem, stop):
        return REASON_NO_VEHICLE
    fitting = _carriable(problem, stop)
    if not fitting:
        return REASON_CAPACITY
    if not any(_reachable_alone(problem, v, stop, location) for v in fitting):
        return REASON_TIME_WINDOW
    return REASON_FLEET


def _reachable_alone(problem: Problem, vehicle: Vehicle, stop: Stop, location: int) -> bool:
    """Whether ``vehicle`` could serve ``stop`` on a route of its own."""
    start, end = problem.depot_location(vehicle.start_depot), problem.depot_location(vehicle.end_depot)
    departure = max(vehicle.shift_start, problem.depots[start].opens)
    begin = max(departure + problem.travel_time[start][location], stop.opens)
    back = begin + stop.service_time + problem.travel_time[location][end]
    if begin > stop.closes or back > min(vehicle.shift_end, problem.depots[end].closes):
        return False
    # Leaving later avoids any waiting, so the shortest possible duration is driving plus service.
    shortest = problem.travel_time[start][location] + stop.service_time + problem.travel_time[location][end]
    return vehicle.max_duration is None or shortest <= vehicle.max_duration
