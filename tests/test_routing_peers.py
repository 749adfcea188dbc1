"""bench_routing --peers: the city problem the service solves goes to PyVRP as it is, and both plans
are reported on the service's cost function. Skipped where PyVRP is not installed (make bench-deps)."""
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

pytest.importorskip("pyvrp")


@pytest.mark.django_db
def test_bench_routing_reports_pyvrp_beside_our_plan(tmp_path):
    out = tmp_path / "city.json"

    call_command("bench_routing", "--peers", "pyvrp", points=30, time_limit=1, json_path=str(out), stdout=io.StringIO())

    report = json.loads(out.read_text())
    peer = report["peers"]["pyvrp"]
    assert peer["feasible"] and peer["violations"] == []  # the checker's verdict on PyVRP's plan
    assert peer["stops"] + peer["dropped"] == report["stops"] + report["dropped"] == 30
    # Both costs in yuan on the same cost function: fixed cost per van + cost per km x distance.
    assert Decimal(peer["cost"]) >= 200 * peer["routes"] and Decimal(report["cost"]) >= 200 * report["routes"]
