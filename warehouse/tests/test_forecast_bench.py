"""The forecast benchmark's outside data (CSV loader) and baselines, through their public functions."""
import io
import json

import numpy as np
import pytest

from warehouse import forecast_baselines as fb
from warehouse import forecast_eval as fe
from warehouse.forecast_panel import load_csv

NAN = np.nan


def load(text, **kw):
    return load_csv(io.StringIO(text), **kw)


def rows(panel, name):
    return panel.y[panel.names.index(name)].tolist()


def same(a, b):
    return np.array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32), equal_nan=True)


def test_unsorted_rows_and_mixed_date_formats():
    p, rep = load("date,series,quantity\n"
                  "2024/1/3,苹果,1\n"
                  "2024-01-01,苹果,3\n"
                  "2024-01-02T08:30:00,苹果,2\n"
                  "2024-1-4 23:59,苹果,4\n")
    assert rows(p, "苹果") == [3, 2, 1, 4]
    assert p.start_weekday == 0 and str(p.first_date) == "2024-01-01"  # a Monday
    assert rep.kept == 4 and not any(rep.dropped.values())


def test_duplicate_rows_are_summed():
    p, rep = load("date,series,quantity\n2024-01-01,a,3\n2024-01-01,a,2\n2024-01-02,a,1\n2024-01-01,b,7\n")
    assert rows(p, "a") == [5, 1] and rep.duplicates_summed == 1


def test_missing_days_inside_the_span_are_zero_sales():
    text = "date,series,quantity\n2024-01-01,a,3\n2024-01-04,a,1\n2024-01-05,a,2\n"
    p, rep = load(text)
    assert rows(p, "a") == [3, 0, 0, 1, 2] and rep.filled_days == 2
    gap, _ = load(text, missing="gap")
    assert same(gap.y[0], [3, NAN, NAN, 1, 2])


def test_series_that_start_late_and_stop_early():
    text = "date,series,quantity\n" + "".join(f"2024-01-{d:02d},a,{d}\n" for d in range(1, 31))
    text += "2024-01-10,late,2\n2024-01-30,late,1\n"  # starts on the 10th, sells again on the 30th
    text += "2024-01-01,gone,5\n2024-01-02,gone,4\n2024-01-03,gone,6\n"  # delisted after the 3rd
    text += "2024-01-01,quiet,1\n2024-01-20,quiet,1\n"  # intermittent: 11 days without a sale is not a stop
    p, rep = load(text)
    assert same(rows(p, "late"), [NAN] * 9 + [2] + [0] * 19 + [1])
    assert same(rows(p, "gone"), [5, 4, 6] + [NAN] * 27)
    assert same(rows(p, "quiet"), [1] + [0] * 18 + [1] + [0] * 10)
    assert rep.stopped_series == 1


def test_negative_blank_and_garbled_rows_are_dropped_and_counted():
    p, rep = load("date,series,quantity\n"
                  "2024-01-01,a,3\n"
                  "2024-01-02,a,-2\n"  # a return
                  "\n"
                  ",,\n"
                  "2024-13-45,a,1\n"  # not a date
                  "01/02/2024,a,1\n"  # ambiguous day/month order: not guessed
                  "2024-01-02,,4\n"
                  "2024-01-02,a,lots\n"
                  "2024-01-02,a,\n"
                  "2024-01-02,a,1,extra\n"
                  "2024-01-02,a,1,extra,more\n"
                  "2024-01-03,a,2\n")
    assert rows(p, "a") == [3, 0, 2]
    assert rep.dropped == {"malformed": 2, "blank": 2, "date": 2, "series": 1, "quantity": 2, "negative": 1}
    assert rep.rows == 12 and rep.kept == 2
    text = "\n".join(rep.lines())
    assert "dropped 1: negative quantity (returns)" in text and "dropped 2: blank row" in text


