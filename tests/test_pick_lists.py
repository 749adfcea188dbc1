"""Batch pick lists and per-route sort lists, as JSON, CSV and PDF."""
from datetime import timedelta

import pytest

from grouporders import services as order_services
from tests.conftest import csv_rows, order_payload, pdf_text
from warehouse import services
from warehouse.models import Allocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def allocated_day(leader_api, other_leader_api, wave, deals, network):
    """Three points with demand, allocated from two lots of SKU1 (earliest expiry first) and one of SKU2."""
    p1, p2, p3 = network["points"]
    leader_api.post("/api/orders", order_payload(wave, p1, [("A", "13800000001", deals[0], 30), ("B", "13800000002", deals[1], 2)]))
    leader_api.post("/api/orders", order_payload(wave, p2, [("C", "13800000003", deals[0], 4)]))
    other_leader_api.post("/api/orders", order_payload(wave, p3, [("D", "13800000004", deals[1], 3)]))
    order_services.close_wave(wave.pk)
    site = services.StockSite(depot_id=network["depot"].pk)
    day = wave.delivery_date
    early = services.receive_lot(product_id=deals[0].product_id, site=site, quantity=20, expiry_date=day + timedelta(days=2), bin_location="A-01")
    late = services.receive_lot(product_id=deals[0].product_id, site=site, quantity=50, expiry_date=day + timedelta(days=4), bin_location="A-02")
    other = services.receive_lot(product_id=deals[1].product_id, site=site, quantity=9, expiry_date=day + timedelta(days=3), bin_location="C-07")
    plan = {(p1.pk, early.pk): 20, (p1.pk, late.pk): 10, (p2.pk, late.pk): 4, (p1.pk, other.pk): 2, (p3.pk, other.pk): 3}
    lots = {lot.pk: lot for lot in (early, late, other)}
    for (point_id, lot_id), quantity in plan.items():
        lot = lots[lot_id]
        Allocation.objects.create(
            delivery_date=day, pickup_point_id=point_id, product_id=lot.product_id, lot=lot, quantity=quantity,
        )
    return day


def test_batch_pick_list_totals_per_product_with_lots_cold_chain_first(warehouse_api, allocated_day, network):
    picks = warehouse_api.get("/api/pick-lists/batch", {"delivery_date": allocated_day}).json()
    assert [(p["sku"], p["total"], [(lot["bin_location"], lot["quantity"]) for lot in p["lots"]]) for p in picks] == [
        ("SKU1", 34, [("A-01", 20), ("A-02", 14)]),
        ("SKU2", 5, [("C-07", 5)]),
    ]
    export = warehouse_api.get("/api/pick-lists/batch.csv", {"delivery_date": allocated_day}, headers={"Accept-Language": "zh-hans"})
    rows = csv_rows(export)
    assert [(r["商品编码"], r["库位"], r["数量"]) for r in rows] == [("SKU1", "A-01", "20"), ("SKU1", "A-02", "14"), ("SKU2", "C-07", "5")]
    text = pdf_text(warehouse_api.get("/api/pick-lists/batch.pdf", {"delivery_date": allocated_day, "depot_id": network["depot"].pk}, headers={"Accept-Language": "zh-hans"}))
    assert "汇总拣货单" in text and network["depot"].name in text and network["products"][0].name in text


def test_sort_lists_follow_the_route_and_load_the_last_stop_first(warehouse_api, allocated_day, network):
    p1, p2, p3 = network["points"]
    response = warehouse_api.post(
        "/api/sort-lists",
        {"delivery_date": allocated_day.isoformat(), "routes": [
            {"route_code": "R1", "depot_id": network["depot"].pk, "pickup_point_ids": [p2.pk, p1.pk]},
            {"route_code": "R2", "depot_id": network["depot"].pk, "pickup_point_ids": [p3.pk]},
        ]},
    )
    assert response.status_code == 200, response.content
    r1 = response.json()[0]["id"]
    detail = warehouse_api.get(f"/api/sort-lists/{r1}").json()
    # Loading order: P1 is delivered second, so it goes into the van first.
    assert [(s["stop_number"], s["pickup_point_code"], s["units"]) for s in detail["stops"]] == [(2, "P1", 32), (1, "P2", 4)]
    p1_stop = detail["stops"][0]
    assert p1_stop["leader_name"] == "王丽"
    assert p1_stop["crates"] == 2  # 30 × 500 g of chilled SKU1 is one full crate by weight; SKU2 is another zone
    assert p1_stop["tote_label"] == f"SL|{allocated_day:%Y%m%d}|R1|2|P1|2"
    assert [(line["sku"], line["quantity"]) for line in p1_stop["lines"]] == [("SKU1", 30), ("SKU2", 2)]
    rows = csv_rows(warehouse_api.get(f"/api/sort-lists/{r1}.csv", headers={"Accept-Language": "zh-hans"}))
    assert [(r["装车顺序"], r["自提点编码"], r["商品编码"]) for r in rows] == [("1", "P1", "SKU1"), ("1", "P1", "SKU2"), ("2", "P2", "SKU1")]
    text = pdf_text(warehouse_api.get(f"/api/sort-lists/{r1}.pdf", headers={"Accept-Language": "zh-hans"}))
    # One tote label per crate: P1 has 2 crates, P2 one.
    assert "第 1 / 共 2 筐" in text and "第 2 / 共 2 筐" in text and "第 1 / 共 1 筐" in text and p1.name in text


