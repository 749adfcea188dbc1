"""Stock-outs that censor sales, and series with a week of history or less (issue 18), through the
forecaster's, the generator's, the CSV loader's and the benchmark's public functions."""
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from warehouse import forecast_eval as fe
from warehouse.forecast_panel import load_csv
from warehouse.forecasting import ForecastConfig, ForecastInput, forecast, nb_mean_above

QS = (0.5, 0.8, 0.95)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute_mean_above(mu, r, s):
    k = np.arange(int(s), int(s) + 20000)
    pm = stats.nbinom.pmf(k, r, r / (r + mu))
    return float((k * pm).sum() / pm.sum())


@SETTINGS
@given(st.floats(0.05, 400.0), st.floats(0.3, 1e4), st.integers(0, 150))
def test_nb_mean_above_is_the_conditional_mean(mu, r, sold):
    got = float(nb_mean_above(np.array([mu]), np.array([r]), np.array([sold]))[0])
    assert np.isfinite(got) and got >= sold and got >= mu * (1 - 1e-9)
    p_tail = stats.nbinom.sf(sold - 1, r, r / (r + mu)) if sold > 0 else 1.0
    if p_tail > 1e-6:  # far in the tail the geometric approximation takes over
        assert got == pytest.approx(brute_mean_above(mu, r, sold), rel=1e-6)
    else:
        assert sold <= got <= sold + 50 + 2 * mu


def test_nb_mean_above_edge_values():
    got = nb_mean_above(np.array([0.0, 3.0, 3.0, np.nan, 5.0]), np.array([2.0, 2.0, np.inf, 2.0, 2.0]),
                        np.array([4.0, 0.0, 5.0, 3.0, np.nan]))
    assert np.isfinite(got).all()
    assert got[0] >= 4 and got[1] == pytest.approx(3.0) and got[2] >= 5 and got[3] >= 3 and got[4] == 5.0


