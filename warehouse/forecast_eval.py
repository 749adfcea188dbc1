"""Synthetic demand panels with known truth, accuracy metrics and the benchmark that scores the
forecaster against its baselines (``warehouse.forecast_baselines``) on the same holdout.

Pure module (numpy, scipy; the baselines import their libraries lazily): no Django import.
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
``pit_coverage`` is the randomised PIT coverage of Czado, Gneiting & Held (2009), taken in
expectation over the randomisation (so without noise), exactly nominal for a calibrated count
forecast; ``midquantile_coverage`` is what ``coverage`` would be
with Parzen mid-quantiles instead of integer quantiles.
"""
from __future__ import annotations

import datetime
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
    day_code: np.ndarray | None = None  # (T,) int16 forecasting.china_day_codes (None: from first_date)
    censored: np.ndarray | None = None  # (n, T) bool sold out that day: y is what was sold, demand >= y
    demand: np.ndarray | None = None  # (n, T) float32 demand before stock-outs capped it (generator only;
    #                                   None: y is the demand)

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
    uplift_series_sd: float = 0.35  # log-sd of a series' own mean uplift around its category's
    uplift_event_sd: float = 0.15  # log-sd of one event's uplift around its series' mean
    holidays: bool = True  # Chinese public holidays (forecasting.china_day_codes) with per-category effects
    # stock-outs: a share of series sells from a daily stock of `cover` x the expected demand (cover
    # per series, uniform low..high, times a log-normal day-to-day factor); sales are capped at it
    # and a day whose demand reached it is recorded as sold out (Panel.censored)
    stockout_series_share: float = 0.0
    stock_cover_low: float = 0.8
    stock_cover_high: float = 1.6
    stock_day_sd: float = 0.25
    share_new_week: float = 0.0  # series launched in the last 7 days before the forecast origin (0-7 days seen)
    # prices: each series' price moves in steps (a change every ~price_change_days on average, by a
    # log-uniform factor) and its demand follows (price / base price) ^ -elasticity of its category
    prices: bool = False
    price_change_days: float = 45.0
    price_step_low: float = -0.25
    price_step_high: float = 0.2
    elasticity_low: float = 0.5
    elasticity_high: float = 2.5
    last_date: datetime.date = datetime.date(2026, 3, 1)  # the panel's last day: 28 held-out days hold 春节
    extra: dict = field(default_factory=dict)


