"""The baselines ``bench_forecast`` runs beside our forecaster, on the same holdout and series.

Pure module: arrays in, forecasts out; no Django import.  Seasonal naive is numpy.  The others are
the usual strong peers and come from development dependencies, imported only when asked for:
statsforecast (AutoETS, AutoTheta, CrostonOptimized; a service dependency too) and mlforecast with
LightGBM (requirements-bench.txt, ``make bench-deps``).  A missing one raises ``MissingPeer``.

Every baseline sees the same input: each series from its first observed day, inner gaps (NaN)
linearly interpolated (the libraries need complete series); a series never observed forecasts 0.
``Baseline.seconds`` is the wall time of the library's fit and predict.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

SEASON = 7
# name in the report -> statsforecast model class; intervals for those that give them
STATS_MODELS = {"autoets": "AutoETS", "autotheta": "AutoTheta", "croston_optimized": "CrostonOptimized"}
WITH_INTERVALS = {"AutoETS", "AutoTheta"}
LEVELS = (60, 90)  # upper ends of the central 60% / 90% intervals are the P80 / P95
LGBM_LAGS = (1, 7, 14, 28)
LGBM_PARAMS = dict(objective="tweedie", tweedie_variance_power=1.1, n_estimators=400, learning_rate=0.05,
                   num_leaves=63, min_child_samples=50, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                   verbose=-1)


class MissingPeer(ImportError):
    """A baseline's library is not installed."""


@dataclass
class Baseline:
    mean: np.ndarray  # (n, horizon) >= 0
    seconds: float
    quantiles: dict | None = None  # {0.8: (n, horizon), 0.95: (n, horizon)} when the model gives intervals