def censored_panel(n=1500, T=300, h=28, share_limited=0.5, seed=1):
    """Demand NB(level, r=4); half the series sell from a stock around their level and sell out."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(1, 30, n)
    demand = rng.poisson(rng.gamma(4.0, level[:, None] / 4.0, (n, T + h))).astype(float)
    stock = np.maximum(1, np.round(level[:, None] * rng.uniform(0.8, 1.5, (n, 1))
                                   * np.exp(rng.normal(0, 0.25, (n, T + h)))))
    limited = rng.random(n) < share_limited
    sales = np.where(limited[:, None], np.minimum(demand, stock), demand)
    censored = limited[:, None] & (demand >= stock)
    return sales, censored, demand, level, limited


def test_sold_out_days_are_not_taken_as_the_demand():
    sales, censored, demand, level, limited = censored_panel()
    T, h = 300, 28
    got = {}
    for mode in ("impute", "exclude", "ignore"):
        res = forecast(ForecastInput(sales[:, :T], censored=censored[:, :T]), h,
                       config=ForecastConfig(censored_mode=mode))
        got[mode] = res.mean[limited].sum() / (level[limited].sum() * h) - 1  # bias against the demand
    assert censored.mean() > 0.1
    assert abs(got["impute"]) < 0.04
    assert got["ignore"] < -0.1 and got["exclude"] < -0.1  # sales as demand, or the high days left out
    unmasked = forecast(ForecastInput(sales[:, :T]), h).mean
    masked_ignored = forecast(ForecastInput(sales[:, :T], censored=censored[:, :T]), h,
                              config=ForecastConfig(censored_mode="ignore")).mean
    assert np.array_equal(unmasked, masked_ignored)


def test_sold_out_series_keep_a_calibrated_spread():
    sales, censored, demand, level, limited = censored_panel(seed=2)
    T, h = 300, 28
    res = forecast(ForecastInput(sales[:, :T], censored=censored[:, :T]), h)
    a = demand[limited, T:]
    pit = fe.pit_coverage_nb(a, res.mean[limited], res.dispersion[limited][:, None], 0.8)
    assert 0.76 <= pit <= 0.84


def test_a_series_that_always_sells_out_is_forecast_above_its_cap():
    rng = np.random.default_rng(3)
    y = rng.poisson(5.0, (30, 200)).astype(float)
    y[0] = 6.0  # sold out at 6 every day: its demand is at least 6
    cens = np.zeros_like(y, bool)
    cens[0] = True
    res = forecast(ForecastInput(y, censored=cens), 14)
    assert np.isfinite(res.mean).all()
    assert res.mean[0].mean() > 6.0
    assert res.mean[1:].mean() == pytest.approx(5.0, rel=0.1)


def test_censored_mask_must_match_the_history():
    y = np.ones((3, 20))
    with pytest.raises(ValueError, match="censored"):
        forecast(ForecastInput(y, censored=np.zeros((3, 19), bool)), 7)
    with pytest.raises(ValueError, match="censored_mode"):
        forecast(ForecastInput(y), 7, config=ForecastConfig(censored_mode="drop"))


@st.composite
def censored_panels(draw):
    n = draw(st.integers(1, 6))
    T = draw(st.integers(0, 90))
    h = draw(st.integers(1, 14))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.0, 0.05, 0.5, 3.0, 40.0, 2000.0]))
    y = rng.poisson(scale * rng.uniform(0.2, 2.0, (n, 1)) * np.ones((n, T))).astype(np.float64)
    y[rng.random((n, T)) < draw(st.sampled_from([0.0, 0.2, 1.0]))] = np.nan
    if T and draw(st.booleans()):  # a series seen for 0-7 days only
        y[0, : max(T - draw(st.integers(0, 7)), 0)] = np.nan
    cens = rng.random((n, T)) < draw(st.sampled_from([0.0, 0.1, 0.6, 1.0]))  # NaN cells flagged too
    promo_h = rng.random((n, T)) < 0.1
    return ForecastInput(history=y, promo_history=promo_h, promo_future=rng.random((n, h)) < 0.3,
                         group=rng.integers(0, 3, n), start_weekday=draw(st.integers(0, 6)), censored=cens), h


@SETTINGS
@given(censored_panels(), st.sampled_from(["impute", "exclude", "ignore"]))
def test_forecasts_with_stockouts_and_new_series_stay_finite(case, mode):
    inp, h = case
    res = forecast(inp, h, quantiles=QS, config=ForecastConfig(censored_mode=mode))
    n = inp.history.shape[0]
    assert res.mean.shape == (n, h)
    assert np.isfinite(res.mean).all() and (res.mean >= 0).all()
    for q in QS:
        assert np.isfinite(res.quantiles[q]).all() and (res.quantiles[q] >= 0).all()
    assert (res.quantiles[0.5] <= res.quantiles[0.8]).all() and (res.quantiles[0.8] <= res.quantiles[0.95]).all()
    assert np.isfinite(res.dispersion).all() and (res.dispersion > 0).all()


# ---- series with a week of history or less ----------------------------------------------------


@SETTINGS
@given(st.integers(0, 7), st.floats(0.25, 4.0), st.integers(0, 6))
def test_a_new_series_moves_from_its_group_toward_what_it_sold(days_seen, ratio, wd):
    rng = np.random.default_rng(days_seen * 100 + int(ratio * 10))
    T, h, base = 120, 14, 8.0
    mature = rng.poisson(base * rng.uniform(0.7, 1.3, (40, 1)), (40, T)).astype(float)
    new = np.full((3, T), np.nan)
    if days_seen:
        new[:, T - days_seen:] = rng.poisson(base * ratio, (3, days_seen))
    res = forecast(ForecastInput(np.vstack([mature, new]), group=np.zeros(43, int), start_weekday=wd), h)
    f = res.mean[-3:]
    assert np.isfinite(f).all() and (f >= 0).all()
    assert np.isfinite(res.quantiles[0.95][-3:]).all()
    group_level = res.mean[:40].mean()
    own = np.nanmean(new[:, T - days_seen:]) if days_seen else group_level
    lo, hi = min(group_level, own), max(group_level, own)
    assert lo * 0.6 - 0.5 <= f.mean() <= hi * 1.4 + 0.5  # between the group's level and its own
    if days_seen == 0:
        assert f.mean() == pytest.approx(group_level, rel=0.15)
    # the less it has been seen, the wider its forecast relative to its mean
    assert (res.quantiles[0.95][-3:] >= res.quantiles[0.5][-3:]).all()


# ---- the generator, the CSV and the benchmark --------------------------------------------------


def test_generator_caps_sales_at_the_stock_and_flags_the_sold_out_days():
    cfg = fe.GeneratorConfig(stockout_series_share=0.3, share_new_week=0.05)
    p = fe.generate_panel(400, 200, horizon=14, seed=5, config=cfg)
    known = ~np.isnan(p.y)
    assert np.array_equal(known, ~np.isnan(p.demand))
    assert (p.y[known] <= p.demand[known]).all()
    assert (p.y[known & ~p.censored] == p.demand[known & ~p.censored]).all()  # not sold out: sales = demand
    assert (p.demand[p.censored] >= p.y[p.censored]).all() and not (p.censored & ~known).any()
    share = p.censored.sum() / known.sum()
    assert 0.02 < share < 0.3
    origin = 200 - 14
    newest = p.launch >= origin - 7
    assert newest.sum() >= 10 and (p.launch[newest] <= origin).all()
    plain = fe.generate_panel(400, 200, horizon=14, seed=5)
    assert plain.censored is None and plain.demand is None
    off = fe.generate_panel(400, 200, horizon=14, seed=5, config=fe.GeneratorConfig(stockout_series_share=0.0))
    assert np.array_equal(plain.y, off.y, equal_nan=True)  # the new draws have streams of their own


def test_csv_stockout_column_flags_sold_out_days():
    p, rep = load_csv(io.StringIO("date,series,quantity,sold_out\n"
                                  "2024-01-02,a,5,yes\n2024-01-01,a,3,0\n2024-01-03,a,4,\n"
                                  "2024-01-01,b,1,1\n2024-01-01,b,2,0\n"))
    assert p.censored.tolist() == [[False, True, False], [True, False, False]]
    assert rep.sold_out_days == 2 and "2 days sold out" in "\n".join(rep.lines())
    plain, _ = load_csv(io.StringIO("date,series,quantity\n2024-01-01,a,3\n"))
    assert plain.censored is None


def test_benchmark_scores_demand_and_reports_stockouts_and_new_series():
    cfg = fe.GeneratorConfig(stockout_series_share=0.3, share_new_week=0.1)
    p = fe.generate_panel(300, 160, horizon=14, seed=7, config=cfg)
    out = fe.run_benchmark(p, horizon=14, sample=0, log=lambda m: None)
    assert out["scored_against"].startswith("demand")
    assert out["holdout_demand"] == pytest.approx(float(np.nansum(p.demand[:, -14:])))
    for key in ("wape_new_series", "wape_stockout_series", "wape_censoring_ignored", "wape_censored_days_excluded"):
        assert np.isfinite(out[key])
    assert set(out["censoring"]) == {"mode", "impute", "exclude", "ignore"}
    assert out["targets_met"]["forecasts finite and >= 0"]
    assert "wape_new_series" in out["full_panel"]["seasonal_naive"]


def test_benchmark_on_a_csv_leaves_held_out_sold_out_days_unscored():
    rows = ["date,series,quantity,stockout"]
    rng = np.random.default_rng(0)
    for d in range(60):
        day = f"2024-{1 + d // 31:02d}-{1 + d % 31:02d}"
        for s in range(4):
            rows.append(f"{day},s{s},{rng.poisson(6)},{int(rng.random() < 0.2)}")
    p, _ = load_csv(io.StringIO("\n".join(rows) + "\n"))
    out = fe.run_benchmark(p, horizon=7, sample=0, log=lambda m: None)
    held = int(p.censored[:, -7:].sum())
    assert held > 0 and out["held_out_sold_out_days_not_scored"] == held
    assert out["holdout_cells"] == 4 * 7 - held and out["scored_against"] == "sales"


def test_sold_out_promotion_days_do_not_pull_the_uplift_down():
    rng = np.random.default_rng(4)
    n, T, h = 400, 300, 14
    level = rng.uniform(5, 20, n)
    promo = rng.random((n, T)) < 0.08
    mu = level[:, None] * np.where(promo, 2.0, 1.0)
    demand = rng.poisson(rng.gamma(6.0, mu / 6.0)).astype(float)
    limited = np.arange(n) < n // 2  # the other half never sells out
    stock = np.where(limited[:, None], np.round(mu * 1.1), np.inf)
    sales = np.minimum(demand, stock)
    cens = demand >= stock
    got = {}
    for mode in ("impute", "exclude"):
        res = forecast(ForecastInput(sales, promo, np.ones((n, h), bool), censored=cens), h,
                       config=ForecastConfig(censored_mode=mode))
        got[mode] = (res.uplift[limited].mean(), res.mean[limited].sum() / (2.0 * level[limited].sum() * h))
    assert got["impute"][0] == pytest.approx(2.0, rel=0.08)  # the uplift
    assert got["impute"][1] == pytest.approx(1.0, rel=0.06)  # promotion days' forecast against their demand
    assert got["exclude"][1] < 0.85


def test_bench_command_measures_stockouts_and_new_series(tmp_path):
    import json

    from django.core.management import CommandError, call_command

    out, stdout = tmp_path / "out.json", io.StringIO()
    call_command("bench_forecast", series=300, days=150, horizon=14, sample=0, stockouts=0.3, new_series=0.1,
                 json=str(out), stdout=stdout)
    data = json.loads(out.read_text())
    assert data["data"]["stockout_series_share"] == 0.3 and data["data"]["share_new_week"] == 0.1
    assert data["wape_new_series"] is not None and data["wape_stockout_series"] is not None
    assert data["censoring"]["ignore"]["wape"] is not None
    text = stdout.getvalue()
    assert "sold out" in text and "new" in text and "wape with the stock-out mask <= 1.01 x without it" in text and "sold-out series: |bias|" in text
    with pytest.raises(CommandError, match="shares"):
        call_command("bench_forecast", series=10, days=60, stockouts=1.5, stdout=io.StringIO())


def test_bench_command_reads_a_csv_stockout_column(tmp_path):
    from django.core.management import call_command

    rng = np.random.default_rng(1)
    lines = [f"{np.datetime64('2024-03-01') + d},p{s},{rng.poisson(5)},{int(rng.random() < 0.15)}"
             for s in range(5) for d in range(90)]
    csv = tmp_path / "sales.csv"
    csv.write_text("date,series,quantity,sold_out\n" + "\n".join(lines) + "\n")
    stdout = io.StringIO()
    call_command("bench_forecast", csv=str(csv), sample=0, horizon=14, stdout=stdout)
    assert "days sold out: their quantity is a lower bound of the demand" in stdout.getvalue()
