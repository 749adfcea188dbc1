"""Fixtures for the pickup tests (loaded by tests/conftest.py through pytest_plugins).

`pickup_day` builds a delivery day with the existing services: leader orders, the cutoff, stock received
and allocated. At point P1 apples are short (3 in stock for 6 ordered); rice is plentiful.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import Product
from grouporders import services as order_services
from grouporders.models import OrderLine
from warehouse import services as warehouse_services


class Clock:
    """A controllable timezone.now() for the whole Django process (API, services, auto_now fields)."""

    def __init__(self):
        self.now = timezone.now()

    def set(self, day: date, hour: int, minute: int = 0) -> datetime:
        self.now = timezone.make_aware(datetime.combine(day, time(hour, minute)))
        return self.now


@pytest.fixture
def clock():
    moving = Clock()
    with mock.patch("django.utils.timezone.now", lambda: moving.now):
        yield moving


@pytest.fixture
def fresh_cache():
    """The code-guessing throttle lives in the cache; no test may inherit another's lock."""
    cache.clear()
    yield cache
    cache.clear()


@dataclass
class PickupDay:
    delivery_date: date
    points: list
    apples: Product
    rice: Product

    def line(self, resident_name: str, product: Product) -> OrderLine:
        return OrderLine.objects.get(resident__name=resident_name, deal__product=product)


@pytest.fixture
def pickup_day(network, wave, leader, leader_api, operator_api, warehouse_api, fresh_cache):
    """P1: 王芳 (Ann) 4 apples + 2 rice, 李强 (Bob) 2 apples + 1 rice, 蔡敏 (Cai) 3 rice; P2: 丁浩 (Dan) 1 rice. Apples 3 in stock."""
    p1, p2 = network["points"][0], network["points"][1]
    apples = network["products"][0]  # chilled, shelf life 5 days: written off when not collected
    rice = Product.objects.create(
        sku="RICE5", name="东北大米 5kg/袋", category="grocery", unit="袋", weight_g=5000, volume_ml=6000,
        storage_temperature="ambient", shelf_life_days=180,
    )
    apple_deal = order_services.create_deal(wave_id=wave.pk, product_id=apples.pk, price=Decimal("12.50"))
    rice_deal = order_services.create_deal(wave_id=wave.pk, product_id=rice.pk, price=Decimal("29.90"))

    def order(point, lines):
        payload = {
            "wave_id": wave.pk,
            "pickup_point_id": point.pk,
            "lines": [
                {"resident": {"name": name, "phone": phone, "consent": True}, "deal_id": deal.pk, "quantity": qty}
                for name, phone, deal, qty in lines
            ],
        }
        response = leader_api.post("/api/orders", payload)
        assert response.status_code in (200, 201), response.content

    order(p1, [
        ("王芳", "13800000001", apple_deal, 4), ("王芳", "13800000001", rice_deal, 2),
        ("李强", "13800000002", apple_deal, 2), ("李强", "13800000002", rice_deal, 1),
        ("蔡敏", "13800000003", rice_deal, 3),
    ])
    order(p2, [("丁浩", "13800000004", rice_deal, 1)])
    assert operator_api.post(f"/api/waves/{wave.pk}/close").status_code == 200
    d = wave.delivery_date
    site = warehouse_services.StockSite(depot_id=network["depot"].pk)
    warehouse_services.receive_lot(product_id=apples.pk, site=site, quantity=3, expiry_date=d + timedelta(days=4))
    warehouse_services.receive_lot(product_id=rice.pk, site=site, quantity=50, expiry_date=d + timedelta(days=170))
    allocation = warehouse_api.post("/api/allocations/run", {"delivery_date": d.isoformat()})
    assert allocation.status_code == 200 and allocation.json()["allocated"] == 3 + 7
    return PickupDay(d, [p1, p2], apples, rice)
