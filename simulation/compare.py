"""`simulate compare`: scenarios run on the same seeds, and what changed, with its uncertainty.

Each scenario runs the same city for the same days once per seed. Seeds are common random numbers
(simulation/streams.py): within a seed, two scenarios meet the same residents, traffic and
suppliers, so the difference of a KPI between them is the policies' effect plus what the policy
itself changes downstream, not luck. Across seeds the differences vary; their mean and a 95 %
Student-t interval say how sure the effect is. A KPI whose interval leaves out zero moved; whether
that is better or worse depends on which way the operator wants it to go.
"""
import json
import math
import statistics
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from scipy import stats

from .report import diverging_chart
from .runner import SimulationOptions, run_simulation
from .scenario import Scenario


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    unit: str
    better: str | None  # "higher", "lower", or None when neither is better for the operator


KPIS = [
    Kpi("gmv", _("GMV"), "¥", "higher"),
    Kpi("margin", _("Margin after refunds and delivery"), "¥", "higher"),
    Kpi("delivery_cost", _("Delivery cost"), "¥", "lower"),
    Kpi("fill_rate", _("Fill rate"), "%", "higher"),
    Kpi("waste_units", _("Waste (units)"), "", "lower"),
    Kpi("km", _("Km driven"), "", "lower"),
    Kpi("vans", _("Vans a day"), "", "lower"),
    Kpi("on_time", _("On-time stops"), "%", "higher"),
    Kpi("pickup_rate", _("Pickup rate"), "%", "higher"),
    Kpi("commission", _("Leaders' commission"), "¥", None),  # the leaders' income and the operator's cost
]
VERDICTS = {
    "better": _("better"), "worse": _("worse"), "higher": _("higher"), "lower": _("lower"),
    "same": _("no measurable difference"), "one_seed": _("one seed: no interval"),
}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def money(value) -> float:
    """An amount of the summary (a string of yuan) as a number to average."""
    return float(Decimal(str(value or 0)))


def run_kpis(summary: dict) -> dict[str, float]:
    """A run's KPIs over its days: totals of money, units and km, means of rates and vans a day.
    Margin: GMV less every refund, the goods bought, the commission and the delivery runs."""
    days = summary["days"]
    margin = sum(
        money(d["gmv"]) - sum(money(v) for v in d["refunds_by_cause"].values())
        - money(d["goods_receipt"]["purchase_cost"]) - money(d["commission"]) - money(d["delivery_cost"])
        for d in days
    )
    return {
        "gmv": sum(money(d["gmv"]) for d in days),
        "margin": round(margin, 2),
        "delivery_cost": sum(money(d["delivery_cost"]) for d in days),
        "fill_rate": _mean(d["fill_rate"] for d in days),
        "waste_units": sum(d["waste_units"] for d in days),
        "km": round(sum(d["km"] for d in days), 1),
        "vans": _mean(d["vehicles_used"] for d in days),
        "on_time": _mean(d["on_time_stop_rate"] for d in days),
        "pickup_rate": _mean(d["pickup_rate"] for d in days),
        "commission": sum(money(d["commission"]) for d in days),
    }


def difference(kpi: Kpi, base: list[float], variant: list[float]) -> dict:
    """The variant's difference to the base, seed by seed, its mean, 95 % interval and verdict."""
    diffs = [v - b for b, v in zip(base, variant) if b is not None and v is not None]
    row = {"kpi": kpi.key, "per_seed": diffs, "mean": _mean(diffs), "low": None, "high": None,
           "base_mean": _mean(base), "variant_mean": _mean(variant)}
    if len(diffs) < 2:
        row["verdict"] = "one_seed"
        return row
    spread = statistics.stdev(diffs)
    half = stats.t.ppf(0.975, len(diffs) - 1) * spread / math.sqrt(len(diffs))
    row["low"], row["high"] = row["mean"] - half, row["mean"] + half
    if row["low"] > 0 or row["high"] < 0:
        moved = "higher" if row["low"] > 0 else "lower"
        row["verdict"] = moved if kpi.better is None else ("better" if moved == kpi.better else "worse")
    else:
        row["verdict"] = "same"  # within the noise, or no change at all (spread 0, mean 0)
    return row


def compare(options: SimulationOptions, scenarios: list[Scenario], seeds: list[int], out: Path) -> dict:
    """Run every scenario on every seed (out/<scenario>/seed-<n>/), then write out/compare.json and
    out/compare.html: each later scenario against the first. Returns what compare.json holds."""
    runs: dict[str, list[dict]] = {scenario.name: [] for scenario in scenarios}
    for seed in seeds:
        for scenario in scenarios:
            summary = run_simulation(replace(
                options, seed=seed, scenario=scenario, out=out / _slug(scenario.name) / f"seed-{seed}",
            ))
            runs[scenario.name].append(run_kpis(summary))
    base = scenarios[0].name
    result = {
        "city": options.city, "days": options.days, "seeds": seeds, "base": base,
        "runs": runs,
        "comparisons": [
            {"variant": scenario.name, "rows": [
                difference(kpi, [r[kpi.key] for r in runs[base]], [r[kpi.key] for r in runs[scenario.name]])
                for kpi in KPIS
            ]}
            for scenario in scenarios[1:]
        ],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "compare.html").write_text(render(result, scenarios), encoding="utf-8")
    return result


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name).strip("-") or "scenario"


def _shown(kpi: Kpi, value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    sign = "+" if signed else ""
    if kpi.unit == "%":
        return f"{value * 100:{sign},.1f} %" if not signed else f"{value * 100:{sign}.1f} pt"
    return f"{kpi.unit}{value:{sign},.{0 if abs(value) >= 100 else 2}f}"


def render(result: dict, scenarios: list[Scenario]) -> str:
    kpis = {kpi.key: kpi for kpi in KPIS}
    comparisons = []
    for comparison in result["comparisons"]:
        rows = []
        for row in comparison["rows"]:
            kpi = kpis[row["kpi"]]
            scale = 100 if kpi.unit == "%" else 1
            rows.append({
                "label": kpi.label, "base": _shown(kpi, row["base_mean"]), "variant": _shown(kpi, row["variant_mean"]),
                "mean": _shown(kpi, row["mean"], signed=True),
                "interval": "–" if row["low"] is None else
                f"{_shown(kpi, row['low'], signed=True)} … {_shown(kpi, row['high'], signed=True)}",
                "verdict": VERDICTS[row["verdict"]], "verdict_key": row["verdict"],
                "chart": diverging_chart(
                    [f"#{seed}" for seed in result["seeds"]], [d * scale for d in row["per_seed"]],
                    None if row["low"] is None else (row["low"] * scale, row["high"] * scale),
                ),
            })
        comparisons.append({"variant": comparison["variant"], "rows": rows, "slug": _slug(comparison["variant"])})
    return render_to_string("simulation/compare.html", {
        "r": result, "comparisons": comparisons, "base_slug": _slug(result["base"]),
        "scenarios": [{"name": s.name, "slug": _slug(s.name)} for s in scenarios],
    })