def generate_panel(n_series: int, n_days: int, horizon: int = 28, seed: int = 0,
                   config: GeneratorConfig | None = None, chunk: int = 20_000) -> Panel:
    """A realistic (product x pickup point) daily demand panel with known expected demand.

    Mix: (product, pickup point) series - ~15% fast movers (10-60/day), ~52% regular (1-8/day),
    ~30% intermittent (mostly zero days, lumpy sizes) - and ~3% (product, depot) series
    (50-500/day, pooled in their own groups); a category weekly profile with per-series variation;
    a mild log-linear trend
    plus a slow random walk of the level; ~5% promotion days in 1-3 day events, each series with its
    own mean uplift (its category's, 1.5-3x, times a log-normal factor) and some variation per event;
    Chinese public holidays from the real calendar ending on ``last_date`` (so by default the
    held-out month holds Spring Festival) with effects per category: the Spring Festival break at
    0.3-0.6x with a 1.3-1.8x stock-up in the week before and a slow week after, the other breaks
    (元旦, 清明, 劳动节, 端午, 中秋, 国庆) smaller shifts up or down, adjusted working days (调休)
    below their weekend's usual level; ~12% of series launched inside the history and ~5% launched less than
    28 days before the forecast origin (``n_days - horizon``); isolated gap days and closure blocks
    (NaN).  Counts are negative binomial around the truth (size r per series: ~8 fast, ~4 regular,
    ~1 intermittent, ~20 depot).  Optional (``GeneratorConfig``; off by default, so panels drawn
    before are unchanged): stock-outs, where a share of series sells from a daily stock and sales
    are capped at it (``Panel.demand`` keeps the demand, ``Panel.censored`` flags the sold-out
    days), and series launched in the last 7 days before the origin (0-7 days of history).  Memory: a few (n, T) float32 arrays, built ``chunk`` rows at a time.
    """
    cfg = config or GeneratorConfig()
    rng = np.random.default_rng(seed)
    n, T = int(n_series), int(n_days)
    start_weekday = int(rng.integers(0, 7))
    first = None
    codes = np.zeros(T, np.int16)
    if cfg.holidays:
        from warehouse import forecasting as fc

        first = cfg.last_date - datetime.timedelta(days=T - 1)
        start_weekday = first.weekday()
        codes = fc.china_day_codes(first, T)

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

    # per-category holiday effects (a multiplier per day code) and promotion uplift per series
    hrng = np.random.default_rng([seed, 18])
    eff = np.ones((cfg.n_groups, 32))
    if cfg.holidays:
        G_ = cfg.n_groups
        for k in fc.HOLIDAY_KINDS:
            pre, on, post = (fc.holiday_code(k, ph) for ph in (fc.CODE_PRE, fc.CODE_ON, fc.CODE_POST))
            if k == "spring_festival":
                eff[:, on] = hrng.uniform(0.3, 0.6, G_)
                eff[:, pre] = hrng.uniform(1.3, 1.8, G_)
                eff[:, post] = hrng.uniform(0.7, 0.95, G_)
            else:
                eff[:, on] = np.exp(hrng.normal(0.0, 0.2, G_))
                eff[:, pre] = hrng.uniform(1.0, 1.25, G_)
                eff[:, post] = hrng.uniform(0.85, 1.05, G_)
        eff[:, fc.CODE_WORKDAY] = hrng.uniform(0.8, 1.0, G_)
    day_eff = eff[:, codes].astype(np.float32)  # (groups, T)
    cat_uplift = hrng.uniform(cfg.uplift_low, cfg.uplift_high, cfg.n_groups)
    series_uplift = np.maximum(cat_uplift[category] * np.exp(hrng.normal(0.0, cfg.uplift_series_sd, n)), 1.1)

    origin = T - horizon
    launch = np.zeros(n, np.int32)
    u = rng.random(n)
    mid = u < cfg.share_launched_mid
    new = (u >= cfg.share_launched_mid) & (u < cfg.share_launched_mid + cfg.share_new)
    if origin > 84:
        launch[mid] = rng.integers(1, origin - 56, mid.sum())
    launch[new] = rng.integers(max(origin - 27, 0), origin, new.sum())
    # the newest series and the stock-outs draw from streams of their own: without them the panel
    # is the same draw for draw
    if cfg.share_new_week > 0:
        nrng = np.random.default_rng([seed, 20])
        newest = (nrng.random(n) < cfg.share_new_week) & (launch == 0)
        launch[newest] = nrng.integers(max(origin - 7, 0), origin + 1, newest.sum())
    price = None
    if cfg.prices:
        prng = np.random.default_rng([seed, 21])
        elasticity = prng.uniform(cfg.elasticity_low, cfg.elasticity_high, cfg.n_groups)
        base_price = np.exp(prng.normal(np.log(8.0), 0.6, n)).astype(np.float32)
        price = np.empty((n, T), np.float32)
    stockouts = cfg.stockout_series_share > 0
    if stockouts:
        srng = np.random.default_rng([seed, 19])
        limited = srng.random(n) < cfg.stockout_series_share
        cover = srng.uniform(cfg.stock_cover_low, cfg.stock_cover_high, n).astype(np.float32)
        demand = np.empty((n, T), np.float32)
        censored = np.zeros((n, T), bool)

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
        upl = rng.uniform(cfg.uplift_low, cfg.uplift_high, (m, T)).astype(np.float32)  # drawn for the stream
        upl = (series_uplift[a:b, None] * np.exp(hrng.normal(0.0, cfg.uplift_event_sd, (m, T)))).astype(np.float32)
        uplift = np.ones((m, T), np.float32)
        for d in range(3):
            on = starts[:, : T - d] & (dur[:, : T - d] > d)
            promo[a:b, d:] |= on
            np.maximum(uplift[:, d:], np.where(on, upl[:, : T - d], 1.0), out=uplift[:, d:])
        del starts, dur, upl
        walk *= uplift
        del uplift
        walk *= day_eff[category[a:b]]
        if price is not None:
            change = prng.random((m, T), dtype=np.float32) < 1.0 / cfg.price_change_days
            logp = prng.random((m, T), dtype=np.float32)
            logp *= cfg.price_step_high - cfg.price_step_low
            logp += cfg.price_step_low
            logp *= change
            np.cumsum(logp, axis=1, out=logp)
            logp -= np.median(logp, axis=1, keepdims=True)  # the base price is the series' usual one
            price[a:b] = base_price[a:b, None] * np.exp(logp)
            logp *= -elasticity[category[a:b]][:, None].astype(np.float32)
            walk *= np.exp(logp)
            del change, logp
        walk[t[None, :] < launch[a:b, None]] = 0.0
        truth[a:b] = walk
        # negative binomial counts as a gamma-Poisson mixture
        r = dispersion[a:b, None]
        lam = rng.gamma(np.broadcast_to(r, (m, T)), 1.0).astype(np.float32)
        lam *= walk / r
        y[a:b] = rng.poisson(lam)
        del lam
        if stockouts:
            demand[a:b] = y[a:b]
            lim = np.flatnonzero(limited[a:b])
            if lim.size:
                stock = walk[lim] * cover[a + lim, None]
                stock *= np.exp(srng.normal(0.0, cfg.stock_day_sd, stock.shape)).astype(np.float32)
                stock = np.maximum(np.round(stock), 1.0)
                out = y[a + lim] >= stock
                censored[a + lim] = out
                y[a + lim] = np.minimum(y[a + lim], stock)
                del stock, out
        del walk
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
    holiday = None
    if cfg.holidays:
        holiday = fc.holiday_days(codes)
    if stockouts:  # unknown sales: unknown demand, no stock-out
        unknown = np.isnan(y)
        demand[unknown] = np.nan
        censored &= ~unknown
    return Panel(y=y, promo=promo, group=group, start_weekday=start_weekday, truth=truth,
                 dispersion=dispersion, kind=kind, launch=launch, first_date=first, holiday=holiday,
                 day_code=codes if cfg.holidays else None, censored=censored if stockouts else None,
                 demand=demand if stockouts else None, price=price)


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
# the benchmark

