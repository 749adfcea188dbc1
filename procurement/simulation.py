"""Simulated buying over many days: the newsvendor policy against order-up-to-the-mean, same demand, same forecasts.

Pure module (numpy and the pure forecasting core; no Django), used by ``manage.py bench_procurement``.

Each day, for every product: forecast the day from the history so far (warehouse.forecasting, one step
ahead, the same model and stored quantiles as production), set a target (the newsvendor quantile at the
product's critical ratio, or the forecast mean rounded), buy the target less the stock carried over,
split over a preferred and a fallback supplier (case packs, MOQ, capacity: newsvendor.split_order),
sell what demand takes, and either waste the leftover (perishables) or carry it to the next day
(long-life goods). Days on which a product's demand is unknown in the panel (gaps) are days it is not
on sale: nothing is bought or sold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warehouse import forecasting
from warehouse.forecast_eval import Panel, day_codes

from . import newsvendor

POLICIES = ("newsvendor", "order_up_to_mean")


@dataclass
class Catalogue:
    """Per product: selling price, the two suppliers' terms, and whether leftovers keep."""

    price: np.ndarray  # (n,)
    cost: np.ndarray  # (n, 2) preferred, fallback
    options: newsvendor.SupplierOptions  # (n, 2)
    long_life: np.ndarray  # (n,) bool
    shelf_life_days: np.ndarray  # (n,) on arrival, at the preferred supplier


def make_catalogue(panel: Panel, origin: int, price: np.ndarray, seed: int, long_life_share: float = 0.3) -> Catalogue:
    """Plausible terms for the panel's products: margins of 15-45 %, cases sized to the demand, a
    preferred supplier whose capacity binds on busy days and a dearer market stall that never runs out."""
    rng = np.random.default_rng(seed + 7)
    n = panel.n_series
    level = np.nan_to_num(np.nanmean(panel.y[:, max(origin - 28, 0):origin], axis=1), nan=0.0)
    cost_preferred = price * rng.uniform(0.55, 0.85, n)
    cost = np.stack([cost_preferred, cost_preferred * 1.1], axis=1)
    pack = np.minimum(rng.choice([1, 2, 4, 6, 12], n), np.maximum(1, np.floor(level / 3))).astype(np.int64)
    capacity = np.ceil(np.maximum(level, 1.0) * rng.uniform(1.2, 2.5, n)).astype(np.int64)
    options = newsvendor.SupplierOptions(
        case_pack=np.stack([pack, np.ones(n, np.int64)], axis=1),
        moq=np.stack([pack, np.zeros(n, np.int64)], axis=1),
        capacity=np.stack([capacity, np.full(n, 10**9, np.int64)], axis=1),
    )
    long_life = rng.random(n) < long_life_share
    return Catalogue(price, cost, options, long_life, np.where(long_life, 90, 2))


@dataclass
class PolicyTotals:
    demand: float = 0.0
    sold: float = 0.0
    shortage_units: float = 0.0
    waste_units: float = 0.0
    bought_units: float = 0.0
    revenue: float = 0.0
    purchase_cost: float = 0.0
    closing_stock_value: float = 0.0

    def report(self) -> dict:
        return {
            "shortage_units": int(self.shortage_units),
            "waste_units": int(self.waste_units),
            "fill_rate": round(self.sold / self.demand, 4) if self.demand else None,
            # Leftover long-life stock at the end is worth its cost, as the newsvendor's salvage says.
            "gross_margin": round(self.revenue - self.purchase_cost + self.closing_stock_value, 2),
            "revenue": round(self.revenue, 2),
            "purchase_cost": round(self.purchase_cost, 2),
            "closing_stock_value": round(self.closing_stock_value, 2),
            "bought_units": int(self.bought_units),
            "demand_units": int(self.demand),
        }


def simulate(panel: Panel, catalogue: Catalogue, days: int, days_to_next_wave: int, carry_cost_rate: float,
             history_window: int = 400, log=print) -> dict:
    """Run both policies over the panel's last `days` days; returns the totals per policy."""
    n, total_days = panel.y.shape
    origin = total_days - days
    salvage = newsvendor.salvage_value(catalogue.cost[:, 0], catalogue.shelf_life_days, days_to_next_wave, carry_cost_rate)
    ratio = newsvendor.critical_ratio(catalogue.price, catalogue.cost[:, 0], salvage)
    stock = {policy: np.zeros(n, np.int64) for policy in POLICIES}
    totals = {policy: PolicyTotals() for policy in POLICIES}
    codes = day_codes(panel)  # the holidays the panel's demand has, for the forecaster as the service gives them
    for day in range(days):
        t = origin + day
        start = max(t - history_window, 0)
        result = forecasting.forecast(
            forecasting.ForecastInput(panel.y[:, start:t], panel.promo[:, start:t], panel.promo[:, t:t + 1], panel.group,
                                      start_weekday=(panel.start_weekday + start) % 7,
                                      day_code=None if codes is None else codes[start:t + 1]),
            horizon=1,
        )
        mean = result.mean[:, 0].astype(np.float64)
        quantiles = [result.quantiles[q][:, 0] for q in (0.5, 0.8, 0.95)]
        on_sale = ~np.isnan(panel.y[:, t])
        demand = np.where(on_sale, np.nan_to_num(panel.y[:, t]), 0).astype(np.int64)
        targets = {
            "newsvendor": newsvendor.newsvendor_targets(mean, *quantiles, ratio)[0],
            "order_up_to_mean": np.rint(mean).astype(np.int64),
        }
        for policy in POLICIES:
            need = np.where(on_sale, np.maximum(targets[policy] - stock[policy], 0), 0)
            bought = newsvendor.split_order(need, catalogue.options)
            available = stock[policy] + bought.sum(axis=1)
            sold = np.minimum(available, demand)
            leftover = available - sold
            tally = totals[policy]
            tally.demand += demand.sum()
            tally.sold += sold.sum()
            tally.shortage_units += (demand - sold).sum()
            tally.bought_units += bought.sum()
            tally.revenue += float(sold @ catalogue.price)
            tally.purchase_cost += float((bought * catalogue.cost).sum())
            tally.waste_units += leftover[~catalogue.long_life].sum()
            stock[policy] = np.where(catalogue.long_life, leftover, 0)
        if day % 10 == 0:
            log(f"  day {day + 1}/{days}")
    for policy in POLICIES:
        totals[policy].closing_stock_value = float(stock[policy] @ catalogue.cost[:, 0])
    return {policy: totals[policy].report() for policy in POLICIES}
