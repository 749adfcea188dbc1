"""Tests for the pure allocation core (no database)."""

import datetime as dt
import math
import random
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import allocation as al
from warehouse.allocation import (
    DemandLine,
    Lot,
    OrderLine,
    allocate,
    allocate_arrays,
    refund_amount,
    split_shortage,
    split_shortage_arrays,
)

DAY = dt.date(2025, 6, 10)
T0 = dt.datetime(2025, 6, 9, 8, 0)


def by_point(result, product_id=None):
    return {
        (line.point_id if product_id is not None else (line.point_id, line.product_id)): line.allocated
        for line in result.lines
        if product_id is None or line.product_id == product_id
    }


# ---------------------------------------------------------------- example-based


def test_enough_stock_everyone_gets_demand_lots_fefo_across_points_in_id_order():
    demand = [DemandLine("B", "apple", 4), DemandLine("A", "apple", 3)]
    lots = [
        Lot(20, "apple", DAY + dt.timedelta(days=5), 10),
        Lot(10, "apple", DAY + dt.timedelta(days=2), 5),
    ]
    result = allocate(demand, lots)
    assert by_point(result, "apple") == {"A": 3, "B": 4}
    assert result.shortages == ()
    # A (first by id) takes the earliest lot first; B gets the rest of it, then the next lot.
    assert [(a.point_id, a.lot_id, a.quantity) for a in result.allocations] == [
        ("A", 10, 3),
        ("B", 10, 2),
        ("B", 20, 2),
    ]


def test_point_order_changes_who_gets_the_earliest_lot():
    demand = [DemandLine("A", "apple", 3), DemandLine("B", "apple", 4)]
    lots = [Lot(1, "apple", DAY, 3), Lot(2, "apple", DAY + dt.timedelta(days=1), 4)]
    result = allocate(demand, lots, point_order=["B", "A"])
    assert [(a.point_id, a.lot_id, a.quantity) for a in result.allocations] == [
        ("B", 1, 3),
        ("B", 2, 1),
        ("A", 2, 3),
    ]


def test_equal_expiry_is_broken_by_lot_id():
    demand = [DemandLine("A", "milk", 2)]
    lots = [Lot(9, "milk", DAY, 5), Lot(3, "milk", DAY, 5)]
    assert [(a.lot_id, a.quantity) for a in allocate(demand, lots).allocations] == [(3, 2)]


def test_short_stock_largest_remainder():
    # shares 3.5, 2.1, 1.4 -> floors 3, 2, 1 (6 units); the 7th goes to the largest remainder (A).
    demand = [DemandLine("A", "egg", 5), DemandLine("B", "egg", 3), DemandLine("C", "egg", 2)]
    result = allocate(demand, [Lot(1, "egg", DAY, 7)])
    assert by_point(result, "egg") == {"A": 4, "B": 2, "C": 1}
    assert {s.point_id: s.shortage for s in result.shortages} == {"A": 1, "B": 1, "C": 1}
    assert [line.fair_share for line in result.lines] == pytest.approx([3.5, 2.1, 1.4])


def test_equal_remainders_go_to_the_first_points_in_point_order():
    demand = [DemandLine(p, "egg", 1) for p in "ABC"]
    lots = [Lot(1, "egg", DAY, 2)]
    assert by_point(allocate(demand, lots), "egg") == {"A": 1, "B": 1, "C": 0}
    assert by_point(allocate(demand, lots, point_order="CBA"), "egg") == {"A": 0, "B": 1, "C": 1}


def test_lots_expiring_before_min_expiry_are_ignored():
    demand = [DemandLine("A", "fish", 5)]
    lots = [Lot(1, "fish", DAY, 100), Lot(2, "fish", DAY + dt.timedelta(days=2), 3)]
    result = allocate(demand, lots, min_expiry=DAY + dt.timedelta(days=1))
    assert [(a.lot_id, a.quantity) for a in result.allocations] == [(2, 3)]
    assert result.lines[0].shortage == 2


def test_no_stock_at_all_and_no_demand_at_all():
    result = allocate([DemandLine("A", "x", 3)], [Lot(1, "y", DAY, 4)])
    assert result.lines[0].allocated == 0 and result.lines[0].shortage == 3
    assert result.allocations == ()
    empty = allocate([], [])
    assert empty.lines == () and empty.allocations == ()