PEERS = ("autoets", "autotheta", "croston_optimized", "lightgbm")  # run on the sample
ADI_INTERMITTENT = 1.32  # Syntetos-Boylan: more than 1.32 days per sale on average is intermittent


def _rss_mb() -> float:
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _nb_oracle_quantiles(truth, r, taus=(0.8, 0.95)):
    from warehouse.forecasting import nb_quantiles

    return nb_quantiles(truth, r, taus)


def first_date(panel: Panel):
    """The date of day 0: the CSV's, else a date on the generator's weekday (calendar features)."""
    import datetime

    if panel.first_date is not None:
        return panel.first_date
    return datetime.date(2024, 1, 1) + datetime.timedelta(days=panel.start_weekday)  # 2024-01-01: a Monday


def forecast_input(panel: Panel, horizon: int, rows=slice(None), use_price: bool = True):
    """Our forecaster's input for ``rows`` with the last ``horizon`` days held out (the sold-out
    days flagged when the panel knows them)."""
    from warehouse import forecasting

    T = panel.n_days - horizon
    censored = panel.censored[rows, :T] if panel.censored is not None else None
    priced = panel.price is not None and use_price
    return forecasting.ForecastInput(history=panel.y[rows, :T], promo_history=panel.promo[rows, :T],
                                     promo_future=panel.promo[rows, T:], group=panel.group[rows],
                                     start_weekday=panel.start_weekday, day_code=day_codes(panel),
                                     censored=censored, price_history=panel.price[rows, :T] if priced else None,
                                     price_future=panel.price[rows, T:] if priced else None)


