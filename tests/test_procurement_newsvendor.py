"""Properties of the pure newsvendor core: quantiles from stored forecasts, and the supplier split."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from procurement import newsvendor
from warehouse.forecasting import nb_quantiles

means = st.floats(0.05, 400.0)
sizes = st.floats(0.2, 200.0)


def stored_quantiles(mean, size):
    q = nb_quantiles(np.array([mean]), np.array([size]), (0.5, 0.8, 0.95))
    return q[0.5], q[0.8], q[0.95]


@settings(max_examples=60, deadline=None)
@given(means, sizes, st.floats(0.0, 0.99), st.floats(0.0, 0.99))
def test_a_higher_critical_ratio_never_buys_less(mean, size, ratio_a, ratio_b):
    p50, p80, p95 = stored_quantiles(mean, size)
    low, high = sorted([ratio_a, ratio_b])
    target_low, _ = newsvendor.newsvendor_targets(np.array([mean]), p50, p80, p95, np.array([low]))
    target_high, _ = newsvendor.newsvendor_targets(np.array([mean]), p50, p80, p95, np.array([high]))
    assert target_high[0] >= target_low[0] >= 0


@settings(max_examples=60, deadline=None)
@given(means, sizes)
def test_the_fitted_distribution_reproduces_the_stored_quantiles(mean, size):
    p50, p80, p95 = stored_quantiles(mean, size)
    for tau, stored in ((0.5, p50), (0.8, p80), (0.95, p95)):
        target, pooled_mean = newsvendor.newsvendor_targets(np.array([mean]), p50, p80, p95, np.array([tau]))
        # Exact up to the grid of sizes: within 2% of the spread (the P95) or one unit.
        assert abs(int(target[0]) - int(stored[0])) <= max(1, 0.02 * p95[0])
        assert pooled_mean[0] == pytest.approx(mean)


def test_depots_pool_by_adding_means_and_variances():
    mean, size = np.array([10.0, 30.0]), np.array([5.0, 20.0])
    total_mean, total_size = newsvendor.pool(mean, size, np.array([0, 0]), 1)
    assert total_mean[0] == 40.0
    assert total_mean[0] + total_mean[0] ** 2 / total_size[0] == pytest.approx(10 + 100 / 5 + 30 + 900 / 20)
    single_mean, single_size = newsvendor.pool(mean, size, np.array([0, 1]), 2)
    assert np.allclose(single_size, size) and np.allclose(single_mean, mean)


def test_the_critical_ratio_and_salvage():
    cost = np.array([6.0, 6.0, 12.0])
    salvage = newsvendor.salvage_value(cost, np.array([2, 30, 30]), days_to_next_wave=3, carry_cost_rate=0.05)
    assert salvage.tolist() == pytest.approx([0.0, 5.7, 11.4])
    ratio = newsvendor.critical_ratio(np.array([10.0, 10.0, 10.0]), cost, salvage)
    assert ratio[0] == pytest.approx(0.4)  # perishable: (10 - 6) / (10 - 0)
    assert ratio[1] == pytest.approx(4 / 4.3)  # long-life: only the carrying cost is at risk
    assert ratio[2] == 0.0  # sold below cost: nothing to gain from stocking ahead of orders


def test_a_zero_mean_or_zero_ratio_buys_nothing():
    target, _ = newsvendor.newsvendor_targets(np.array([0.0, 5.0]), np.array([0, 5]), np.array([0, 7]), np.array([0, 9]), np.array([0.9, 0.0]))
    assert target.tolist() == [0, 0]


suppliers_k = st.integers(1, 3)


@st.composite
def split_problems(draw):
    n, k = draw(st.integers(1, 8)), draw(suppliers_k)
    pack = draw(hnp.arrays(np.int64, (n, k), elements=st.integers(1, 24)))
    moq = draw(hnp.arrays(np.int64, (n, k), elements=st.integers(0, 60)))
    capacity = draw(hnp.arrays(np.int64, (n, k), elements=st.integers(0, 400)))
    need = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 500)))
    return need, newsvendor.SupplierOptions(pack, moq, capacity)


@settings(max_examples=200, deadline=None)
@given(split_problems())
def test_every_part_is_whole_cases_at_least_the_moq_and_within_capacity(problem):
    need, options = problem
    split = newsvendor.split_order(need, options)
    assert (split % options.case_pack == 0).all()
    assert ((split == 0) | (split >= options.moq)).all()
    assert (split <= options.capacity).all()
    assert (split[need == 0] == 0).all()


@settings(max_examples=200, deadline=None)
@given(split_problems())
def test_the_split_covers_the_need_unless_every_usable_supplier_is_full(problem):
    need, options = problem
    split = newsvendor.split_order(need, options)
    total = split.sum(axis=1)
    usable = options.capacity // options.case_pack * options.case_pack
    moq = -(-options.moq // options.case_pack) * options.case_pack
    short = total < need
    full_or_unusable = (split == usable) | (usable < np.maximum(moq, 1))
    assert full_or_unusable[short].all()


@settings(max_examples=200, deadline=None)
@given(split_problems())
def test_when_the_preferred_supplier_can_cover_it_gets_the_target_rounded_up_to_its_case(problem):
    need, options = problem
    split = newsvendor.split_order(need, options)
    pack, moq = options.case_pack[:, 0], options.moq[:, 0]
    rounded = np.maximum(-(-need // pack) * pack, -(-moq // pack) * pack)
    covers = (need > 0) & (options.capacity[:, 0] >= rounded)
    assert (split[covers, 0] == rounded[covers]).all()
    assert (split[covers].sum(axis=1) == rounded[covers]).all()


@settings(max_examples=200, deadline=None)
@given(split_problems(), st.integers(0, 100))
def test_a_larger_need_never_buys_less_from_any_supplier(problem, more):
    need, options = problem
    assert (newsvendor.split_order(need + more, options) >= newsvendor.split_order(need, options)).all()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 500), st.integers(0, 10_000), st.floats(0.0, 1.0), st.floats(0.0, 50.0), st.integers(0, 10_000))
def test_the_delivery_rate_is_shrunk_toward_full_delivery_and_grosses_the_need_up(lines, ordered, share, prior, need):
    accepted = int(ordered * share)
    rate = float(newsvendor.delivery_rate(np.array([lines]), np.array([ordered]), np.array([accepted]), prior)[0])
    observed = accepted / ordered if ordered else 1.0
    assert newsvendor.MIN_DELIVERY_RATE <= rate <= 1.0
    assert rate >= min(observed, 1.0) - 1e-12 or rate == newsvendor.MIN_DELIVERY_RATE  # between the record and 1
    gross = int(newsvendor.gross_need(np.array([need]), np.array([rate]))[0])
    assert need <= gross <= need / newsvendor.MIN_DELIVERY_RATE + 1
    assert gross * rate >= need - 1e-6 and (gross - 1) * rate < need  # the least that arrives as the need
