"""Shared fixtures: a small network, a wave with deals, users of every role with API clients."""
import csv as csv_module
import io
import json as json_module
import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.models import Depot, PickupPoint, Product
from core.models import Role
from core.services import grant_role, issue_token
from grouporders import services as order_services
from grouporders.models import SalesWave

# Each app's own fixtures live beside its tests.
pytest_plugins = [
    "tests.fixtures_procurement", "tests.fixtures_routing", "tests.fixtures_pickup", "tests.fixtures_worker",
]


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    has_broker = bool(os.environ.get("CELERY_BROKER_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…)"))
        if "celery_worker" in item.keywords and not (has_broker and on_postgres):
            item.add_marker(pytest.mark.skip(reason="needs CELERY_BROKER_URL and PostgreSQL"))


class ApiClient:
    """A test client that sends a bearer token and JSON."""

    def __init__(self, user):
        self.user = user
        self.token, _ = issue_token(user=user, name="tests")
        self.client = Client()

    def _headers(self, headers):
        # English details unless a test asks otherwise: most tests read them; tests/test_api_language.py
        # checks the default (Chinese) and the switch.
        return {
            "HTTP_AUTHORIZATION": f"Bearer {self.token}", "HTTP_ACCEPT_LANGUAGE": "en",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
        }

    def get(self, path, data=None, headers=None):
        return self.client.get(path, data, **self._headers(headers))

    def post(self, path, json=None, headers=None):
        return self.client.post(path, json_module.dumps(json or {}), content_type="application/json", **self._headers(headers))


def csv_rows(response) -> list[dict]:
    """A CSV download as dicts; it must start with the byte-order mark that Excel and WPS need."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content.startswith("\ufeff".encode()), "CSV for people starts with a UTF-8 byte-order mark"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv_module.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def pdf_text(response) -> str:
    """The text of a PDF download, read back with pypdf."""
    from pypdf import PdfReader

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def make_user(username, *roles, **names):
    user = User.objects.create_user(username=username, password="pw-" + username, **names)
    for role in roles:
        grant_role(user, Role(role))
    return user


# Chinese names everywhere, so every page, PDF, CSV and label is exercised with CJK text.
POINT_NAMES = ["翠苑一区3幢", "金色家园南门便利店", "文新街道丰潭路12号店"]
PRODUCT_NAMES = ["红富士苹果 1kg/袋", "有机菠菜 500g/袋", "阳山水蜜桃 6个/盒"]


@pytest.fixture
def network(db):
    depot = Depot.objects.create(code="D1", name="上城网格仓", latitude=30.27, longitude=120.15)
    points = [
        PickupPoint.objects.create(
            code=f"P{i}", name=POINT_NAMES[i - 1], address=f"杭州市西湖区文三路{i}号", latitude=30.2 + i / 100,
            longitude=120.1, depot=depot,
        )
        for i in range(1, 4)
    ]
    products = [
        Product.objects.create(
            sku=f"SKU{i}", name=PRODUCT_NAMES[i - 1], category="fruit" if i % 2 else "veg", unit="袋",
            weight_g=500, volume_ml=800, storage_temperature="chilled", shelf_life_days=5,
        )
        for i in range(1, 4)
    ]
    return {"depot": depot, "points": points, "products": products}


@pytest.fixture
def wave(network):
    """An open wave for the day after tomorrow (its cutoff is tomorrow night)."""
    return order_services.create_wave(delivery_date=timezone.localdate() + timedelta(days=2))


@pytest.fixture
def deals(wave, network):
    """An unlimited deal and a deal limited to 20 units, 5 per resident."""
    return [
        order_services.create_deal(wave_id=wave.pk, product_id=network["products"][0].pk, price=Decimal("12.50")),
        order_services.create_deal(
            wave_id=wave.pk, product_id=network["products"][1].pk, price=Decimal("3.99"),
            quantity_limit=20, per_resident_limit=5,
        ),
    ]


@pytest.fixture
def leader(network):
    user = make_user("leader1", first_name="丽", last_name="王")
    order_services.appoint_leader(
        user=user, pickup_point_ids=[network["points"][0].pk, network["points"][1].pk], phone="139 0000 0001"
    )
    return user


@pytest.fixture
def other_leader(network):
    user = make_user("leader2", first_name="建国", last_name="陈")
    order_services.appoint_leader(user=user, pickup_point_ids=[network["points"][2].pk])
    return user


@pytest.fixture
def leader_api(leader):
    return ApiClient(leader)


@pytest.fixture
def other_leader_api(other_leader):
    return ApiClient(other_leader)


@pytest.fixture
def operator_api(db):
    return ApiClient(make_user("op", Role.OPERATOR))


@pytest.fixture
def warehouse_api(db):
    return ApiClient(make_user("wh", Role.WAREHOUSE))


def order_payload(wave: SalesWave, point, lines):
    """lines: (resident_name, phone, deal, quantity)."""
    return {
        "wave_id": wave.pk,
        "pickup_point_id": point.pk,
        "lines": [
            {"resident": {"name": name, "phone": phone, "consent": True}, "deal_id": deal.pk, "quantity": qty}
            for name, phone, deal, qty in lines
        ],
    }


@pytest.fixture(autouse=True)
def default_language(request):
    """Each test starts in the default language, or in English when marked `english`: a request's
    Accept-Language stays active in the thread after the test client returns, which would make a service's
    wording depend on the tests before it."""
    from django.conf import settings
    from django.utils import translation

    language = "en" if request.node.get_closest_marker("english") else settings.LANGUAGE_CODE
    translation.activate(language)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def client(request):
    """Django's test client; in tests marked `english` it asks for English pages (Accept-Language: en)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en") if request.node.get_closest_marker("english") else Client()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_concurrently(count: int, work) -> list:
    """Run work(i) in `count` threads released at the same moment; each thread gets its own connection."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the caller asserts on what each thread met
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
