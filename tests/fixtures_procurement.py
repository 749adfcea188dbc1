"""Fixtures for the procurement tests (loaded by tests/conftest.py through pytest_plugins)."""
from decimal import Decimal

import pytest

from core.models import Role
from procurement import services
from warehouse.services import StockSite


@pytest.fixture
def suppliers(db):
    """A preferred and a fallback supplier."""
    return [
        services.create_supplier(code="FARM", name="杭州绿源农场", lead_time_days=1, contact_name="李师傅", phone="0571-1234"),
        services.create_supplier(code="MKT", name="勾庄农产品批发市场", lead_time_days=0),
    ]


@pytest.fixture
def supplier_terms(suppliers, network):
    """Product 1: preferred FARM (cases of 6, MOQ 12, 60 a day, perishable), fallback MKT (cases of 1).
    Product 2: FARM only, long-life (30 days)."""
    farm, market = suppliers
    first, second = network["products"][:2]
    return {
        "farm_first": services.set_supplier_terms(
            supplier_id=farm.pk, product_id=first.pk, unit_cost=Decimal("7.50"), case_pack=6, moq=12,
            daily_capacity=60, shelf_life_days=2, priority=0,
        ),
        "market_first": services.set_supplier_terms(
            supplier_id=market.pk, product_id=first.pk, unit_cost=Decimal("8.50"), case_pack=1, moq=0,
            daily_capacity=1000, shelf_life_days=2, priority=1,
        ),
        "farm_second": services.set_supplier_terms(
            supplier_id=farm.pk, product_id=second.pk, unit_cost=Decimal("2.00"), case_pack=10, moq=0,
            daily_capacity=1000, shelf_life_days=30, priority=0,
        ),
    }


@pytest.fixture
def procurement_user(db):
    from tests.conftest import make_user

    return make_user("buyer", Role.PROCUREMENT)


@pytest.fixture
def procurement_api(procurement_user):
    from tests.conftest import ApiClient

    return ApiClient(procurement_user)


@pytest.fixture
def sent_order(supplier_terms, network, wave, procurement_user):
    """A sent order to FARM for the wave's day: 60 of product 1 and 20 of product 2, to the depot."""
    order = services.create_purchase_order(
        supplier_id=supplier_terms["farm_first"].supplier_id, delivery_date=wave.delivery_date,
        site=StockSite(depot_id=network["depot"].pk),
        lines=[(network["products"][0].pk, 60), (network["products"][1].pk, 20)], actor=procurement_user,
    )
    return services.send_purchase_order(purchase_order_id=order.pk, actor=procurement_user)


@pytest.fixture
def depot_forecast(network, wave):
    """Store a depot-level forecast for the wave's day: rows (product index, mean, p50, p80, p95)."""
    from warehouse.models import DemandForecast

    def store(*rows):
        for index, mean, p50, p80, p95 in rows:
            DemandForecast.objects.create(
                delivery_date=wave.delivery_date, product=network["products"][index], depot=network["depot"],
                mean=mean, p50=p50, p80=p80, p95=p95,
            )

    return store