def test_a_missing_required_column_is_named():
    with pytest.raises(ValueError, match="no column 'quantity'"):
        load("date,series,qty\n2024-01-01,a,1\n")
    with pytest.raises(ValueError, match="no usable row"):
        load("date,series,quantity\n2024-01-01,a,-1\n")


def test_optional_columns_header_case_and_bom():
    p, _ = load("\ufeff Date ,SERIES,Quantity,Promotion,price,group\n"
                "2024-01-01,a,3,0,9.9,水果\n"
                "2024-01-02,a,8,yes,7.9,水果\n"
                "2024-01-02,a,1,0,8.9,水果\n"
                "2024-01-01,b,4,1,,蔬菜\n"
                "2024-01-02,b,5,0,,蔬菜\n")
    assert p.promo.tolist() == [[False, True], [True, False]]
    assert same(p.price, [[9.9, 8.4], [NAN, NAN]])
    assert p.group[0] != p.group[1]
    alias, _ = load("date,series,quantity,promo\n2024-01-01,a,3,1\n")
    assert alias.promo.tolist() == [[True]]


# ---- baselines --------------------------------------------------------------------------------


def tiny_panel(n=12, days=90, seed=3):
    from warehouse.forecast_eval import generate_panel

    return generate_panel(n, days, horizon=14, seed=seed)


def test_seasonal_naive_repeats_the_last_week():
    sn = fb.seasonal_naive(np.arange(14, dtype=float)[None, :], 8)
    assert sn.tolist() == [[7, 8, 9, 10, 11, 12, 13, 7]]
    never = fb.seasonal_naive(np.full((1, 14), NAN), 3)
    assert never.tolist() == [[0, 0, 0]]


def test_statsforecast_peers_forecast_every_series():
    p = tiny_panel()
    hist = p.y[:, :-14].copy()
    hist[0] = NAN  # never observed
    hist[1, :-5] = NAN  # five days only: too short to fit
    res = fb.statsforecast_models(hist, 14, n_jobs=1)
    assert set(res) == {"autoets", "autotheta", "croston_optimized"}
    for b in res.values():
        assert b.mean.shape == (12, 14) and np.isfinite(b.mean).all() and (b.mean >= 0).all() and b.seconds >= 0
        assert (b.mean[0] == 0).all()
        assert np.allclose(b.mean[1], np.nanmean(hist[1]))
    assert (res["autoets"].quantiles[0.95] >= res["autoets"].quantiles[0.8]).all()
    assert res["croston_optimized"].quantiles is None


def test_lightgbm_global_uses_promotions_and_holidays():
    pytest.importorskip("mlforecast")
    pytest.importorskip("lightgbm")
    import datetime

    rng = np.random.default_rng(0)
    n, T, h = 20, 150, 14
    promo = rng.random((n, T + h)) < 0.1
    holiday = np.zeros(T + h, bool)
    holiday[::10] = True
    y = rng.poisson(np.where(promo, 20.0, 5.0) * np.where(holiday, 0.2, 1.0)).astype(np.float32)
    hist = y[:, :T]
    hist[3, :100] = NAN  # launched late
    hist[4] = NAN  # never observed
    hist[5] = 0  # never sold
    b = fb.lightgbm_global(hist, h, datetime.date(2024, 1, 1), promo=promo, holiday=holiday, num_threads=1)
    assert b.mean.shape == (n, h) and (b.mean[4] == 0).all() and np.isfinite(b.mean).all()
    on, off = promo[:, T:] & ~holiday[None, T:], ~promo[:, T:] & ~holiday[None, T:]
    assert b.mean[:4][on[:4]].mean() > 2 * b.mean[:4][off[:4]].mean()


def test_a_missing_peer_is_skipped_with_the_reason(monkeypatch):
    import importlib

    real_import = importlib.import_module

    def without_mlforecast(name, *args):
        if name == "mlforecast":
            raise ImportError(name)
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_mlforecast)
    out = fe.run_benchmark(tiny_panel(), horizon=14, sample=5, jobs=1, peers=("lightgbm",), log=lambda m: None)
    assert "make bench-deps" in out["sample"]["skipped"]["lightgbm"]
    assert "lightgbm" not in out["sample"]["methods"]