def day_codes(panel: Panel):
    """The panel's (T,) Chinese-calendar day codes: the generator's, else from the CSV's first date,
    else None (a panel without dates)."""
    from warehouse import forecasting

    if panel.day_code is not None:
        return panel.day_code
    if panel.first_date is None:
        return None
    return forecasting.china_day_codes(panel.first_date, panel.n_days)


def intermittent_series(history: np.ndarray, window: int = 364) -> np.ndarray:
    """(n,) bool: over the last ``window`` days, more than ADI_INTERMITTENT observed days per day
    with a sale (never a sale counts), given at least two weeks observed."""
    recent = history[:, -window:]
    observed = (~np.isnan(recent)).sum(1)
    selling = (recent > 0).sum(1)
    return (observed >= 14) & (observed > ADI_INTERMITTENT * selling)


NEW_SERIES_DAYS = 7  # a series with at most this many observed days of history is new


def new_series(history: np.ndarray) -> np.ndarray:
    """(n,) bool: at most NEW_SERIES_DAYS observed days in the history (0 = launched at the origin)."""
    return (~np.isnan(history)).sum(1) <= NEW_SERIES_DAYS


def holdout_segments(panel: Panel, horizon: int) -> dict:
    """Held-out cells by segment, each an (n, horizon) bool mask: intermittent series, new series
    (``new_series``), series that sold out at least once in the last year of history (when the
    panel flags stock-outs), and when the panel flags them, promotion days, holiday days and the
    ordinary days (neither)."""
    n, T = panel.n_series, panel.n_days - horizon
    seg = {"intermittent_series": np.broadcast_to(intermittent_series(panel.y[:, :T])[:, None], (n, horizon))}
    new = new_series(panel.y[:, :T])
    if new.any():
        seg["new_series"] = np.broadcast_to(new[:, None], (n, horizon))
    if panel.censored is not None and panel.censored[:, :T].any():
        sold_out = panel.censored[:, max(T - 364, 0):T].any(1)
        seg["stockout_series"] = np.broadcast_to(sold_out[:, None], (n, horizon))
    promo = panel.promo[:, T:]
    holiday = np.zeros((n, horizon), bool)
    if panel.holiday is not None:
        holiday = np.broadcast_to(np.asarray(panel.holiday, bool)[None, T:], (n, horizon))
    if promo.any():
        seg["promotion_days"] = promo
    if holiday.any():
        seg["holiday_days"] = holiday
    if promo.any() or holiday.any():
        seg["ordinary_days"] = ~promo & ~holiday
    return seg


def score(actual: np.ndarray, mean: np.ndarray, segments: dict, quantiles: dict | None = None,
          dispersion: np.ndarray | None = None, seconds: float | None = None) -> dict:
    """One method's row of the comparison: WAPE overall and per segment; the literal coverage of
    its P80 / P95 when it gives quantiles; randomised PIT coverage when it is a negative binomial."""
    out = {"series": int(actual.shape[0])}
    if seconds is not None:
        out["seconds"] = round(float(seconds), 3)
    out.update(accuracy(actual, mean, quantiles))
    for name, mask in segments.items():
        out[f"wape_{name}"] = wape(np.where(mask, actual, np.nan), mean)
    if dispersion is not None:
        size = np.asarray(dispersion)[:, None]
        out["pit_coverage_p80"] = pit_coverage_nb(actual, mean, size, 0.8)
        out["pit_coverage_p95"] = pit_coverage_nb(actual, mean, size, 0.95)
    return out


