"""Price elasticity per category (issue 18): measured at price changes, shrunk toward the overall
one, applied to the planned prices of the forecast days; through the public functions."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import forecast_eval as fe
from warehouse.forecasting import ForecastInput, forecast

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def priced_panel(n=600, T=400, h=14, elasticity=(0.8, 2.0), seed=0):
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 2
    eps = np.asarray(elasticity)[group]
    level = rng.uniform(3, 30, n)
    steps = np.where(rng.random((n, T + h)) < 1 / 30, rng.uniform(-0.25, 0.2, (n, T + h)), 0.0)
    logp = np.cumsum(steps, axis=1)
    price = 10 * np.exp(logp)
    mu = level[:, None] * np.exp(-eps[:, None] * (logp - np.median(logp[:, :T], axis=1, keepdims=True)))
    y = rng.poisson(mu).astype(float)
    return y, price, group, mu


def test_elasticity_per_category_is_recovered_and_applied():
    y, price, group, mu = priced_panel()
    T, h = 400, 14
    res = forecast(ForecastInput(y[:, :T], group=group, price_history=price[:, :T], price_future=price[:, T:]), h)
    e = res.info["price_elasticity_by_group"]
    assert e[0] == pytest.approx(0.8, abs=0.2) and e[1] == pytest.approx(2.0, abs=0.3)
    plain = forecast(ForecastInput(y[:, :T], group=group), h)
    err = lambda f: np.abs(f - mu[:, T:]).sum() / mu[:, T:].sum()
    assert err(res.mean) < 0.8 * err(plain.mean)


def test_a_price_cut_raises_the_forecast_and_a_rise_lowers_it():
    y, price, group, _ = priced_panel(seed=1)
    T, h = 400, 14
    base = dict(history=y[:, :T], group=group, price_history=price[:, :T])
    last = price[:, T - 1:T]
    same = forecast(ForecastInput(**base, price_future=np.repeat(last, h, 1)), h).mean
    cut = forecast(ForecastInput(**base, price_future=np.repeat(last * 0.8, h, 1)), h).mean
    rise = forecast(ForecastInput(**base, price_future=np.repeat(last * 1.2, h, 1)), h).mean
    assert (cut >= same - 1e-4).all() and (rise <= same + 1e-4).all()
    assert cut.sum() > 1.1 * same.sum() and rise.sum() < 0.9 * same.sum()
    unknown = forecast(ForecastInput(**base, price_future=np.full((len(y), h), np.nan)), h).mean
    assert np.allclose(unknown, same, rtol=1e-5)  # an unknown future price is the last known one


def test_prices_come_in_pairs_of_the_right_shape():
    y = np.ones((2, 30))
    with pytest.raises(ValueError, match="together"):
        forecast(ForecastInput(y, price_history=np.ones((2, 30))), 7)
    with pytest.raises(ValueError, match="price_history must be"):
        forecast(ForecastInput(y, price_history=np.ones((2, 29)), price_future=np.ones((2, 7))), 7)


@SETTINGS
@given(st.integers(1, 5), st.integers(0, 80), st.integers(1, 10), st.integers(0, 2**32 - 1),
       st.sampled_from([0.0, 0.3, 1.0]))
def test_odd_prices_keep_forecasts_finite(n, T, h, seed, unknown_share):
    rng = np.random.default_rng(seed)
    y = rng.poisson(rng.uniform(0, 20), (n, T)).astype(float)
    price = rng.choice([0.0, -1.0, 1e-9, 3.0, 5.0, 1e6], (n, T + h))
    price[rng.random((n, T + h)) < unknown_share] = np.nan
    res = forecast(ForecastInput(y, group=rng.integers(0, 2, n), price_history=price[:, :T],
                                 price_future=price[:, T:]), h)
    assert np.isfinite(res.mean).all() and (res.mean >= 0).all()
    for q in res.quantiles.values():
        assert np.isfinite(q).all() and (q >= 0).all()


def test_generator_prices_move_demand_and_the_benchmark_measures_them():
    plain = fe.generate_panel(200, 150, horizon=14, seed=3)
    p = fe.generate_panel(200, 150, horizon=14, seed=3, config=fe.GeneratorConfig(prices=True))
    assert plain.price is None and p.price.shape == p.y.shape and (p.price > 0).all()
    assert (np.diff(p.price, axis=1) != 0).mean() < 0.1  # steps, not noise
    out = fe.run_benchmark(p, horizon=14, sample=0, log=lambda m: None)
    assert np.isfinite(out["wape_without_price"]) and out["model"]["price_elasticity_by_group"] is not None
