"""Read a real demand panel from a long CSV for ``manage.py bench_forecast --csv``.

Pure module (numpy, pandas): no Django import.  Columns (names case- and space-insensitive):
``date``, ``series``, ``quantity`` required; ``promotion`` (or ``promo``), ``price``, ``group`` and
``stockout`` (or ``sold_out``, ``censored``: the day sold out, so its quantity is a lower bound of
the demand) optional.  Real exports are messy, so nothing is assumed about order or completeness:

* rows in any order; several rows for one (date, series) are summed (an export per order line);
* dates as ISO (``2024-01-05``, a time part ignored) or ``YYYY/M/D``, mixed in one file;
* a series is on sale from its first row to its last; a day inside that span without a row sold
  nothing (``missing="zero"``) or is unknown (``missing="gap"``, for exports with holes).  Days
  before a series' first row and after a series stopped are NaN (not on sale).  A series whose
  last row is followed by no longer a quiet spell than it already had inside its span has not
  stopped: an intermittent series simply sold nothing lately;
* rows that cannot be demand are dropped and counted by reason (see ``DROP_REASONS``):
  negative quantities are returns, not demand.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from warehouse.forecast_eval import Panel

REQUIRED = ("date", "series", "quantity")
PROMO_COLUMNS = ("promotion", "promo")
STOCKOUT_COLUMNS = ("stockout", "sold_out", "censored")
DROP_REASONS = {
    "malformed": "malformed line (wrong number of fields)",
    "blank": "blank row",
    "date": "date missing or not a date",
    "series": "series missing",
    "quantity": "quantity missing or not a number",
    "negative": "negative quantity (returns)",
}
TRUE_WORDS = {"true", "t", "yes", "y", "是"}


@dataclass
class LoadReport:
    rows: int = 0  # data rows in the file, malformed ones included
    kept: int = 0
    dropped: dict = field(default_factory=dict)  # DROP_REASONS key -> rows
    duplicates_summed: int = 0  # kept rows added to another row of the same (date, series)
    stopped_series: int = 0  # series whose last row is well before the panel's last day
    filled_days: int = 0  # days inside a series' span without a row, counted as zero sales
    sold_out_days: int = 0  # (date, series) days flagged sold out: their demand is at least the sales

    def lines(self) -> list[str]:
        out = [f"read {self.rows} rows, kept {self.kept}"]
        out += [f"  dropped {k}: {DROP_REASONS[r]}" for r, k in self.dropped.items() if k]
        if self.duplicates_summed:
            out.append(f"  summed {self.duplicates_summed} duplicate (date, series) rows into others")
        if self.filled_days:
            out.append(f"  filled {self.filled_days} days without a row inside a series' span with 0")
        if self.sold_out_days:
            out.append(f"  {self.sold_out_days} days sold out: their quantity is a lower bound of the demand")
        if self.stopped_series:
            out.append(f"  {self.stopped_series} series stopped before the last day (not on sale after)")
        return out


def load_csv(source, missing: str = "zero", calendar: str = "cn") -> tuple[Panel, LoadReport]:
    """``source``: a path or a text buffer.  Raises ValueError naming a missing required column,
    or when no row is left.  ``calendar="cn"``: the panel's days get China's public holidays
    (``forecasting.china_day_codes``; the forecaster models them, the benchmark reports holiday
    days apart); a country code ("US", "NZ", ...): that country's public holidays
    (``forecasting.country_day_codes``); ``"none"``: no calendar."""
    import pandas as pd

    if missing not in ("gap", "zero"):
        raise ValueError("missing must be 'gap' or 'zero'")
    # "CN" is China's own calendar (with 调休), not the generic one of its country code
    calendar = calendar.lower() if calendar.lower() in ("cn", "none") else calendar.upper()
    if calendar not in ("cn", "none"):
        import holidays as holidays_pkg

        if calendar not in holidays_pkg.list_supported_countries():
            raise ValueError(f"calendar must be 'cn', 'none' or a country code of the holidays package, not {calendar!r}")
    report = LoadReport()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        df = pd.read_csv(source, dtype=str, keep_default_na=False, skip_blank_lines=False,
                         on_bad_lines="warn", encoding="utf-8-sig")
    malformed = sum(str(w.message).count("Skipping line") for w in caught)  # a warning may list several
    df.columns = [str(c).strip().lower() for c in df.columns]
    for col in REQUIRED:
        if col not in df.columns:
            raise ValueError(f"the CSV has no column '{col}' (columns: {', '.join(df.columns)}); "
                             f"required: {', '.join(REQUIRED)}")
    cells = df.apply(lambda c: c.str.strip())
    report.rows = len(df) + malformed

    blank = (cells == "").all(axis=1).to_numpy()
    date = _parse_dates(cells["date"])
    qty = pd.to_numeric(cells["quantity"], errors="coerce").to_numpy(np.float64)
    reasons = [("blank", blank), ("date", np.isnat(date)), ("series", (cells["series"] == "").to_numpy()),
               ("quantity", ~np.isfinite(qty)), ("negative", qty < 0)]
    keep = np.ones(len(df), bool)
    report.dropped["malformed"] = malformed
    for reason, bad in reasons:
        report.dropped[reason] = int((keep & bad).sum())
        keep &= ~bad
    report.kept = int(keep.sum())
    if not report.kept:
        raise ValueError("no usable row in the CSV: " + "; ".join(report.lines()[1:]))

    kept = cells[keep]
    date, qty = date[keep], qty[keep]
    first = date.min()
    day = ((date - first) // np.timedelta64(1, "D")).astype(np.int64)
    codes, names = pd.factorize(kept["series"], sort=True)
    codes = codes.astype(np.int64)
    n, T = len(names), int(day.max()) + 1
    flat = codes * T + day
    cell, inverse = np.unique(flat, return_inverse=True)
    report.duplicates_summed = int(len(flat) - len(cell))
    y = np.full(n * T, np.nan, np.float32)
    y[cell] = np.bincount(inverse, weights=qty, minlength=len(cell))
    y = y.reshape(n, T)

    # active span per series; ``cell`` is sorted by (series, day)
    c_series, c_day = cell // T, cell % T
    start = np.full(n, T, np.int64)
    np.minimum.at(start, c_series, c_day)
    end = np.zeros(n, np.int64)
    np.maximum.at(end, c_series, c_day)
    same = c_series[1:] == c_series[:-1]
    longest_quiet = np.zeros(n, np.int64)
    np.maximum.at(longest_quiet, c_series[1:][same], (c_day[1:] - c_day[:-1] - 1)[same])
    stopped = (T - 1 - end) > longest_quiet
    end = np.where(stopped, end, T - 1)
    report.stopped_series = int(stopped.sum())
    t = np.arange(T)[None, :]
    inside = (t >= start[:, None]) & (t <= end[:, None])
    hole = inside & np.isnan(y)
    if missing == "zero":
        y[hole] = 0.0
        report.filled_days = int(hole.sum())

    def flags(columns):
        """(n, T) bool from the first of ``columns`` present (1, true, yes, 是 ...; any row of a day), or None."""
        col = next((c for c in columns if c in kept.columns), None)
        if col is None:
            return None
        flag = kept[col].str.lower()
        on = (pd.to_numeric(flag, errors="coerce").fillna(0).to_numpy() != 0) | flag.isin(TRUE_WORDS).to_numpy()
        out = np.zeros(n * T, bool)
        out[flat[on]] = True
        return out.reshape(n, T)

    promo = flags(PROMO_COLUMNS)
    promo = np.zeros((n, T), bool) if promo is None else promo
    censored = flags(STOCKOUT_COLUMNS)
    if censored is not None:
        report.sold_out_days = int(censored.sum())
    price = None
    if "price" in kept.columns:
        p = pd.to_numeric(kept["price"], errors="coerce").to_numpy(np.float64)
        ok = np.isfinite(p)
        total = np.bincount(inverse[ok], weights=p[ok], minlength=len(cell))
        count = np.bincount(inverse[ok], minlength=len(cell))
        price = np.full(n * T, np.nan, np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            price[cell] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        price = price.reshape(n, T)
    group = np.zeros(n, np.int32)
    if "group" in kept.columns:
        label = kept["group"].groupby(codes).first()
        group[label.index.to_numpy()] = pd.factorize(label.to_numpy())[0]
    first = first.astype("datetime64[D]").item()
    from warehouse import forecasting

    if calendar == "cn":
        codes = forecasting.china_day_codes(first, T)
    elif calendar == "none":
        codes = np.zeros(T, np.int16)
    else:
        codes = forecasting.country_day_codes(calendar, first, T)
    return Panel(y=y, promo=promo, group=group, start_weekday=first.weekday(), names=list(names),
                 first_date=first, price=price, day_code=codes, holiday=forecasting.holiday_days(codes),
                 censored=censored), report


def _parse_dates(text) -> np.ndarray:
    """ISO or Y/M/D strings to datetime64[D] (NaT when not a date); a time part is ignored."""
    import pandas as pd

    codes, uniques = pd.factorize(text)  # a few thousand distinct dates at most: parse each once
    day = pd.Series(uniques).str.split(r"[ T]", n=1).str[0].str.replace("/", "-", regex=False)
    parsed = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce").to_numpy().astype("datetime64[D]")
    return np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.datetime64("NaT"))
