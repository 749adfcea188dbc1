"""Benchmark the routing solver on VRPTW instances.

    python -m routing.benchmark FILES_OR_DIRS --time-limit SECONDS --json PATH [--seed N] [--workers N]

Each instance is solved with the fleet it gives (``VEHICLES``), the plan is verified by the
independent checker, and the cost (recomputed by the checker) is compared with
``best_known.csv`` found next to the instance's directory, when the instance is listed there.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

from routing.checker import check_plan
from routing.instances import read_instance
from routing.solver import solve

WORST_LISTED = 5


def instance_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.vrptw")) if path.is_dir() else [path])
    return files


def best_known(files: list[Path]) -> dict[str, int]:
    """Best-known cost per instance name, from every best_known.csv beside the instance folders."""
    known: dict[str, int] = {}
    for table in {f.resolve().parent.parent / "best_known.csv" for f in files}:
        if table.exists():
            with table.open() as rows:
                known.update({row["instance"]: int(row["best_known"]) for row in csv.DictReader(rows)})
    return known


def run_instance(path: Path, time_limit: float, seed: int, known: dict[str, int], workers: int | None = None) -> dict:
    instance = read_instance(path)
    started = time.monotonic()
    plan = solve(instance.problem(), time_limit=time_limit, seed=seed, workers=workers)
    seconds = time.monotonic() - started
    check = check_plan(instance.problem(), plan, max_vehicles=instance.vehicles)
    violations = check.violations + [f"stop {d.stop} dropped: {d.reason}" for d in plan.dropped]
    reference = known.get(instance.name)
    return {
        "instance": instance.name,
        "customers": instance.customers,
        "vehicles": instance.vehicles,
        "vehicles_used": len(plan.routes),
        "cost": check.distance,
        "feasible": not violations,
        "violations": violations,
        "seconds": round(seconds, 2),
        "best_known": reference,
        "gap": (check.distance - reference) / reference if reference and not violations else None,
        "first_solution_strategy": plan.stats.first_solution_strategy,
        "fleet_phase_seconds": plan.stats.fleet_phase_seconds,
        "iterations": plan.stats.iterations,
    }


def summary(rows: list[dict]) -> dict:
    gaps = [row["gap"] for row in rows if row["gap"] is not None]
    worst = sorted(rows, key=lambda row: (row["feasible"], -(row["gap"] or 0)))[:WORST_LISTED]
    return {
        "instances": len(rows),
        "feasible_share": sum(row["feasible"] for row in rows) / len(rows) if rows else None,
        "mean_gap": statistics.fmean(gaps) if gaps else None,
        "max_gap": max(gaps) if gaps else None,
        "worst": [{key: row[key] for key in ("instance", "feasible", "gap", "cost", "best_known")} for row in worst],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", metavar="FILES_OR_DIRS")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, help="solver worker processes (default: one per CPU core)")
    parser.add_argument("--json", type=Path, help="write the rows and summary here")
    args = parser.parse_args(argv)

    files = instance_files(args.paths)
    known = best_known(files)
    rows = []
    for path in files:
        row = run_instance(path, args.time_limit, args.seed, known, args.workers)
        rows.append(row)
        gap = "-" if row["gap"] is None else f"{100 * row['gap']:.2f}%"
        print(f"{row['instance']:10} feasible={row['feasible']!s:5} cost={row['cost']:>9} gap={gap:>7} "
              f"vehicles={row['vehicles_used']}/{row['vehicles']} {row['seconds']}s", flush=True)
        if args.json:  # rewritten after every instance, so a long run can be read while it goes
            args.json.write_text(json.dumps({"time_limit": args.time_limit, "seed": args.seed, "workers": args.workers,
                                             "rows": rows, "summary": summary(rows)}, indent=2))
    print(json.dumps(summary(rows), indent=2))
    return 0 if all(row["feasible"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
