"""Daily demand forecasting for (product, pickup point) and (product, depot) series.

Pure core: numpy arrays in, forecasts out; no Django import (see DESIGN.md, "Pure cores").

Model (all series at once; the only Python loop runs over days, never over series):

1. Weekly profile: a multiplicative day-of-week profile per series from the last 52 weeks of
   non-promotion days, shrunk toward its group's pooled profile (itself shrunk toward the global
   one) by empirical Bayes: the weight of a series' own profile grows with its volume.
2. Level and damped trend: exponential smoothing of deseasonalised demand (y / profile) on
   observed non-promotion days; gaps (NaN) and promotion days leave the level untouched.  Each
   series starts from its group's current mean level with a prior weight of ``b`` days, so the
   first updates are a Bayesian running mean (gamma-Poisson style) that turns into exponential
   smoothing: new series fall back to the group level and move to their own as data arrives.
   Several (alpha, beta) candidates run side by side; each volume band of series takes the
   candidate with the smallest in-sample error at a mid-horizon lag (pooled, so no overfitting to
   one series' noise).  Intermittent series are the same model at low volume: the smoothed mean
   of a mostly-zero series is the TSB-style "probability x size" rate.
2b. Price (``price_history`` / ``price_future``, optional): a multiplicative effect
   (price / usual price) ^ -elasticity, the elasticity per group measured at price changes (the
   week before against the week after, ordinary days only) and shrunk toward the overall one;
   days enter the level at the usual price and forecast days carry their planned price.
3. Promotions: a multiplicative uplift per series, shrunk toward its group's (itself shrunk toward
   the global one, never below 1) by the evidence behind it: the number of promotion days observed
   and how much daily uplifts scatter (Poisson noise at its volume, its own dispersion, a pooled
   event-to-event variance), against a between-series spread estimated by the method of moments.
   Promotion days are measured against the level of the day once a series has a level of its own,
   before that against the level it settles at.
3b. Calendar (``china_day_codes``: China's public holidays, the days before and after each break,
   adjusted working days 调休): a multiplicative effect per group and day code, measured against
   the level of the day (or, for a series too young then, its level once seen enough), shrunk
   toward the overall effect of the code.  Calendar days, like promotion days, leave the level,
   the weekly profile and the in-sample errors untouched.  Past and future days share one calendar.
3c. Stock-outs (``ForecastInput.censored``: the day sold out, its sales a lower bound of its
   demand): kept out of the weekly profile, the group prior, the in-sample errors, the promotion
   and calendar measurements; an ordinary sold-out day updates the level with E[Y | Y >= sold]
   under the day's one-step forecast (``nb_mean_above``; the size r of each series' noise from its
   same-weekday differences, or for a series that sold out on more than 2 % of its days, the
   median of untruncated series of its volume), an EM step per day.  Such a series' dispersion is
   its volume band's (its own errors, measured on the days it did not sell out, understate the
   demand's spread).  ``censored_mode="exclude"`` leaves sold-out days out like gaps instead.
3d. Outliers: a day far from the forecast (by more than ``outlier_k`` standard deviations of the
   series' daily noise) moves a mature series' level as if it were that far only, and its in-sample
   errors are winsorised the same way: one unflagged holiday or closed day no longer drags the level
   for weeks or widens every interval.  Days off the forecast on one side in a row are a change:
   from the third they enter in full.  (Restarting the level at the mean of a week off the
   forecast followed a station's fall at once, but also every unflagged holiday week: over 15
   origins of three real panels it lost more than it gained.)
3e. Yearly season (``yearly_season``), for series with three years or more: the median move from
   the weeks before the origin's date to each forecast date over the past years, shrunk toward none
   by how much the years disagree.
4. Distribution: negative binomial around the mean with a per-series dispersion estimated from
   in-sample lagged forecast errors (method of moments), shrunk toward its volume band's pooled
   value; new series add the remaining uncertainty of their level; promotion days use the same
   dispersion.  Quantiles by ``nb_quantiles`` (scipy's ``nbinom.ppf``, exactly, but vectorised
   for millions of cells).

Speed and memory: 100,000 series x 702 days in about 11 s on one core, with about 360 MB of
working memory beyond the inputs (days are processed in blocks, quantiles in chunks), plus the
calendar's accumulators (4 x 8 bytes per series and day code: ~75 MB at 100,000 series).

Usage::

    inp = ForecastInput(history=y, promo_history=p, promo_future=pf, group=g, start_weekday=0,
                        day_code=china_day_codes(first_date, T + 28))
    res = forecast(inp, horizon=28)
    res.mean            # (n, 28) expected demand
    res.quantiles[0.8]  # (n, 28) 80% quantile (smallest count with P(Y <= q) >= 0.8)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

DTYPE = np.float32
PRICE_LOG_BOUND = float(np.log(5.0))  # |log(price / usual price)| taken at most this


@dataclass
class ForecastInput:
    """Daily demand, one row per series.

    history: (n, T) quantities; NaN = unknown (gap, closed day, not yet launched).
    promo_history: (n, T) bool, a promotion ran that day.  None = no promotions.
    promo_future: (n, horizon) bool, a promotion is planned.  None = no promotions.
    group: (n,) int pooling group for fallback (category, depot, ...).  None = one group.
    start_weekday: weekday of history[:, 0], Monday = 0.
    day_code: (T + horizon,) int day codes shared by all series, past and future days from the same
        calendar (``china_day_codes``: holiday breaks, the days before and after them, adjusted
        working days); 0 = ordinary.  None = no calendar.
    censored: (n, T) bool, the day sold out (sales reached the stock available): that day's
        quantity is a lower bound of its demand, not the demand.  None = no stock-outs known.
    price_history, price_future: (n, T) and (n, horizon) selling prices, NaN = unknown (a future
        day without a price keeps the last known one).  Both or neither; None = no price effect.
    """

    history: np.ndarray
    promo_history: np.ndarray | None = None
    promo_future: np.ndarray | None = None
    group: np.ndarray | None = None
    start_weekday: int = 0
    day_code: np.ndarray | None = None
    censored: np.ndarray | None = None
    price_history: np.ndarray | None = None
    price_future: np.ndarray | None = None


@dataclass
class ForecastConfig:
    # (alpha, beta) candidates for the level / damped-trend smoother, chosen per volume band
    candidates: tuple = ((0.02, 0.0), (0.04, 0.0), (0.08, 0.0), (0.15, 0.0), (0.05, 0.02), (0.1, 0.05))
    phi: float = 0.9  # trend damping
    window: int = 364  # days of history for the profile, model choice and dispersion
    eval_lag: int = 14  # longest forecast lag (days) of the in-sample errors; shorter horizons use theirs
    n_bands: int = 8  # volume bands for model choice and dispersion pooling
    select_by: str = "mse"  # in-sample criterion for the candidate choice: "mse" (mean) or "mae"
    trend_warmup: int = 56  # observations before a series' trend starts to move
    promo_prior: float = 1.5  # uplift assumed when there is no promotion history
    promo_prior_weight: float = 20.0  # in units of baseline demand
    uplift_cv2_min: float = 0.01  # products' uplifts differ at least this much (squared coefficient of variation)
    holiday_prior_weight: float = 50.0  # a category's day-code effect against the overall one, in units
    holiday_min_seen: int = 14  # days a series must have been seen before its holiday days count
    profile_tau2: float | None = None  # between-series variance of weekly factors (None: estimate)
    disp_credibility: float | None = None  # sum of F^2 at which a series' own dispersion counts half
    min_size: float = 1e-4  # smallest dispersion 1/r (Poisson-like)
    # sold-out days (ForecastInput.censored): "impute" updates the level with the demand expected
    # given that it reached what was sold (E[Y | Y >= sold] under the one-step forecast); "exclude"
    # leaves them out like gaps; "ignore" takes the sales as the demand (as if no mask were given)
    censored_mode: str = "impute"
    censored_max_share: float = 0.02  # above this share of sold-out days a series' own dispersion is not used
    price_prior_weight: float = 5.0  # a group's price elasticity against the overall one, in sum w dx^2 units
    price_window: int = 7  # days before and after a price change compared to measure the elasticity
    # outliers (an unflagged holiday, a closed station, a data error): once a series has a level of
    # its own, a day's error enters the level at most this many standard deviations of its daily
    # noise (sqrt(var0 + phi x forecast), phi from the mean absolute same-weekday difference, which
    # one outlier moves far less than it moves a variance), and the in-sample errors behind model
    # choice and dispersion are winsorised at the same width
    outlier_k: float = 3.0
    outlier_var0: float = 1.0  # units^2: keeps the bound wide for low-volume (Poisson-like) series
    outlier_run: int = 3  # days in a row off the forecast on one side that are a change, not outliers
    outlier_run_k: float = 1.5  # "off the forecast": beyond this many standard deviations
    # yearly season (``yearly_season``): the years of history a series needs, the most used, the
    # days before the origin it is measured against, the days either side of each date, and the
    # James-Stein constant shrinking it toward none
    year_min: int = 3
    year_max: int = 7
    year_reference: int = 28
    year_window: int = 1
    year_shrink: float = 4.0


@dataclass
class ForecastResult:
    mean: np.ndarray  # (n, h) expected demand, >= 0
    quantiles: dict  # {tau: (n, h) array}
    dispersion: np.ndarray  # (n,) negative binomial size r per series (large = Poisson)
    level: np.ndarray  # (n,) deseasonalised level at the forecast origin
    profile: np.ndarray  # (n, 7) weekly factors, Monday first, mean 1
    uplift: np.ndarray  # (n,) promotion multiplier applied on flagged days
    day_effect: np.ndarray | None = None  # (n, h) calendar multiplier applied to each forecast day
    info: dict = field(default_factory=dict)


def forecast(inp: ForecastInput, horizon: int, quantiles=(0.5, 0.8, 0.95),
             config: ForecastConfig | None = None) -> ForecastResult:
    cfg = config or ForecastConfig()
    y = np.asarray(inp.history, dtype=DTYPE)
    if y.ndim != 2:
        raise ValueError("history must be a 2-D array (series, days)")
    n, T = y.shape
    h = int(horizon)
    if h < 1:
        raise ValueError("horizon must be >= 1")
    promo_h = np.zeros((n, T), bool) if inp.promo_history is None else np.asarray(inp.promo_history, bool)
    promo_f = np.zeros((n, h), bool) if inp.promo_future is None else np.asarray(inp.promo_future, bool)
    if promo_h.shape != (n, T) or promo_f.shape != (n, h):
        raise ValueError("promo_history must be (n, T) and promo_future (n, horizon)")
    if cfg.censored_mode not in ("impute", "exclude", "ignore"):
        raise ValueError("censored_mode must be 'impute', 'exclude' or 'ignore'")
    if inp.censored is None or cfg.censored_mode == "ignore":
        cens_h = np.zeros((n, T), bool)
    else:
        cens_h = np.asarray(inp.censored, bool)
        if cens_h.shape != (n, T):
            raise ValueError("censored must be (n, T), like history")
    if (inp.price_history is None) != (inp.price_future is None):
        raise ValueError("give price_history and price_future together, or neither")
    xh = xf = None  # log price against the series' reference price: history days (T, n), forecast days (n, h)
    if inp.price_history is not None and T > 0:
        ph = np.asarray(inp.price_history, DTYPE)  # float32 working copies: (n, T) can be large
        pf = np.asarray(inp.price_future, np.float64)
        if ph.shape != (n, T) or pf.shape != (n, h):
            raise ValueError("price_history must be (n, T) and price_future (n, horizon)")
        with np.errstate(invalid="ignore", divide="ignore"):
            lp = np.log(np.where(ph > 0, ph, DTYPE(np.nan)))
            lpf = np.log(np.where(pf > 0, pf, np.nan))
        known = np.isfinite(lp)
        if known.any():
            w0 = max(T - cfg.window, 0)
            cnt = known[:, w0:].sum(1)
            ref = np.where(cnt > 0, np.where(known[:, w0:], lp[:, w0:], 0).sum(1, dtype=np.float64)
                           / np.maximum(cnt, 1), np.nan)
            cnt_all = known.sum(1)
            ref_all = np.where(known, lp, 0).sum(1, dtype=np.float64) / np.maximum(cnt_all, 1)
            ref = np.where(np.isfinite(ref), ref, ref_all)
            # prices beyond 5x or a fifth of the usual one are taken at that bound (typos, test rows)
            lp -= ref[:, None].astype(DTYPE)
            lp[~known] = 0.0
            np.clip(lp, -PRICE_LOG_BOUND, PRICE_LOG_BOUND, out=lp)
            xh = np.ascontiguousarray(lp.T)  # time-major: the day loop reads one contiguous row a day
            # the last known price carries forward into unknown future days
            last = np.where(known.any(1), lp[np.arange(n), T - 1 - np.argmax(known[:, ::-1], axis=1)] + ref, ref)
            lpf = np.where(np.isfinite(lpf), lpf, np.nan)
            filled = np.empty_like(lpf)
            prev = last
            for j in range(h):
                prev = np.where(np.isfinite(lpf[:, j]), lpf[:, j], prev)
                filled[:, j] = prev
            xf = np.clip(np.where(np.isfinite(filled), filled - ref[:, None], 0.0),
                         -PRICE_LOG_BOUND, PRICE_LOG_BOUND).astype(DTYPE)
            del lp, lpf, known
    if inp.day_code is None:
        code = np.zeros(T + h, np.int64)
    else:
        code = np.asarray(inp.day_code).astype(np.int64).reshape(-1)
        if code.shape != (T + h,):
            raise ValueError("day_code must be (T + horizon,): one code per history and forecast day")
        if (code < 0).any():
            raise ValueError("day_code must be >= 0")
    if T == 0:  # no history at all: one unknown day, so every series falls back to the prior
        y, promo_h, cens_h, T = np.full((n, 1), np.nan, DTYPE), np.zeros((n, 1), bool), np.zeros((n, 1), bool), 1
        code = np.concatenate([[0], code])
        sw0 = (int(inp.start_weekday) - 1) % 7
    else:
        sw0 = int(inp.start_weekday) % 7
    NC = int(code.max()) + 1
    hday = code[:T] != 0  # calendar days: measured apart, like promotions, and kept out of the level
    if inp.group is None:
        gid = np.zeros(n, np.int64)
    else:
        _, gid = np.unique(np.asarray(inp.group), return_inverse=True)
        gid = gid.reshape(-1)
    G = int(gid.max()) + 1 if n else 1
    sw = sw0

    if n == 0:
        empty = np.zeros((0, h), DTYPE)
        return ForecastResult(empty, {q: empty for q in quantiles}, np.zeros(0, DTYPE), np.zeros(0, DTYPE),
                              np.ones((0, 7), DTYPE), np.ones(0, DTYPE))

    dow = (sw + np.arange(T)) % 7

    impute = cfg.censored_mode == "impute" and bool(cens_h.any())

    def days(a: int, b: int, with_censored: bool = False):
        """Days a..b-1 as time-major (b - a, n) blocks: one contiguous row of n values per day.
        Working block by block keeps memory at the inputs plus a few blocks.  Without
        ``with_censored`` a sold-out day is unknown (NaN): its quantity is not the demand."""
        yb = np.ascontiguousarray(y[:, a:b].T)
        yb[np.isinf(yb)] = np.nan
        np.maximum(yb, 0, out=yb)  # negative quantities are not demand (NaN stays NaN)
        cb = np.ascontiguousarray(cens_h[:, a:b].T)
        if with_censored:
            return yb, np.ascontiguousarray(promo_h[:, a:b].T), cb & ~np.isnan(yb)
        yb[cb] = np.nan
        return yb, np.ascontiguousarray(promo_h[:, a:b].T)

    # ---- 1. weekly profile -------------------------------------------------------------------
    W = min(cfg.window, T)
    Wp = (W // 7) * 7 if W >= 7 else W
    S = np.zeros((7, n), np.float64)
    C = np.zeros((7, n), np.float64)
    SQ = np.zeros(n, np.float64)  # same-weekday differences a week apart: day-to-day noise
    NP = np.zeros(n, np.float64)  # with the slow level drift cancelled
    SA = np.zeros(n, np.float64)  # their absolute values: a robust scale for outliers
    for a in range(T - Wp, T, 28):
        b = min(a + 28, T)
        a0 = max(a - 7, T - Wp)
        yb, pb = days(a0, b)
        ok = ~np.isnan(yb) & ~pb & ~hday[a0:b, None]
        yz = np.where(ok, yb, DTYPE(0))
        del yb, pb
        for d in range(7):
            rows = dow[a:b] == d
            if rows.any():
                S[d] += yz[a - a0:][rows].sum(axis=0, dtype=np.float64)
                C[d] += ok[a - a0:][rows].sum(axis=0)
        if b - a0 > 7:  # pairs (t, t - 7) for t in a0 + 7 .. b - 1: each t once over the blocks
            pair = ok[7:] & ok[:-7]
            diff = np.where(pair, yz[7:] - yz[:-7], DTYPE(0))
            SQ += np.einsum("tn,tn->n", diff, diff, dtype=np.float64)
            SA += np.abs(diff).sum(0, dtype=np.float64)
            NP += pair.sum(0)
            del pair, diff
        del yz, ok
    Ctot = C.sum(0)
    # series that sold out on more than a few of the window's days: what they sold is the lower
    # part of their demand, so their own spread understates the demand's; they take a pooled one
    cens_w = cens_h[:, T - Wp:T].sum(1) if cens_h.any() else np.zeros(n)
    truncated = cens_w > cfg.censored_max_share * (Ctot + cens_w)
    Stot = S.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_s = np.where(Ctot > 0, Stot / np.maximum(Ctot, 1), 0.0)  # mean non-promo demand
        mean_d = np.where(C > 0, S / np.maximum(C, 1), np.nan)
        ratio = mean_d / m_s  # (7, n)
        var_s = np.where(NP > 1, SQ / np.maximum(2 * NP, 1), 0.0)
        phi_s = np.clip(np.where(m_s > 0, var_s / np.maximum(m_s, 1e-12), 1.0), 1.0, 50.0)
        # E|d| = 2 sd / sqrt(pi) for the difference d of two independent normal days
        var_a = np.where(NP > 1, (SA / np.maximum(NP, 1)) ** 2 * np.pi / 4, 0.0)
        phi_a = np.clip(np.where(m_s > 0, var_a / np.maximum(m_s, 1e-12), 1.0), 1.0, 50.0)
    full = (C > 0).all(0) & (m_s > 0)
    glob_num = np.where(full, mean_d, 0).sum(1)
    glob_den = np.where(full, m_s, 0).sum()
    k_grp = 2000.0  # counts: a profile needs a few thousand units before its own shape dominates
    # The global profile is itself shrunk toward flat: in a young or tiny city a handful of units
    # would otherwise set every series' weekday shape (one sale on a Friday made Friday 7x).
    glob_vol = float(np.where(full, Stot, 0).sum())
    glob_prof = glob_num / glob_den if glob_den > 0 else np.ones(7)
    glob_prof = (glob_prof * glob_vol + k_grp) / (glob_vol + k_grp)
    glob_prof = glob_prof / glob_prof.mean() if glob_prof.mean() > 0 else np.ones(7)
    grp_num = np.stack([np.bincount(gid, weights=np.where(full, mean_d[d], 0), minlength=G) for d in range(7)])
    grp_den = np.bincount(gid, weights=np.where(full, m_s, 0), minlength=G)
    grp_vol = np.bincount(gid, weights=np.where(full, Stot, 0), minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        grp_raw = np.where(grp_den > 0, grp_num / np.maximum(grp_den, 1e-12), glob_prof[:, None])
    grp_prof = (grp_raw * grp_vol + glob_prof[:, None] * k_grp) / (grp_vol + k_grp)
    grp_prof /= grp_prof.mean(0, keepdims=True)
    prior_prof = grp_prof[:, gid]  # (7, n)
    expected = m_s[None, :] * C  # expected counts per weekday in the window
    if cfg.profile_tau2 is not None:
        tau2 = cfg.profile_tau2
    else:
        big = full & (m_s * Ctot >= 3000)
        if big.sum() >= 20:
            dev = (ratio[:, big] - prior_prof[:, big]) ** 2
            noise = phi_s[big] / np.maximum(expected[:, big], 1)
            tau2 = float(np.clip(np.mean(dev - noise), 1e-4, 0.05))
        else:
            tau2 = 0.004
    w_prof = np.where(C > 0, expected / (expected + phi_s / tau2), 0.0)
    prof = np.where(C > 0, w_prof * np.nan_to_num(ratio, nan=1.0) + (1 - w_prof) * prior_prof, prior_prof)
    prof = np.maximum(prof, 0.05)
    prof /= prof.mean(0, keepdims=True)
    profT = prof.astype(DTYPE)  # (7, n), row = weekday (Monday first)
    inv_prof = (1.0 / profT).astype(DTYPE)

    # ---- 2. group prior for the level ---------------------------------------------------------
    R = min(56, T)
    yr, pr_ = days(T - R, T)
    okr = ~np.isnan(yr) & ~pr_ & ~hday[T - R:, None]
    cnt_r = okr.sum(0)
    desea = np.where(okr, yr * inv_prof[dow[T - R:]], 0).sum(0, dtype=np.float64)
    lvl_recent = np.where(cnt_r > 0, desea / np.maximum(cnt_r, 1), 0.0)
    del yr, pr_, okr
    mature = cnt_r >= min(28, R)
    if not mature.any():
        mature = cnt_r > 0
    g_n = np.bincount(gid, weights=mature, minlength=G)
    g_sum = np.bincount(gid, weights=np.where(mature, lvl_recent, 0), minlength=G)
    g_sq = np.bincount(gid, weights=np.where(mature, lvl_recent ** 2, 0), minlength=G)
    all_n = max(mature.sum(), 1)
    glob_m = float(np.where(mature, lvl_recent, 0).sum() / all_n)
    glob_v = float(np.where(mature, (lvl_recent - glob_m) ** 2, 0).sum() / all_n)
    # group means shrunk toward the global mean by empirical Bayes (between-group variance tau2_g)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_m = np.where(g_n > 0, g_sum / np.maximum(g_n, 1), glob_m)
        raw_v = np.where(g_n > 1, np.maximum(g_sq / np.maximum(g_n, 1) - raw_m ** 2, 0) * g_n / np.maximum(g_n - 1, 1),
                         glob_v)
    has = g_n > 0
    if has.sum() >= 2:
        tau2_g = max(float(np.var(raw_m[has]) - np.mean(raw_v[has] / g_n[has])), 1e-6 * (glob_v + 1e-12))
    else:
        tau2_g = glob_v + 1e-12
    w_g = np.where(has, g_n * tau2_g / (g_n * tau2_g + raw_v + 1e-12), 0.0)
    g_m = w_g * raw_m + (1 - w_g) * glob_m
    # between-series variance of levels within a group, net of sampling noise, as a squared
    # coefficient of variation shrunk toward the global one (scale-free, so groups of very
    # different volume do not leak into each other)
    noise = np.where(mature, lvl_recent * phi_s / np.maximum(cnt_r, 1), 0)
    g_noise = np.bincount(gid, weights=noise, minlength=G) / np.maximum(g_n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv2_raw = np.where(g_n > 1, np.maximum(raw_v - g_noise, 0) / np.maximum(raw_m, 1e-9) ** 2, np.nan)
    glob_cv2 = float(np.nanmean(cv2_raw)) if np.isfinite(cv2_raw).any() else 1.0
    k_g = 2.0  # pseudo-series
    g_cv2 = (np.nan_to_num(cv2_raw) * g_n + k_g * glob_cv2) / (g_n + k_g)
    g_v = g_cv2 * g_m ** 2
    g_phi = np.bincount(gid, weights=np.where(mature, phi_s, 0), minlength=G) / np.maximum(g_n, 1)
    g_phi = np.where(g_n > 0, g_phi, 1.0)
    g_v = np.maximum(g_v, 1e-6)
    b_g = np.clip(g_m * g_phi / g_v, 0.5, 56.0)  # prior weight in days (noise var / between-series var)
    L0 = g_m[gid].astype(DTYPE)
    b_s = b_g[gid].astype(DTYPE)
    if impute:
        # negative binomial size of each series' daily noise for the sold-out days' expectation:
        # Var = m + m^2 / r from the same-weekday differences; the median where too few
        # (a series that often sold out takes the median of untruncated series of its volume)
        with np.errstate(invalid="ignore", divide="ignore"):
            r_own = np.where((NP >= 8) & (m_s > 0), m_s / np.maximum(phi_s - 1.0, 1e-3), np.nan)
        clean = np.isfinite(r_own) & ~truncated
        if not clean.any():  # every series truncated: their own spread, narrower than the demand's
            clean = np.isfinite(r_own)
        r_fill = np.full(n, float(np.median(r_own[clean])) if clean.any() else 2.0)
        if clean.sum() >= 80:
            e_r = np.quantile(m_s[clean], np.linspace(0, 1, 9)[1:-1])
            b_r = np.searchsorted(e_r, m_s[clean])
            med = np.array([np.median(r_own[clean][b_r == k]) if (b_r == k).any() else r_fill[0]
                            for k in range(len(e_r) + 1)])
            r_fill = med[np.searchsorted(e_r, m_s)]
        r_imp = np.clip(np.where(clean, r_own, r_fill), 0.2, 1e4)

    # ---- 2b. price elasticity per group ----------------------------------------------------------
    # Measured at price changes: deseasonalised demand over the days before a change against the
    # days after it (ordinary days only), log ratio against log price ratio, weighted by the
    # Poisson information of the two means; pooled per group by least squares through the origin
    # and shrunk toward the overall slope (itself toward no effect).  Demand falls with price:
    # elasticities are kept in [0, 5].  Days are deflated by the price effect before the level sees
    # them, and forecast days priced by their planned price.
    elast = None
    if xh is not None and T > 2 * cfg.price_window:
        k_w = int(cfg.price_window)
        num_g = np.zeros(G)
        den_g = np.zeros(G)
        for a in range(0, n, 10_000):
            b = min(a + 10_000, n)
            yb = np.array(y[a:b], dtype=np.float64)
            yb[~np.isfinite(yb)] = np.nan
            yb[promo_h[a:b] | cens_h[a:b] | hday[None, :]] = np.nan
            z = yb * inv_prof[dow][:, a:b].T
            okz = np.isfinite(z)
            cz = np.concatenate([np.zeros((b - a, 1)), np.cumsum(np.where(okz, z, 0), axis=1)], axis=1)
            cn = np.concatenate([np.zeros((b - a, 1)), np.cumsum(okz, axis=1)], axis=1)
            x = xh[:, a:b].T.astype(np.float64)
            dx = np.zeros_like(x)
            dx[:, 1:] = x[:, 1:] - x[:, :-1]
            ii, tt = np.nonzero((np.abs(dx) > 0.01) & (np.arange(T) >= k_w)[None, :] & (np.arange(T) <= T - k_w)[None, :])
            if not ii.size:
                continue
            nb_ = cn[ii, tt] - cn[ii, tt - k_w]
            na_ = cn[ii, tt + k_w] - cn[ii, tt]
            sb = cz[ii, tt] - cz[ii, tt - k_w]
            sa = cz[ii, tt + k_w] - cz[ii, tt]
            use = (nb_ >= 3) & (na_ >= 3) & (sb + sa > 0)
            ii, tt, nb_, na_, sb, sa = ii[use], tt[use], nb_[use], na_[use], sb[use], sa[use]
            mb, ma = sb / nb_, sa / na_
            c = 0.5 / np.maximum(nb_, na_)
            dl = np.log(ma + c) - np.log(mb + c)
            w = 1.0 / (1.0 / (sa + 0.5) + 1.0 / (sb + 0.5))  # inverse variance of a log ratio of Poisson sums
            d = dx[ii, tt]
            num_g += np.bincount(gid[a + ii], weights=w * d * dl, minlength=G)
            den_g += np.bincount(gid[a + ii], weights=w * d * d, minlength=G)
            del yb, z, okz, cz, cn, x, dx
        kp = cfg.price_prior_weight
        slope_glob = num_g.sum() / (den_g.sum() + kp)
        slope_g = (num_g + kp * slope_glob) / (den_g + kp)
        elast_g = np.clip(-slope_g, 0.0, 5.0)
        elast = elast_g[gid].astype(DTYPE)

    # ---- 3. smoothing, all candidates side by side --------------------------------------------
    cands = np.asarray(cfg.candidates, dtype=DTYPE).reshape(-1, 2)
    K = len(cands)
    alpha = cands[:, 0:1]
    beta = cands[:, 1:2]
    phi = DTYPE(cfg.phi)
    # A forecast is judged (model choice, dispersion) by in-sample errors at its own lag, up to
    # eval_lag: a one-day-ahead forecast by one-day errors, whose spread is the one it will have.
    lag = max(1, min(int(cfg.eval_lag), h, T))
    damp_lag = DTYPE(sum(cfg.phi ** i for i in range(1, lag + 1)))
    L = np.broadcast_to(L0, (K, n)).copy()
    B = np.zeros((K, n), DTYPE)
    nseen = np.zeros(n, DTYPE)
    Lbuf = np.empty((lag, K, n), DTYPE)
    Bbuf = np.zeros((lag, K, n), DTYPE)
    Lbuf[:] = L0
    absE = np.zeros((K, n), DTYPE)
    R2 = np.zeros((K, n), DTYPE)
    SF = np.zeros((K, n), DTYPE)
    SF2 = np.zeros((K, n), DTYPE)
    Py = np.zeros(n, np.float64)  # demand on promotion days (whole history, calendar days apart)
    Pm = np.zeros(n, np.float64)  # promotion days observed (the evidence behind a series' own uplift)
    PFm = np.zeros(n, np.float64)  # baseline of those days at the level of the day (mature series)
    PR2m = np.zeros(n, np.float64)  # sum of squared daily ratios y / baseline: their spread
    PD = np.zeros(n, np.float64)  # weekday profiles of a young series' promotion days: baseline days
    PY2 = np.zeros(n, np.float64)  # sum of (y / profile)^2 on them   at the final level
    p_mature = np.maximum(28.0, 3.0 * b_s).astype(DTYPE)  # days seen before a level is the series' own
    Hy = np.zeros((NC, n), np.float64)  # demand on calendar days, by day code (whole history)
    HF = np.zeros((NC, n), np.float64)  # the one-step baseline forecast of those days
    Hyi = np.zeros((NC, n), np.float64)  # the same before a series has its own level: measured
    HPi = np.zeros((NC, n), np.float64)  # later, against the level it has once it is seen enough
    Lm = np.zeros(n, np.float64)  # that level (0: never seen enough)
    hk = min(1, K - 1)  # the candidate whose running level measures calendar days
    cens_promo = []  # sold-out promotion days of series with a level of their own: (series, sold, baseline)
    cens_cal = []  # sold-out calendar days of series seen enough: (code, series, sold, baseline)
    hmin = DTYPE(cfg.holiday_min_seen)
    n_eval = np.zeros(n, DTYPE)
    t_eval = T - W
    warm = DTYPE(cfg.trend_warmup)
    one = DTYPE(1)
    robust = cfg.outlier_k > 0
    k_out, var0, phi_out = DTYPE(cfg.outlier_k), DTYPE(cfg.outlier_var0), phi_a.astype(DTYPE)
    out_run = np.zeros((K, n), np.int8)  # signed count of days in a row off the forecast
    run_min, run_k = int(cfg.outlier_run), DTYPE(cfg.outlier_run_k)
    for t0 in range(0, T, 64):
        t1 = min(t0 + 64, T)
        yb, pb, cb = days(t0, t1, with_censored=True)
        for t in range(t0, t1):
            yt = yb[t - t0]
            ct = cb[t - t0]  # sold out: yt is a lower bound
            valid = ~np.isnan(yt) & ~ct  # a known demand
            pr = pb[t - t0]
            hd = bool(hday[t])
            ok = valid & ~pr & (not hd)
            pd_ = profT[dow[t]]
            ipd = inv_prof[dow[t]]
            if elast is not None:  # the day's price effect joins its weekday's
                pe = np.exp(-elast * xh[t])
                pd_ = pd_ * pe
                ipd = ipd / pe
            if hd:
                mature_t = nseen >= hmin
                hm = valid & ~pr & mature_t
                Hy[code[t]] += np.where(hm, yt, 0)
                HF[code[t]] += np.where(hm, np.maximum(L[hk] + phi * B[hk], 0) * pd_, 0)
                hm = valid & ~pr & ~mature_t
                Hyi[code[t]] += np.where(hm, yt, 0)
                HPi[code[t]] += np.where(hm, pd_, 0)
                if impute:
                    ch_ = np.flatnonzero(ct & ~pr & mature_t)
                    if ch_.size:
                        cens_cal.append((np.full(ch_.size, code[t]), ch_, yt[ch_],
                                         np.maximum(L[hk, ch_] + phi * B[hk, ch_], 0) * pd_[ch_]))
            if t >= t_eval:
                slot = t % lag
                F = Lbuf[slot] + Bbuf[slot] * damp_lag
                np.maximum(F, 0, out=F)
                F *= pd_
                # only series that had been seen before the forecast was made are scored
                okf = ok & (nseen > 0)
                y0 = np.where(okf, yt, 0)
                Fm = F * okf
                err = y0 - Fm
                if robust:
                    bound = np.sqrt(Fm * phi_out + var0)
                    bound *= k_out
                    np.clip(err, -bound, bound, out=err)
                absE += np.abs(err)
                R2 += err * err
                SF += Fm
                SF2 += Fm * Fm
                n_eval += okf
            pv = valid & pr
            if impute and not hd:
                cp = np.flatnonzero(ct & pr & (nseen >= p_mature))
                if cp.size:
                    cens_promo.append((cp, yt[cp], np.maximum(L[hk, cp] + phi * B[hk, cp], 0) * pd_[cp]))
            if not hd and pv.any():
                # a series with a level of its own is measured against it (the level of the day,
                # so drift over the history does not enter its uplift); a young one, whose level is
                # still pulled toward its group's, against the level it settles at (below)
                yp = np.where(pv, yt, 0).astype(np.float64)
                Py += yp
                Pm += pv
                own = pv & (nseen >= p_mature)
                Fp = np.maximum(L[hk] + phi * B[hk], 0) * pd_
                PFm += np.where(own, Fp, 0)
                PR2m += np.where(own, yp / np.maximum(Fp, 1e-9), 0) ** 2
                young = pv & ~own
                PD += np.where(young, pd_, 0)
                PY2 += np.where(young, yp * ipd, 0) ** 2
            z = np.where(ok, yt * ipd, 0)
            if impute:
                # a sold-out ordinary day updates the level with the demand expected given that it
                # reached what was sold, under the one-step forecast of the day
                ci = np.flatnonzero(ct & ~pr & (not hd))
                if ci.size:
                    mu_c = np.maximum(L[hk, ci] + phi * B[hk, ci], 0) * pd_[ci]
                    z[ci] = nb_mean_above(mu_c, r_imp[ci], yt[ci]) * ipd[ci]
                    ok = ok.copy()
                    ok[ci] = True
            nseen += ok
            a = np.maximum(alpha, one / (nseen + b_s))  # (K, n)
            pred = L + phi * B
            e = (z - pred) * ok
            if robust:  # in deseasonalised units: Var(y / profile) = phi x forecast / profile
                sd = np.sqrt(np.maximum(pred, 0) * (phi_out * ipd) + var0)
                sd[:, nseen < p_mature] = np.inf  # a young series' level still moves freely
                # days off the forecast on the same side in a row (beyond outlier_run_k sd): from
                # the outlier_run-th on they are a change, not outliers, and enter in full
                off = run_k * sd
                side = np.where(e > off, 1, np.where(e < -off, -1, 0)).astype(np.int8)
                run = np.where((side != 0) & (side == np.sign(out_run)), out_run + side, side)
                np.copyto(out_run, np.clip(run, -run_min, run_min), where=ok[None, :])
                sd *= k_out  # now the bound
                np.clip(e, -sd, sd, out=e, where=np.abs(out_run) < run_min)
            a *= e
            L = pred + a
            B = phi * B + (beta * (nseen >= warm)) * a
            Lbuf[t % lag] = L
            Bbuf[t % lag] = B
            just = ok & (nseen == hmin)
            if just.any():
                Lm[just] = np.maximum(L[hk][just], 0)

    # ---- 4. model choice per volume band --------------------------------------------------------
    vol = np.where(n_eval > 0, SF.mean(0) / np.maximum(n_eval, 1), lvl_recent)
    nb = max(1, int(cfg.n_bands))
    scored = n_eval > 0
    if scored.sum() >= nb:
        edges = np.quantile(vol[scored], np.linspace(0, 1, nb + 1)[1:-1])
    else:
        edges = np.array([])
    band = np.searchsorted(edges, vol).astype(np.int64)
    nbands = len(edges) + 1
    crit = R2 if cfg.select_by == "mse" else absE
    err_band = np.stack([np.bincount(band, weights=crit[k] * scored, minlength=nbands) for k in range(K)])
    best_band = err_band.argmin(0)  # ties (no data) -> first candidate
    choice = best_band[band]
    cols = np.arange(n)
    Lf = L[choice, cols]
    Bf = B[choice, cols]

    # ---- 5. promotion uplift per group --------------------------------------------------------
    # Promotion days are measured against the baseline the series settled at, not the forecasts
    # made at the time: a young series' level is still pulled toward its group's, and that bias
    # went straight into the uplift (two to three times the true one in a month-old city).
    # A series never seen off promotion has no baseline of its own (its level is its group's): left out.
    # (computed with the series' own uplift below, in ``uplifts``)
    seen = nseen > 0
    Lpos = np.maximum(Lf, 0).astype(np.float64)
    # ---- 5b. calendar effects per group (holidays, the days around them, adjusted workdays) -------
    # Demand on each day code against the level the series had then, pooled per group and shrunk
    # toward the overall effect of that code (itself toward 1) by the baseline units behind it.
    late = Lm > 0
    Hy += np.where(late, Hyi, 0)
    HF += np.where(late, Lm * HPi, 0)
    del Hyi, HPi
    ch = cfg.holiday_prior_weight
    Hy_g = np.stack([np.bincount(gid, weights=Hy[c], minlength=G) for c in range(NC)])
    HF_g = np.stack([np.bincount(gid, weights=HF[c], minlength=G) for c in range(NC)])
    del Hy, HF

    def effects(Hy_g, HF_g):
        e_glob = (Hy_g.sum(1) + ch) / (HF_g.sum(1) + ch)  # (NC,)
        e_grp = (Hy_g + ch * e_glob[:, None]) / (HF_g + ch)  # (NC, G)
        e_grp[0] = 1.0
        return e_glob, e_grp

    e_glob, e_grp = effects(Hy_g, HF_g)
    if cens_cal:
        # sold-out calendar days at their demand expected given what they sold (a few EM steps on
        # the group effects): left out, the stock-up days before Spring Festival, which sell out
        # most, pulled every series' effect down
        cc, ci, cs, cf = (np.concatenate([c[k] for c in cens_cal]) for k in range(4))
        cg = gid[ci]
        for _ in range(3):
            e = nb_mean_above(cf.astype(np.float64) * e_grp[cc, cg], r_imp[ci], cs)
            Hy_e, HF_e = Hy_g.copy(), HF_g.copy()
            np.add.at(Hy_e, (cc, cg), e)
            np.add.at(HF_e, (cc, cg), cf)
            e_glob, e_grp = effects(Hy_e, HF_e)

    # ---- 6. dispersion ------------------------------------------------------------------------
    r2 = R2[choice, cols].astype(np.float64)
    sf = SF[choice, cols].astype(np.float64)
    sf2 = SF2[choice, cols].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(sf2 > 0, (r2 - sf) / np.maximum(sf2, 1e-12), np.nan)
    pooled = scored & ~truncated  # a truncated series' errors understate its demand's spread
    if not pooled.any():
        pooled = scored
    b_r2 = np.bincount(band, weights=np.where(pooled, r2, 0), minlength=nbands)
    b_sf = np.bincount(band, weights=np.where(pooled, sf, 0), minlength=nbands)
    b_sf2 = np.bincount(band, weights=np.where(pooled, sf2, 0), minlength=nbands)
    with np.errstate(invalid="ignore", divide="ignore"):
        iota_b = np.where(b_sf2 > 0, (b_r2 - b_sf) / np.maximum(b_sf2, 1e-12), 0.5)
    iota_b = np.clip(np.nan_to_num(iota_b, nan=0.5), cfg.min_size, 20.0)
    prior_iota = iota_b[band]
    if cfg.disp_credibility is None:
        fbar = np.where(n_eval > 0, sf / np.maximum(n_eval, 1), 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            se2 = 2.0 * (1.0 + fbar * prior_iota) ** 2 / np.maximum(n_eval * fbar ** 2, 1e-12)
        tau2_b = np.zeros(nbands)
        for k in range(nbands):
            sel = pooled & (band == k) & np.isfinite(raw)
            if sel.sum() >= 10:
                mad = np.median(np.abs(raw[sel] - np.median(raw[sel]))) * 1.4826
                tau2_b[k] = max(mad ** 2 - np.median(se2[sel]), 0.0)
        tau2_i = np.maximum(tau2_b[band], 1e-6)
        w_i = np.where(np.isfinite(raw), tau2_i / (tau2_i + se2), 0.0)
    else:
        # credibility weight: a series' own estimate counts as sum F^2 against c of the band's
        w_i = np.where(np.isfinite(raw), sf2 / (sf2 + cfg.disp_credibility), 0.0)
    w_i = np.where(truncated, 0.0, w_i)
    iota = w_i * np.nan_to_num(raw, nan=0.0) + (1 - w_i) * prior_iota
    iota = np.clip(iota, cfg.min_size, 20.0)
    # ---- 6b. promotion uplift per series --------------------------------------------------------
    # Each series' own uplift, shrunk toward its group's by the evidence behind it: m promotion days
    # whose daily ratios y / baseline scatter by Poisson noise (u / baseline), the series' own
    # overdispersion (u^2 / r) and a pooled relative extra variance (event to event, level drift);
    # the between-series spread is a pooled squared coefficient of variation (method of moments).
    # A series without promotion days, or without a baseline of its own, takes its group's uplift.
    def uplifts(Py, Pm, PFm, PR2m):
        """Group uplifts (shrunk toward the overall one) and each series' own, shrunk toward its group's."""
        PFc = np.where(seen, PFm + Lpos * PD, 0)
        Pyc = np.where(seen, Py, 0)
        c0 = cfg.promo_prior_weight
        u_glob = (Pyc.sum() + c0 * cfg.promo_prior) / (PFc.sum() + c0)
        gy = np.bincount(gid, weights=Pyc, minlength=G)
        gf = np.bincount(gid, weights=PFc, minlength=G)
        u_grp = np.maximum((gy + c0 * u_glob) / (gf + c0), 1.0)
        ug = u_grp[gid]
        m = np.where(seen & (PFc > 0), Pm, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            raw_u = np.where((m > 0) & (PFc > 0), Pyc / PFc, np.nan)
            fbar = np.where(m > 0, PFc / np.maximum(m, 1), 0.0)
            r2 = np.where(m > 0, PR2m + PY2 / np.maximum(Lpos, 1e-12) ** 2, 0.0)
            v_within = np.where(m >= 2, (r2 - m * raw_u ** 2) / np.maximum(m - 1, 1), np.nan)
            v_pois = ug / np.maximum(fbar, 1e-9) + ug ** 2 * iota
        sel = (m >= 3) & (fbar >= 2) & np.isfinite(v_within)
        extra = float(np.clip(np.mean((v_within[sel] - v_pois[sel]) / ug[sel] ** 2), 0.0, 4.0)) if sel.sum() >= 20 else 0.05
        v_day = v_pois + extra * ug ** 2
        sel = (m >= 3) & np.isfinite(raw_u)
        if sel.sum() >= 20:
            cv2_u = float(np.clip(np.mean(((raw_u[sel] - ug[sel]) ** 2 - v_day[sel] / m[sel]) / ug[sel] ** 2),
                                  cfg.uplift_cv2_min, 4.0))
        else:
            cv2_u = 0.05
        tau2_u = cv2_u * ug ** 2
        w_u = np.where(np.isfinite(raw_u), tau2_u / (tau2_u + v_day / np.maximum(m, 1)), 0.0)
        uplift = np.maximum(w_u * np.nan_to_num(raw_u, nan=1.0) + (1 - w_u) * ug, 1.0).astype(DTYPE)
        return uplift, u_grp, u_glob, cv2_u, extra

    uplift, u_grp, u_glob, cv2_u, extra = uplifts(Py, Pm, PFm, PR2m)
    if cens_promo:
        # sold-out promotion days of series with a level of their own: their demand expected given
        # that it reached what was sold, at the baseline of the day times the series' uplift,
        # re-estimated a few times (EM); left out, they pulled uplifts down
        ci = np.concatenate([c[0] for c in cens_promo])
        cs = np.concatenate([c[1] for c in cens_promo]).astype(np.float64)
        cf = np.concatenate([c[2] for c in cens_promo]).astype(np.float64)
        for _ in range(3):
            e = nb_mean_above(cf * uplift[ci], 1.0 / iota[ci], cs)
            uplift, u_grp, u_glob, cv2_u, extra = uplifts(
                Py + np.bincount(ci, weights=e, minlength=n), Pm + np.bincount(ci, minlength=n),
                PFm + np.bincount(ci, weights=cf, minlength=n),
                PR2m + np.bincount(ci, weights=(e / np.maximum(cf, 1e-9)) ** 2, minlength=n))

    # remaining level uncertainty of young series: posterior variance of a mean of nseen days
    # (noise variance sig2 per day) combined with the group prior (between-series variance g_v)
    Ld = np.maximum(Lf.astype(np.float64), 1e-9)
    sig2 = Ld * (1.0 + Ld * iota)
    gv = g_v[gid]
    lvl_var = gv * sig2 / (sig2 + nseen * gv)
    cv2 = np.clip(np.where(Lf > 1e-9, lvl_var / Ld ** 2, 0.0), 0, 20.0)
    iota = iota + cv2 + iota * cv2

    # ---- 7. forecast ------------------------------------------------------------------------
    damp = np.cumsum(cfg.phi ** np.arange(1, h + 1)).astype(DTYPE)
    base = np.maximum(Lf[:, None] + Bf[:, None] * damp[None, :], 0)
    fdow = (sw + T + np.arange(h)) % 7
    mean = base * profT[fdow].T
    if elast is not None:
        mean = mean * np.exp(-elast[:, None] * xf)
    mean = np.where(promo_f, mean * uplift[:, None], mean)
    day_effect = e_grp[code[T:T + h]][:, gid].T.astype(DTYPE)  # (n, h)
    mean = mean * day_effect
    if cfg.year_min > 0:
        season = yearly_season(days, inv_prof, dow, hday, T, h, cfg)
        if season is not None:
            mean = mean * season
    mean = mean.astype(DTYPE)
    size = (1.0 / iota).astype(np.float64)
    qs = nb_quantiles(mean, size, quantiles)
    prof_monday = prof.T.astype(DTYPE)
    return ForecastResult(
        mean=mean, quantiles=qs, dispersion=size.astype(DTYPE), level=Lf.astype(DTYPE),
        profile=prof_monday, uplift=uplift, day_effect=day_effect,
        info={"day_effect_global": e_glob.tolist(), "uplift_cv2": cv2_u, "uplift_extra_var": extra,
              "choice_by_band": [tuple(map(float, cands[i])) for i in best_band], "band_edges": edges.tolist(),
              "uplift_global": float(u_glob), "profile_tau2": tau2, "dispersion_by_band": (1 / iota_b).tolist(),
              "price_elasticity_by_group": None if elast is None else elast_g.tolist()},
    )


def yearly_season(days, inv_prof, dow, hday, T: int, h: int, cfg: ForecastConfig) -> np.ndarray | None:
    """(n, h) yearly multiplier of each forecast day, or None when no series has the years for one.

    For each of up to ``cfg.year_max`` past years: the deseasonalised demand of the same dates
    (365.25 days a year back, ``year_window`` days either side) against that of the
    ``year_reference`` days before the origin's date then: how demand moved from the weeks before
    the origin to each forecast day in that year.  Ordinary days only (promotion, sold-out and
    calendar days have effects of their own).  Across the years a series has (at least
    ``year_min``), the median move, shrunk toward none as a James-Stein estimate: weight m^2 /
    (m^2 + c v), with v the robust (median absolute deviation) variance of that median.  Seasonal
    goods (and a city centre's summer holidays) move the same way every year; noise does not."""
    ref_days, hw = int(cfg.year_reference), int(cfg.year_window)
    if T - int(round(365.25 * cfg.year_min)) - ref_days < 0 or h + hw > 365:  # a year back must be history
        return None
    moves = []
    for k in range(1, int(cfg.year_max) + 1):
        o = T - int(round(365.25 * k))
        a, b = o - ref_days, o + h + hw
        if a < 0:
            break
        yb, pb = days(a, b)
        ok = ~np.isnan(yb) & ~pb & ~hday[a:b, None]
        z = np.where(ok, yb * inv_prof[dow[a:b]], 0).astype(np.float64)
        ref_n = ok[:ref_days].sum(0)
        ref = np.where(ref_n >= ref_days // 2, z[:ref_days].sum(0) / np.maximum(ref_n, 1), np.nan)
        cz = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(z, 0)])
        cn = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(ok, 0)])
        lo = ref_days + np.arange(h) - hw  # window of forecast day j: rows lo .. lo + 2 hw
        s_, n_ = cz[lo + 2 * hw + 1] - cz[lo], cn[lo + 2 * hw + 1] - cn[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            moves.append(np.where((n_ > 0) & (ref > 0), s_ / np.maximum(n_, 1) / ref, np.nan).T)  # (n, h)
    if len(moves) < cfg.year_min:
        return None
    R = np.stack(moves)  # (years, n, h)
    years = np.isfinite(R).sum(0)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells: no factor
        m = np.nanmedian(R, 0) - 1.0
        mad = np.nanmedian(np.abs(R - 1.0 - m), 0) * 1.4826
    v = mad ** 2 * (np.pi / 2) / np.maximum(years, 1)  # variance of a median of `years` values
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(years >= cfg.year_min, m * m / (m * m + cfg.year_shrink * v), 0.0)
    return np.clip(1.0 + np.nan_to_num(w * m), 0.2, 5.0).astype(DTYPE)


WALK_SOLD = 64  # nb_mean_above: below, sum the probabilities up to what was sold; above, incomplete beta


def nb_mean_above(mean, size, sold) -> np.ndarray:
    """E[Y | Y >= sold] for Y negative binomial (mean, size r; Var = mean + mean^2 / r), elementwise:
    the demand expected on a sold-out day that sold ``sold``.  Always >= ``sold`` and >= ``mean``;
    the mean itself where sold <= 0 (a day that sold out at nothing says nothing of its demand).

    E[Y | Y >= s] = (mean - sum_{k<s} k P(k)) / (1 - sum_{k<s} P(k)).  For s <= WALK_SOLD the sums
    run over the probabilities themselves (one (s, cells) table, far cheaper than special
    functions); above, sum_{k<s} k P(Y = k) = mean P(Y' <= s - 2) with Y' ~ NB(r + 1, p) and both
    from the regularised incomplete beta function.  Far in the tail, where 1 - F loses its digits,
    the geometric tail s + q / (1 - q) with q = (s + r) / (s + 1) * mean / (r + mean), the ratio of
    successive probabilities there."""
    mu = np.maximum(np.nan_to_num(np.asarray(mean, np.float64), nan=0.0), 0.0)
    r = np.clip(np.nan_to_num(np.asarray(size, np.float64), nan=1.0), 1e-6, 1e8)
    s = np.maximum(np.floor(np.nan_to_num(np.asarray(sold, np.float64), nan=0.0, posinf=0.0)), 0.0)
    mu, r, s = np.broadcast_arrays(mu, r, s)
    out = np.array(mu, dtype=np.float64)
    pos = s > 0
    if not pos.any():
        return out
    m, rr, ss = mu[pos], r[pos], s[pos]
    p = rr / (rr + m)
    q1 = m / (rr + m)
    below = np.zeros(m.size)  # P(Y < s)
    part = np.zeros(m.size)  # sum_{k<s} k P(k)
    walk = ss <= WALK_SOLD
    if walk.any():
        # cells sorted by s, largest first: the cells still summing at step k are a prefix
        idx = np.flatnonzero(walk)
        idx = idx[np.argsort(-ss[idx], kind="stable")]
        sw, rw, qw = ss[idx], rr[idx], q1[idx]
        with np.errstate(under="ignore"):
            pk = np.exp(rw * np.log(p[idx]))  # P(0)
        bw = pk.copy()
        mw = np.zeros(idx.size)
        active = np.searchsorted(-sw, -np.arange(int(sw[0]) + 1), side="left")  # cells with s > k
        for k in range(1, int(sw[0])):
            a = active[k]
            pk[:a] *= (k - 1 + rw[:a]) / k * qw[:a]
            bw[:a] += pk[:a]
            mw[:a] += k * pk[:a]
        below[idx] = bw
        part[idx] = mw
    far = ~walk
    if far.any():
        below[far] = special.betainc(rr[far], ss[far], p[far])
        part[far] = m[far] * special.betainc(rr[far] + 1, ss[far] - 1, p[far])
    tail = 1.0 - below
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        exact = (m - part) / tail
        q = np.minimum((ss + rr) / (ss + 1) * q1, 0.999)
        geometric = ss + q / (1 - q)
    e = np.where((tail > 1e-7) & np.isfinite(exact), exact, geometric)
    out[pos] = np.maximum(e, ss)
    return out


SMALL_MEAN = 60.0  # below: walk the pmf; above: bisection with the incomplete beta function


def nb_quantiles(mean: np.ndarray, size: np.ndarray, quantiles, chunk: int = 500_000) -> dict:
    """Negative binomial quantiles (smallest count q with P(Y <= q) >= tau) over whole arrays.

    ``size`` is r, per series (n,) or per cell (same shape as ``mean``); Var = mean + mean^2 / r.
    Equal to ``scipy.stats.nbinom.ppf`` but much faster on large arrays: cells with a small mean
    walk the probability mass function upward (all quantiles in one pass, finished cells dropped
    as they go); cells with a large mean start from a Cornish-Fisher approximation and are
    corrected to the exact answer with the regularised incomplete beta function.
    """
    mu_all = np.asarray(mean)
    shape = mu_all.shape
    size = np.asarray(size, np.float64)
    if size.shape != shape:
        size = np.broadcast_to(size.reshape(size.shape + (1,) * (mu_all.ndim - size.ndim)), shape)
    mu_all = mu_all.reshape(-1)
    r_all = np.ascontiguousarray(size).reshape(-1)
    taus = sorted(float(t) for t in quantiles)
    res = np.zeros((len(taus), mu_all.size), DTYPE)
    for c0 in range(0, mu_all.size, chunk):  # bounded temporaries on big panels
        c1 = min(c0 + chunk, mu_all.size)
        res[:, c0:c1] = _nb_quantiles_flat(mu_all[c0:c1].astype(np.float64),
                                           np.minimum(r_all[c0:c1], 1e8), taus)
    return {float(t): res[taus.index(float(t))].reshape(shape) for t in quantiles}


def _nb_quantiles_flat(mu: np.ndarray, r: np.ndarray, taus: list) -> np.ndarray:
    res = np.zeros((len(taus), mu.size), np.float64)
    pos = np.flatnonzero(mu > 1e-9)
    small = pos[mu[pos] <= SMALL_MEAN]
    large = pos[mu[pos] > SMALL_MEAN]
    tau_arr = np.asarray(taus)[:, None] - 1e-12
    if small.size:
        m, rr = mu[small], r[small]
        p = rr / (rr + m)
        qv = m / (rr + m)
        pmf = np.exp(rr * np.log(p))
        cdf = pmf.copy()
        out = np.full((len(taus), small.size), -1.0)
        local = np.arange(small.size)
        k = 0
        while local.size and k <= 20000:
            hit = cdf[None, :] >= tau_arr
            for j in range(len(taus)):
                sel = local[hit[j]]
                sel = sel[out[j, sel] < 0]
                out[j, sel] = k
            keep = ~hit[-1]
            if not keep.all():
                local, pmf, cdf, rr, qv = local[keep], pmf[keep], cdf[keep], rr[keep], qv[keep]
            k += 1
            pmf *= (k - 1 + rr) / k * qv
            cdf += pmf
        if local.size:  # round-off kept the sum below tau: let scipy finish these few
            cells = small[local]
            for j, tau in enumerate(taus):
                out[j, local] = stats.nbinom.ppf(tau, r[cells], r[cells] / (r[cells] + mu[cells]))
        res[:, small] = out
    if large.size:
        m, rr = mu[large], r[large]
        p = rr / (rr + m)
        sd = np.sqrt(m + m * m / rr)
        skew = (1 + 2 * m / rr) / sd
        for j, tau in enumerate(taus):
            z = stats.norm.ppf(tau)
            k0 = np.maximum(np.ceil(m + sd * (z + (z * z - 1) * skew / 6) - 0.5), 0)
            # exact answer by bisection on F(k) = I_p(r, k + 1), bracketed around the guess
            step = np.ceil(0.25 * sd) + 2
            lo = np.maximum(k0 - step, -1)  # invariant: F(lo) < tau (F(-1) = 0)
            hi = k0 + step  # invariant: F(hi) >= tau
            for _ in range(60):
                bad = np.flatnonzero(special.betainc(rr, hi + 1, p) < tau)
                if not bad.size:
                    break
                lo[bad] = hi[bad]
                hi[bad] += 2 * step[bad]
                step[bad] *= 2
            for _ in range(60):
                bad = np.flatnonzero((lo >= 0) & (special.betainc(rr, np.maximum(lo, 0) + 1, p) >= tau))
                if not bad.size:
                    break
                hi[bad] = lo[bad]
                lo[bad] = np.maximum(lo[bad] - 2 * step[bad], -1)
                step[bad] *= 2
            act = np.flatnonzero(hi - lo > 1)
            while act.size:
                mid = np.floor((lo[act] + hi[act]) / 2)
                ge = special.betainc(rr[act], mid + 1, p[act]) >= tau
                hi[act[ge]] = mid[ge]
                lo[act[~ge]] = mid[~ge]
                act = act[hi[act] - lo[act] > 1]
            k0 = hi
            res[j, large] = k0
    return res


# ---- Chinese public holidays ------------------------------------------------------------------
# Day codes shared by all series: 0 = an ordinary day; per holiday kind k three codes, the days
# before the break (stock-up), the days of the break, the days after it; and one code for the
# adjusted working days (调休: a Saturday or Sunday that is a workday).
HOLIDAY_KINDS = ("new_year", "spring_festival", "qingming", "labour_day", "dragon_boat", "mid_autumn",
                 "national_day")
PRE_DAYS = {"spring_festival": 7}  # days before a break that count as "pre"; others PRE_DAYS_OTHER
POST_DAYS = {"spring_festival": 7}
PRE_DAYS_OTHER = POST_DAYS_OTHER = 2
CODE_PRE, CODE_ON, CODE_POST = 0, 1, 2
CODE_WORKDAY = 1 + 3 * len(HOLIDAY_KINDS)
N_CODES = CODE_WORKDAY + 1
_KIND_WORDS = (("spring_festival", ("chinese new year", "spring festival")), ("new_year", ("new year's day",)),
               ("qingming", ("tomb-sweeping",)), ("labour_day", ("labor day", "labour day")),
               ("dragon_boat", ("dragon boat",)), ("mid_autumn", ("mid-autumn",)),
               ("national_day", ("national day",)))


def holiday_code(kind: str, phase: int) -> int:
    """The day code of ``phase`` (CODE_PRE, CODE_ON, CODE_POST) of holiday ``kind``."""
    return _slot_code(HOLIDAY_KINDS.index(kind), phase)


def _slot_code(slot: int, phase: int) -> int:
    """Day codes come in threes, one slot per holiday: 1 + 3 x slot + phase (``holiday_days`` reads it)."""
    return 1 + 3 * slot + phase


def china_day_codes(first_date, n_days: int) -> np.ndarray:
    """(n_days,) int16 day codes from ``first_date`` on, from the ``holidays`` package's calendar
    for China (official State Council schedules where published, the statutory rule otherwise;
    past and future years alike).  The package lists the days off that fall on weekdays and names
    each substituted day off "... (substituted from MM/DD/YYYY)": that date is an adjusted working
    day (调休).  A break is its listed days plus the weekend days joined to them that are not
    working days; a break's kind is Spring Festival if any of its days is, else its first named
    holiday's (Mid-Autumn inside the National Day week counts as National Day)."""
    import datetime
    import re

    import holidays as holidays_pkg

    first = first_date if isinstance(first_date, datetime.date) else datetime.date.fromisoformat(str(first_date))
    T = int(n_days)
    codes = np.zeros(T, np.int16)
    if T <= 0:
        return codes
    pad = 10  # pre / post windows reach outside the span
    lo = first - datetime.timedelta(days=pad + 10)
    hi = first + datetime.timedelta(days=T + pad + 10)
    cal = holidays_pkg.country_holidays("CN", years=range(lo.year, hi.year + 1), language="en_US")
    off, workdays = {}, set()
    for d, name in cal.items():
        names = name.split("; ")
        kind = None
        for nm in names:
            low = nm.lower()
            m = re.search(r"substituted from (\d\d)/(\d\d)/(\d{4})", low)
            if m:
                workdays.add(datetime.date(int(m.group(3)), int(m.group(1)), int(m.group(2))))
            for k, words in _KIND_WORDS:
                if any(w in low for w in words) and (kind is None or k == "spring_festival"):
                    kind = k
        off[d] = kind
    # weekend days joined to a break (and not working days) belong to it
    grow = True
    while grow:
        grow = False
        for d in list(off):
            for step in (-1, 1):
                e = d + datetime.timedelta(days=step)
                if e not in off and e.weekday() >= 5 and e not in workdays:
                    off[e] = None
                    grow = True
    days_sorted = sorted(off)
    breaks, cur = [], []
    for d in days_sorted:
        if cur and (d - cur[-1]).days > 1:
            breaks.append(cur)
            cur = []
        cur.append(d)
    if cur:
        breaks.append(cur)
    span = lambda d: (d - first).days
    for days in breaks:
        kinds = [off[d] for d in days if off[d] is not None]
        if not kinds:
            continue
        kind = "spring_festival" if "spring_festival" in kinds else kinds[0]
        a, b = span(days[0]), span(days[-1])
        pre = PRE_DAYS.get(kind, PRE_DAYS_OTHER)
        post = POST_DAYS.get(kind, POST_DAYS_OTHER)
        for t in range(a - pre, a):
            if 0 <= t < T and codes[t] == 0:
                codes[t] = holiday_code(kind, CODE_PRE)
        for t in range(b + 1, b + 1 + post):
            if 0 <= t < T and codes[t] == 0:
                codes[t] = holiday_code(kind, CODE_POST)
        for t in range(max(a, 0), min(b + 1, T)):
            codes[t] = holiday_code(kind, CODE_ON)
    for d in workdays:
        t = span(d)
        if 0 <= t < T and d not in off:
            codes[t] = CODE_WORKDAY
    return codes


def country_day_codes(country: str, first_date, n_days: int) -> np.ndarray:
    """(n_days,) int16 day codes of another country's public holidays (``holidays`` package, ISO
    code such as "US" or "NZ"), for panels from elsewhere: each holiday (by name, its observed day
    included) has its own codes, in ``holiday_code``'s layout, for the day before, the day itself
    and the day after (Christmas Eve, the Friday after Thanksgiving); a holiday wins over another's
    day before or after.  Fixed-date and moving holidays alike, past and future years."""
    import datetime

    import holidays as holidays_pkg

    first = first_date if isinstance(first_date, datetime.date) else datetime.date.fromisoformat(str(first_date))
    T = int(n_days)
    codes = np.zeros(max(T, 0), np.int16)
    if T <= 0:
        return codes
    last = first + datetime.timedelta(days=T)
    cal = holidays_pkg.country_holidays(country, years=range(first.year - 1, last.year + 2), language="en_US")
    days = {d: name.split("; ")[0].replace(" (observed)", "") for d, name in cal.items()}
    index = {name: i for i, name in enumerate(sorted(set(days.values())))}
    for phase, step in ((CODE_PRE, 1), (CODE_POST, -1), (CODE_ON, 0)):  # the day itself last: it wins
        for d, name in days.items():
            t = (d - first).days - step
            if 0 <= t < T and (phase == CODE_ON or codes[t] == 0):
                codes[t] = _slot_code(index[name], phase)
    return codes


def holiday_days(codes: np.ndarray) -> np.ndarray:
    """(T,) bool: the days of a break (public holiday, day off) among ``china_day_codes`` or
    ``country_day_codes`` (China's adjusted working day, CODE_WORKDAY, is in a day-before slot)."""
    c = np.asarray(codes)
    return (c > 0) & ((c - 1) % 3 == CODE_ON)
