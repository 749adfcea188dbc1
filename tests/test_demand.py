"""Closing a wave: the lock, the aggregation into demand lines, and how operators read it."""
from decimal import Decimal

import pytest

from grouporders import services
from grouporders.models import DemandLine, SalesWave, WaveStatus
from grouporders.tasks import close_wave
from tests.conftest import csv_rows, order_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def ordered_wave(leader_api, other_leader_api, wave, deals, network):
    p1, p2, p3 = network["points"]
    leader_api.post("/api/orders", order_payload(wave, p1, [("A", "13800000001", deals[0], 2), ("B", "13800000002", deals[0], 3), ("B", "13800000002", deals[1], 1)]))
    leader_api.post("/api/orders", order_payload(wave, p2, [("C", "13800000003", deals[1], 4)]))
    body = other_leader_api.post("/api/orders", order_payload(wave, p3, [("D", "13800000004", deals[0], 1), ("E", "13800000005", deals[0], 7)])).json()
    other_leader_api.post(f"/api/orders/{body['id']}/lines/{body['lines'][1]['id']}/cancel")  # E changed their mind
    return wave


def demand_rows(wave):
    return sorted(
        DemandLine.objects.filter(wave=wave).values_list(
            "pickup_point__code", "product__sku", "quantity", "order_count", "line_count", "amount"
        )
    )


def test_closing_aggregates_active_lines_per_point_and_product(ordered_wave):
    closing = services.close_wave(ordered_wave.pk)
    assert closing.demand_lines == 4 and closing.quantity == 11
    assert demand_rows(ordered_wave) == [
        ("P1", "SKU1", 5, 1, 2, Decimal("62.50")),
        ("P1", "SKU2", 1, 1, 1, Decimal("3.99")),
        ("P2", "SKU2", 4, 1, 1, Decimal("15.96")),
        ("P3", "SKU1", 1, 1, 1, Decimal("12.50")),
    ]
    assert SalesWave.objects.get(pk=ordered_wave.pk).status == WaveStatus.CLOSED


def test_closing_twice_gives_the_same_rows(ordered_wave):
    services.close_wave(ordered_wave.pk)
    first = demand_rows(ordered_wave)
    closed_at = SalesWave.objects.get(pk=ordered_wave.pk).closed_at
    close_wave.delay(ordered_wave.pk).get()
    assert demand_rows(ordered_wave) == first
    assert SalesWave.objects.get(pk=ordered_wave.pk).closed_at == closed_at


def test_operator_closes_through_the_api_and_reads_demand(operator_api, warehouse_api, ordered_wave):
    response = operator_api.post(f"/api/waves/{ordered_wave.pk}/close")
    assert response.status_code == 200 and response.json()["demand_lines"] == 4
    day = ordered_wave.delivery_date.isoformat()
    by_point = warehouse_api.get("/api/demand/by-point", {"delivery_date": day}).json()["items"]
    assert [(p["pickup_point_code"], p["quantity"], p["products"]) for p in by_point] == [("P1", 6, 2), ("P2", 4, 1), ("P3", 1, 1)]
    by_product = warehouse_api.get("/api/demand/by-product", {"delivery_date": day}).json()["items"]
    assert [(p["product_sku"], p["quantity"], p["pickup_points"]) for p in by_product] == [("SKU1", 6, 2), ("SKU2", 5, 2)]
    lines = operator_api.get("/api/demand", {"delivery_date": day, "product_id": by_product[0]["product_id"]}).json()
    assert lines["count"] == 2
    export = operator_api.get("/api/demand.csv", {"delivery_date": day})
    assert export.status_code == 200
    rows = csv_rows(export)
    assert [(r["Pickup point"], r["SKU"], r["Quantity"], r["Amount"]) for r in rows][0] == ("P1", "SKU1", "5", "62.50")
    assert len(rows) == 4
    bad = operator_api.get("/api/demand", {"delivery_date": "tomorrow"})
    assert bad.status_code == 422 and bad.json()["field"] == "delivery_date"


def test_closing_an_unknown_wave_is_404(operator_api):
    response = operator_api.post("/api/waves/999/close")
    assert response.status_code == 404 and response.json()["field"] == "wave_id"