def test_priority_weight_gives_a_larger_share():
    demand = [DemandLine("A", "egg", 10, priority_weight=1.5), DemandLine("B", "egg", 10)]
    result = allocate(demand, [Lot(1, "egg", DAY, 10)])
    assert by_point(result, "egg") == {"A": 6, "B": 4}


def test_priority_weight_never_gives_more_than_demand():
    # Uncapped, A's share would be 6 * 20 / 30 = 4 > 2: A is capped at 2, B gets the other 4.
    demand = [DemandLine("A", "egg", 2, priority_weight=10.0), DemandLine("B", "egg", 10)]
    result = allocate(demand, [Lot(1, "egg", DAY, 6)])
    assert by_point(result, "egg") == {"A": 2, "B": 4}


def test_products_are_independent():
    demand = [DemandLine("A", "x", 2), DemandLine("A", "y", 2), DemandLine("B", "y", 2)]
    lots = [Lot(1, "x", DAY, 1), Lot(2, "y", DAY, 10)]
    result = allocate(demand, lots)
    assert by_point(result) == {("A", "x"): 1, ("A", "y"): 2, ("B", "y"): 2}


def test_array_api_accepts_datetime64_expiry_and_date_min_expiry():
    exp = np.array(["2025-06-09", "2025-06-12"], dtype="datetime64[D]")
    r = allocate_arrays([0], [0], [5], [0, 0], exp, [10, 10], [1, 2], min_expiry=DAY)
    assert r.alloc_lot.tolist() == [1] and r.alloc_qty.tolist() == [5]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(demand_qty=[-1]),
        dict(lot_qty=[-1]),
        dict(demand_weight=[0.0]),
        dict(demand_weight=[float("nan")]),
        dict(lot_id=[1, 1], lot_product=[0, 0], lot_expiry=[0, 0], lot_qty=[1, 1]),
        dict(demand_point=[0, 1]),
    ],
)
def test_array_api_rejects_bad_input(kwargs):
    args = dict(
        demand_product=[0], demand_point=[0], demand_qty=[1], lot_product=[0], lot_expiry=[0], lot_qty=[1], lot_id=[1]
    )
    args.update(kwargs)
    with pytest.raises(ValueError):
        allocate_arrays(**args)


def test_array_api_rejects_float_quantities():
    with pytest.raises(TypeError):
        allocate_arrays([0], [0], [1.5], [0], [0], [1], [1])


def test_rounding_repairs_floors_that_overshoot_or_undershoot():
    # Floats could in theory push floors off; the rounding must still land exactly on target.
    group_of = np.array([0, 0, 0, 1, 1])
    starts = np.array([0, 3])
    floor = np.array([3, 3, 3, 0, 0])  # group 0 overshoots a target of 7; group 1 is 3 short
    rem = np.array([0.1, 0.5, 0.2, 0.0, 0.0])
    cap = np.array([3, 3, 3, 2, 2])
    out = al._round_to_targets(group_of, starts, floor, rem, cap, np.array([7, 3]))
    assert out.tolist() == [2, 3, 2, 2, 1]


def test_split_shortage_proportional_ties_cut_the_later_order():
    lines = [
        OrderLine(1, 3, T0),
        OrderLine(2, 2, T0 + dt.timedelta(minutes=1)),
        OrderLine(3, 1, T0 + dt.timedelta(minutes=2)),
    ]
    # shares 1.5, 1, 0.5 -> floors 1, 1, 0; remainders tie between 1 and 3: the later (3) is cut.
    assert split_shortage(lines, 3) == {1: 1, 2: 1, 3: 1}
    assert split_shortage(lines, 0) == {1: 0, 2: 0, 3: 0}
    assert split_shortage(lines, 6) == {1: 3, 2: 2, 3: 1}


def test_split_shortage_latest_first():
    lines = [OrderLine(1, 3, T0), OrderLine(2, 2, T0 + dt.timedelta(minutes=1)), OrderLine(3, 1, T0)]
    # latest is 2, then 3 (same time as 1 but larger id), then 1
    assert split_shortage(lines, 4, method="latest_first") == {1: 1, 2: 2, 3: 1}