def test_every_method_is_scored_on_the_same_sample():
    pytest.importorskip("mlforecast")
    out = fe.run_benchmark(tiny_panel(40, 120), horizon=14, sample=10, jobs=1, log=lambda m: None)
    methods = out["sample"]["methods"]
    assert set(methods) == {"ours", "ours_fit_on_sample", "seasonal_naive", "oracle", *fe.PEERS}
    assert {m["series"] for m in methods.values()} == {10}
    for name in ("ours_fit_on_sample", *fe.PEERS):
        assert methods[name]["seconds"] >= 0, name
    assert 0 <= methods["ours"]["pit_coverage_p80"] <= 1
    assert "wape_promotion_days" in methods["lightgbm"] and "wape_ordinary_days" in methods["autoets"]
    assert set(out["full_panel"]) == {"ours", "seasonal_naive", "oracle"}
    assert any(name.startswith("wape on the sample <= best of") for name in out["targets_met"])


def test_holiday_days_are_a_segment_of_their_own():
    p = tiny_panel(30, 100)
    p.holiday = np.zeros(100, bool)
    p.holiday[-3:] = True
    seg = fe.holdout_segments(p, 14)
    assert seg["holiday_days"].sum() == 30 * 3
    assert not (seg["ordinary_days"] & (seg["holiday_days"] | seg["promotion_days"])).any()
    out = fe.run_benchmark(p, horizon=14, sample=0, log=lambda m: None)
    assert "wape_holiday_days <= 1.25 x wape_ordinary_days" in out["targets_met"]


def test_bench_command_on_a_messy_csv(tmp_path):
    from django.core.management import call_command

    rng = np.random.default_rng(0)
    dates = np.datetime64("2024-01-01") + np.arange(120)
    lines = []
    for s in range(6):
        for d in dates:
            if rng.random() < 0.05:
                continue  # a day without a row: no sale
            day = str(d) if rng.random() < 0.5 else d.astype(object).strftime("%Y/%-m/%-d")
            lines.append(f"{day},团{s},{rng.poisson(4 + s)},{int(rng.random() < 0.05)}")
    lines += ["2024-01-05,团1,-3,0", "garbled", "2024-01-06,团2,x,0"]
    rng.shuffle(lines)
    csv = tmp_path / "demand.csv"
    csv.write_text("date,series,quantity,promotion\n" + "\n".join(lines) + "\n", encoding="utf-8")
    out, stdout = tmp_path / "out.json", io.StringIO()
    call_command("bench_forecast", csv=str(csv), json=str(out), sample=3, jobs=1, horizon=14,
                 peers="autoets,croston_optimized", stdout=stdout)
    data = json.loads(out.read_text())
    assert data["series"] == 6 and data["days"] == 120
    assert data["data"]["dropped"] == {"malformed": 0, "blank": 0, "date": 1, "series": 0, "quantity": 1,
                                       "negative": 1}
    text = stdout.getvalue()
    assert "dropped 1: negative quantity (returns)" in text
    assert "autoets" in text and "croston_optimized" in text and "seconds <= 60" in text
    for key in ("seconds", "wape", "pit_coverage_p80", "seasonal_naive_wape"):
        assert data[key] is not None, key
    assert data["sample"]["methods"]["autoets"]["wape"] is not None


def test_bench_command_names_a_missing_column(tmp_path):
    from django.core.management import CommandError, call_command

    csv = tmp_path / "d.csv"
    csv.write_text("date,sku,quantity\n2024-01-01,a,1\n")
    with pytest.raises(CommandError, match="no column 'series'"):
        call_command("bench_forecast", csv=str(csv), stdout=io.StringIO())
