"""The pure commission core: the cap is never exceeded, amounts are whole cents, never negative."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pickup.commission import CENT, Bracket, cap_amount, line_commission, parse_tiers, tier_rate

money = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("1000000.00"), places=2)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=4)
caps = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.5"), places=4)


@given(money, rates, caps, rates)
def test_commission_never_exceeds_the_cap_is_in_cents_and_never_negative(revenue, rate, cap, head_rate):
    split = line_commission(revenue, rate, cap=cap, head_leader_rate=head_rate)
    for amount in (split.leader, split.head_leader):
        assert amount >= 0
        assert amount == amount.quantize(CENT)
    assert split.leader + split.head_leader <= revenue * cap
    assert split.leader + split.head_leader <= cap_amount(revenue, cap)


@given(money, rates, caps)
def test_below_the_cap_the_leader_gets_the_rate_rounded_half_up(revenue, rate, cap):
    split = line_commission(revenue, rate, cap=cap)
    exact = revenue * rate
    if exact <= cap_amount(revenue, cap):
        assert abs(split.leader - exact) <= Decimal("0.005")
    assert split.head_leader == 0


@given(money, st.decimals(min_value=Decimal("0"), max_value=Decimal("0.25"), places=4))
def test_the_head_leader_bonus_only_takes_what_the_cap_leaves(revenue, rate):
    split = line_commission(revenue, rate, cap=Decimal("0.25"), head_leader_rate=Decimal("0.30"))
    assert split.leader + split.head_leader == cap_amount(revenue, Decimal("0.25"))


def test_examples_to_the_cent():
    assert line_commission(Decimal("12.50"), Decimal("0.05"), cap=Decimal("0.25")).leader == Decimal("0.63")
    assert line_commission(Decimal("29.90"), Decimal("0.05"), cap=Decimal("0.25")).leader == Decimal("1.50")
    # A 30 % category rate is held to the 25 % cap, rounded down so the cap holds after rounding.
    assert line_commission(Decimal("0.99"), Decimal("0.30"), cap=Decimal("0.25")).leader == Decimal("0.24")
    assert line_commission(Decimal("-5"), Decimal("0.05"), cap=Decimal("0.25")).leader == Decimal("0.00")


DEFAULT = {"ordinary": [[0, "0.05"], [10000, "0.06"], [30000, "0.07"], [60000, "0.08"]], "core": [[0, "0.10"], [30000, "0.12"], [60000, "0.15"]]}


@given(st.decimals(min_value=Decimal("0"), max_value=Decimal("10000000"), places=2))
def test_tier_rates_stay_in_their_ranges_and_grow_with_gmv(gmv):
    tiers = parse_tiers(DEFAULT, Decimal("0.25"))
    ordinary, core = tier_rate(tiers["ordinary"], gmv), tier_rate(tiers["core"], gmv)
    assert Decimal("0.05") <= ordinary <= Decimal("0.08")
    assert Decimal("0.10") <= core <= Decimal("0.15")
    assert tier_rate(tiers["ordinary"], gmv + 10000) >= ordinary


def test_tier_brackets_by_monthly_gmv():
    brackets = parse_tiers(DEFAULT, Decimal("0.25"))["ordinary"]
    assert [tier_rate(brackets, Decimal(g)) for g in ("0", "9999.99", "10000", "59999", "60000")] == [
        Decimal("0.05"), Decimal("0.05"), Decimal("0.06"), Decimal("0.07"), Decimal("0.08"),
    ]
    assert brackets[0] == Bracket(Decimal(0), Decimal("0.05"))


@pytest.mark.parametrize("raw", [{"x": [[100, "0.05"]]}, {"x": []}, {"x": [[0, "0.30"]]}, {"x": [[0, "0.05"], [0, "0.06"]]}])
def test_bad_tier_configuration_is_refused(raw):
    with pytest.raises(ValueError):
        parse_tiers(raw, Decimal("0.25"))