def test_split_shortage_rejects_bad_input():
    lines = [OrderLine(1, 3, T0)]
    with pytest.raises(ValueError):
        split_shortage(lines, 4)
    with pytest.raises(ValueError):
        split_shortage(lines, -1)
    with pytest.raises(ValueError):
        split_shortage(lines, 1, method="random")
    with pytest.raises(ValueError):
        split_shortage([OrderLine(1, 1, T0), OrderLine(1, 1, T0)], 1)
    with pytest.raises(ValueError):
        split_shortage_arrays([0], [1], [0], [1], [2])


def test_refund_amount():
    assert refund_amount(Decimal("12.34"), 3) == Decimal("37.02")
    assert refund_amount(Decimal("0.005"), 1) == Decimal("0.01")
    assert refund_amount(Decimal("9.90"), 0) == Decimal("0.00")
    with pytest.raises(TypeError):
        refund_amount(12.34, 1)
    with pytest.raises(ValueError):
        refund_amount(Decimal("1"), -1)


# ---------------------------------------------------------------- properties


@st.composite
def problems(draw, weighted=None):
    n_products = draw(st.integers(1, 3))
    n_points = draw(st.integers(1, 6))
    if weighted is None:
        weighted = draw(st.booleans())
    demand = []
    for product in range(n_products):
        for point in range(n_points):
            if draw(st.booleans()) or n_points == 1:
                w = draw(st.sampled_from([0.5, 1.0, 1.05, 1.1, 1.25, 2.0, 3.0])) if weighted else 1.0
                demand.append(DemandLine(f"P{point}", product, draw(st.integers(0, 25)), w))
    n_lots = draw(st.integers(0, 6))
    lot_ids = draw(st.permutations(range(100, 100 + n_lots)))
    lots = [
        Lot(
            lot_ids[i],
            draw(st.integers(0, n_products - 1)),
            DAY + dt.timedelta(days=draw(st.integers(-2, 4))),
            draw(st.integers(0, 40)),
        )
        for i in range(n_lots)
    ]
    min_expiry = draw(st.none() | st.just(DAY))
    point_order = draw(st.none() | st.permutations([f"P{i}" for i in range(n_points)]))
    return demand, lots, min_expiry, point_order


def exact_shares(lines, stock):
    """Reference water filling in exact fractions, by iterative capping."""
    capped = set()
    while True:
        rest = [i for i in range(len(lines)) if i not in capped]
        left = stock - sum(lines[i].quantity for i in capped)
        wd = sum(Fraction(lines[i].priority_weight) * lines[i].quantity for i in rest)
        shares = {i: Fraction(lines[i].quantity) for i in capped}
        for i in rest:
            shares[i] = left * Fraction(lines[i].priority_weight) * lines[i].quantity / wd if wd else Fraction(0)
        over = {i for i in rest if shares[i] > lines[i].quantity}
        if not over:
            return [shares[i] for i in range(len(lines))]
        capped |= over


