"""Local search on a plan of routing.ruin_recreate: the neighbourhoods long routes need. Pure: no
Django import.

Ruin and recreate removes short strings and puts stops back one at a time, so it cannot reverse
a long stretch of a 40-stop route or exchange the tails of two routes, which wide time windows
(Solomon and Homberger C2/R2/RC2) call for. The descent here makes those moves: intra-route 2-opt,
or-opt and inter-route relocate of segments of 1-3 stops (possibly reversed), swap, and 2-opt*
(tail exchange), each between a stop and one of its nearest neighbours (granular neighbour lists),
taking the first move that lowers the cost, until no move does.

A move's cost change comes from the arcs it changes. Only a move that lowers the cost is checked,
exactly, against every constraint: each capacity dimension (from the loads accumulated along the
route), the stops' windows, the vehicle's start and end window and which vehicles may serve a
stop. The unchanged part of a route is not replayed: the prefix ends at its known earliest
service start, and the suffix only needs its first service to start by its latest start (both
kept per position). What a move puts in between (a moved segment, a reversed stretch) is walked.
A vehicle with a maximum duration has the whole new route replayed, since its duration depends on
how late it can leave the depot, which every stop of the route may bound.

Every function is compiled (numba) and works in place on ruin_recreate's plan state. The moves
are evaluated on arrays taken out of the state and instance once: numba counts references to
every array of a named tuple each time one is passed to a function or read from it, which cost
more than the evaluation itself.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NO_LIMIT = np.iinfo(np.int64).max // 4
# A new route is made of at most this many pieces of existing routes (an intra-route swap: before,
# one stop, between, the other stop, after).
MOST_PIECES = 5
# Piece fields: the vehicle whose route it comes from, first and last position, reversed (0/1).
ROUTE, FIRST, LAST, REVERSED = 0, 1, 2, 3
# Segments of up to this many stops are moved by or-opt and relocate.
LONGEST_SEGMENT = 3


@njit(cache=True)
def refresh(instance, state, v):
    """Recompute route v's loads, schedule and cost from its stops: service starts as early as
    possible (begin), the latest start at each position that keeps the rest of the route within
    its windows and the vehicle's return (latest), the load and distance accumulated up to each
    position (cumload, reach) and the locations along it (path, depots included)."""
    i_ = instance
    n = state.length[v]
    state.load[v, :] = 0
    clock, here, distance = i_.earliest_start[v], i_.start[v], 0
    state.path[v, 0], state.path[v, n + 1] = i_.start[v], i_.end[v]
    for i in range(n):
        s = state.route[v, i]
        there = i_.location[s]
        state.path[v, i + 1] = there
        distance += i_.distance[here, there]
        state.reach[v, i] = distance
        clock = max(clock + i_.travel_time[here, there], i_.opens[s])
        state.begin[v, i] = clock
        clock += i_.service[s]
        for k in range(i_.demand.shape[1]):  # element by element: a slice would allocate
            state.load[v, k] += i_.demand[s, k]
            state.cumload[v, i, k] = state.load[v, k]
        here = there
    distance += i_.distance[here, i_.end[v]]
    state.cost[v] = i_.rate[v] * distance + i_.fixed[v] if n else 0
    after, latest = i_.end[v], i_.latest_end[v]
    for i in range(n - 1, -1, -1):
        s = state.route[v, i]
        latest = min(i_.closes[s], latest - i_.travel_time[i_.location[s], after] - i_.service[s])
        state.latest[v, i] = latest
        after = i_.location[s]


@njit(cache=True)
def descend(instance, state, granularity):
    """Apply improving moves to the plan until none is left among the stops of the touched routes
    (every route a move changes becomes touched, so its stops are searched too). Stops are taken
    in a random order, each with its ``granularity`` nearest neighbours."""
    i_ = instance
    n_stops = len(i_.location)
    vehicle, touched, length, route = state.vehicle, state.touched, state.length, state.route
    distance, symmetric, rate, fixed = i_.distance, i_.symmetric, i_.rate, i_.fixed
    path, reach, cost = state.path, state.reach, state.cost
    neighbours = i_.neighbours[:, :min(granularity, i_.neighbours.shape[1])]
    position = np.zeros(n_stops, dtype=np.int64)
    for v in range(len(length)):
        for p in range(length[v]):
            position[route[v, p]] = p
    pieces = np.zeros((2, MOST_PIECES, 4), dtype=np.int64)
    counts = np.zeros(2, dtype=np.int64)
    buffer = np.zeros((2, route.shape[1]), dtype=np.int64)
    order = np.random.permutation(n_stops)
    improved = True
    while improved:
        improved = False
        for u in order:
            r1 = vehicle[u]
            if r1 < 0 or not touched[r1]:
                continue
            for v in neighbours[u]:
                r2 = vehicle[v]
                if r2 < 0:
                    continue
                move = _next_move(0, r1, position[u], r2, position[v], length, distance, symmetric, rate, fixed,
                                  path, reach, cost, pieces, counts)
                while move >= 0 and not _fits(i_, state, pieces, counts, r1, r2):
                    move = _next_move(move + 1, r1, position[u], r2, position[v], length, distance, symmetric, rate,
                                      fixed, path, reach, cost, pieces, counts)
                if move >= 0:
                    _apply(i_, state, r1, r2, position, pieces, counts, buffer)
                    improved = True
                    break


@njit(cache=True)
def _cost(old_cost, rate, fixed, change, length):
    """A route's cost once a move changes its distance by ``change`` and leaves it ``length`` stops
    (an empty route costs nothing, not even its depot-to-depot distance)."""
    if length == 0:
        return 0
    return rate * ((old_cost - fixed) // rate + change) + fixed


@njit(cache=True)
def _set(pieces, counts, which, v, first, last, reversed_):
    """Append piece ``first..last`` of route v to new route ``which``; empty pieces are left out."""
    if first <= last:
        c = counts[which]
        pieces[which, c, ROUTE] = v
        pieces[which, c, FIRST] = first
        pieces[which, c, LAST] = last
        pieces[which, c, REVERSED] = reversed_
        counts[which] = c + 1


# The moves between a stop u and its neighbour v, in the order they are tried: or-opt and
# relocate (segment size 1-3, reversed or not, after or before v: 12), 2-opt and swap in one route,
# swap between routes, 2-opt* (v's route cut before or after v).
RELOCATES = 4 * LONGEST_SEGMENT
TWO_OPT, SWAP_INSIDE, SWAP, TAILS = RELOCATES, RELOCATES + 1, RELOCATES + 2, RELOCATES + 3
MOVES = TAILS + 2


@njit(cache=True)
def _next_move(first_move, r1, i, r2, j, length, distance, symmetric, rate, fixed, path, reach, cost, pieces, counts):
    """The first move from index ``first_move`` on between the stop at position i of route r1 (u)
    and the stop at position j of route r2 (v) that lowers the cost: its index, with the new
    routes of r1 (and r2) in ``pieces``, or -1. The location at position p of route r is
    path[r, p + 1]."""
    d, n1, n2 = distance, length[r1], length[r2]
    for move in range(first_move, MOVES):
        counts[:] = 0
        if move < RELOCATES:
            # The segment of ``size`` stops from u goes between positions gap - 1 and gap of r2.
            size, reversed_, gap = move // 4 + 1, (move // 2) % 2, j + move % 2
            last = i + size - 1
            if last >= n1 or (r1 == r2 and (i <= j <= last or gap == i or gap == last + 1)):
                continue
            before, head, tail, after = path[r1, i], path[r1, i + 1], path[r1, last + 1], path[r1, last + 2]
            removed = d[before, after] - d[before, head] - d[tail, after]
            inside = 0
            if reversed_:
                head, tail = tail, head
                if not symmetric:
                    for p in range(i + 1, last + 1):
                        inside += d[path[r1, p + 1], path[r1, p]] - d[path[r1, p], path[r1, p + 1]]
            added = d[path[r2, gap], head] + d[tail, path[r2, gap + 1]] - d[path[r2, gap], path[r2, gap + 1]]
            if r1 == r2:
                if _cost(cost[r1], rate[r1], fixed[r1], removed + inside + added, n1) >= cost[r1]:
                    continue
                if gap < i:
                    _set(pieces, counts, 0, r1, 0, gap - 1, 0)
                    _set(pieces, counts, 0, r1, i, last, reversed_)
                    _set(pieces, counts, 0, r1, gap, i - 1, 0)
                    _set(pieces, counts, 0, r1, last + 1, n1 - 1, 0)
                else:
                    _set(pieces, counts, 0, r1, 0, i - 1, 0)
                    _set(pieces, counts, 0, r1, last + 1, gap - 1, 0)
                    _set(pieces, counts, 0, r1, i, last, reversed_)
                    _set(pieces, counts, 0, r1, gap, n1 - 1, 0)
            else:
                if (_cost(cost[r1], rate[r1], fixed[r1], removed, n1 - size)
                        + _cost(cost[r2], rate[r2], fixed[r2], inside + added, n2 + size) >= cost[r1] + cost[r2]):
                    continue
                _set(pieces, counts, 0, r1, 0, i - 1, 0)
                _set(pieces, counts, 0, r1, last + 1, n1 - 1, 0)
                _set(pieces, counts, 1, r2, 0, gap - 1, 0)
                _set(pieces, counts, 1, r1, i, last, reversed_)
                _set(pieces, counts, 1, r2, gap, n2 - 1, 0)
            return move
        if r1 == r2:
            a, b = min(i, j), max(i, j)
            if move > SWAP_INSIDE or b <= a + 1:
                return -1
            if move == TWO_OPT:  # reverse the stretch after the first of the two up to the second
                change = d[path[r1, a + 1], path[r1, b + 1]] + d[path[r1, a + 2], path[r1, b + 2]] \
                    - d[path[r1, a + 1], path[r1, a + 2]] - d[path[r1, b + 1], path[r1, b + 2]]
                if not symmetric:
                    for p in range(a + 2, b + 1):
                        change += d[path[r1, p + 1], path[r1, p]] - d[path[r1, p], path[r1, p + 1]]
                if _cost(cost[r1], rate[r1], fixed[r1], change, n1) >= cost[r1]:
                    continue
                _set(pieces, counts, 0, r1, 0, a, 0)
                _set(pieces, counts, 0, r1, a + 1, b, 1)
                _set(pieces, counts, 0, r1, b + 1, n1 - 1, 0)
            else:  # swap two stops that are not next to each other (those are or-opt's)
                change = d[path[r1, a], path[r1, b + 1]] + d[path[r1, b + 1], path[r1, a + 2]] \
                    + d[path[r1, b], path[r1, a + 1]] + d[path[r1, a + 1], path[r1, b + 2]] \
                    - d[path[r1, a], path[r1, a + 1]] - d[path[r1, a + 1], path[r1, a + 2]] \
                    - d[path[r1, b], path[r1, b + 1]] - d[path[r1, b + 1], path[r1, b + 2]]
                if _cost(cost[r1], rate[r1], fixed[r1], change, n1) >= cost[r1]:
                    continue
                _set(pieces, counts, 0, r1, 0, a - 1, 0)
                _set(pieces, counts, 0, r1, b, b, 0)
                _set(pieces, counts, 0, r1, a + 1, b - 1, 0)
                _set(pieces, counts, 0, r1, a, a, 0)
                _set(pieces, counts, 0, r1, b + 1, n1 - 1, 0)
            return move
        if move < SWAP:
            continue
        u_at, v_at = path[r1, i + 1], path[r2, j + 1]
        if move == SWAP:
            change1 = d[path[r1, i], v_at] + d[v_at, path[r1, i + 2]] - d[path[r1, i], u_at] - d[u_at, path[r1, i + 2]]
            change2 = d[path[r2, j], u_at] + d[u_at, path[r2, j + 2]] - d[path[r2, j], v_at] - d[v_at, path[r2, j + 2]]
            if (_cost(cost[r1], rate[r1], fixed[r1], change1, n1)
                    + _cost(cost[r2], rate[r2], fixed[r2], change2, n2) >= cost[r1] + cost[r2]):
                continue
            _set(pieces, counts, 0, r1, 0, i - 1, 0)
            _set(pieces, counts, 0, r2, j, j, 0)
            _set(pieces, counts, 0, r1, i + 1, n1 - 1, 0)
            _set(pieces, counts, 1, r2, 0, j - 1, 0)
            _set(pieces, counts, 1, r1, i, i, 0)
            _set(pieces, counts, 1, r2, j + 1, n2 - 1, 0)
            return move
        # 2-opt*: u's route goes on with v's route from the cut (at v or after it), and v's route
        # with what followed u. Tails keep their direction, so the distance inside them is known
        # from the distance accumulated along their routes.
        cut = j + move - TAILS
        new1 = reach[r1, i] + _tail(d, path, reach, r2, cut, n2, u_at, path[r1, n1 + 1])
        new2 = (reach[r2, cut - 1] if cut > 0 else 0) + _tail(d, path, reach, r1, i + 1, n1, path[r2, cut],
                                                            path[r2, n2 + 1])
        length1, length2 = i + 1 + n2 - cut, cut + n1 - i - 1
        cost1 = rate[r1] * new1 + fixed[r1] if length1 else 0
        cost2 = rate[r2] * new2 + fixed[r2] if length2 else 0
        if cost1 + cost2 >= cost[r1] + cost[r2]:
            continue
        _set(pieces, counts, 0, r1, 0, i, 0)
        _set(pieces, counts, 0, r2, cut, n2 - 1, 0)
        _set(pieces, counts, 1, r2, 0, cut - 1, 0)
        _set(pieces, counts, 1, r1, i + 1, n1 - 1, 0)
        return move
    return -1


@njit(cache=True)
def _tail(d, path, reach, v, first, n, here, end):
    """The distance from location ``here`` along route v's stops from position ``first`` on (n in
    all), then to location ``end``."""
    if first >= n:
        return d[here, end]
    return d[here, path[v, first + 1]] + reach[v, n - 1] - reach[v, first] + d[path[v, n], end]


@njit(cache=True)
def _fits(instance, state, pieces, counts, r1, r2):
    """Whether the new routes in ``pieces`` keep every rule for their vehicles (r1's first, then
    r2's when they differ)."""
    if not _route_fits(instance, state, pieces[0], counts[0], r1):
        return False
    return r1 == r2 or _route_fits(instance, state, pieces[1], counts[1], r2)


@njit(cache=True)
def _route_fits(instance, state, pieces, count, w):
    """Whether vehicle w may drive the route made of ``pieces``: the vehicles its stops allow, each
    capacity dimension, the stops' windows, the return by the end of the shift and the maximum
    duration (see the module's docstring for what is replayed)."""
    i_ = instance
    if count == 0:
        return True
    for k in range(count):
        x, first, last = pieces[k, ROUTE], pieces[k, FIRST], pieces[k, LAST]
        if x != w:
            for p in range(first, last + 1):
                if not i_.allowed[state.route[x, p], w]:
                    return False
    for d in range(i_.capacity.shape[1]):
        load = 0
        for k in range(count):
            x, first, last = pieces[k, ROUTE], pieces[k, FIRST], pieces[k, LAST]
            load += state.cumload[x, last, d] - (state.cumload[x, first - 1, d] if first > 0 else 0)
        if load > i_.capacity[w, d]:
            return False
    limited = i_.max_duration[w] < NO_LIMIT
    clock, here, waited = i_.earliest_start[w], i_.start[w], 0
    delay = i_.latest_start[w] - i_.earliest_start[w]
    start = 0
    if not limited and pieces[0, ROUTE] == w and pieces[0, FIRST] == 0 and not pieces[0, REVERSED]:
        last = pieces[0, LAST]  # w's own prefix: its schedule is known
        s = state.route[w, last]
        clock, here, start = state.begin[w, last] + i_.service[s], i_.location[s], 1
    for k in range(start, count):
        x, first, last, reversed_ = pieces[k, ROUTE], pieces[k, FIRST], pieces[k, LAST], pieces[k, REVERSED]
        if (not limited and k == count - 1 and not reversed_ and last == state.length[x] - 1
                and i_.end[x] == i_.end[w] and i_.latest_end[x] == i_.latest_end[w]):
            s = state.route[x, first]  # a route's own tail: it fits if its first stop starts in time
            return max(clock + i_.travel_time[here, i_.location[s]], i_.opens[s]) <= state.latest[x, first]
        for t in range(last - first + 1):
            s = state.route[x, last - t if reversed_ else first + t]
            there = i_.location[s]
            arrival = clock + i_.travel_time[here, there]
            begin = max(arrival, i_.opens[s])
            if begin > i_.closes[s]:
                return False
            waited += begin - arrival
            delay = min(delay, waited + i_.closes[s] - begin)
            clock, here = begin + i_.service[s], there
    back = clock + i_.travel_time[here, i_.end[w]]
    if back > i_.latest_end[w]:
        return False
    # Leaving the depot later shortens the route by the waiting it absorbs, up to the latest start
    # every stop still allows (as ruin_recreate's insertion check).
    return not limited or back - (i_.earliest_start[w] + max(0, min(delay, waited))) <= i_.max_duration[w]


@njit(cache=True)
def _apply(instance, state, r1, r2, position, pieces, counts, buffer):
    """Rebuild the routes of r1 (and r2) from ``pieces`` and refresh them."""
    for which in range(1 if r1 == r2 else 2):
        n = 0
        for k in range(counts[which]):
            x, first, last, reversed_ = pieces[which, k, ROUTE], pieces[which, k, FIRST], \
                pieces[which, k, LAST], pieces[which, k, REVERSED]
            for t in range(last - first + 1):
                buffer[which, n] = state.route[x, last - t if reversed_ else first + t]
                n += 1
        counts[which] = n
    for which in range(1 if r1 == r2 else 2):
        v = r1 if which == 0 else r2
        n = counts[which]
        state.route[v, :n] = buffer[which, :n]
        state.length[v] = n
        state.touched[v] = True
        for p in range(n):
            state.vehicle[buffer[which, p]] = v
            position[buffer[which, p]] = p
        refresh(instance, state, v)
