"""Fixtures for the routing tests (loaded by tests/conftest.py through pytest_plugins)."""
from datetime import date, time, timedelta

import pytest
from django.core.cache import cache

from catalog.models import PickupPoint, Product
from core.models import Role
from routing.models import Driver, Vehicle
from warehouse import services as warehouse_services
from warehouse.models import Allocation

ROUTING_DAY = date(2031, 5, 6)


@pytest.fixture(autouse=True)
def quick_route_planning(settings):
    """Guided local search always runs to its time limit, however small the problem: keep it short in
    every test (the pipeline's too), and start each test with an empty matrix cache."""
    settings.ROUTING_SOLVER_TIME_LIMIT_SECONDS = 0.5
    settings.ROUTING_SOLVER_WORKERS = 1
    cache.clear()


def make_product(sku: str, temperature: str, weight_g: int = 1000, volume_ml: int = 1000) -> Product:
    return Product.objects.create(
        sku=sku, name=f"土鸡蛋 12枚/盒 {sku}", category="test", unit="box", weight_g=weight_g, volume_ml=volume_ml,
        storage_temperature=temperature, shelf_life_days=10,
    )


def make_point(depot, code: str, latitude: float, longitude: float, opens=time(7, 0), closes=time(20, 0)) -> PickupPoint:
    return PickupPoint.objects.create(
        code=code, name=f"金色家园{code}幢", address=f"拱墅区湖州街{code}号", latitude=latitude, longitude=longitude, depot=depot,
        opens_at=opens, closes_at=closes,
    )


def allocate(point, product, quantity: int, delivery_date: date = ROUTING_DAY) -> Allocation:
    """Stock allocated to a pickup point, as the warehouse's allocation leaves it."""
    lot = warehouse_services.receive_lot(
        product_id=product.pk, site=warehouse_services.StockSite(depot_id=point.depot_id), quantity=quantity,
        expiry_date=delivery_date + timedelta(days=5),
    )
    return Allocation.objects.create(
        delivery_date=delivery_date, pickup_point=point, product=product, lot=lot, quantity=quantity
    )


def make_vehicle(depot, code: str, **fields) -> Vehicle:
    values = {"capacity_kg": 1000, "capacity_litres": 5000, "capacity_crates": 100, "has_chilled_zone": True,
              "has_frozen_zone": True, "shift_start": time(6, 0), "shift_end": time(18, 0)} | fields
    return Vehicle.objects.create(depot=depot, code=code, **values)


def make_driver(username: str, vehicle) -> Driver:
    from tests.conftest import make_user

    return Driver.objects.create(user=make_user(username, Role.DRIVER), vehicle=vehicle)


@pytest.fixture
def products(db):
    return {zone: make_product(f"R-{zone}", zone) for zone in ("ambient", "chilled", "frozen")}


@pytest.fixture
def routing_depot(network, products):
    """The shared network's depot with two more points, each with ambient goods for the day, and the
    odd-numbered ones (P1, P3, P5) with chilled goods too."""
    depot = network["depot"]
    points = network["points"] + [make_point(depot, "P4", 30.30, 120.20), make_point(depot, "P5", 30.25, 120.25)]
    for number, point in enumerate(points, start=1):
        allocate(point, products["ambient"], 3 * number)
        if number % 2:
            allocate(point, products["chilled"], number)
    return {"depot": depot, "points": points, "products": products}


@pytest.fixture
def two_vans(routing_depot):
    """Two vans with drivers; only the first has a chilled zone."""
    depot = routing_depot["depot"]
    chilled = make_vehicle(depot, "VAN-COLD", has_frozen_zone=False)
    ambient = make_vehicle(depot, "VAN-DRY", has_chilled_zone=False, has_frozen_zone=False)
    return {"chilled": chilled, "ambient": ambient,
            "drivers": {"chilled": make_driver("driver-cold", chilled), "ambient": make_driver("driver-dry", ambient)}}