def check_allocation(demand, lots, min_expiry, point_order, result):
    usable = {x.lot_id: x for x in lots if x.quantity > 0 and (min_expiry is None or x.expiry >= min_expiry)}
    lot_by_id = {x.lot_id: x for x in lots}
    used = defaultdict(int)
    per_line = defaultdict(int)
    for a in result.allocations:
        assert a.quantity > 0
        assert a.lot_id in usable, "expired or empty lot used"
        assert lot_by_id[a.lot_id].product_id == a.product_id
        used[a.lot_id] += a.quantity
        per_line[(a.point_id, a.product_id)] += a.quantity
    # never more than stock, per lot
    assert all(used[i] <= usable[i].quantity for i in used)

    assert len(result.lines) == len(demand)
    for d, line in zip(demand, result.lines):
        assert (line.point_id, line.product_id, line.demand) == (d.point_id, d.product_id, d.quantity)
        assert 0 <= line.allocated <= d.quantity
        assert line.allocated + line.shortage == d.quantity
        assert per_line[(d.point_id, d.product_id)] == line.allocated

    products = {d.product_id for d in demand}
    points = sorted({d.point_id for d in demand})
    rank = {p: i for i, p in enumerate(point_order or points)}
    for product in products:
        lines = [d for d in demand if d.product_id == product]
        outcome = [r for r in result.lines if r.product_id == product]
        stock = sum(x.quantity for x in usable.values() if x.product_id == product)
        total = sum(d.quantity for d in lines)
        allocated = sum(r.allocated for r in outcome)
        # never more than stock per product; total = min(stock, demand)
        assert allocated == min(stock, total)

        # fair share: floor(q) <= allocated <= ceil(q) with equal weights; within 1 unit otherwise
        if stock < total:
            shares = exact_shares(lines, stock)
            uniform = len({d.priority_weight for d in lines if d.quantity}) <= 1
            for r, q in zip(outcome, shares):
                assert r.fair_share == pytest.approx(float(q), abs=1e-6)
                if uniform:
                    assert math.floor(q) <= r.allocated <= math.ceil(q)
                else:
                    assert q - 1 <= r.allocated <= q + 1 + Fraction(1, 10**6)

        # FEFO: no lot used while an earlier (expiry, id) lot of the product has stock left
        queue = sorted((x for x in usable.values() if x.product_id == product), key=lambda x: (x.expiry, x.lot_id))
        for i, later in enumerate(queue):
            if used[later.lot_id]:
                assert all(used[e.lot_id] == e.quantity for e in queue[:i])
        # and points take the queue one after another in point order
        pos = {x.lot_id: i for i, x in enumerate(queue)}
        rows = [a for a in result.allocations if a.product_id == product]
        keys = [(rank[a.point_id], pos[a.lot_id]) for a in rows]
        assert keys == sorted(keys)
        for a, b in zip(rows, rows[1:]):
            assert pos[a.lot_id] <= pos[b.lot_id]


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(problems())
def test_allocation_properties(problem):
    demand, lots, min_expiry, point_order = problem
    result = allocate(demand, lots, min_expiry=min_expiry, point_order=point_order)
    check_allocation(demand, lots, min_expiry, point_order, result)


@SETTINGS
@given(problems(weighted=False))
def test_allocation_properties_unweighted(problem):
    demand, lots, min_expiry, point_order = problem
    result = allocate(demand, lots, min_expiry=min_expiry, point_order=point_order)
    check_allocation(demand, lots, min_expiry, point_order, result)


@SETTINGS
@given(problems(), st.randoms(use_true_random=False))
def test_allocation_does_not_depend_on_input_order(problem, rnd):
    demand, lots, min_expiry, point_order = problem
    result = allocate(demand, lots, min_expiry=min_expiry, point_order=point_order)
    shuffled_demand, shuffled_lots = list(demand), list(lots)
    rnd.shuffle(shuffled_demand)
    rnd.shuffle(shuffled_lots)
    again = allocate(shuffled_demand, shuffled_lots, min_expiry=min_expiry, point_order=point_order)
    assert set(again.allocations) == set(result.allocations)

    def whole_units(lines):
        return {(x.point_id, x.product_id, x.demand, x.allocated, x.shortage) for x in lines}

    assert whole_units(again.lines) == whole_units(result.lines)
    # The unrounded share is a float whose last bits depend on summation order.
    shares = {(x.point_id, x.product_id): x.fair_share for x in result.lines}
    for x in again.lines:
        assert x.fair_share == pytest.approx(shares[(x.point_id, x.product_id)], rel=1e-9, abs=1e-9)


@st.composite
def order_lines(draw):
    n = draw(st.integers(1, 8))
    ids = draw(st.permutations(range(1, n + 1)))
    lines = [
        OrderLine(ids[i], draw(st.integers(0, 12)), T0 + dt.timedelta(minutes=draw(st.integers(0, 3))))
        for i in range(n)
    ]
    shortage = draw(st.integers(0, sum(ol.quantity for ol in lines)))
    return lines, shortage


@SETTINGS
@given(order_lines(), st.sampled_from(["proportional", "latest_first"]))
def test_split_shortage_properties(case, method):
    lines, shortage = case
    cuts = split_shortage(lines, shortage, method=method)
    assert set(cuts) == {ol.id for ol in lines}
    assert sum(cuts.values()) == shortage
    total = sum(ol.quantity for ol in lines)
    key = {ol.id: (ol.ordered_at, ol.id) for ol in lines}
    for ol in lines:
        assert 0 <= cuts[ol.id] <= ol.quantity
        if method == "proportional":
            share = Fraction(shortage * ol.quantity, total) if total else 0
            assert math.floor(share) <= cuts[ol.id] <= math.ceil(share)
        elif cuts[ol.id]:
            # an order is cut only when every later order is cut entirely
            assert all(cuts[o.id] == o.quantity for o in lines if key[o.id] > key[ol.id])
    if method == "proportional":
        # an earlier order is never cut more than a later order of the same size
        for a in lines:
            for b in lines:
                if a.quantity == b.quantity and key[a.id] < key[b.id]:
                    assert cuts[a.id] <= cuts[b.id]