def test_rebuilding_sort_lists_replaces_the_days_output(warehouse_api, allocated_day, network):
    p1, p2, p3 = network["points"]
    depot = network["depot"].pk
    first = {"delivery_date": allocated_day.isoformat(), "routes": [{"route_code": "R1", "depot_id": depot, "pickup_point_ids": [p1.pk, p2.pk, p3.pk]}]}
    warehouse_api.post("/api/sort-lists", first)
    second = {"delivery_date": allocated_day.isoformat(), "routes": [{"route_code": "R9", "depot_id": depot, "pickup_point_ids": [p3.pk]}]}
    warehouse_api.post("/api/sort-lists", second)
    listed = warehouse_api.get("/api/sort-lists", {"delivery_date": allocated_day}).json()
    assert [s["route_code"] for s in listed] == ["R9"]


@pytest.mark.parametrize(
    "routes, field",
    [
        (lambda p, d: [{"route_code": "R1", "depot_id": d, "pickup_point_ids": [p[0], p[0]]}], "routes.0.pickup_point_ids"),
        (lambda p, d: [{"route_code": "R1", "depot_id": d, "pickup_point_ids": [p[0]]}, {"route_code": "R2", "depot_id": d, "pickup_point_ids": [p[0]]}], "routes.1.pickup_point_ids"),
        (lambda p, d: [{"route_code": "R1", "depot_id": d, "pickup_point_ids": [987654]}], "routes.0.pickup_point_ids"),
        (lambda p, d: [{"route_code": "R1", "depot_id": d + 1, "pickup_point_ids": [p[0]]}], "routes.0.pickup_point_ids"),
        (lambda p, d: [{"route_code": "", "depot_id": d, "pickup_point_ids": [p[0]]}], "routes.0.route_code"),
        (lambda p, d: [{"route_code": "R1", "depot_id": d, "pickup_point_ids": []}], "routes.0.pickup_point_ids"),
    ],
)
def test_bad_route_data_names_the_field_and_keeps_the_old_lists(warehouse_api, allocated_day, network, routes, field):
    points = [p.pk for p in network["points"]]
    depot = network["depot"].pk
    warehouse_api.post("/api/sort-lists", {"delivery_date": allocated_day.isoformat(), "routes": [{"route_code": "OLD", "depot_id": depot, "pickup_point_ids": points}]})
    response = warehouse_api.post("/api/sort-lists", {"delivery_date": allocated_day.isoformat(), "routes": routes(points, depot)})
    assert response.status_code == 422 and response.json()["field"] == field
    assert [s["route_code"] for s in warehouse_api.get("/api/sort-lists", {"delivery_date": allocated_day}).json()] == ["OLD"]


def test_leaders_cannot_read_pick_lists(leader_api, allocated_day):
    assert leader_api.get("/api/pick-lists/batch", {"delivery_date": allocated_day}).status_code == 403
    assert leader_api.get("/api/sort-lists/1.pdf").status_code == 403


def test_the_warehouse_page_lists_the_days_pick_lists_with_print_links(client, warehouse_api, leader_api, allocated_day, network):
    p1 = network["points"][0]
    warehouse_api.post("/api/sort-lists", {"delivery_date": allocated_day.isoformat(), "routes": [{"route_code": "R1", "depot_id": network["depot"].pk, "pickup_point_ids": [p1.pk]}]})
    url = f"/warehouse/pick-lists/?date={allocated_day.isoformat()}"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(leader_api.user)
    assert client.get(url).status_code == 403
    client.force_login(warehouse_api.user)
    page = client.get(url).content.decode()
    assert "SKU1" in page and "/api/pick-lists/batch.pdf?delivery_date=" in page and "R1" in page and ".pdf" in page


def test_a_depot_id_beyond_the_databases_range_is_no_server_error(warehouse_api, allocated_day):
    """Found by tests/test_api_fuzz.py: the list was read while the answer was serialised, past the API's
    out-of-range handler. SQLite cannot take the number (422); PostgreSQL compares it and finds nothing."""
    response = warehouse_api.get("/api/sort-lists", {"delivery_date": allocated_day, "depot_id": 2**63})
    assert response.status_code == 422 or response.json() == []
