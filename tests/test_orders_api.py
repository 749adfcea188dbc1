"""Leader orders through the API: submission, replacement, idempotency, scoping, validation, cutoff."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import NotFound
from grouporders import services as order_services
from grouporders.models import Deal, LeaderOrder, OrderLine, Resident, SalesWave
from tests.conftest import order_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def point(network):
    return network["points"][0]


def submit(api, payload, key=None):
    return api.post("/api/orders", payload, headers={"Idempotency-Key": key} if key else None)


def test_leader_submits_a_consolidated_order(leader_api, wave, deals, point):
    payload = order_payload(wave, point, [("Wang", "138 0013 8000", deals[0], 2), ("Li", "+86 13900139000", deals[1], 3)])
    response = submit(leader_api, payload, key="k1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["revision"] == 1
    assert [line["quantity"] for line in body["lines"]] == [2, 3]
    assert body["lines"][0]["resident"]["phone_masked"] == "138****8000"
    assert Decimal(body["total_amount"]) == Decimal("2") * Decimal("12.50") + Decimal("3") * Decimal("3.99")
    # The full phone number is stored nowhere.
    assert not Resident.objects.filter(phone_masked__contains="0013").exists()
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 3


def test_resubmission_replaces_the_whole_order(leader_api, wave, deals, point):
    submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[1], 4)]))
    response = submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[0], 1)]))
    assert response.status_code == 200
    assert response.json()["revision"] == 2
    assert LeaderOrder.objects.count() == 1
    assert list(OrderLine.objects.values_list("deal_id", "quantity")) == [(deals[0].pk, 1)]
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 0


def test_retry_with_the_same_key_returns_the_first_answer(leader_api, wave, deals, point):
    payload = order_payload(wave, point, [("Wang", "13800138000", deals[1], 2)])
    first = submit(leader_api, payload, key="retry-me")
    again = submit(leader_api, payload, key="retry-me")
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert LeaderOrder.objects.get().revision == 1
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 2


def test_same_key_for_a_different_request_is_refused(leader_api, wave, deals, point):
    submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[1], 2)]), key="k")
    response = submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[1], 3)]), key="k")
    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 2


def test_another_leaders_order_does_not_exist_for_you(leader_api, other_leader_api, wave, deals, point, network):
    order_id = submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[0], 1)])).json()["id"]
    assert other_leader_api.get(f"/api/orders/{order_id}").status_code == 404
    assert other_leader_api.post(f"/api/orders/{order_id}/cancel").status_code == 404
    assert other_leader_api.get("/api/orders").json()["items"] == []
    # Nor may they order for a point that is not theirs.
    response = submit(other_leader_api, order_payload(wave, point, [("Zhao", "13700137000", deals[0], 1)]))
    assert response.status_code == 404
    assert response.json()["field"] == "pickup_point_id"
    assert [p["code"] for p in other_leader_api.get("/api/pickup-points").json()["items"]] == [network["points"][2].code]


@pytest.mark.parametrize(
    "mutate, status, field",
    [
        (lambda p, deals, other: p["lines"][0].update(deal_id=999_999), 422, "lines.0.deal_id"),
        (lambda p, deals, other: p["lines"][0].update(deal_id=other.pk), 422, "lines.0.deal_id"),
        (lambda p, deals, other: p["lines"][1].update(quantity=0), 422, "lines.1.quantity"),
        (lambda p, deals, other: p["lines"][1].update(quantity=-3), 422, "lines.1.quantity"),
        (lambda p, deals, other: p["lines"][1].update(quantity=6), 422, "lines.1.quantity"),  # > 5 per resident
        (lambda p, deals, other: p["lines"][1].update(quantity="many"), 422, "lines.1.quantity"),
        (lambda p, deals, other: p["lines"][0]["resident"].update(phone="12ab"), 422, "lines.0.resident.phone"),
        (lambda p, deals, other: p["lines"][0].pop("deal_id"), 422, "lines.0.deal_id"),
        (lambda p, deals, other: p.update(lines=[]), 422, "lines"),
        (lambda p, deals, other: p.update(wave_id=999_999), 404, "wave_id"),
        (lambda p, deals, other: p["lines"].append(dict(p["lines"][0])), 422, "lines.2"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(leader_api, wave, deals, point, mutate, status, field):
    other_wave = SalesWave.objects.create(delivery_date=wave.delivery_date + timedelta(days=1), cutoff_at=wave.cutoff_at + timedelta(days=1))
    other_deal = Deal.objects.create(wave=other_wave, product=deals[0].product, price=Decimal("1.00"))
    payload = order_payload(wave, point, [("Wang", "13800138000", deals[0], 1), ("Li", "13900139000", deals[1], 2)])
    mutate(payload, deals, other_deal)
    response = submit(leader_api, payload)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert not LeaderOrder.objects.exists() and not OrderLine.objects.exists()
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 0


def test_malformed_json_is_a_client_error(leader_api, wave):
    response = leader_api.client.post(
        "/api/orders", "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {leader_api.token}"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and response.json()["detail"]


def test_a_failed_replacement_keeps_the_previous_order(leader_api, wave, deals, point):
    submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[1], 2)]))
    response = submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[1], 2), ("Li", "1", deals[0], 1)]))
    assert response.status_code == 422
    assert list(OrderLine.objects.values_list("deal_id", "quantity", "status")) == [(deals[1].pk, 2, "active")]
    assert LeaderOrder.objects.get().revision == 1


def test_limited_deal_answers_409_when_sold_out(leader_api, other_leader_api, wave, deals, point, network):
    residents = [(f"R{i}", f"1380013800{i}", deals[1], 5) for i in range(4)]
    assert submit(leader_api, order_payload(wave, point, residents)).status_code == 201
    response = submit(other_leader_api, order_payload(wave, network["points"][2], [("Zhao", "13700137000", deals[1], 1)]))
    assert response.status_code == 409
    assert response.json()["code"] == "sold_out" and "only 0 left" in response.json()["detail"]
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 20


def test_cancelling_a_line_frees_the_limited_quantity(leader_api, wave, deals, point):
    body = submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[1], 5), ("Li", "13900139000", deals[0], 1)])).json()
    line_id = body["lines"][0]["id"]
    response = leader_api.post(f"/api/orders/{body['id']}/lines/{line_id}/cancel")
    assert response.status_code == 200
    assert [line["status"] for line in response.json()["lines"]] == ["cancelled", "active"]
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 0
    assert leader_api.post(f"/api/orders/{body['id']}/lines/424242/cancel").status_code == 404


def test_several_lines_are_cancelled_together_or_none_is(leader, leader_api, wave, deals, point):
    body = submit(leader_api, order_payload(wave, point, [
        ("Wang", "13800138000", deals[1], 5), ("Li", "13900139000", deals[0], 1), ("Zhao", "13700137000", deals[1], 2),
    ])).json()
    first, second, third = (line["id"] for line in body["lines"])
    with pytest.raises(NotFound) as refused:  # one unknown line refuses them all
        order_services.cancel_order_lines(user=leader, order_id=body["id"], line_ids=[first, 424242])
    assert refused.value.field == "line_ids.1"
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 7
    order_services.cancel_order_lines(user=leader, order_id=body["id"], line_ids=[first, third])
    statuses = dict(OrderLine.objects.filter(order_id=body["id"]).values_list("pk", "status"))
    assert statuses == {first: "cancelled", second: "active", third: "cancelled"}
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 0
    assert LeaderOrder.objects.get(pk=body["id"]).revision == 2  # one change


def test_after_the_cutoff_every_change_answers_409(leader_api, wave, deals, point):
    body = submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[0], 1)])).json()
    SalesWave.objects.filter(pk=wave.pk).update(cutoff_at=timezone.now() - timedelta(minutes=1))
    for response in (
        submit(leader_api, order_payload(wave, point, [("Wang", "13800138000", deals[0], 2)])),
        leader_api.post(f"/api/orders/{body['id']}/cancel"),
        leader_api.post(f"/api/orders/{body['id']}/lines/{body['lines'][0]['id']}/cancel"),
    ):
        assert response.status_code == 409
        assert response.json()["code"] == "cutoff_passed" and "closed" in response.json()["detail"]
    assert OrderLine.objects.get().quantity == 1


def test_roles_are_checked(warehouse_api, leader_api, wave, deals, point, client):
    payload = order_payload(wave, point, [("Wang", "13800138000", deals[0], 1)])
    assert submit(warehouse_api, payload).status_code == 403
    assert leader_api.post(f"/api/waves/{wave.pk}/close").status_code == 403
    assert leader_api.get("/api/demand", {"delivery_date": wave.delivery_date}).status_code == 403
    assert client.get("/api/orders").status_code == 401
    assert client.get("/api/orders", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_open_waves_and_deals_are_listed(leader_api, wave, deals):
    waves = leader_api.get("/api/waves", {"status": "open"}).json()
    assert [w["id"] for w in waves] == [wave.pk] and waves[0]["accepting_orders"]
    listed = leader_api.get(f"/api/waves/{wave.pk}/deals").json()
    assert [(d["product_sku"], d["remaining"]) for d in listed] == [("SKU1", None), ("SKU2", 20)]


def test_operator_creates_waves_and_deals(operator_api, leader_api, network):
    day = timezone.localdate() + timedelta(days=5)
    response = operator_api.post("/api/waves", {"delivery_date": day.isoformat()})
    assert response.status_code == 201
    wave = response.json()
    cutoff = timezone.localtime(timezone.datetime.fromisoformat(wave["cutoff_at"]))
    assert (cutoff.date(), cutoff.hour) == (day - timedelta(days=1), 23)
    assert operator_api.post("/api/waves", {"delivery_date": day.isoformat()}).status_code == 409
    deal = {"product_id": network["products"][2].pk, "price": "9.90", "quantity_limit": 10}
    assert operator_api.post(f"/api/waves/{wave['id']}/deals", deal).status_code == 201
    assert operator_api.post(f"/api/waves/{wave['id']}/deals", deal).status_code == 409
    bad = operator_api.post(f"/api/waves/{wave['id']}/deals", {**deal, "price": "-1"})
    assert bad.status_code == 422 and bad.json()["field"] == "price"
    assert leader_api.post("/api/waves", {"delivery_date": day.isoformat()}).status_code == 403


def test_a_resident_who_consents_later_records_the_wording_shown_then(leader_api, wave, deals, point, settings):
    def submit(consent, key):
        payload = order_payload(wave, point, [("王芳", "13800000001", deals[0], 1)])
        payload["lines"][0]["resident"]["consent"] = consent
        assert leader_api.post("/api/orders", payload, headers={"Idempotency-Key": key}).status_code in (200, 201)
        return Resident.objects.get(name="王芳")

    settings.RESIDENT_CONSENT_VERSION = "2026-01"
    assert submit(False, "first").consent is False
    settings.RESIDENT_CONSENT_VERSION = "2026-03"
    resident = submit(True, "second")
    assert resident.consent and resident.consent_at and resident.consent_version == "2026-03"


def test_text_with_a_nul_character_is_refused_naming_the_field(leader_api, wave, deals, point):
    """PostgreSQL cannot store NUL in text (found by tests/test_api_fuzz.py): refused on every database."""
    response = leader_api.post("/api/orders", order_payload(wave, point, [("Ann\x00", "13800000001", deals[0], 1)]))
    assert response.status_code == 422 and response.json()["field"] == "lines.0.resident.name"
    assert not LeaderOrder.objects.exists()
    assert leader_api.get("/api/waves", {"status": "open\x00"}).json()["field"] == "status"


def test_a_wave_for_a_day_that_has_begun_is_refused(operator_api):
    """Found by tests/test_api_fuzz.py: a wave for year 6 was created, closed from birth."""
    for day in (timezone.localdate(), timezone.localdate() - timedelta(days=1), timezone.datetime(6, 1, 1).date()):
        response = operator_api.post("/api/waves", {"delivery_date": day.isoformat()})
        assert response.status_code == 422 and response.json()["field"] == "delivery_date"
    assert not SalesWave.objects.exists()


def test_a_leader_is_appointed_with_a_valid_phone_or_none(network, leader):
    from core.errors import InvalidInput
    from grouporders import services

    assert leader.group_leader.phone == "13900000001"  # normalised from "139 0000 0001"
    with pytest.raises(InvalidInput) as refused:
        services.appoint_leader(user=leader, pickup_point_ids=[network["points"][0].pk], phone="call me")
    assert refused.value.field == "phone"
    leader.group_leader.refresh_from_db()
    assert leader.group_leader.phone == "13900000001" and leader.group_leader.pickup_points.count() == 2
