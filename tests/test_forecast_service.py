"""Stored forecasts per pickup point and depot, from the demand history in the database."""
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from catalog.models import Product
from grouporders.models import Deal, DemandLine, SalesWave
from warehouse import services
from warehouse.models import DemandForecast
from warehouse.tasks import forecast_all_depots

pytestmark = pytest.mark.django_db

DELIVERY = date(2026, 12, 7)  # a Monday


@pytest.fixture
def history(network):
    """Eight weeks of SKU1 at P1 (≈ 20 on Mondays, ≈ 5 otherwise) and P2 (≈ 2); SKU2 only on sale from the delivery day."""
    rng = np.random.default_rng(3)
    p1, p2, _ = network["points"]
    sku1, sku2 = network["products"][:2]
    for offset in range(56, -1, -1):
        day = DELIVERY - timedelta(days=offset)
        wave = SalesWave.objects.create(delivery_date=day, cutoff_at=f"{day - timedelta(days=1)}T15:00:00Z", status="closed")
        Deal.objects.create(wave=wave, product=sku1, price=Decimal("5.00"), is_promotion=(offset == 0))
        if offset == 0:
            Deal.objects.create(wave=wave, product=sku2, price=Decimal("7.00"))
            continue
        for point, level in ((p1, 20 if day.weekday() == 0 else 5), (p2, 2)):
            quantity = int(rng.poisson(level))
            if quantity:
                DemandLine.objects.create(wave=wave, delivery_date=day, pickup_point=point, product=sku1, quantity=quantity,
                                          order_count=1, line_count=quantity, amount=Decimal(quantity * 5))
    return network


def test_forecasts_are_stored_per_point_and_for_the_depot(history):
    p1, p2, p3 = history["points"]
    sku1, sku2 = history["products"][:2]
    run = services.forecast_depot(delivery_date=DELIVERY, depot_id=history["depot"].pk, history_days=56)
    assert (run.point_series, run.depot_series) == (6, 2)  # 2 products × 3 points, and 2 depot rows
    monday_p1 = DemandForecast.objects.get(delivery_date=DELIVERY, product=sku1, pickup_point=p1)
    assert 15 <= monday_p1.mean <= 60  # a Monday, and on promotion: at least the usual Monday level
    assert monday_p1.p50 <= monday_p1.p80 <= monday_p1.p95
    depot_row = DemandForecast.objects.get(delivery_date=DELIVERY, product=sku1, pickup_point__isnull=True)
    assert depot_row.mean >= monday_p1.mean
    # SKU2 has no history: it still gets a forecast from its category's level, never a crash or a gap.
    assert DemandForecast.objects.filter(delivery_date=DELIVERY, product=sku2).count() == 4


def test_rerunning_replaces_the_days_forecasts(history):
    def stored():
        return sorted(DemandForecast.objects.values_list("product_id", "pickup_point_id", "mean", "p80"), key=str)

    services.forecast_depot(delivery_date=DELIVERY, depot_id=history["depot"].pk, history_days=56)
    first = stored()
    services.forecast_depot(delivery_date=DELIVERY, depot_id=history["depot"].pk, history_days=56)
    assert stored() == first and len(first) == 8
    forecast_all_depots.delay(DELIVERY.isoformat()).get()  # a year of history this time
    assert DemandForecast.objects.count() == 8


def test_the_api_runs_and_reads_forecasts(history, operator_api, leader_api, warehouse_api):
    payload = {"delivery_date": DELIVERY.isoformat(), "depot_id": history["depot"].pk, "history_days": 56}
    assert operator_api.post("/api/forecasts/run", payload).json()["point_series"] == 6
    assert leader_api.post("/api/forecasts/run", payload).status_code == 403
    bad = operator_api.post("/api/forecasts/run", {**payload, "depot_id": 999})
    assert bad.status_code == 404 and bad.json()["field"] == "depot_id"
    rows = warehouse_api.get("/api/forecasts", {"delivery_date": DELIVERY, "depot_level": True}).json()["items"]
    assert [Product.objects.get(pk=r["product_id"]).sku for r in rows] == ["SKU1", "SKU2"]
