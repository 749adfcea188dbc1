"""How much to buy: newsvendor targets from stored forecast quantiles, and the supplier split.

Pure core: numpy arrays in, arrays out; no Django import (see DESIGN.md, "Pure cores").

Distribution. The forecaster (warehouse/forecasting.py) models demand as a negative binomial around
its mean and stores only the mean and the 50/80/95% quantiles. To read a quantile at any critical
ratio we recover that distribution: the mean is kept exactly and the size r (Var = m + m²/r) is
searched on a log grid from very lumpy (r = 0.05) to Poisson, then refined between the best point's
neighbours. Each stored quantile q_tau should satisfy F(q-1) < tau <= F(q); the size that misses
these steps least wins, and among sizes that hit every step, the one where tau sits most centrally.
Several depots are pooled by adding means and variances (independent depots) and matching a negative
binomial to the two moments. Unlike an interpolation of the three stored points, this gives a
sensible tail above the 95% quantile, where long-life goods with a small carrying cost have their
critical ratios.

Supplier split. The net need (target - on hand - in transit) goes to the suppliers in preference
order: each takes the need rounded up to its case pack (at least its MOQ, itself rounded up to the
pack), but never more than its free capacity rounded down to the pack; a supplier whose free
capacity cannot reach its MOQ is skipped; what is left goes to the next one. The split is monotone:
a larger need never buys less from anyone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

POISSON_SIZE = 1e8
SIZE_GRID = np.concatenate([np.geomspace(0.05, 2000.0, 24), [POISSON_SIZE]])
FINE_STEPS = 9
REFINEMENTS = 2
STORED_TAUS = (0.5, 0.8, 0.95)
MAX_CRITICAL_RATIO = 0.995  # the quantile function runs off to infinity at 1


def critical_ratio(price: np.ndarray, cost: np.ndarray, salvage: np.ndarray) -> np.ndarray:
    """(price - cost) / (price - salvage), clipped to [0, MAX_CRITICAL_RATIO]; 0 where the deal loses money."""
    price, cost, salvage = (np.asarray(a, np.float64) for a in (price, cost, salvage))
    underage, span = price - cost, price - salvage
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(span > 0, underage / span, 0.0)
    return np.clip(ratio, 0.0, MAX_CRITICAL_RATIO)


def _nb_p(mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    return size / (size + mean)


def _miss(mean: np.ndarray, stored: np.ndarray, size: np.ndarray) -> np.ndarray:
    """How far sizes (n, m) put the stored quantiles (n, 3) off their levels; (n, m)."""
    mean, stored, size = mean[:, None, None], stored[:, None, :], size[:, :, None]
    p = _nb_p(mean, size)
    # F(k) = I_p(r, k + 1), the regularised incomplete beta function (what scipy's nbinom.cdf calls).
    upper = special.betainc(size, stored + 1.0, p)
    lower = np.where(stored > 0, special.betainc(size, stored, p), 0.0)
    tau = np.asarray(STORED_TAUS)[None, None, :]
    # Outside the step [F(q-1), F(q)] is a miss; among sizes that hit every step, the most central wins.
    outside = np.maximum(lower - tau, 0.0) + np.maximum(tau - upper - 1e-9, 0.0)
    off_centre = (lower + upper) / 2.0 - tau
    return (outside**2 + 1e-3 * off_centre**2).sum(axis=-1)


def fit_size(mean: np.ndarray, p50: np.ndarray, p80: np.ndarray, p95: np.ndarray) -> np.ndarray:
    """Per row, the negative binomial size r whose 50/80/95% quantiles best match the stored ones:
    a coarse log grid, then finer grids between the neighbours of the best point so far."""
    mean = np.maximum(np.asarray(mean, np.float64), 1e-9)
    stored = np.stack([np.asarray(q, np.float64) for q in (p50, p80, p95)], axis=-1)
    rows = np.arange(mean.size)
    grid = np.broadcast_to(SIZE_GRID, (mean.size, SIZE_GRID.size))
    for _ in range(REFINEMENTS + 1):
        best = np.argmin(_miss(mean, stored, grid), axis=1)
        low = grid[rows, np.maximum(best - 1, 0)]
        high = grid[rows, np.minimum(best + 1, grid.shape[1] - 1)]
        size = grid[rows, best]
        grid = low[:, None] * (high / low)[:, None] ** np.linspace(0.0, 1.0, FINE_STEPS)[None, :]
    return size


def pool(mean: np.ndarray, size: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum independent negative binomials per group: moments add, and the size is matched to them."""
    mean = np.asarray(mean, np.float64)
    variance = mean + mean**2 / np.asarray(size, np.float64)
    total_mean = np.bincount(group, weights=mean, minlength=n_groups)
    excess = np.bincount(group, weights=variance, minlength=n_groups) - total_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        total_size = np.where(excess > 1e-9, total_mean**2 / excess, POISSON_SIZE)
    return total_mean, np.minimum(total_size, POISSON_SIZE)


