"""The order benchmark's generator writes straight to the tables (COPY / INSERT … SELECT on PostgreSQL),
so a new NOT NULL column breaks it without any other test noticing: run it small on each database."""
import io
import json

import pytest
from django.core.management import call_command

from grouporders.models import OrderLine


@pytest.mark.django_db(transaction=True)
def test_bench_orders_generates_closes_and_cleans_up(tmp_path):
    out = tmp_path / "orders.json"
    call_command("bench_orders", lines=3000, points=12, products=8, json_path=str(out), stdout=io.StringIO())
    figures = json.loads(out.read_text())
    assert figures["lines"] == 3000 and figures["points"] == 12 and figures["products"] == 8
    assert figures["demand_lines"] > 0 and figures["aggregate_seconds"] > 0 and figures["groupby_seconds"] > 0
    assert not OrderLine.objects.exists()  # the run removes what it generated
