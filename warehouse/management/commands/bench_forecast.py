"""Benchmark the demand forecaster against its baselines on the same holdout and the same series.

    python manage.py bench_forecast --series 100000 --days 730 --json /tmp/bench_forecast.json
    python manage.py bench_forecast --csv demand.csv --json out.json   # columns date, series, quantity
    python manage.py bench_forecast --csv sales.csv --csv-missing gap  # absent rows are unknown days
    python manage.py bench_forecast --peers autoets,lightgbm --sample 500

Generates a panel with known truth (warehouse.forecast_eval.generate_panel) or reads one from CSV
(warehouse.forecast_panel.load_csv, which says what it dropped), holds out the last --horizon days,
prints a table (every method's seconds, WAPE overall and per segment, coverage) and writes the
figures described in warehouse.forecast_eval.run_benchmark as JSON.  Seasonal naive runs on the
full panel; the peers (statsforecast AutoETS, AutoTheta, CrostonOptimized; LightGBM through
mlforecast, from ``make bench-deps``) on one random --sample of series, where we are scored too.
"""
import json
import math
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from warehouse import forecast_eval, forecast_panel

COLUMNS = [("series", "series", "{:d}"), ("seconds", "seconds", "{:.2f}"), ("wape", "WAPE", "{:.3f}"),
           ("wape_intermittent_series", "intermit.", "{:.3f}"), ("wape_promotion_days", "promo days", "{:.3f}"),
           ("wape_holiday_days", "holidays", "{:.3f}"), ("wape_ordinary_days", "ordinary", "{:.3f}"),
           ("wape_new_series", "new", "{:.3f}"), ("wape_stockout_series", "sold out", "{:.3f}"),
           ("bias", "bias", "{:+.3f}"), ("pit_coverage_p80", "PIT80", "{:.3f}"),
           ("pit_coverage_p95", "PIT95", "{:.3f}"), ("coverage_p80", "cov80", "{:.3f}"),
           ("coverage_p95", "cov95", "{:.3f}")]


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


def table(methods: dict) -> list[str]:
    """Methods as rows, the figures any of them has as columns; '-' where a method has none."""
    cols = [c for c in COLUMNS if any(m.get(c[0]) is not None for m in methods.values())]
    cells = [["method"] + [title for _, title, _ in cols]]
    for name, m in methods.items():
        cells.append([name] + ["-" if m.get(key) is None else fmt.format(m[key]) for key, _, fmt in cols])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
            for row in cells]


class Command(BaseCommand):
    help = "Benchmark the demand forecaster (speed, accuracy, calibration) against its baselines in the same run."

    def add_arguments(self, parser):
        parser.add_argument("--series", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=730, help="panel length including the held-out days")
        parser.add_argument("--horizon", type=int, default=28, help="held-out days forecast (the last N days)")
        parser.add_argument("--csv", help="long CSV with columns date, series, quantity (optional promotion, price, "
                                          "group, stockout); rows that cannot be demand are dropped and counted")
        parser.add_argument("--csv-missing", choices=["gap", "zero"], default="zero",
                            help="a day with no CSV row inside a series' span: zero sales (default) or unknown")
        parser.add_argument("--calendar", default="cn",
                            help="public holidays of the CSV's days: cn (China's, the default, with 调休), "
                                 "another country's code in the holidays package (US, NZ, ...) or none")
        parser.add_argument("--json", help="write the results here")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--stockouts", type=float, default=0.2,
                            help="generated panel: share of series selling from a limited daily stock, their "
                                 "sold-out days censored (0 = none)")
        parser.add_argument("--new-series", type=float, default=0.03,
                            help="generated panel: share of series launched in the last 7 days of history")
        parser.add_argument("--prices", choices=["on", "off"], default="on",
                            help="generated panel: prices that change in steps, demand following each "
                                 "category's elasticity (on, default) or none")
        parser.add_argument("--sample", type=int, default=2000,
                            help="series for the peers, the same for all, ours scored on them too (0 = skip)")
        parser.add_argument("--peers", default=",".join(forecast_eval.PEERS),
                            help=f"comma-separated, from {', '.join(forecast_eval.PEERS)}")
        parser.add_argument("--jobs", type=int, default=-1, help="processes / threads for the peers (-1 = all cores)")

    def handle(self, *args, **opts):
        if opts["horizon"] < 1:
            raise CommandError("--horizon must be >= 1")
        if not (0 <= opts["stockouts"] <= 1 and 0 <= opts["new_series"] <= 1):
            raise CommandError("--stockouts and --new-series are shares between 0 and 1")
        peers = tuple(p for p in opts["peers"].split(",") if p)
        unknown = set(peers) - set(forecast_eval.PEERS)
        if unknown:
            raise CommandError(f"unknown --peers {', '.join(sorted(unknown))}; known: {', '.join(forecast_eval.PEERS)}")
        t0 = time.perf_counter()
        if opts["csv"]:
            try:
                panel, report = forecast_panel.load_csv(opts["csv"], missing=opts["csv_missing"],
                                                        calendar=opts["calendar"])
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {opts['csv']}: {exc}") from exc
            for line in report.lines():
                self.stdout.write(line)
            source = {"csv": str(opts["csv"]), "missing": opts["csv_missing"], "calendar": opts["calendar"], "rows": report.rows,
                      "kept": report.kept, "dropped": report.dropped, "duplicates_summed": report.duplicates_summed,
                      "filled_days": report.filled_days, "stopped_series": report.stopped_series,
                      "sold_out_days": report.sold_out_days}
        else:
            if opts["series"] < 1 or opts["days"] <= opts["horizon"]:
                raise CommandError("--series must be >= 1 and --days > --horizon")
            self.stdout.write(f"generating {opts['series']} x {opts['days']} panel ...")
            gen = forecast_eval.GeneratorConfig(stockout_series_share=opts["stockouts"],
                                                share_new_week=opts["new_series"], prices=opts["prices"] == "on")
            panel = forecast_eval.generate_panel(opts["series"], opts["days"], horizon=opts["horizon"],
                                                 seed=opts["seed"], config=gen)
            source = {"generator": "warehouse.forecast_eval.generate_panel", "seed": opts["seed"],
                      "stockout_series_share": opts["stockouts"], "share_new_week": opts["new_series"],
                      "prices": opts["prices"]}
        gen_seconds = time.perf_counter() - t0
        if panel.n_days <= opts["horizon"]:
            raise CommandError(f"the panel has {panel.n_days} days; need more than --horizon {opts['horizon']}")
        out = forecast_eval.run_benchmark(panel, horizon=opts["horizon"], sample=opts["sample"], jobs=opts["jobs"],
                                          seed=opts["seed"], peers=peers, log=lambda m: self.stdout.write(m))
        out["data"] = dict(source, seconds=round(gen_seconds, 1))
        out = _clean(out)
        text = json.dumps(out, indent=2, ensure_ascii=False)
        if opts["json"]:
            path = Path(opts["json"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
        self.stdout.write(f"\nfull panel: {out['series']} series, last {out['horizon']} days held out")
        for line in table(out["full_panel"]):
            self.stdout.write(line)
        if "sample" in out:
            self.stdout.write(f"\nsample: the same {out['sample']['series']} series for every method")
            for line in table(out["sample"]["methods"]):
                self.stdout.write(line)
        self.stdout.write("")
        for name, ok in out["targets_met"].items():
            self.stdout.write(f"{'PASS' if ok else 'MISS'}  {name}")