def quantile(mean: np.ndarray, size: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The smallest count q with P(Y <= q) >= tau, per row (0 for a zero mean or tau = 0)."""
    mean, size, tau = (np.asarray(a, np.float64) for a in (mean, size, tau))
    live = (mean > 1e-9) & (tau > 0)
    out = np.zeros(mean.shape, np.int64)
    if live.any():
        q = stats.nbinom.ppf(tau[live], size[live], _nb_p(mean[live], size[live]))
        out[live] = np.nan_to_num(q, nan=0.0, posinf=0.0).astype(np.int64)
    return out


@dataclass(frozen=True)
class SupplierOptions:
    """Per product (rows) and supplier in preference order (columns); a missing supplier has capacity 0."""

    case_pack: np.ndarray  # (n, k) int >= 1
    moq: np.ndarray  # (n, k) int >= 0
    capacity: np.ndarray  # (n, k) int >= 0, free capacity for the day


def split_order(need: np.ndarray, options: SupplierOptions) -> np.ndarray:
    """Quantities (n, k) to buy from each supplier to cover the net need (n,), as described above."""
    residual = np.maximum(np.asarray(need, np.int64), 0)
    pack = np.maximum(options.case_pack.astype(np.int64), 1)
    moq = -(-np.maximum(options.moq.astype(np.int64), 0) // pack) * pack
    usable = np.maximum(options.capacity.astype(np.int64), 0) // pack * pack
    taken = np.zeros(pack.shape, np.int64)
    for j in range(pack.shape[1]):
        wanted = np.maximum(-(-residual // pack[:, j]) * pack[:, j], moq[:, j])
        take = np.minimum(wanted, usable[:, j])
        take = np.where((residual > 0) & (take > 0) & (take >= moq[:, j]), take, 0)
        taken[:, j] = take
        residual = np.maximum(residual - take, 0)
    return taken


def newsvendor_targets(
    mean: np.ndarray, p50: np.ndarray, p80: np.ndarray, p95: np.ndarray, ratio: np.ndarray,
    group: np.ndarray | None = None, n_groups: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets at the critical ratios: the pooled forecast's quantile per group (product).

    Rows are stored forecasts (e.g. one per depot and product); `group` maps each to its product
    row (default: one row per product). Returns (target quantity, pooled mean) per product.
    """
    mean = np.asarray(mean, np.float64)
    if group is None:
        group, n_groups = np.arange(mean.size), mean.size
    size = fit_size(mean, p50, p80, p95)
    total_mean, total_size = pool(mean, size, np.asarray(group), int(n_groups))
    return quantile(total_mean, total_size, ratio), total_mean


# A supplier's delivery rate is never assumed below this, however bad its record: ordering more than
# twice the need is a buyer's call, not a rule's.
MIN_DELIVERY_RATE = 0.5


def delivery_rate(lines: np.ndarray, ordered: np.ndarray, accepted: np.ndarray, prior_lines: float) -> np.ndarray:
    """The share of the units ordered that a supplier delivers and passes QC, from its recent
    orders (lines, units ordered, units accepted), shrunk toward 1 (full delivery: a supplier
    without a record is taken at its word) with the weight of ``prior_lines`` lines of evidence."""
    lines, ordered, accepted = (np.asarray(a, np.float64) for a in (lines, ordered, accepted))
    observed = np.where(ordered > 0, accepted / np.maximum(ordered, 1.0), 1.0)
    evidence = lines + prior_lines
    weight = np.divide(lines, evidence, out=np.zeros_like(lines), where=evidence > 0)
    return np.clip(weight * observed + (1.0 - weight), MIN_DELIVERY_RATE, 1.0)


def gross_need(need: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """What to order so that what arrives covers the net need on average: need / rate, rounded up."""
    return np.ceil(np.maximum(np.asarray(need, np.int64), 0) / np.asarray(rate, np.float64) - 1e-9).astype(np.int64)


def salvage_value(cost: np.ndarray, shelf_life_days: np.ndarray, days_to_next_wave: int, carry_cost_rate: float) -> np.ndarray:
    """What a unit left over is worth: 0 for perishables that cannot reach the next wave, else its cost
    less the cost of carrying it (long-life goods are sold in a later wave)."""
    cost = np.asarray(cost, np.float64)
    carries = np.asarray(shelf_life_days) >= days_to_next_wave
    return np.where(carries, cost * (1.0 - carry_cost_rate), 0.0)
