"""Benchmark the routing solver on VRPTW instances, side by side with other open solvers.

    python -m routing.benchmark FILES_OR_DIRS --time-limit SECONDS --json PATH [--seed N] [--workers N]
        [--iterations N] [--peers pyvrp,vroom] [--peer-threads N]

Each instance is solved with the fleet it gives (``VEHICLES``) by our solver and by each named peer
(routing.peers), one after the other in this process, under the same time limit; the peers run
``--peer-threads`` threads (one by default; PyVRP always runs one). Every plan is verified by the
independent checker, which also recomputes its cost in the instance's integer metric, and the cost
is compared with ``best_known.csv`` found next to the instance's directory, when the instance is
listed there. A stop left out makes a plan infeasible. The JSON has each solver's cost, gap,
feasibility, vehicles and seconds per instance, our rank among the solvers, and summaries in total
and per family (C1, R2, RC1, ...). With ``--iterations`` our solver runs on that iteration budget
instead of the time limit (reproducible); the peers keep the time limit.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from routing.checker import check_plan
from routing.instances import Instance, read_instance
from routing.peers import PEERS, PeerMissing, peer_names
from routing.solver import Plan, Problem, solve

OURS = "ours"
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


def family(name: str) -> str:
    """The instance's family: its letters and first digit (C1 for C101 and C1_2_1, RC2 for RC208)."""
    match = re.match(r"[A-Za-z]+\d", name)
    return match.group() if match else name


def judge(instance: Instance, plan: Plan, seconds: float, reference: int | None) -> dict:
    """One solver's result on an instance, as the checker sees its plan."""
    check = check_plan(instance.problem(), plan, max_vehicles=instance.vehicles)
    violations = check.violations + [f"stop {d.stop} dropped: {d.reason}" for d in plan.dropped]
    return {
        "cost": check.distance,
        "gap": (check.distance - reference) / reference if reference and not violations else None,
        "feasible": not violations,
        "vehicles_used": len(plan.routes),
        "seconds": round(seconds, 2),
        "violations": violations,
        "status": plan.stats.status,  # the solver's own word on its plan (PyVRP: feasible or not)
        "first_solution_strategy": plan.stats.first_solution_strategy,
        "fleet_phase_seconds": plan.stats.fleet_phase_seconds,
        "iterations": plan.stats.iterations,
    }


def rank(results: dict[str, dict], name: str = OURS) -> int:
    """``name``'s place among the solvers on one instance: feasible before infeasible, then by cost;
    equal plans share a place."""
    key = {solver: (not result["feasible"], result["cost"]) for solver, result in results.items()}
    return 1 + sum(other < key[name] for other in key.values())


def run_instance(path: Path, solvers: dict[str, Callable[[Problem], Plan]], known: dict[str, int]) -> dict:
    instance = read_instance(path)
    reference = known.get(instance.name)
    results = {}
    for name, run in solvers.items():
        started = time.monotonic()
        plan = run(instance.problem())
        results[name] = judge(instance, plan, time.monotonic() - started, reference)
    return {
        "instance": instance.name,
        "family": family(instance.name),
        "customers": instance.customers,
        "vehicles": instance.vehicles,
        "best_known": reference,
        "rank": rank(results),
        "solvers": results,
    }


def solver_summary(rows: list[dict], name: str) -> dict:
    results = [(row, row["solvers"][name]) for row in rows]
    gaps = [result["gap"] for _, result in results if result["gap"] is not None]
    worst = sorted(results, key=lambda pair: (pair[1]["feasible"], -(pair[1]["gap"] or 0)))[:WORST_LISTED]
    return {
        "instances": len(results),
        "feasible": sum(result["feasible"] for _, result in results),
        "feasible_share": sum(result["feasible"] for _, result in results) / len(results),
        "mean_gap": statistics.fmean(gaps) if gaps else None,
        "max_gap": max(gaps) if gaps else None,
        "mean_seconds": round(statistics.fmean(result["seconds"] for _, result in results), 2),
        "worst": [{"instance": row["instance"], "best_known": row["best_known"],
                   **{key: result[key] for key in ("feasible", "gap", "cost")}} for row, result in worst],
    }


def group_summary(rows: list[dict]) -> dict:
    """Each solver's summary over ``rows``, and our mean rank and how often we were first."""
    return {
        **{name: solver_summary(rows, name) for name in rows[0]["solvers"]},
        "our_mean_rank": statistics.fmean(row["rank"] for row in rows),
        "our_firsts": sum(row["rank"] == 1 for row in rows),
    }


def summary(rows: list[dict]) -> dict:
    if not rows:
        return {}
    families = sorted({row["family"] for row in rows})
    return {"total": group_summary(rows),
            "families": {f: group_summary([row for row in rows if row["family"] == f]) for f in families}}


def solvers_for(args: argparse.Namespace) -> dict[str, Callable[[Problem], Plan]]:
    ours = partial(solve, time_limit=args.time_limit, seed=args.seed, workers=args.workers,
                   max_iterations=args.iterations, local_search=args.local_search)
    peers = {name: partial(PEERS[name], time_limit=args.time_limit, seed=args.seed, threads=args.peer_threads)
             for name in args.peers}
    return {OURS: ours, **peers}


def format_row(row: dict) -> str:
    parts = [f"{row['instance']:10}"]
    for name, result in row["solvers"].items():
        gap = "-" if result["gap"] is None else f"{100 * result['gap']:.2f}%"
        parts.append(f"{name}: feasible={result['feasible']!s:5} cost={result['cost']:>9} gap={gap:>7} "
                     f"vehicles={result['vehicles_used']}/{row['vehicles']} {result['seconds']}s")
    return " | ".join(parts) + (f" | rank {row['rank']}" if len(row["solvers"]) > 1 else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", metavar="FILES_OR_DIRS")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance and solver")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, help="our solver's worker processes (default: one per CPU core)")
    parser.add_argument("--iterations", type=int, help="our solver's iteration budget instead of the time limit")
    parser.add_argument("--local-search", type=int, default=0, metavar="GRANULARITY",
                        help="our solver's local search on each new best plan, over this many neighbours a stop "
                             "(routing.local_search; default 0: off)")
    parser.add_argument("--peers", type=peer_names, default=[], help=f"comma-separated, among {', '.join(PEERS)}")
    parser.add_argument("--peer-threads", type=int, default=1, help="threads each peer may use (default 1)")
    parser.add_argument("--json", type=Path, help="write the rows and summary here")
    args = parser.parse_args(argv)

    files = instance_files(args.paths)
    known = best_known(files)
    solvers = solvers_for(args)
    rows = []
    for path in files:
        try:
            row = run_instance(path, solvers, known)
        except PeerMissing as error:
            parser.error(str(error))
        rows.append(row)
        print(format_row(row), flush=True)
        if args.json:  # rewritten after every instance, so a long run can be read while it goes
            args.json.write_text(json.dumps({
                "time_limit": args.time_limit, "seed": args.seed, "workers": args.workers,
                "iterations": args.iterations, "peer_threads": args.peer_threads, "solvers": list(solvers),
                "rows": rows, "summary": summary(rows)}, indent=2))
    print(json.dumps(summary(rows).get("total"), indent=2))
    return 0 if all(row["solvers"][OURS]["feasible"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
