"""fetch_forecast_panel: each real panel's converter, on a small file shaped like the package's, in a
wheel made here (no download), read back by bench_forecast's loader."""
import csv
import io
import lzma
import zipfile

import pandas as pd
import pytest
from django.core.management import call_command

from warehouse.forecast_panel import load_csv
from warehouse.management.commands import fetch_forecast_panel as fetch


def wheel(folder, source, payload: bytes):
    stem = source.package.replace("-", "_")
    with zipfile.ZipFile(folder / f"{stem}-{source.version}-py3-none-any.whl", "w") as whl:
        whl.writestr(source.member, payload)


def rows(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_pedestrians_are_summed_per_day_and_a_day_with_an_hour_unknown_is_left_out(tmp_path):
    hourly = io.StringIO()
    hourly.write("date,hour,year,261 Queen Street,8 Darby Street EW\n")
    hourly.write("2024-03-01,6:00-6:59,2024,100.0,5.0\n2024-03-01,7:00-7:59,2024,200.0,\n")
    hourly.write("2024-03-02,6:00-6:59,2024,150.0,7.0\n2024-03-02,7:00-7:59,2024,250.0,8.0\n")
    wheel(tmp_path, fetch.SOURCES["auckland-pedestrians"], hourly.getvalue().encode())
    out = tmp_path / "akl.csv"
    call_command("fetch_forecast_panel", "auckland-pedestrians", dir=str(tmp_path), out=str(out), stdout=io.StringIO())
    got = {(r["date"], r["series"]): (int(r["quantity"]), r["group"]) for r in rows(out)}
    assert got == {("2024-03-01", "261 Queen Street"): (300, "Queen Street"),
                   ("2024-03-02", "261 Queen Street"): (400, "Queen Street"),
                   ("2024-03-02", "8 Darby Street EW"): (15, "Darby Street")}
    panel, report = load_csv(out, missing="gap", calendar="none")
    assert report.rows == 3 and panel.y.shape[0] == 2


def test_ridership_stations_are_shifted_back_14_days_and_end_where_all_are_known(tmp_path):
    days = pd.date_range("2016-01-01", periods=20, freq="D")
    frame = pd.DataFrame({"ridership": [1.5] * 20, "Austin": [float(i) for i in range(20)],
                          "Clark_Lake": [9.9] * 20, "temp_min": [0.0] * 20})
    frame.insert(0, "date", days)
    buffer = io.BytesIO()
    frame.to_pickle(buffer)
    wheel(tmp_path, fetch.SOURCES["chicago-ridership"], lzma.compress(buffer.getvalue()))
    out = tmp_path / "chicago.csv"
    call_command("fetch_forecast_panel", "chicago-ridership", dir=str(tmp_path), out=str(out), stdout=io.StringIO())
    got = rows(out)
    assert {r["series"] for r in got} == {"Clark Lake", "Austin"}  # Clark_Lake's column repeats ridership
    austin = {r["date"]: int(r["quantity"]) for r in got if r["series"] == "Austin"}
    # The row of 2016-01-15 carries Austin's entries of 2016-01-01 (in thousands): 14 -> 14,000 that day.
    assert austin["2016-01-01"] == 14_000 and max(austin) == "2016-01-06"
    assert max(r["date"] for r in got if r["series"] == "Clark Lake") == "2016-01-06"


def test_end_cuts_the_panel_and_the_summary_names_it(tmp_path):
    frame = pd.DataFrame({"date": pd.date_range("1980-01-01", periods=5, freq="D").repeat(2),
                          "state": ["AK", "AL"] * 5, "births": range(10)})
    buffer = io.BytesIO()
    frame.to_pickle(buffer)
    wheel(tmp_path, fetch.SOURCES["us-births"], lzma.compress(buffer.getvalue()))
    out, said = tmp_path / "births.csv", io.StringIO()
    call_command("fetch_forecast_panel", "us-births", "--end=1980-01-03", dir=str(tmp_path), out=str(out), stdout=said)
    assert [r["date"] for r in rows(out)] == ["1980-01-01"] * 2 + ["1980-01-02"] * 2 + ["1980-01-03"] * 2
    assert "6 rows, 2 series, 1980-01-01 .. 1980-01-03" in said.getvalue()


def test_an_unknown_panel_is_refused():
    with pytest.raises(Exception, match="invalid choice"):
        call_command("fetch_forecast_panel", "m5")
