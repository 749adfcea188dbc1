"""The arithmetic of leader commission: tier rates by monthly GMV, the per-line cap, the head-leader bonus.

A pure core: Decimals in, Decimals out, no Django. Every amount is rounded to the cent, never negative,
and the leader's commission plus any head-leader bonus never exceeds the cap share of the line's revenue.
"""
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Bracket:
    """From this much collected GMV in the month on, the rate applies."""

    min_gmv: Decimal
    rate: Decimal


def parse_tiers(raw: dict[str, list[list]], cap: Decimal) -> dict[str, tuple[Bracket, ...]]:
    """Tiers from configuration ({"ordinary": [[0, "0.05"], [10000, "0.06"]], …}), checked and sorted.

    Each tier needs a bracket starting at 0, ascending thresholds, and rates between 0 and the cap.
    """
    tiers = {}
    for tier, brackets in raw.items():
        parsed = tuple(sorted((Bracket(Decimal(str(lo)), Decimal(str(rate))) for lo, rate in brackets), key=lambda b: b.min_gmv))
        if not parsed or parsed[0].min_gmv != 0:
            raise ValueError(f"commission tier {tier!r} needs a bracket starting at 0")
        if len({b.min_gmv for b in parsed}) != len(parsed):
            raise ValueError(f"commission tier {tier!r} has two brackets with one threshold")
        if any(not 0 <= b.rate <= cap for b in parsed):
            raise ValueError(f"commission tier {tier!r} has a rate outside 0…{cap}")
        tiers[tier] = parsed
    return tiers


def tier_rate(brackets: tuple[Bracket, ...], monthly_gmv: Decimal) -> Decimal:
    """The rate of the highest bracket the month's collected GMV has reached."""
    rate = brackets[0].rate
    for bracket in brackets:
        if monthly_gmv >= bracket.min_gmv:
            rate = bracket.rate
    return rate


def cap_amount(revenue: Decimal, cap: Decimal) -> Decimal:
    """The most commission a line may carry in all: rounded down, so rounding can never break the cap."""
    return max(revenue * cap, Decimal(0)).quantize(CENT, rounding=ROUND_DOWN)


@dataclass(frozen=True)
class LineCommission:
    leader: Decimal
    head_leader: Decimal


def line_commission(
    revenue: Decimal, rate: Decimal, *, cap: Decimal, head_leader_rate: Decimal = Decimal(0)
) -> LineCommission:
    """Commission on a line's collected, unrefunded revenue: the leader's rate, then the head leader's
    bonus from what is left under the cap (the leader is paid first; the bonus never pushes past the cap).
    """
    if revenue <= 0:
        return LineCommission(Decimal("0.00"), Decimal("0.00"))
    ceiling = cap_amount(revenue, cap)
    leader = min(max(revenue * rate, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP), ceiling)
    bonus = min(max(revenue * head_leader_rate, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP), ceiling - leader)
    return LineCommission(leader, bonus)