@SETTINGS
@given(st.lists(order_lines(), min_size=1, max_size=5), st.sampled_from(["proportional", "latest_first"]))
def test_split_shortage_arrays_matches_the_scalar_version(cases, method):
    group, qty, at, ids, shortages, expected = [], [], [], [], [], []
    next_id = 0
    for g, (lines, shortage) in enumerate(cases):
        cuts = split_shortage(lines, shortage, method=method)
        for ol in lines:
            group.append(g)
            qty.append(ol.quantity)
            at.append(np.datetime64(ol.ordered_at, "us"))
            ids.append(next_id + ol.id)  # ids stay in the same order within a group
            expected.append(cuts[ol.id])
        next_id += 100
        shortages.append(shortage)
    got = split_shortage_arrays(group, qty, np.array(at), ids, shortages, method=method)
    assert got.tolist() == expected


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_array_api_on_larger_random_problems(seed):
    rng = np.random.default_rng(seed)
    n_products, n_points, n_lots = 5, 40, 12
    dp = np.repeat(np.arange(n_products), n_points)
    dpt = np.tile(np.arange(n_points), n_products)
    dq = rng.integers(0, 30, dp.size)
    w = rng.choice([1.0, 1.0, 1.1, 1.3], dp.size)
    lp = rng.integers(0, n_products, n_lots)
    lexp = rng.integers(0, 6, n_lots)
    lq = rng.integers(0, 400, n_lots)
    lid = rng.permutation(n_lots) + 1
    r = allocate_arrays(dp, dpt, dq, lp, lexp, lq, lid, min_expiry=1, demand_weight=w)
    usable = (lexp >= 1) & (lq > 0)
    stock = np.bincount(lp[usable], weights=lq[usable], minlength=n_products)
    total = np.bincount(dp, weights=dq, minlength=n_products)
    got = np.bincount(dp, weights=r.allocated, minlength=n_products)
    assert np.array_equal(got, np.minimum(stock, total))
    assert np.all((r.allocated >= 0) & (r.allocated <= dq)) and np.array_equal(r.allocated + r.shortage, dq)
    assert np.all(np.abs(r.allocated - r.fair_share) <= 1 + 1e-6)
    assert np.array_equal(np.bincount(r.alloc_line, weights=r.alloc_qty, minlength=dp.size), r.allocated)
    per_lot = np.bincount(r.alloc_lot, weights=r.alloc_qty, minlength=n_lots)
    assert np.all(per_lot <= lq) and np.all(per_lot[~usable] == 0)
    assert np.array_equal(dp[r.alloc_line], lp[r.alloc_lot])


def test_array_api_matches_dataclass_api():
    rnd = random.Random(4)
    demand = [DemandLine(p, pr, rnd.randint(0, 9)) for p in range(7) for pr in range(3)]
    lots = [Lot(i, rnd.randint(0, 2), DAY + dt.timedelta(days=rnd.randint(0, 3)), rnd.randint(0, 30)) for i in range(6)]
    result = allocate(demand, lots)
    r = allocate_arrays(
        [d.product_id for d in demand],
        [d.point_id for d in demand],
        [d.quantity for d in demand],
        [x.product_id for x in lots],
        [x.expiry.toordinal() for x in lots],
        [x.quantity for x in lots],
        [x.lot_id for x in lots],
    )
    assert [line.allocated for line in result.lines] == r.allocated.tolist()
    rows = [
        (demand[i].point_id, demand[i].product_id, lots[j].lot_id, q)
        for i, j, q in zip(r.alloc_line, r.alloc_lot, r.alloc_qty)
    ]
    assert [(a.point_id, a.product_id, a.lot_id, a.quantity) for a in result.allocations] == rows
