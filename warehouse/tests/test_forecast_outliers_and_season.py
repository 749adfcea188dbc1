"""The forecaster on what real panels have and our generator lacks: outlier days nobody flagged,
and a yearly season (tests of the pure core; no database)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.forecasting import ForecastConfig, ForecastInput, forecast

YEAR = 365.25


def steady(days: int, level: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(level, (1, days)).astype(float)


def test_an_unflagged_closed_day_barely_moves_the_level():
    y = steady(300, 500.0)
    y[0, -5] = 0.0  # the shop was shut (or the export lost the day): nobody flagged it
    robust = forecast(ForecastInput(y), 7).mean.mean()
    plain = forecast(ForecastInput(y), 7, config=ForecastConfig(outlier_k=0.0)).mean.mean()
    clean = forecast(ForecastInput(steady(300, 500.0)), 7).mean.mean()
    assert abs(robust / clean - 1) < 0.01
    assert plain < robust  # without the bound the one day drags the level down


def test_a_level_shift_is_still_followed():
    """Days beyond the bound in a row are a shift, not outliers: four weeks after demand doubles
    the forecast has followed it as closely as without the bound."""
    y = np.concatenate([steady(300, 200.0), steady(28, 400.0, seed=1)], axis=1)
    plain = forecast(ForecastInput(y), 7, config=ForecastConfig(outlier_k=0.0)).mean.mean()
    assert forecast(ForecastInput(y), 7).mean.mean() > 0.97 * plain > 350


def test_outliers_do_not_widen_the_intervals():
    y = steady(400, 300.0)
    y[0, np.arange(30, 400, 37)] = 0.0  # ten closed days a year
    res = forecast(ForecastInput(y), 7)
    plain = forecast(ForecastInput(y), 7, config=ForecastConfig(outlier_k=0.0))
    assert res.quantiles[0.95].mean() < plain.quantiles[0.95].mean()


def seasonal(years: int, dip: float, seed: int = 0, agree: bool = True) -> tuple[np.ndarray, int]:
    """Daily demand over ``years`` years plus 28 days, with a dip of ``dip`` in the same three
    weeks of every year (``agree``), or in three weeks drawn anew each year; the origin is a week
    before this year's dip."""
    rng = np.random.default_rng(seed)
    T = int(round(YEAR * years))
    mult = np.ones(T + 28)
    for k in range(years + 1):
        start = T + 7 - int(round(YEAR * k))
        if not agree:
            start += int(rng.integers(-150, 150))
        mult[max(start, 0):max(start + 21, 0)] = 1 - dip
    return rng.poisson(400 * mult[None, :]).astype(float), T


def test_a_season_repeated_every_year_is_forecast():
    y, T = seasonal(4, dip=0.4)
    res = forecast(ForecastInput(y[:, :T]), 28)
    before, during = res.mean[0, :7].mean(), res.mean[0, 7:28].mean()
    assert abs(during / before - 0.6) < 0.06
    assert abs(during / y[0, T + 7:T + 28].mean() - 1) < 0.08


def test_a_season_the_years_disagree_on_is_left_out():
    y, T = seasonal(4, dip=0.4, agree=False)
    res = forecast(ForecastInput(y[:, :T]), 28)
    assert abs(res.mean[0, 7:28].mean() / res.mean[0, :7].mean() - 1) < 0.05


def test_two_years_are_not_enough_for_a_season():
    y, T = seasonal(2, dip=0.4)
    res = forecast(ForecastInput(y[:, :T]), 28)
    assert abs(res.mean[0, 7:28].mean() / res.mean[0, :7].mean() - 1) < 0.05


def test_a_horizon_longer_than_a_year_forecasts_without_the_season():
    y, T = seasonal(4, dip=0.4)
    res = forecast(ForecastInput(y[:, :T]), 400)
    assert res.mean.shape == (1, 400) and np.isfinite(res.mean).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 4), st.integers(1100, 1600), st.integers(1, 28), st.integers(0, 2**32 - 1),
       st.sampled_from([0.0, 0.3, 5.0, 300.0]), st.sampled_from([0.0, 0.2, 0.9]))
def test_long_histories_forecast_finite_and_ordered(n, T, h, seed, scale, gap_share):
    rng = np.random.default_rng(seed)
    y = rng.poisson(scale * (1 + 0.5 * np.sin(np.arange(T) * 2 * np.pi / YEAR)), (n, T)).astype(float)
    y[rng.random((n, T)) < gap_share] = np.nan
    res = forecast(ForecastInput(y, promo_history=rng.random((n, T)) < 0.05,
                                 promo_future=rng.random((n, h)) < 0.05), h)
    assert np.isfinite(res.mean).all() and (res.mean >= 0).all()
    assert (res.quantiles[0.5] <= res.quantiles[0.8]).all() and (res.quantiles[0.8] <= res.quantiles[0.95]).all()