def run_peers(panel: Panel, horizon: int, rows: np.ndarray, peers=PEERS, jobs: int = -1, log=print):
    """The slow baselines on ``rows`` of the panel: ({name: forecast_baselines.Baseline}, {name: why
    skipped}).  A peer whose library is missing is skipped with the reason, not fatal."""
    from warehouse import forecast_baselines as fb

    T = panel.n_days - horizon
    hist = panel.y[rows, :T]
    ran, skipped = {}, {}
    stats_names = [p for p in peers if p in fb.STATS_MODELS]
    if stats_names:
        try:
            ran.update(fb.statsforecast_models(hist, horizon, stats_names, n_jobs=jobs, log=log))
        except fb.MissingPeer as exc:
            skipped.update(dict.fromkeys(stats_names, str(exc)))
    if "lightgbm" in peers:
        log(f"LightGBM (mlforecast, global) on {len(rows)} series ...")
        promo = panel.promo[rows] if panel.promo.any() else None
        price = panel.price[rows] if panel.price is not None else None
        holiday = panel.holiday if panel.holiday is not None and np.any(panel.holiday) else None
        codes = day_codes(panel)
        codes = codes if codes is not None and np.any(codes) else None
        try:
            ran["lightgbm"] = fb.lightgbm_global(hist, horizon, first_date(panel), promo=promo, holiday=holiday,
                                                 price=price, num_threads=jobs, day_code=codes)
            log(f"  {ran['lightgbm'].seconds:.1f} s")
        except fb.MissingPeer as exc:
            skipped["lightgbm"] = str(exc)
    for name, why in skipped.items():
        log(f"{name} skipped: {why}")
    return ran, skipped


