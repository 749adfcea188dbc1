"""Benchmark the demand forecaster against seasonal naive and statsforecast AutoETS.

    python manage.py bench_forecast --series 100000 --days 730 --json /tmp/bench_forecast.json
    python manage.py bench_forecast --csv demand.csv --json out.json   # columns date, series, quantity
    python manage.py bench_forecast --csv sales.csv --csv-missing gap  # absent rows are unknown days

Generates a panel with known truth (warehouse.forecast_eval.generate_panel) or reads one from CSV
(warehouse.forecast_panel.load_csv), holds out the last --horizon days, and writes the figures
described in warehouse.forecast_eval.run_benchmark as JSON.  ``seconds`` times our forecaster only.
"""
import json
import math
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from warehouse import forecast_eval, forecast_panel


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item"):  # numpy scalar
        return _clean(obj.item())
    return obj


class Command(BaseCommand):
    help = "Benchmark the demand forecaster (speed, accuracy, calibration) against seasonal naive and AutoETS."

    def add_arguments(self, parser):
        parser.add_argument("--series", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=730, help="panel length including the held-out days")
        parser.add_argument("--horizon", type=int, default=28, help="held-out days forecast")
        parser.add_argument("--csv", help="long CSV with columns date, series, quantity (optional promotion, price, "
                                          "group); rows that cannot be demand are dropped and counted")
        parser.add_argument("--csv-missing", choices=["gap", "zero"], default="zero",
                            help="a day with no CSV row inside a series' span: zero sales (default) or unknown")
        parser.add_argument("--json", help="write the results here")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--ets-sample", type=int, default=2000, help="series for AutoETS (0 = skip)")
        parser.add_argument("--ets-jobs", type=int, default=-1)

    def handle(self, *args, **opts):
        if opts["horizon"] < 1:
            raise CommandError("--horizon must be >= 1")
        t0 = time.perf_counter()
        if opts["csv"]:
            try:
                panel, report = forecast_panel.load_csv(opts["csv"], missing=opts["csv_missing"])
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {opts['csv']}: {exc}") from exc
            for line in report.lines():
                self.stdout.write(line)
            source = {"csv": str(opts["csv"]), "missing": opts["csv_missing"], "rows": report.rows,
                      "kept": report.kept, "dropped": report.dropped, "duplicates_summed": report.duplicates_summed,
                      "filled_days": report.filled_days, "stopped_series": report.stopped_series}
        else:
            if opts["series"] < 1 or opts["days"] <= opts["horizon"]:
                raise CommandError("--series must be >= 1 and --days > --horizon")
            self.stdout.write(f"generating {opts['series']} x {opts['days']} panel ...")
            panel = forecast_eval.generate_panel(opts["series"], opts["days"], horizon=opts["horizon"],
                                                 seed=opts["seed"])
            source = {"generator": "warehouse.forecast_eval.generate_panel", "seed": opts["seed"]}
        gen_seconds = time.perf_counter() - t0
        if panel.n_days <= opts["horizon"]:
            raise CommandError(f"the panel has {panel.n_days} days; need more than --horizon {opts['horizon']}")
        out = forecast_eval.run_benchmark(panel, horizon=opts["horizon"], ets_sample=opts["ets_sample"],
                                          ets_jobs=opts["ets_jobs"], seed=opts["seed"],
                                          log=lambda m: self.stdout.write(m))
        out["data"] = dict(source, seconds=round(gen_seconds, 1))
        out = _clean(out)
        text = json.dumps(out, indent=2)
        if opts["json"]:
            path = Path(opts["json"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
        keys = ["series", "days", "seconds", "wape", "smape", "bias", "coverage_p80", "coverage_p95",
                "seasonal_naive_wape", "autoets_wape", "wape_on_autoets_sample", "peak_rss_mb"]
        self.stdout.write(json.dumps({k: out.get(k) for k in keys}, indent=2))
        for name, ok in out["targets_met"].items():
            self.stdout.write(f"{'PASS' if ok else 'MISS'}  {name}")
