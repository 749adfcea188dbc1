"""Purchase orders: lifecycle with recorded transitions, draft-only lines, goods receipts with QC, documents, pages, performance."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from procurement import services
from procurement.models import GoodsReceipt, PurchaseOrderLine
from tests.conftest import make_user, pdf_text
from warehouse.models import Lot, StockMove
from warehouse.selectors import ledger_mismatches

# These tests compare the pages' English (tests/test_pages_chinese.py reads the Chinese).
pytestmark = [pytest.mark.django_db, pytest.mark.english]



def lines_of(order):
    first, second = order.lines.order_by("product__sku")
    return first, second


def receipt(document, *lines, received_at=None):
    body = {"document_number": document, "lines": [dict(zip(("line_id", "accepted_quantity", "rejected_quantity", "qc_reason"), line)) for line in lines]}
    if received_at:
        body["received_at"] = received_at
    return body


def test_the_lifecycle_records_every_transition_and_refuses_invalid_ones_with_409(supplier_terms, network, wave, procurement_api):
    created = procurement_api.post("/api/purchase-orders", {
        "supplier_id": supplier_terms["farm_first"].supplier_id, "delivery_date": str(wave.delivery_date),
        "depot_id": network["depot"].pk, "lines": [{"product_id": network["products"][0].pk, "quantity": 24}],
    })
    assert created.status_code == 201
    order = created.json()
    assert order["state"] == "draft" and order["expected_on"] == str(wave.delivery_date - timedelta(days=1))
    path = f"/api/purchase-orders/{order['id']}"

    closing_a_draft = procurement_api.post(f"{path}/close", {})
    assert closing_a_draft.status_code == 409
    assert closing_a_draft.json()["field"] == "state" and closing_a_draft.json()["code"] == "invalid_transition"
    assert "is draft" in closing_a_draft.json()["detail"]

    sent = procurement_api.post(f"{path}/send", {}).json()
    assert sent["state"] == "sent"
    edit = procurement_api.post(f"{path}/lines/{order['lines'][0]['id']}", {"quantity": 30})
    assert edit.status_code == 409 and edit.json()["code"] == "invalid_transition" and "is sent" in edit.json()["detail"]
    assert procurement_api.post(f"{path}/send", {}).status_code == 409

    cancelled = procurement_api.post(f"{path}/cancel", {"note": "farm flooded"}).json()
    assert cancelled["state"] == "cancelled"
    assert [(t["from_state"], t["to_state"], t["actor_id"]) for t in cancelled["transitions"]] == [
        ("", "draft", procurement_api.user.pk), ("draft", "sent", procurement_api.user.pk),
        ("sent", "cancelled", procurement_api.user.pk),
    ]
    assert cancelled["transitions"][-1]["note"] == "farm flooded"
    assert procurement_api.post(f"{path}/send", {}).json()["detail"].endswith("is cancelled; cannot become sent")


def test_draft_lines_follow_the_suppliers_terms(supplier_terms, network, wave, procurement_api):
    order = services.create_purchase_order(
        supplier_id=supplier_terms["farm_first"].supplier_id, delivery_date=wave.delivery_date,
        site=services.StockSite(depot_id=network["depot"].pk), lines=[(network["products"][0].pk, 12)], actor=None,
    )
    path = f"/api/purchase-orders/{order.pk}/lines"
    below_moq = procurement_api.post(f"{path}/{order.lines.get().pk}", {"quantity": 6})
    assert below_moq.status_code == 422 and below_moq.json()["field"] == "quantity"
    not_sold = procurement_api.post(path, {"product_id": network["products"][2].pk, "quantity": 5})
    assert not_sold.status_code == 422 and not_sold.json()["field"] == "line.product_id"
    added = procurement_api.post(path, {"product_id": network["products"][1].pk, "quantity": 20})
    assert added.status_code == 201
    removed = procurement_api.post(f"{path}/{added.json()['id']}", {"quantity": 0}).json()
    assert [line["quantity"] for line in removed["lines"]] == [12]


def test_a_receipt_books_accepted_goods_as_lots_and_only_records_rejects(sent_order, warehouse_api, network):
    fresh, dry = lines_of(sent_order)
    response = warehouse_api.post(
        f"/api/purchase-orders/{sent_order.pk}/receipts",
        receipt("GRN-1", (fresh.pk, 40, 5, "bruised"), (dry.pk, 20, 0, "")),
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(line["accepted_quantity"], line["rejected_quantity"]) for line in body["lines"]] == [(40, 5), (20, 0)]
    lot = Lot.objects.get(pk=body["lines"][0]["lot_id"])
    assert (lot.product_id, lot.depot_id, lot.quantity) == (network["products"][0].pk, network["depot"].pk, 40)
    # Expiry from the supplier's shelf life on arrival (2 days), counted from the day received.
    assert lot.expiry_date == timezone.localdate() + timedelta(days=2)
    assert Lot.objects.count() == 2 and StockMove.objects.count() == 2  # nothing for the 5 rejected
    assert ledger_mismatches() == []

    fresh.refresh_from_db()
    sent_order.refresh_from_db()
    assert (fresh.accepted_quantity, fresh.rejected_quantity) == (40, 5)
    assert sent_order.state == "partially_received"

    rest = warehouse_api.post(f"/api/purchase-orders/{sent_order.pk}/receipts", receipt("GRN-2", (fresh.pk, 20, 0, "")))
    assert rest.status_code == 201
    sent_order.refresh_from_db()
    assert sent_order.state == "received"
    assert list(sent_order.transitions.values_list("to_state", flat=True)) == ["draft", "sent", "partially_received", "received"]


def test_receipts_are_idempotent_on_the_document_number(sent_order, warehouse_api):
    fresh, _ = lines_of(sent_order)
    path = f"/api/purchase-orders/{sent_order.pk}/receipts"
    first = warehouse_api.post(path, receipt("GRN-7", (fresh.pk, 30, 0, "")))
    again = warehouse_api.post(path, receipt("GRN-7", (fresh.pk, 30, 0, "")))
    assert again.status_code == first.status_code == 201 and again.json() == first.json()
    assert GoodsReceipt.objects.count() == 1 and Lot.objects.count() == 1
    fresh.refresh_from_db()
    assert fresh.accepted_quantity == 30

    clash = warehouse_api.post(path, receipt("GRN-7", (fresh.pk, 31, 0, "")))
    assert clash.status_code == 409 and clash.json()["field"] == "document_number"


def test_over_receipt_beyond_the_tolerance_is_refused_naming_the_field(sent_order, warehouse_api, settings):
    settings.PROCUREMENT_RECEIPT_TOLERANCE = 0.05
    fresh, dry = lines_of(sent_order)
    path = f"/api/purchase-orders/{sent_order.pk}/receipts"
    too_much = warehouse_api.post(path, receipt("GRN-9", (dry.pk, 20, 0, ""), (fresh.pk, 64, 0, "")))
    assert too_much.status_code == 422
    assert too_much.json()["field"] == "lines.1.accepted_quantity" and "63 allowed" in too_much.json()["detail"]
    assert not GoodsReceipt.objects.exists() and not Lot.objects.exists()  # nothing half-written
    assert warehouse_api.post(path, receipt("GRN-9", (fresh.pk, 63, 0, ""))).status_code == 201


@pytest.mark.parametrize(
    "line, field",
    [
        ((0, 0, ""), "lines.0.accepted_quantity"),
        ((10, 2, " "), "lines.0.qc_reason"),
        ((-1, 0, ""), "lines.0.accepted_quantity"),
    ],
)
def test_bad_receipt_lines_answer_422_naming_the_field(sent_order, warehouse_api, line, field):
    fresh, _ = lines_of(sent_order)
    response = warehouse_api.post(f"/api/purchase-orders/{sent_order.pk}/receipts", receipt("GRN-X", (fresh.pk, *line)))
    assert response.status_code == 422 and response.json()["field"] == field


def test_receipts_need_a_sent_order_and_its_own_lines(sent_order, supplier_terms, network, wave, warehouse_api):
    other = services.create_purchase_order(
        supplier_id=supplier_terms["market_first"].supplier_id, delivery_date=wave.delivery_date,
        site=services.StockSite(depot_id=network["depot"].pk), lines=[(network["products"][0].pk, 5)], actor=None,
    )
    draft = warehouse_api.post(f"/api/purchase-orders/{other.pk}/receipts", receipt("GRN-D", (other.lines.get().pk, 5, 0, "")))
    assert draft.status_code == 409 and draft.json()["field"] == "state" and draft.json()["code"] == "invalid_transition"
    foreign = warehouse_api.post(f"/api/purchase-orders/{sent_order.pk}/receipts", receipt("GRN-F", (other.lines.get().pk, 5, 0, "")))
    assert foreign.status_code == 422 and foreign.json()["field"] == "lines.0.line_id"
    expired = warehouse_api.post(f"/api/purchase-orders/{sent_order.pk}/receipts", {
        "document_number": "GRN-E",
        "lines": [{"line_id": lines_of(sent_order)[0].pk, "accepted_quantity": 5, "expiry_date": "2020-01-01"}],
    })
    assert expired.status_code == 422 and expired.json()["field"] == "lines.0.expiry_date"


def test_closing_a_partly_received_order(sent_order, procurement_user):
    fresh, _ = lines_of(sent_order)
    services.receive_goods(purchase_order_id=sent_order.pk, document_number="GRN-P",
                           lines=[services.ReceiptLineInput(fresh.pk, 10)], actor=procurement_user)
    closed = services.close_purchase_order(purchase_order_id=sent_order.pk, actor=procurement_user, note="rest not coming")
    assert closed.state == "closed"
    with pytest.raises(services.InvalidTransition) as refused:
        services.receive_goods(purchase_order_id=sent_order.pk, document_number="GRN-Q",
                               lines=[services.ReceiptLineInput(fresh.pk, 10)], actor=procurement_user)
    assert refused.value.state == "closed"


def test_the_order_as_csv_and_pdf(sent_order, warehouse_api, leader_api):
    csv = warehouse_api.get(f"/api/purchase-orders/{sent_order.pk}.csv", headers={"Accept-Language": "zh-hans"})
    assert csv.status_code == 200 and csv["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv.content.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("采购单号,供应商") and len(rows) == 3
    assert f"{sent_order.number},FARM" in rows[1] and ",10,6,60,7.50,450.00" in rows[1]
    text = pdf_text(warehouse_api.get(f"/api/purchase-orders/{sent_order.pk}.pdf", headers={"Accept-Language": "zh-hans"}))
    assert f"采购单 {sent_order.number}" in text and "¥450.00" in text and sent_order.supplier.name in text
    assert leader_api.get(f"/api/purchase-orders/{sent_order.pk}.pdf").status_code == 403
    assert warehouse_api.get("/api/purchase-orders/999999").status_code == 404


def test_supplier_performance_over_a_period(sent_order, procurement_api, warehouse_api, wave):
    fresh, dry = lines_of(sent_order)
    on_time = datetime.combine(sent_order.expected_on, datetime.min.time(), ZoneInfo("Asia/Shanghai")).replace(hour=22)
    services.receive_goods(purchase_order_id=sent_order.pk, document_number="GRN-A", received_at=on_time,
                           lines=[services.ReceiptLineInput(fresh.pk, 45, 15, "mould"), services.ReceiptLineInput(dry.pk, 20)],
                           actor=None)
    day = str(wave.delivery_date)
    rows = procurement_api.get("/api/suppliers/performance", {"start": day, "end": day}).json()
    assert rows == [{
        "supplier_id": sent_order.supplier_id, "supplier_code": "FARM", "supplier_name": "杭州绿源农场", "purchase_orders": 1,
        "received_orders": 1, "on_time_orders": 1, "ordered_units": 80, "accepted_units": 65, "rejected_units": 15,
        "on_time_rate": 1.0, "fill_rate": 0.8125, "rejection_rate": 0.1875,
    }]
    backwards = procurement_api.get("/api/suppliers/performance", {"start": day, "end": "2000-01-01"})
    assert backwards.status_code == 422 and backwards.json()["field"] == "end"
    assert warehouse_api.get("/api/suppliers/performance", {"start": day, "end": day}).status_code == 403


def test_late_receipts_lower_the_on_time_rate(sent_order, wave):
    late = timezone.now() + timedelta(days=5)
    services.receive_goods(purchase_order_id=sent_order.pk, document_number="GRN-L", received_at=late,
                           lines=[services.ReceiptLineInput(lines_of(sent_order)[0].pk, 60)], actor=None)
    from procurement.selectors import supplier_performance

    (row,) = supplier_performance(wave.delivery_date, wave.delivery_date)
    assert (row.on_time_rate, row.fill_rate) == (0.0, 0.75)


def test_suppliers_and_terms_through_the_api(procurement_api, network):
    supplier = procurement_api.post("/api/suppliers", {"code": "SEA", "name": "Sea Foods", "lead_time_days": 2})
    assert supplier.status_code == 201
    duplicate = procurement_api.post("/api/suppliers", {"code": "SEA", "name": "Again"})
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "code"
    terms = {"supplier_id": supplier.json()["id"], "product_id": network["products"][2].pk, "unit_cost": "4.20",
             "case_pack": 12, "moq": 24, "daily_capacity": 600, "shelf_life_days": 3}
    assert procurement_api.post("/api/supplier-products", terms).json()["supplier_code"] == "SEA"
    changed = procurement_api.post("/api/supplier-products", {**terms, "unit_cost": "4.00"}).json()
    assert changed["unit_cost"] == "4.00"
    assert PurchaseOrderLine.objects.count() == 0
    assert procurement_api.get("/api/supplier-products", {"product_id": network["products"][2].pk}).json()["count"] == 1
    zero = procurement_api.post("/api/supplier-products", {**terms, "unit_cost": "0"})
    assert zero.status_code == 422 and zero.json()["field"] == "unit_cost"


def test_the_procurement_page_needs_a_login_and_the_role(client, sent_order, wave, deals, supplier_terms, depot_forecast):
    depot_forecast((0, 200.0, 196, 230, 262))  # more than the 60 already on order
    services.suggest_purchases(delivery_date=wave.delivery_date)
    assert client.get("/procurement/").status_code == 302  # to the login page
    client.force_login(make_user("picker", "warehouse"))
    assert client.get("/procurement/").status_code == 403

    client.force_login(make_user("buyer2", "procurement"))
    page = client.get("/procurement/", {"date": str(wave.delivery_date)})
    assert page.status_code == 200
    html = page.content.decode()
    assert sent_order.number in html and f"/api/purchase-orders/{sent_order.pk}.pdf" in html and "Accept" in html

    suggestion_id = page.context["suggestions"][0].pk
    decided = client.post(f"/procurement/suggestions/{suggestion_id}/decide", {"decision": "accept", "date": str(wave.delivery_date)}, follow=True)
    assert "Added to PO-" in decided.content.decode()
    again = client.post(f"/procurement/suggestions/{suggestion_id}/decide", {"decision": "reject", "date": str(wave.delivery_date)}, follow=True)
    assert "already accepted" in again.content.decode()


def test_every_procurement_model_has_an_admin_page_that_opens(client, admin_user, sent_order):
    from django.apps import apps
    from django.contrib import admin
    from django.urls import reverse

    client.force_login(admin_user)
    services.receive_goods(purchase_order_id=sent_order.pk, document_number="GRN-ADM",
                           lines=[services.ReceiptLineInput(lines_of(sent_order)[0].pk, 5, 1, "torn")], actor=None)
    for model in apps.get_app_config("procurement").get_models():
        assert model in admin.site._registry, f"{model.__name__} has no admin"
        url = reverse(f"admin:procurement_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("admin:procurement_purchaseorder_change", args=[sent_order.pk])).status_code == 200


def test_text_with_a_nul_character_is_refused_naming_the_field(procurement_api, sent_order):
    """PostgreSQL cannot store NUL in text (found by tests/test_api_fuzz.py): refused on every database."""
    receipt = {"document_number": "GRN\x00", "lines": [{"line_id": sent_order.lines.first().pk, "accepted_quantity": 1}]}
    response = procurement_api.post(f"/api/purchase-orders/{sent_order.pk}/receipts", receipt)
    assert response.status_code == 422 and response.json()["field"] == "document_number"
    assert not GoodsReceipt.objects.exists()
    assert procurement_api.get("/api/purchase-suggestions", {"status": "proposed\x00"}).json()["field"] == "status"