def _require(module: str, install: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPeer(f"{module} is not installed ({install}); it is a benchmark peer, not a service "
                          "dependency") from exc


def seasonal_naive(history: np.ndarray, horizon: int, season: int = SEASON) -> np.ndarray:
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
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: handled below
        fill = np.nanmean(history[:, T - w:], axis=1)
    fill = np.where(np.isnan(fill), 0.0, fill)
    last = np.where(np.isnan(last), fill[:, None], last)
    # column j of `last` is day T - season + j; day T + h has the phase of column h % season
    idx = np.arange(horizon) % season
    return last[:, idx].astype(np.float32)


def _observed(history: np.ndarray):
    """First observed day per series (T if never) and the history with inner gaps interpolated."""
    import pandas as pd

    n, T = history.shape
    valid = ~np.isnan(history)
    first = np.where(valid.any(axis=1), valid.argmax(axis=1), T)
    filled = pd.DataFrame(history.T).interpolate(limit_area="inside").ffill().to_numpy().T
    return first, np.maximum(filled, 0)


def _long(first: np.ndarray, filled: np.ndarray, rows: np.ndarray, ds):
    """A long (unique_id, ds, y) frame of ``rows`` from their first observed day; ``ds[t]`` is day t."""
    import pandas as pd

    T = filled.shape[1]
    lengths = T - first[rows]
    return pd.DataFrame({"unique_id": np.repeat(rows, lengths),
                         "ds": np.concatenate([ds[first[i]:] for i in rows]) if len(rows) else ds[:0],
                         "y": np.concatenate([filled[i, first[i]:] for i in rows]).astype(np.float64)
                         if len(rows) else np.zeros(0)})


def _to_matrix(out, column: str, n: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    out = out.sort_values(["unique_id", "ds"])
    uid = out["unique_id"].to_numpy().reshape(-1, horizon)[:, 0].astype(np.int64)
    return uid, np.maximum(out[column].to_numpy(np.float64).reshape(-1, horizon), 0).astype(np.float32)


def statsforecast_models(history: np.ndarray, horizon: int, names=tuple(STATS_MODELS), n_jobs: int = -1,
                         log=lambda m: None) -> dict:
    """statsforecast per-series models, one run each on the same series: {name: Baseline}.

    A series with fewer than two weeks of data forecasts the mean of what it has (with Poisson
    quantiles), for every model alike: the libraries cannot fit it."""
    _require("statsforecast", "pip install -r requirements.txt")
    from scipy import stats
    from statsforecast import StatsForecast
    from statsforecast import models as sfm

    n, T = history.shape
    first, filled = _observed(history)
    fit = T - first >= 2 * SEASON
    fallback = np.zeros((n, horizon), np.float32)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        short = np.nan_to_num(np.nanmean(history[~fit], axis=1)) if (~fit).any() else np.zeros(0)
    fallback[~fit] = short[:, None]
    df = _long(first, filled, np.flatnonzero(fit), np.arange(T))
    results = {}
    for name in names:
        cls = STATS_MODELS[name]
        model = getattr(sfm, cls)(season_length=SEASON) if cls in WITH_INTERVALS else getattr(sfm, cls)()
        mean = fallback.copy()
        quantiles = None
        if cls in WITH_INTERVALS:
            quantiles = {tau: np.zeros((n, horizon), np.float32) for tau in (0.8, 0.95)}
            for tau in quantiles:
                quantiles[tau][~fit] = stats.poisson.ppf(tau, np.maximum(fallback[~fit], 1e-9))
        log(f"{cls} on {int(fit.sum())} series ...")
        t0 = time.perf_counter()
        if len(df):
            sf = StatsForecast(models=[model], freq=1, n_jobs=n_jobs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = sf.forecast(df=df, h=horizon, level=list(LEVELS) if quantiles else None)
            uid, values = _to_matrix(out, cls, n, horizon)
            mean[uid] = values
            if quantiles:
                for tau, level in zip((0.8, 0.95), LEVELS):
                    quantiles[tau][uid] = _to_matrix(out, f"{cls}-hi-{level}", n, horizon)[1]
        results[name] = Baseline(mean=mean, seconds=time.perf_counter() - t0, quantiles=quantiles)
        log(f"  {results[name].seconds:.1f} s")
    return results


def lightgbm_global(history: np.ndarray, horizon: int, first_date, promo: np.ndarray | None = None,
                    holiday: np.ndarray | None = None, price: np.ndarray | None = None,
                    num_threads: int = -1, day_code: np.ndarray | None = None) -> Baseline:
    """One LightGBM model for all series through mlforecast (the M5-winning family): lags 1, 7,
    14 and 28, rolling means over 7 and 28 days of lags 1 and 7, day of week, day of month and
    month, a Tweedie objective on each series scaled to [0, 1], recursive over the horizon.
    Promotion, holiday, calendar day code and price (over history and horizon, known in advance)
    join as features when given.

    promo: (n, T + horizon) bool; holiday: (T + horizon,) bool; price: (n, T + horizon), NaN unknown;
    day_code: (T + horizon,) int, ``forecasting.china_day_codes`` (the days around the holidays too).
    """
    _require("mlforecast", "make bench-deps")
    lgb = _require("lightgbm", "make bench-deps")
    import pandas as pd
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import LocalMinMaxScaler

    n, T = history.shape
    first, filled = _observed(history)
    rows = np.flatnonzero(first < T)
    ds = pd.date_range(pd.Timestamp(first_date), periods=T + horizon, freq="D").to_numpy()
    df = _long(first, filled, rows, ds[:T])
    future = pd.DataFrame({"unique_id": np.repeat(rows, horizon), "ds": np.tile(ds[T:], len(rows))})
    exog = []
    for name, values in (("promotion", promo), ("holiday", holiday), ("day_code", day_code), ("price", price)):
        if values is None:
            continue
        grid = np.broadcast_to(values, (n, T + horizon)).astype(np.float32)
        df[name] = np.concatenate([grid[i, first[i]:T] for i in rows]) if len(rows) else []
        future[name] = grid[rows, T:].reshape(-1)
        exog.append(name)
    mean = np.zeros((n, horizon), np.float32)
    t0 = time.perf_counter()
    if len(rows):
        fcst = MLForecast(models={"lgbm": lgb.LGBMRegressor(**LGBM_PARAMS, n_jobs=num_threads)}, freq="D",
                          lags=list(LGBM_LAGS),
                          lag_transforms={1: [RollingMean(7), RollingMean(28)], 7: [RollingMean(7), RollingMean(28)]},
                          date_features=["dayofweek", "day", "month"], num_threads=num_threads,
                          # one model for series from 0.1 to hundreds a day: each on its own scale
                          # (WAPE 0.35 instead of 0.39 on the synthetic panel)
                          target_transforms=[LocalMinMaxScaler()])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fcst.fit(df, static_features=[], dropna=True)
            out = fcst.predict(horizon, X_df=future if exog else None)
        uid, values = _to_matrix(out, "lgbm", n, horizon)
        mean[uid] = values
    return Baseline(mean=mean, seconds=time.perf_counter() - t0)
