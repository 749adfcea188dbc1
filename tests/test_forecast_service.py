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


def _daily_history(network, days: int, deal_for, demand_for) -> None:
    """`days` days of SKU1 up to DELIVERY (on sale that day, no demand yet): deal_for(offset) gives the
    deal's fields, demand_for(offset, point_index, price) the day's units at a point."""
    sku1 = network["products"][0]
    for offset in range(days, -1, -1):
        day = DELIVERY - timedelta(days=offset)
        wave = SalesWave.objects.create(delivery_date=day, cutoff_at=f"{day - timedelta(days=1)}T15:00:00Z", status="closed")
        deal = Deal.objects.create(wave=wave, product=sku1, **deal_for(offset))
        for index, point in enumerate(network["points"][:2]):
            quantity = demand_for(offset, index, float(deal.price)) if offset else 0
            if quantity:
                DemandLine.objects.create(wave=wave, delivery_date=day, pickup_point=point, product=sku1, quantity=quantity,
                                          order_count=1, line_count=quantity, amount=deal.price * quantity)


def _p1_mean() -> float:
    return DemandForecast.objects.get(delivery_date=DELIVERY, product__sku="SKU1", pickup_point__code="P1").mean


def test_a_sold_out_deals_orders_are_a_lower_bound_of_its_demand(network):
    """SKU1 sells ≈ 20 a day at P1 until its deal is limited for the last two weeks: 8 there, sold out
    every day. Taken as the demand, those days drag the forecast down; taken as sold out, they do not."""
    rng = np.random.default_rng(5)
    limited = range(1, 15)

    def deal_for(offset):
        if offset in limited:
            return {"price": Decimal("5.00"), "quantity_limit": 10, "sold_quantity": 10}
        return {"price": Decimal("5.00")}

    def demand_for(offset, point, _price):
        if offset in limited:
            return (8, 2)[point]
        return int(rng.poisson((20, 2)[point]))

    _daily_history(network, 56, deal_for, demand_for)
    services.forecast_depot(delivery_date=DELIVERY, depot_id=network["depot"].pk, history_days=56)
    sold_out = _p1_mean()
    Deal.objects.filter(quantity_limit=10).update(quantity_limit=1000)  # the same orders, the limit never reached
    services.forecast_depot(delivery_date=DELIVERY, depot_id=network["depot"].pk, history_days=56)
    as_demand = _p1_mean()
    assert sold_out >= 16 and sold_out - as_demand >= 3, (sold_out, as_demand)


def test_the_delivery_days_price_moves_the_forecast_as_past_price_changes_moved_demand(network):
    """SKU1's price switches between 5 and 7.50 every two weeks and demand follows (elasticity 2)."""
    rng = np.random.default_rng(11)

    def deal_for(offset):
        return {"price": Decimal("5.00") if (offset // 14) % 2 else Decimal("7.50")}

    def demand_for(offset, point, price):
        return int(rng.poisson((30, 6)[point] * (price / 6) ** -2))

    _daily_history(network, 112, deal_for, demand_for)
    forecasts = {}
    for price in ("5.00", "7.50"):
        Deal.objects.filter(wave__delivery_date=DELIVERY).update(price=Decimal(price))
        services.forecast_depot(delivery_date=DELIVERY, depot_id=network["depot"].pk, history_days=112)
        forecasts[price] = _p1_mean()
    # (7.5 / 5) ** 2 = 2.25 at the true elasticity; a shrunk estimate still moves it well past noise.
    assert forecasts["5.00"] > 1.4 * forecasts["7.50"], forecasts
