"""The forecast benchmark's outside data (CSV loader) and baselines, through their public functions."""
import io

import numpy as np
import pytest

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
                  "2024-01-03,a,2\n")
    assert rows(p, "a") == [3, 0, 2]
    assert rep.dropped == {"malformed": 1, "blank": 2, "date": 2, "series": 1, "quantity": 2, "negative": 1}
    assert rep.rows == 11 and rep.kept == 2
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