def run_benchmark(panel: Panel, horizon: int = 28, sample: int = 2000, jobs: int = -1, seed: int = 0,
                  peers=PEERS, config=None, log=print) -> dict:
    """Hold out the last ``horizon`` days, forecast them, and score us against the baselines.

    ``seconds`` is the wall time of ``forecasting.forecast`` alone (fit and predict, quantiles
    included) on arrays already in memory.  Top-level figures are ours on the full panel.
    ``full_panel`` compares us with seasonal naive (and the generator's truth) on every series;
    ``sample`` compares everyone on the same random ``sample`` series (0 = skip): ours fit on the
    full panel, ours fit on the sample alone, seasonal naive and the ``peers``.
    """
    from warehouse import forecast_baselines as fb
    from warehouse import forecasting

    n, T = panel.y.shape
    H = int(horizon)
    if T <= H:
        raise ValueError(f"need more than {H} days, got {T}")
    hist = panel.y[:, : T - H]
    # scored against the demand: on a sold-out day the sales fell short of it
    actual = np.array((panel.y if panel.demand is None else panel.demand)[:, T - H:], dtype=np.float32)
    unscored = 0
    if panel.demand is None and panel.censored is not None:
        # without the demand (a CSV), a held-out sold-out day is not scored: its demand is unknown
        sold_out = panel.censored[:, T - H:] & ~np.isnan(actual)
        unscored = int(sold_out.sum())
        actual[sold_out] = np.nan
    out: dict = {"series": int(n), "days": int(T), "history_days": int(T - H), "horizon": H,
                 "holdout_cells": int((~np.isnan(actual)).sum()),
                 "holdout_demand": float(np.nansum(actual, dtype=np.float64)),
                 "scored_against": "sales" if panel.demand is None else "demand (before stock-outs)",
                 "held_out_sold_out_days_not_scored": unscored}
    if panel.censored is not None:
        out["censored_share_of_history_days"] = float(panel.censored[:, :T - H].sum()
                                                      / max(int((~np.isnan(hist)).sum()), 1))
    rss_before = _rss_mb()
    log(f"forecasting {n} series x {T - H} days ...")
    t0 = time.perf_counter()
    res = forecasting.forecast(forecast_input(panel, H), H, quantiles=(0.5, 0.8, 0.95), config=config)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    out["peak_rss_mb"] = round(_rss_mb(), 1)
    out["rss_before_forecast_mb"] = round(rss_before, 1)
    log(f"  {out['seconds']:.1f} s")
    segments = holdout_segments(panel, H)
    ours = score(actual, res.mean, segments, res.quantiles, res.dispersion, out["seconds"])
    out.update({k: v for k, v in ours.items() if k != "series"})
    size = res.dispersion[:, None]
    out["midquantile_coverage_p80"] = midquantile_coverage_nb(actual, res.mean, size, res.quantiles[0.8], 0.8)
    out["midquantile_coverage_p95"] = midquantile_coverage_nb(actual, res.mean, size, res.quantiles[0.95], 0.95)

    t0 = time.perf_counter()
    sn = fb.seasonal_naive(hist, H)
    full = {"ours": ours, "seasonal_naive": score(actual, sn, segments, seconds=time.perf_counter() - t0)}
    out["seasonal_naive_wape"] = full["seasonal_naive"]["wape"]

    truth = oq = None
    if panel.truth is not None:
        truth = panel.truth[:, T - H:]
        oq = _nb_oracle_quantiles(truth, panel.dispersion)
        full["oracle"] = score(actual, truth, segments, oq, panel.dispersion)
        out.update({f"oracle_{k}": v for k, v in full["oracle"].items() if k != "series"})
        by_kind = {}
        launched = panel.launch if panel.launch is not None else np.zeros(n, int)
        kinds = [(KIND_NAMES[k], panel.kind == k) for k in range(len(KIND_NAMES))]
        kinds.append(("new (<28 days history)", launched > T - H - 28))
        kinds.append((f"new (<={NEW_SERIES_DAYS} days history)", new_series(hist)))
        if panel.censored is not None:
            kinds.append(("sold out at least once (last year)", panel.censored[:, max(T - H - 364, 0):T - H].any(1)))
        for name, sel in kinds:
            if not sel.any():
                continue
            a = actual[sel]
            seg = {"series": int(sel.sum())}
            seg.update(accuracy(a, res.mean[sel], {q: v[sel] for q, v in res.quantiles.items()}))
            seg["pit_coverage_p80"] = pit_coverage_nb(a, res.mean[sel], size[sel], 0.8)
            seg["seasonal_naive_wape"] = wape(a, sn[sel])
            seg.update(accuracy(a, truth[sel], {q: v[sel] for q, v in oq.items()}, prefix="oracle_"))
            by_kind[name] = seg
        out["by_segment"] = by_kind
    out["full_panel"] = full

    if panel.censored is not None and panel.censored[:, :T - H].any():
        # the same forecaster told of no stock-out, and leaving sold-out days out instead of
        # imputing them; each scored overall and on the series that sold out
        import dataclasses

        so = panel.censored[:, max(T - H - 364, 0):T - H].any(1)

        def censoring_row(mean, disp, seconds):
            row = {"seconds": round(float(seconds), 3), "wape": wape(actual, mean), "bias": bias(actual, mean),
                   "pit_coverage_p80": pit_coverage_nb(actual, mean, disp[:, None], 0.8),
                   "wape_stockout_series": wape(actual[so], mean[so]), "bias_stockout_series": bias(actual[so], mean[so]),
                   "pit_coverage_p80_stockout_series": pit_coverage_nb(actual[so], mean[so], disp[so][:, None], 0.8),
                   "pit_coverage_p95_stockout_series": pit_coverage_nb(actual[so], mean[so], disp[so][:, None], 0.95)}
            return row

        mode0 = config.censored_mode if config is not None else "impute"
        out["censoring"] = {"mode": mode0, mode0: censoring_row(res.mean, res.dispersion, out["seconds"])}
        for mode in ("impute", "exclude", "ignore"):
            if mode == mode0:
                continue
            cfg_m = dataclasses.replace(config or forecasting.ForecastConfig(), censored_mode=mode)
            log(f"forecasting again with sold-out days: {mode} ...")
            t0 = time.perf_counter()
            alt = forecasting.forecast(forecast_input(panel, H), H, quantiles=(0.8,), config=cfg_m)
            out["censoring"][mode] = censoring_row(alt.mean, alt.dispersion, time.perf_counter() - t0)
            del alt
        out["wape_censoring_ignored"] = out["censoring"]["ignore"]["wape"]
        out["wape_censored_days_excluded"] = out["censoring"]["exclude"]["wape"]

    targets = {"seconds <= 60": out["seconds"] <= 60.0,
               "wape <= 0.9 x seasonal_naive wape": out["wape"] <= 0.9 * out["seasonal_naive_wape"],
               "pit_coverage_p80 in [0.77, 0.83]": 0.77 <= out["pit_coverage_p80"] <= 0.83,
               "pit_coverage_p95 in [0.93, 0.97]": 0.93 <= out["pit_coverage_p95"] <= 0.97}
    for days in ("promotion_days", "holiday_days"):
        if days in segments:
            targets[f"wape_{days} <= 1.25 x wape_ordinary_days"] = (
                out[f"wape_{days}"] <= 1.25 * out["wape_ordinary_days"])
    if panel.price is not None and np.isfinite(panel.price[:, :T - H]).any():
        log("forecasting again without the prices ...")
        t0 = time.perf_counter()
        alt = forecasting.forecast(forecast_input(panel, H, use_price=False), H, quantiles=(0.8,), config=config)
        out["without_price"] = {"seconds": round(time.perf_counter() - t0, 3), "wape": wape(actual, alt.mean),
                                "bias": bias(actual, alt.mean),
                                "pit_coverage_p80": pit_coverage_nb(actual, alt.mean, alt.dispersion[:, None], 0.8)}
        out["wape_without_price"] = out["without_price"]["wape"]
        targets["wape with prices <= without them"] = out["wape"] <= out["wape_without_price"]
        del alt
    if "censoring" in out:
        # what taking sales for demand breaks is the level and the spread of the series that sell
        # out (WAPE, which rewards a median-like low forecast of skewed counts, barely moves)
        c = out["censoring"][out["censoring"]["mode"]]
        targets["wape with the stock-out mask <= 1.01 x without it"] = out["wape"] <= 1.01 * out["wape_censoring_ignored"]
        targets["sold-out series: |bias| <= 0.05, pit_coverage_p80 in [0.77, 0.83]"] = (
            abs(c["bias_stockout_series"]) <= 0.05 and 0.77 <= c["pit_coverage_p80_stockout_series"] <= 0.83)
    finite = all(np.isfinite(a).all() and (a >= 0).all() for a in [res.mean, *res.quantiles.values()])
    targets["forecasts finite and >= 0"] = bool(finite)
    out["wape_ratio_vs_seasonal_naive"] = out["wape"] / out["seasonal_naive_wape"]

    if sample and sample > 0:
        k = min(int(sample), n)
        idx = np.sort(np.random.default_rng(seed + 1).choice(n, k, replace=False))
        a = actual[idx]
        seg_s = {name: m[idx] for name, m in segments.items()}
        log(f"our forecaster fit on the sample of {k} series alone ...")
        t0 = time.perf_counter()
        own = forecasting.forecast(forecast_input(panel, H, idx), H, quantiles=(0.8, 0.95), config=config)
        own_seconds = time.perf_counter() - t0
        rows = {"ours": score(a, res.mean[idx], seg_s, {q: v[idx] for q, v in res.quantiles.items()},
                              res.dispersion[idx]),
                "ours_fit_on_sample": score(a, own.mean, seg_s, own.quantiles, own.dispersion, own_seconds),
                "seasonal_naive": score(a, sn[idx], seg_s)}
        ran, skipped = run_peers(panel, H, idx, peers, jobs, log)
        for name, b in ran.items():
            rows[name] = score(a, b.mean, seg_s, b.quantiles, seconds=b.seconds)
        if truth is not None:
            rows["oracle"] = score(a, truth[idx], seg_s, {q: v[idx] for q, v in oq.items()},
                                   panel.dispersion[idx])
        out["sample"] = {"series": int(k), "seed": seed + 1, "methods": rows, "skipped": skipped}
        best = [p for p in ("autoets", "autotheta", "lightgbm") if p in ran]
        if best:
            best_wape = min(rows[p]["wape"] for p in best)
            out["wape_ratio_vs_best_peer_on_sample"] = rows["ours"]["wape"] / best_wape
            targets[f"wape on the sample <= best of {', '.join(best)}"] = rows["ours"]["wape"] <= best_wape

    out["targets_met"] = targets
    out["model"] = {"price_elasticity_by_group": res.info.get("price_elasticity_by_group"),
                    "choice_by_band": res.info.get("choice_by_band"), "band_edges": res.info.get("band_edges"),
                    "uplift_global": res.info.get("uplift_global"), "profile_tau2": res.info.get("profile_tau2")}
    out["peak_rss_mb_total"] = round(_rss_mb(), 1)
    return out
