"""Synthetic demand panels with known truth, accuracy metrics and baselines for the forecaster.

Pure module (numpy; pandas and statsforecast only inside the AutoETS baseline): no Django import.
Used by ``manage.py bench_forecast`` and by the tests.

Metrics are computed over the held-out cells whose actual is known (NaN actuals are gaps and are
skipped):

* ``wape``  = sum |y - f| / sum y
* ``smape`` = mean of 2 |y - f| / (|y| + |f|), a cell with y = f = 0 counting as 0
* ``bias``  = sum (f - y) / sum y (positive: over-forecast)
* ``coverage_pXX`` = share of cells with y <= the forecast XX% quantile (one-sided; nominal XX%).

For counts, ``y <= q`` is a step function of q, so even the true distribution's quantiles cover
more than nominal (P(Y <= q_tau) >= tau, with equality only when tau falls exactly on a step; a
series with P(Y = 0) = 0.9 covers 0.9 at any q >= 0).  The oracle figures reported beside ours
(the generator's true distribution, same quantile rule) show how much of that is intrinsic.
``pit_coverage`` is the non-randomised PIT coverage of Czado, Gneiting & Held (2009), exactly
nominal for a calibrated count forecast; ``midquantile_coverage`` is what ``coverage`` would be
with Parzen mid-quantiles instead of integer quantiles.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

# Monday-first weekly shape shared by every category (group buying peaks before the weekend).
BASE_WEEKLY = np.array([0.92, 0.86, 0.90, 0.98, 1.12, 1.20, 1.02])

KIND_FAST, KIND_REGULAR, KIND_INTERMITTENT, KIND_DEPOT = 0, 1, 2, 3
KIND_NAMES = ("fast", "regular", "intermittent", "depot")


@dataclass
class Panel:
    """A demand panel: one row per series, one column per day (day 0 is ``start_weekday``)."""

    y: np.ndarray  # (n, T) float32 observed quantity, NaN = gap or not yet launched
    promo: np.ndarray  # (n, T) bool promotion flagged on the day (known in advance)
    group: np.ndarray  # (n,) int32 fallback pooling group (category)
    start_weekday: int = 0
    truth: np.ndarray | None = None  # (n, T) float32 expected demand (generator only)
    dispersion: np.ndarray | None = None  # (n,) float32 NB size r of the noise (generator only)
    kind: np.ndarray | None = None  # (n,) int8 KIND_* (generator only)
    launch: np.ndarray | None = None  # (n,) int32 first day on sale (generator only)
    names: list | None = None  # series names (CSV input)
    first_date: object | None = None  # date of column 0 (CSV input)
    price: np.ndarray | None = None  # (n, T) float32 selling price, NaN = unknown (CSV input)
    holiday: np.ndarray | None = None  # (T,) bool public holiday (day off), shared by all series

    @property
    def n_series(self) -> int:
        return self.y.shape[0]

    @property
    def n_days(self) -> int:
        return self.y.shape[1]


@dataclass
class GeneratorConfig:
    n_groups: int = 40
    share_fast: float = 0.15
    share_intermittent: float = 0.30
    share_depot: float = 0.03  # (product, depot) series: the sum over a depot's pickup points
    promo_day_share: float = 0.05
    uplift_low: float = 1.5
    uplift_high: float = 3.0
    share_launched_mid: float = 0.12  # launched somewhere inside the history
    share_new: float = 0.05  # launched less than 28 days before the forecast origin
    gap_day_share: float = 0.01  # isolated missing days
    share_closure: float = 0.03  # series with one closure block of 3-14 missing days
    trend_sd_per_year: float = 0.25  # sd of the log-linear trend, per year
    walk_sd_low: float = 0.004  # daily sd of the log-level random walk (uniform low..high)
    walk_sd_high: float = 0.015
    extra: dict = field(default_factory=dict)


def generate_panel(n_series: int, n_days: int, horizon: int = 28, seed: int = 0,
                   config: GeneratorConfig | None = None, chunk: int = 20_000) -> Panel:
    """A realistic (product x pickup point) daily demand panel with known expected demand.

    Mix: (product, pickup point) series - ~15% fast movers (10-60/day), ~52% regular (1-8/day),
    ~30% intermittent (mostly zero days, lumpy sizes) - and ~3% (product, depot) series
    (50-500/day, pooled in their own groups); a category weekly profile with per-series variation;
    a mild log-linear trend
    plus a slow random walk of the level; ~5% promotion days in 1-3 day events with a 1.5-3x
    uplift drawn per event; ~12% of series launched inside the history and ~5% launched less than
    28 days before the forecast origin (``n_days - horizon``); isolated gap days and closure blocks
    (NaN).  Counts are negative binomial around the truth (size r per series: ~8 fast, ~4 regular,
    ~1 intermittent, ~20 depot).  Memory: a few (n, T) float32 arrays, built ``chunk`` rows at a time.
    """
    cfg = config or GeneratorConfig()
    rng = np.random.default_rng(seed)
    n, T = int(n_series), int(n_days)
    start_weekday = int(rng.integers(0, 7))

    category = rng.integers(0, cfg.n_groups, n)
    group_scale = np.exp(rng.normal(0.0, 0.5, cfg.n_groups))
    group_week = BASE_WEEKLY[None, :] * np.exp(rng.normal(0.0, 0.10, (cfg.n_groups, 7)))

    u = rng.random(n)
    cut = np.cumsum([cfg.share_fast, cfg.share_intermittent, cfg.share_depot])
    kind = np.select([u < cut[0], u < cut[1], u < cut[2]], [KIND_FAST, KIND_INTERMITTENT, KIND_DEPOT],
                     KIND_REGULAR).astype(np.int8)
    base_by_kind = np.array([22.0, 3.0, 0.18, 150.0])
    sd_by_kind = np.array([0.45, 0.5, 0.55, 0.6])
    level0 = base_by_kind[kind] * group_scale[category] * np.exp(rng.normal(0.0, 1.0, n) * sd_by_kind[kind])
    r_by_kind = np.array([8.0, 4.0, 1.0, 20.0])
    dispersion = (r_by_kind[kind] * np.exp(rng.normal(0.0, 0.4, n))).astype(np.float32)

    # pooling group = category within level: depot series pool apart from pickup-point series
    group = (category + cfg.n_groups * (kind == KIND_DEPOT)).astype(np.int32)
    week = group_week[category] * np.exp(rng.normal(0.0, 0.06, (n, 7)))
    week /= week.mean(axis=1, keepdims=True)
    slope = rng.normal(0.0, cfg.trend_sd_per_year / 365.0, n)
    walk_sd = rng.uniform(cfg.walk_sd_low, cfg.walk_sd_high, n)

    origin = T - horizon
    launch = np.zeros(n, np.int32)
    u = rng.random(n)
    mid = u < cfg.share_launched_mid
    new = (u >= cfg.share_launched_mid) & (u < cfg.share_launched_mid + cfg.share_new)
    if origin > 84:
        launch[mid] = rng.integers(1, origin - 56, mid.sum())
    launch[new] = rng.integers(max(origin - 27, 0), origin, new.sum())

    y = np.empty((n, T), np.float32)
    truth = np.empty((n, T), np.float32)
    promo = np.zeros((n, T), bool)
    t = np.arange(T)
    dow = (start_weekday + t) % 7
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        m = b - a
        # level path: trend + random walk around it, centred on the forecast origin
        walk = rng.normal(0.0, 1.0, (m, T)).astype(np.float32)
        walk *= walk_sd[a:b, None].astype(np.float32)
        np.cumsum(walk, axis=1, out=walk)
        walk -= walk[:, origin - 1:origin]
        walk += (slope[a:b, None] * (t - origin)[None, :]).astype(np.float32)
        np.exp(walk, out=walk)
        walk *= level0[a:b, None].astype(np.float32)
        walk *= week[a:b][:, dow].astype(np.float32)
        # promotions: events of 1-3 days, uplift drawn per event
        starts = rng.random((m, T)) < cfg.promo_day_share / 2.0
        dur = rng.integers(1, 4, (m, T))
        upl = rng.uniform(cfg.uplift_low, cfg.uplift_high, (m, T)).astype(np.float32)
        uplift = np.ones((m, T), np.float32)
        for d in range(3):
            on = starts[:, : T - d] & (dur[:, : T - d] > d)
            promo[a:b, d:] |= on
            np.maximum(uplift[:, d:], np.where(on, upl[:, : T - d], 1.0), out=uplift[:, d:])
        del starts, dur, upl
        walk *= uplift
        del uplift
        walk[t[None, :] < launch[a:b, None]] = 0.0
        truth[a:b] = walk
        # negative binomial counts as a gamma-Poisson mixture
        r = dispersion[a:b, None]
        lam = rng.gamma(np.broadcast_to(r, (m, T)), 1.0).astype(np.float32)
        lam *= walk / r
        y[a:b] = rng.poisson(lam)
        del lam, walk
    # unknown days: before launch, isolated gaps, closure blocks
    y[t[None, :] < launch[:, None]] = np.nan
    y[rng.random((n, T)) < cfg.gap_day_share] = np.nan
    closed = np.flatnonzero(rng.random(n) < cfg.share_closure)
    if len(closed) and T > 30:
        c0 = rng.integers(0, T - 15, len(closed))
        c_len = rng.integers(3, 15, len(closed))
        for k in range(14):
            sel = k < c_len
            y[closed[sel], c0[sel] + k] = np.nan
    return Panel(y=y, promo=promo, group=group, start_weekday=start_weekday, truth=truth,
                 dispersion=dispersion, kind=kind, launch=launch)


# ---------------------------------------------------------------------------------------------
# metrics


def _valid(y):
    return ~np.isnan(y)


def wape(y: np.ndarray, f: np.ndarray) -> float:
    v = _valid(y)
    den = float(np.sum(y[v], dtype=np.float64))
    return float(np.sum(np.abs(y[v] - f[v]), dtype=np.float64)) / den if den > 0 else float("nan")


def smape(y: np.ndarray, f: np.ndarray) -> float:
    v = _valid(y)
    a, b = y[v].astype(np.float64), f[v].astype(np.float64)
    den = np.abs(a) + np.abs(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(den > 0, 2.0 * np.abs(a - b) / den, 0.0)
    return float(s.mean()) if s.size else float("nan")


def bias(y: np.ndarray, f: np.ndarray) -> float:
    v = _valid(y)
    den = float(np.sum(y[v], dtype=np.float64))
    return float(np.sum(f[v] - y[v], dtype=np.float64)) / den if den > 0 else float("nan")


def coverage(y: np.ndarray, q: np.ndarray) -> float:
    v = _valid(y)
    return float(np.mean(y[v] <= q[v])) if v.any() else float("nan")


def pit_coverage_nb(y: np.ndarray, mean: np.ndarray, size: np.ndarray, tau: float) -> float:
    """Non-randomised PIT coverage for a negative binomial forecast (mean, size r; r=inf Poisson).

    Each cell contributes P(U <= tau) with U uniform on [F(y-1), F(y)]; exact tau if calibrated.
    """
    v = _valid(y)
    yy = y[v].astype(np.float64)
    mu = np.maximum(mean[v].astype(np.float64), 1e-9)
    r = np.broadcast_to(size, mean.shape)[v].astype(np.float64)
    r = np.minimum(r, 1e8)
    p = r / (r + mu)
    hi = stats.nbinom.cdf(yy, r, p)
    lo = np.where(yy > 0, stats.nbinom.cdf(yy - 1, r, p), 0.0)
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(width > 1e-12, np.clip((tau - lo) / width, 0.0, 1.0), (tau >= hi).astype(float))
    return float(c.mean())


def midquantile_coverage_nb(y: np.ndarray, mean: np.ndarray, size: np.ndarray, q: np.ndarray, tau: float) -> float:
    """Coverage ``y <= Q`` had the quantile been reported as Parzen's mid-quantile (the inverse of
    the mid-distribution F(k) - P(k)/2, interpolated between integers) instead of the smallest
    integer k with F(k) >= tau.  Only floor(Q) matters for integer y: it is k when
    F(k) - P(k)/2 <= tau (or k = 0), else k - 1.  A diagnostic for the discreteness of counts."""
    v = _valid(y)
    k = q[v].astype(np.float64)
    mu = np.maximum(mean[v].astype(np.float64), 1e-9)
    r = np.minimum(np.broadcast_to(size, mean.shape)[v].astype(np.float64), 1e8)
    p = r / (r + mu)
    mid = stats.nbinom.cdf(k, r, p) - 0.5 * stats.nbinom.pmf(k, r, p)
    fl = np.where((mid <= tau) | (k == 0), k, k - 1)
    return float(np.mean(y[v] <= fl)) if v.any() else float("nan")


def accuracy(y: np.ndarray, mean: np.ndarray, quantiles: dict | None = None, prefix: str = "") -> dict:
    out = {f"{prefix}wape": wape(y, mean), f"{prefix}smape": smape(y, mean), f"{prefix}bias": bias(y, mean)}
    for tau, q in (quantiles or {}).items():
        if tau in (0.8, 0.95):
            out[f"{prefix}coverage_p{round(tau * 100)}"] = coverage(y, q)
    return out


# ---------------------------------------------------------------------------------------------
# baselines


def seasonal_naive(history: np.ndarray, horizon: int, season: int = 7) -> np.ndarray:
    """Repeat the last observed value of each weekday; a weekday never seen in the last 8 weeks
    takes the series' recent mean, and a series never seen takes 0."""
    n, T = history.shape
    w = min(T // season, 8) * season
    if w == 0:
        return np.zeros((n, horizon), np.float32)
    tail = history[:, T - w:].reshape(n, w // season, season)
    last = np.full((n, season), np.nan, np.float32)
    for k in range(tail.shape[1]):  # oldest to newest week: newer observed values overwrite
        wk = tail[:, k, :]
        ok = ~np.isnan(wk)
        last[ok] = wk[ok]
    with np.errstate(invalid="ignore"):
        fill = np.nanmean(history[:, T - w:], axis=1) if w else np.zeros(n)
    fill = np.where(np.isnan(fill), 0.0, fill)
    last = np.where(np.isnan(last), fill[:, None], last)
    # column j of `last` is day T - season + j; day T + h has the phase of column h % season
    idx = np.arange(horizon) % season
    return last[:, idx].astype(np.float32)


def autoets_forecast(history: np.ndarray, horizon: int, season_length: int = 7, n_jobs: int = -1,
                     levels=(60, 90)) -> tuple[np.ndarray, dict, float]:
    """statsforecast AutoETS per series on ``history`` rows (leading NaN dropped, inner gaps
    linearly interpolated).  Returns (mean clipped at 0, {0.8: q80, 0.95: q95}, seconds).

    Series with fewer than two seasons of data fall back to a flat mean of what they have (AutoETS
    cannot fit them).  The upper ends of the central 60% / 90% intervals are the P80 / P95.
    """
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    n, T = history.shape
    valid = ~np.isnan(history)
    first = np.where(valid.any(axis=1), valid.argmax(axis=1), T)
    filled = pd.DataFrame(history.T).interpolate(limit_direction="both").to_numpy().T
    n_obs = T - first
    fit = n_obs >= 2 * season_length
    mean = np.zeros((n, horizon), np.float32)
    q = {0.8: np.zeros((n, horizon), np.float32), 0.95: np.zeros((n, horizon), np.float32)}
    for i in np.flatnonzero(~fit):
        m = np.nanmean(history[i]) if n_obs[i] > 0 else 0.0
        mean[i] = m
        q[0.8][i] = stats.poisson.ppf(0.8, max(m, 1e-9))
        q[0.95][i] = stats.poisson.ppf(0.95, max(m, 1e-9))
    rows = np.flatnonzero(fit)
    if not len(rows):
        return mean, q, 0.0
    ids, ds, ys = [], [], []
    for i in rows:
        ids.append(np.full(T - first[i], i))
        ds.append(np.arange(first[i], T))
        ys.append(filled[i, first[i]:])
    df = pd.DataFrame({"unique_id": np.concatenate(ids), "ds": np.concatenate(ds),
                       "y": np.concatenate(ys).astype(np.float64)})
    sf = StatsForecast(models=[AutoETS(season_length=season_length)], freq=1, n_jobs=n_jobs)
    import warnings

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = sf.forecast(df=df, h=horizon, level=list(levels))
    seconds = time.perf_counter() - t0
    out = out.sort_values(["unique_id", "ds"])
    uid = out["unique_id"].to_numpy().reshape(-1, horizon)[:, 0]
    mean[uid] = np.maximum(out["AutoETS"].to_numpy().reshape(-1, horizon), 0)
    q[0.8][uid] = np.maximum(out[f"AutoETS-hi-{levels[0]}"].to_numpy().reshape(-1, horizon), 0)
    q[0.95][uid] = np.maximum(out[f"AutoETS-hi-{levels[1]}"].to_numpy().reshape(-1, horizon), 0)
    return mean, q, seconds


# ---------------------------------------------------------------------------------------------
# the benchmark


def _rss_mb() -> float:
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _nb_oracle_quantiles(truth, r, taus=(0.8, 0.95)):
    from warehouse.forecasting import nb_quantiles

    return nb_quantiles(truth, r, taus)


def run_benchmark(panel: Panel, horizon: int = 28, ets_sample: int = 2000, ets_jobs: int = -1, seed: int = 0,
                  config=None, log=print) -> dict:
    """Hold out the last ``horizon`` days, forecast them, and score us against the baselines.

    ``seconds`` is the wall time of ``forecasting.forecast`` alone (fit and predict, quantiles
    included) on arrays already in memory.  AutoETS runs on a random sample of ``ets_sample``
    series (0 = skip); our WAPE and the seasonal naive WAPE are also given on that sample.
    """
    from warehouse import forecasting

    n, T = panel.y.shape
    H = int(horizon)
    if T <= H:
        raise ValueError(f"need more than {H} days, got {T}")
    hist = panel.y[:, : T - H]
    actual = np.ascontiguousarray(panel.y[:, T - H:])
    inp = forecasting.ForecastInput(history=hist, promo_history=panel.promo[:, : T - H],
                                    promo_future=panel.promo[:, T - H:], group=panel.group,
                                    start_weekday=panel.start_weekday)
    out: dict = {"series": int(n), "days": int(T), "history_days": int(T - H), "horizon": H,
                 "holdout_cells": int((~np.isnan(actual)).sum()),
                 "holdout_demand": float(np.nansum(actual, dtype=np.float64))}
    rss_before = _rss_mb()
    log(f"forecasting {n} series x {T - H} days ...")
    t0 = time.perf_counter()
    res = forecasting.forecast(inp, H, quantiles=(0.5, 0.8, 0.95), config=config)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    out["peak_rss_mb"] = round(_rss_mb(), 1)
    out["rss_before_forecast_mb"] = round(rss_before, 1)
    log(f"  {out['seconds']:.1f} s")
    out.update(accuracy(actual, res.mean, res.quantiles))
    size = res.dispersion[:, None]
    out["pit_coverage_p80"] = pit_coverage_nb(actual, res.mean, size, 0.8)
    out["pit_coverage_p95"] = pit_coverage_nb(actual, res.mean, size, 0.95)
    out["midquantile_coverage_p80"] = midquantile_coverage_nb(actual, res.mean, size, res.quantiles[0.8], 0.8)
    out["midquantile_coverage_p95"] = midquantile_coverage_nb(actual, res.mean, size, res.quantiles[0.95], 0.95)

    sn = seasonal_naive(hist, H)
    out.update(accuracy(actual, sn, prefix="seasonal_naive_"))

    if panel.truth is not None:
        truth = panel.truth[:, T - H:]
        r = panel.dispersion
        oq = _nb_oracle_quantiles(truth, r)
        out.update(accuracy(actual, truth, oq, prefix="oracle_"))
        out["oracle_pit_coverage_p80"] = pit_coverage_nb(actual, truth, r[:, None], 0.8)
        out["oracle_pit_coverage_p95"] = pit_coverage_nb(actual, truth, r[:, None], 0.95)
        by_kind = {}
        launched = panel.launch if panel.launch is not None else np.zeros(n, int)
        segments = [(KIND_NAMES[k], panel.kind == k) for k in range(len(KIND_NAMES))]
        segments.append(("new (<28 days history)", launched > T - H - 28))
        for name, sel in segments:
            if not sel.any():
                continue
            a = actual[sel]
            seg = {"series": int(sel.sum())}
            seg.update(accuracy(a, res.mean[sel], {q: v[sel] for q, v in res.quantiles.items()}))
            seg["pit_coverage_p80"] = pit_coverage_nb(a, res.mean[sel], size[sel], 0.8)
            seg["seasonal_naive_wape"] = wape(a, sn[sel])
            seg.update(accuracy(a, truth[sel], {q: v[sel] for q, v in oq.items()}, prefix="oracle_"))
            by_kind[name] = seg
        promo_f = panel.promo[:, T - H:]
        pa = np.where(promo_f, actual, np.nan)
        by_kind["promotion days"] = {"cells": int(promo_f.sum()), "wape": wape(pa, res.mean),
                                     "bias": bias(pa, res.mean), "oracle_wape": wape(pa, truth),
                                     "seasonal_naive_wape": wape(pa, sn)}
        out["by_segment"] = by_kind

    if ets_sample and ets_sample > 0:
        rng = np.random.default_rng(seed + 1)
        k = min(int(ets_sample), n)
        idx = np.sort(rng.choice(n, k, replace=False))
        log(f"AutoETS on a sample of {k} series ...")
        em, eq, esec = autoets_forecast(hist[idx], H, n_jobs=ets_jobs)
        log(f"  {esec:.1f} s")
        a = actual[idx]
        out["autoets_sample"] = int(k)
        out["autoets_seconds"] = round(esec, 3)
        out.update(accuracy(a, em, eq, prefix="autoets_"))
        out["wape_on_autoets_sample"] = wape(a, res.mean[idx])
        out["seasonal_naive_wape_on_autoets_sample"] = wape(a, sn[idx])
        out["coverage_p80_on_autoets_sample"] = coverage(a, res.quantiles[0.8][idx])
        out["coverage_p95_on_autoets_sample"] = coverage(a, res.quantiles[0.95][idx])
        if panel.truth is not None:
            out["oracle_wape_on_autoets_sample"] = wape(a, panel.truth[idx, T - H:])

    targets = {"seconds <= 60": out["seconds"] <= 60.0,
               "wape <= 0.9 x seasonal_naive_wape": out["wape"] <= 0.9 * out["seasonal_naive_wape"],
               "coverage_p80 in [0.77, 0.83]": 0.77 <= out["coverage_p80"] <= 0.83,
               "coverage_p95 in [0.92, 0.98]": 0.92 <= out["coverage_p95"] <= 0.98}
    if "autoets_wape" in out:
        targets["wape_on_autoets_sample <= 1.02 x autoets_wape"] = (
            out["wape_on_autoets_sample"] <= 1.02 * out["autoets_wape"])
        out["wape_ratio_vs_autoets"] = out["wape_on_autoets_sample"] / out["autoets_wape"]
    out["wape_ratio_vs_seasonal_naive"] = out["wape"] / out["seasonal_naive_wape"]
    out["targets_met"] = targets
    out["model"] = {"choice_by_band": res.info.get("choice_by_band"), "band_edges": res.info.get("band_edges"),
                    "uplift_global": res.info.get("uplift_global"), "profile_tau2": res.info.get("profile_tau2")}
    out["peak_rss_mb_total"] = round(_rss_mb(), 1)
    return out
