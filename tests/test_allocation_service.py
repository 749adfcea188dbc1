"""Allocating the day's stock: first expiry first out, fair shares when short, refunds to the cent, reruns."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import translation

from grouporders import services as order_services
from tests.conftest import order_payload
from warehouse import services
from warehouse.models import Allocation, LineShortage, Lot
from warehouse.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db


@pytest.fixture
def day(leader_api, other_leader_api, wave, deals, network):
    """SKU1 ordered 10 + 6 at P1, 4 at P2, 10 at P3 (30 in all) with only 15 in stock; SKU2 plenty."""
    p1, p2, p3 = network["points"]
    leader_api.post("/api/orders", order_payload(wave, p1, [("A", "13800000001", deals[0], 10), ("B", "13800000002", deals[0], 6), ("B", "13800000002", deals[1], 2)]))
    leader_api.post("/api/orders", order_payload(wave, p2, [("C", "13800000003", deals[0], 4)]))
    other_leader_api.post("/api/orders", order_payload(wave, p3, [("D", "13800000004", deals[0], 10)]))
    order_services.close_wave(wave.pk)
    site = services.StockSite(depot_id=network["depot"].pk)
    d = wave.delivery_date
    services.receive_lot(product_id=deals[0].product_id, site=site, quantity=9, expiry_date=d + timedelta(days=3))
    services.receive_lot(product_id=deals[0].product_id, site=site, quantity=6, expiry_date=d + timedelta(days=2))
    services.receive_lot(product_id=deals[0].product_id, site=site, quantity=50, expiry_date=d)  # too close to expiry
    services.receive_lot(product_id=deals[1].product_id, site=site, quantity=40, expiry_date=d + timedelta(days=9))
    return d


def allocated(d, point):
    return Allocation.objects.filter(delivery_date=d, pickup_point=point).values_list("product__sku").annotate(q=Sum("quantity")).order_by("product__sku")


def test_short_stock_is_shared_fairly_and_every_cut_resident_is_refunded(day, network, deals):
    p1, p2, p3 = network["points"]
    summary = services.allocate_day(delivery_date=day)
    assert (summary.demanded, summary.allocated, summary.short_lines) == (32, 17, 3)
    # 15 of 30 units: P1 16 -> 8, P2 4 -> 2, P3 10 -> 5; SKU2 in full.
    assert list(allocated(day, p1)) == [("SKU1", 8), ("SKU2", 2)]
    assert list(allocated(day, p2)) == [("SKU1", 2)]
    assert list(allocated(day, p3)) == [("SKU1", 5)]
    cuts = {s.order_line.resident.name: (s.quantity, s.refund_amount) for s in LineShortage.objects.select_related("order_line__resident")}
    assert cuts == {"A": (5, Decimal("62.50")), "B": (3, Decimal("37.50")), "C": (2, Decimal("25.00")), "D": (5, Decimal("62.50"))}
    assert summary.refund_amount == Decimal("187.50")
    with translation.override("en"):
        reason = LineShortage.objects.filter(order_line__resident__name="A").values_list(LineShortage.reason_expression(), flat=True).get()
    assert reason == f"stock short for {day}: the pickup point received 8 of the 16 units ordered (a fair share of what was in stock); 5 of this line refunded"
    with translation.override("zh-hans"):
        chinese = LineShortage.objects.filter(order_line__resident__name="A").values_list(LineShortage.reason_expression(), flat=True).get()
    assert chinese == f"{day} 库存不足：自提点订购 16 件，按库存公平分配到 8 件；本行退款 5 件"


def test_first_expiry_first_out_and_nothing_too_close_to_expiry(day, deals):
    services.allocate_day(delivery_date=day)
    used = dict(Allocation.objects.filter(product_id=deals[0].product_id).values_list("lot__expiry_date").annotate(q=Sum("quantity")))
    assert used == {day + timedelta(days=2): 6, day + timedelta(days=3): 9}
    assert Lot.objects.get(product_id=deals[0].product_id, expiry_date=day).quantity == 50


def test_rerunning_replaces_its_own_output_and_keeps_the_ledger_true(day, deals):
    first = services.allocate_day(delivery_date=day)
    rows = sorted(Allocation.objects.values_list("pickup_point_id", "lot_id", "quantity"))
    second = services.allocate_day(delivery_date=day)
    assert first == second
    assert sorted(Allocation.objects.values_list("pickup_point_id", "lot_id", "quantity")) == rows
    assert LineShortage.objects.count() == 4
    assert ledger_mismatches() == []
    assert Lot.objects.filter(product_id=deals[0].product_id, quantity__gt=0).count() == 1  # only the near-expiry lot


def test_a_day_without_demand_allocates_nothing(network):
    from datetime import date

    summary = services.allocate_day(delivery_date=date(2030, 1, 1))
    assert (summary.demand_lines, summary.allocated, summary.refund_amount) == (0, 0, Decimal("0.00"))


def test_through_the_api_leaders_see_only_their_own_cuts(day, warehouse_api, leader_api, other_leader_api):
    response = warehouse_api.post("/api/allocations/run", {"delivery_date": day.isoformat()})
    assert response.status_code == 200 and response.json()["allocated"] == 17
    assert Decimal(response.json()["refund_amount"]) == Decimal("187.50")
    mine = leader_api.get("/api/shortages", {"delivery_date": day}).json()["items"]
    assert sorted((s["resident_name"], s["cut"], s["refund_amount"]) for s in mine) == [("A", 5, "62.50"), ("B", 3, "37.50"), ("C", 2, "25.00")]
    assert mine[0]["resident_phone"].count("*") == 4
    theirs = other_leader_api.get("/api/shortages", {"delivery_date": day}).json()["items"]
    assert [(s["resident_name"], s["cut"]) for s in theirs] == [("D", 5)]
    assert leader_api.post("/api/allocations/run", {"delivery_date": day.isoformat()}).status_code == 403
    bad = warehouse_api.post("/api/allocations/run", {"delivery_date": day.isoformat(), "min_remaining_days": -1})
    assert bad.status_code == 422 and bad.json()["field"] == "min_remaining_days"
    listed = warehouse_api.get("/api/allocations", {"delivery_date": day}).json()
    assert sum(a["quantity"] for a in listed["items"]) == 17


def test_weighting_by_order_time_favours_the_leader_who_ordered_first(day, network, deals):
    from datetime import timedelta as td

    from django.utils import timezone

    from grouporders.models import LeaderOrder

    p1, p2, p3 = network["points"]
    now = timezone.now()
    # P3's leader ordered first, P1's last.
    for point, hours_ago in ((p3, 10), (p2, 5), (p1, 0)):
        LeaderOrder.objects.filter(pickup_point=point).update(submitted_at=now - td(hours=hours_ago))
    services.allocate_day(delivery_date=day, order_time_weight=1.0)
    got = {code: q for code, q in Allocation.objects.filter(product_id=deals[0].product_id).values_list("pickup_point__code").annotate(q=Sum("quantity"))}
    # Unweighted it would be P1 8, P2 2, P3 5 (demand 16, 4, 10); weights 1, 1.5, 2 move units to P3.
    assert sum(got.values()) == 15 and got["P3"] > 5 and got["P1"] < 8
    assert got["P3"] <= 10
