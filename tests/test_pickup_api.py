"""The pickup rules through the API: receipt differences, codes, partial collection, claims, commission
settings, statements as API/CSV/PDF/page, residents' privacy, scoping and admin pages."""
import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from core.errors import Conflict
from grouporders.models import Resident
from pickup import tasks
from pickup.models import Claim, CommissionEntry, HeadLeaderLink, PickupCode, PickupLine, Refund
from pickup.services import record_shortage_refunds
from tests.conftest import ApiClient, make_user, pdf_text
from warehouse.services import StockSite, allocate_day, receive_lot

pytestmark = pytest.mark.django_db

SENT = []


def remember_codes(issued):
    """A stand-in for the SMS sender that PICKUP_CODE_SENDER names."""
    SENT.extend(issued)


def issue(operator_api, day):
    response = operator_api.post("/api/pickup/codes/issue", {"delivery_date": day.delivery_date.isoformat()})
    assert response.status_code == 200, response.content
    return {c["resident_name"]: c["code"] for c in response.json()}


def collect(api, day, point, code, lines=None, headers=None):
    payload = {"delivery_date": day.delivery_date.isoformat(), "pickup_point_id": point.pk, "code": code}
    if lines is not None:
        payload["lines"] = lines
    return api.post("/api/pickup/collect", payload, headers=headers)


@pytest.fixture
def at_the_point(pickup_day, clock, operator_api):
    """Codes issued, the clock at 10:00 on the delivery day."""
    codes = issue(operator_api, pickup_day)
    clock.set(pickup_day.delivery_date, 10)
    return codes


# --- receipt ---


def test_a_short_delivery_opens_missing_claims_on_the_latest_lines(pickup_day, leader_api, operator_api, other_leader_api):
    day, p1 = pickup_day, pickup_day.points[0]
    body = {"delivery_date": day.delivery_date.isoformat(), "pickup_point_id": p1.pk,
            "lines": [{"product_id": day.rice.pk, "received_quantity": 2}]}
    assert other_leader_api.post("/api/pickup/receipts", body).status_code == 404
    response = leader_api.post("/api/pickup/receipts", body)
    assert response.status_code == 201 and response.json()[0]["difference"] == -4
    # Rice lines in order: Ann 2, Bob 1, Cai 3; the latest lines are cut first: Cai 3, Bob 1.
    claims = {c.pickup_line.resident.name: (c.kind, c.source, c.quantity) for c in Claim.objects.select_related("pickup_line__resident")}
    assert claims == {"蔡敏": ("missing", "receipt", 3), "李强": ("missing", "receipt", 1)}
    assert leader_api.post("/api/pickup/receipts", body).status_code == 409
    bad = dict(body, lines=[{"product_id": day.rice.pk + 999, "received_quantity": 1}])
    assert leader_api.post("/api/pickup/receipts", bad).json()["field"] == "lines.0.product_id"
    # The driver's missing bag turns up: rejecting Bob's claim makes it collectable again; Cai is refunded.
    bob, cai = (Claim.objects.get(pickup_line__resident__name=n) for n in ("李强", "蔡敏"))
    operator_api.post(f"/api/pickup/claims/{bob.pk}/reject", {"note": "found in the van"})
    operator_api.post(f"/api/pickup/claims/{cai.pk}/approve", {})
    lines = leader_api.get("/api/pickup/manifest", {"delivery_date": day.delivery_date, "pickup_point_id": p1.pk}).json()["lines"]
    rice = {line["resident_name"]: line["collectable_quantity"] for line in lines if line["product_sku"] == "RICE5"}
    assert rice == {"王芳": 2, "李强": 1, "蔡敏": 0}
    assert Refund.objects.get(cause="claim").amount == Decimal("89.70")
    assert operator_api.post(f"/api/pickup/claims/{cai.pk}/approve", {}).status_code == 409


# --- codes and collection ---


def test_only_hashes_are_stored_and_codes_are_issued_once(
    pickup_day, operator_api, leader_api, settings, django_capture_on_commit_callbacks
):
    settings.PICKUP_CODE_SENDER = "tests.test_pickup_api.remember_codes"
    SENT.clear()
    day = pickup_day
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.post("/api/pickup/codes/issue", {"delivery_date": day.delivery_date.isoformat()})
    issued = response.json()
    assert len(issued) == 4 and {c.code for c in SENT} == {c["code"] for c in issued}
    assert base64.b64decode(issued[0]["qr_png_base64"]).startswith(b"\x89PNG")
    stored = set(PickupCode.objects.values_list("code_hash", flat=True))
    assert not stored & {c["code"] for c in issued} and all(len(h) == 64 for h in stored)
    assert all(c["resident_phone"].count("*") == 4 for c in issued)
    assert operator_api.post("/api/pickup/codes/issue", {"delivery_date": day.delivery_date.isoformat()}).json() == []
    assert leader_api.post("/api/pickup/codes/issue", {"delivery_date": day.delivery_date.isoformat()}).status_code == 403
    ann = Resident.objects.get(name="王芳")
    new = operator_api.post("/api/pickup/codes/reissue", {"delivery_date": day.delivery_date.isoformat(), "resident_id": ann.pk}).json()
    assert PickupCode.objects.filter(resident=ann).count() == 1
    assert collect(leader_api, day, day.points[0], new["code"]).status_code == 200


def test_a_day_with_more_residents_than_the_codes_can_keep_apart_is_refused(pickup_day, operator_api, settings):
    settings.PICKUP_CODE_DIGITS = 1  # ten codes: the four residents stay under half of them
    response = operator_api.post("/api/pickup/codes/issue", {"delivery_date": pickup_day.delivery_date.isoformat()})
    assert response.status_code == 200 and len(response.json()) == 4
    PickupCode.objects.all().delete()
    settings.PICKUP_CODE_DIGITS = 0  # one code for four residents
    response = operator_api.post("/api/pickup/codes/issue", {"delivery_date": pickup_day.delivery_date.isoformat()})
    assert response.status_code == 409 and response.json()["field"] == "delivery_date"
    assert response.json()["code"] == "too_many_codes" and "PICKUP_CODE_DIGITS" in response.json()["detail"]
    assert not PickupCode.objects.exists()


def test_codes_wait_for_the_cutoff(wave, operator_api):
    response = operator_api.post("/api/pickup/codes/issue", {"delivery_date": wave.delivery_date.isoformat()})
    assert response.status_code == 409 and response.json()["field"] == "delivery_date"


def test_partial_collection_then_the_rest_and_retries_hand_over_nothing_twice(pickup_day, at_the_point, leader_api, other_leader_api):
    day, p1 = pickup_day, pickup_day.points[0]
    rice = pickup_day.line("王芳", day.rice)
    over = collect(leader_api, day, p1, at_the_point["王芳"], [{"order_line_id": rice.pk, "quantity": 3}])
    assert over.status_code == 422 and over.json()["field"] == "lines.0.quantity"
    stranger = collect(leader_api, day, p1, at_the_point["王芳"], [{"order_line_id": day.line("蔡敏", day.rice).pk, "quantity": 1}])
    assert stranger.status_code == 422 and stranger.json()["field"] == "lines.0.order_line_id"
    first = collect(leader_api, day, p1, at_the_point["王芳"], [{"order_line_id": rice.pk, "quantity": 1}], {"Idempotency-Key": "k1"})
    again = collect(leader_api, day, p1, at_the_point["王芳"], [{"order_line_id": rice.pk, "quantity": 1}], {"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    line = next(item for item in first.json()["lines"] if item["order_line_id"] == rice.pk)
    assert (line["collected_now"], line["collected_quantity"], line["collectable_quantity"]) == (1, 1, 1)
    rest = collect(leader_api, day, p1, at_the_point["王芳"]).json()["lines"]
    assert sorted((item["product"], item["collected_now"]) for item in rest) == [("东北大米 5kg/袋", 1), ("红富士苹果 1kg/袋", 2)]
    done = collect(leader_api, day, p1, at_the_point["王芳"])
    assert done.status_code == 409
    assert collect(other_leader_api, day, p1, at_the_point["王芳"]).status_code == 404


# --- claims ---


def test_claims_follow_the_window_and_the_collected_quantity(pickup_day, at_the_point, clock, leader_api, other_leader_api, operator_api):
    day, p1 = pickup_day, pickup_day.points[0]
    bob_rice = day.line("李强", day.rice)
    not_collected = leader_api.post("/api/pickup/claims", {"order_line_id": bob_rice.pk, "kind": "missing", "quantity": 1, "reason": "x"})
    assert not_collected.status_code == 409
    collect(leader_api, day, p1, at_the_point["蔡敏"])
    cai = day.line("蔡敏", day.rice).pk
    claim = {"order_line_id": cai, "kind": "quality", "quantity": 4, "reason": "mouldy"}
    assert leader_api.post("/api/pickup/claims", claim).json()["field"] == "quantity"
    assert leader_api.post("/api/pickup/claims", dict(claim, kind="lost")).status_code == 422
    assert other_leader_api.post("/api/pickup/claims", dict(claim, quantity=1)).status_code == 404
    assert leader_api.post("/api/pickup/claims", dict(claim, quantity=2)).status_code == 201
    assert leader_api.post("/api/pickup/claims", dict(claim, quantity=2)).json()["field"] == "quantity"  # 1 left
    assert leader_api.get("/api/pickup/claims").json()["count"] == 1
    assert other_leader_api.get("/api/pickup/claims").json()["count"] == 0
    assert leader_api.post(f"/api/pickup/claims/{Claim.objects.get().pk}/approve", {}).status_code == 403
    clock.set(day.delivery_date + timedelta(days=2), 10, 1)  # 48 hours and a minute after collection
    late = leader_api.post("/api/pickup/claims", dict(claim, quantity=1))
    assert late.status_code == 409 and late.json()["code"] == "claim_window_closed"


def test_settlement_waits_while_a_claim_is_open(pickup_day, at_the_point, clock, leader_api, operator_api):
    day, p1 = pickup_day, pickup_day.points[0]
    collect(leader_api, day, p1, at_the_point["蔡敏"])
    collect(leader_api, day, p1, at_the_point["王芳"])
    leader_api.post("/api/pickup/claims", {"order_line_id": day.line("蔡敏", day.rice).pk, "kind": "damaged", "quantity": 1, "reason": "x"})
    clock.set(day.delivery_date + timedelta(days=8), 10)
    assert tasks.settle_commissions.delay().get() == 2  # Ann's two lines; Cai's waits for the decision
    operator_api.post(f"/api/pickup/claims/{Claim.objects.get().pk}/reject", {"note": "no damage on the photo"})
    assert tasks.settle_commissions.delay().get() == 1
    assert CommissionEntry.objects.get(pickup_line__order_line__resident__name="蔡敏").amount == Decimal("4.49")  # 89.70 × 5 %


# --- commission settings ---


def test_core_tier_category_rate_cap_and_head_leader_bonus(pickup_day, at_the_point, leader, other_leader, leader_api, settings):
    from grouporders.models import GroupLeader

    settings.PICKUP_HEAD_LEADER_BONUS_ENABLED = True
    settings.PICKUP_HEAD_LEADER_BONUS_RATE = Decimal("0.02")
    settings.PICKUP_COMMISSION_CATEGORY_RATES = {"grocery": "0.24"}
    GroupLeader.objects.filter(user=leader).update(tier="core")
    HeadLeaderLink.objects.create(leader=leader.group_leader, head_leader=other_leader.group_leader)
    day, p1 = pickup_day, pickup_day.points[0]
    collect(leader_api, day, p1, at_the_point["王芳"])
    entries = {(e.pickup_line.product.sku, e.beneficiary): (e.rate, e.amount) for e in CommissionEntry.objects.select_related("pickup_line__product")}
    assert entries == {
        ("SKU1", "leader"): (Decimal("0.1000"), Decimal("2.50")),  # core tier on 25.00
        ("SKU1", "head_leader"): (Decimal("0.0200"), Decimal("0.50")),
        ("RICE5", "leader"): (Decimal("0.2400"), Decimal("14.35")),  # the grocery rate on 59.80
        ("RICE5", "head_leader"): (Decimal("0.0200"), Decimal("0.60")),  # only the 0.60 left under 25 % = 14.95
    }
    head = ApiClient(other_leader).get("/api/pickup/statements", {"start": day.delivery_date, "end": day.delivery_date}).json()
    assert Decimal(head["accrued"]) == Decimal("1.10") and Decimal(head["gmv"]) == 0


def test_the_monthly_gmv_moves_a_leader_up_a_bracket(pickup_day, at_the_point, leader_api, settings):
    settings.PICKUP_COMMISSION_TIERS = {"ordinary": [[0, "0.05"], [50, "0.06"]]}
    day, p1 = pickup_day, pickup_day.points[0]
    collect(leader_api, day, p1, at_the_point["蔡敏"])  # 89.70 collected: the month passes 50
    assert CommissionEntry.objects.get().rate == Decimal("0.06")



def test_within_one_collection_each_line_counts_the_lines_before_it(pickup_day, at_the_point, leader_api, settings):
    settings.PICKUP_COMMISSION_TIERS = {"ordinary": [[0, "0.05"], [80, "0.06"]]}
    day, p1 = pickup_day, pickup_day.points[0]
    collect(leader_api, day, p1, at_the_point["王芳"])  # 25.00 and 59.80: only together do they pass 80
    rates = list(CommissionEntry.objects.order_by("pickup_line_id").values_list("rate", flat=True))
    assert rates == [Decimal("0.0500"), Decimal("0.0600")]

# --- statements ---


def test_statement_as_csv_pdf_and_page_scoped_to_the_leader(pickup_day, at_the_point, leader, leader_api, other_leader_api, operator_api, client):
    day, p1 = pickup_day, pickup_day.points[0]
    collect(leader_api, day, p1, at_the_point["王芳"])
    period = {"start": day.delivery_date, "end": day.delivery_date}
    csv = leader_api.get("/api/pickup/statements.csv", period, headers={"Accept-Language": "zh-hans"})
    assert csv.status_code == 200 and csv["Content-Type"] == "text/csv; charset=utf-8"
    text = csv.content.decode("utf-8-sig")
    assert "138****0001" in text and "13800000001" not in text and "应付,0.00" in text and "已计提,4.24" in text
    pdf = pdf_text(leader_api.get("/api/pickup/statements.pdf", period, headers={"Accept-Language": "zh-hans"}))
    assert "佣金对账单" in pdf and "¥4.24" in pdf and "138****0001" in pdf
    leader_id = leader.group_leader.pk
    assert other_leader_api.get("/api/pickup/statements", dict(period, leader_id=leader_id)).status_code == 404
    assert Decimal(operator_api.get("/api/pickup/statements", dict(period, leader_id=leader_id)).json()["accrued"]) == Decimal("4.24")
    assert operator_api.get("/api/pickup/statements", period).status_code == 404  # operators name the leader
    client.force_login(leader)
    page = client.get(reverse("pickup:statement"), {"start": day.delivery_date, "end": day.delivery_date})
    assert page.status_code == 200 and b"4.24" in page.content and b"138****0001" in page.content
    day_page = client.get(reverse("pickup:point-day"), {"date": day.delivery_date, "point": p1.pk})
    assert day_page.status_code == 200 and b"138****0002" in day_page.content and b"13800000002" not in day_page.content


# --- returns ---


def test_returns_wait_for_the_window_and_run_once(pickup_day, at_the_point, clock):
    day = pickup_day
    clock.set(day.delivery_date + timedelta(days=1), 23, 59)
    assert tasks.return_uncollected.delay().get()["lines"] == 0
    clock.set(day.delivery_date + timedelta(days=2), 0, 1)
    first = tasks.return_uncollected.delay().get()
    assert first == {"lines": 6, "restocked": 7, "written_off": 3, "refund_amount": "246.80"}
    assert tasks.return_uncollected.delay().get()["lines"] == 0
    assert Refund.objects.filter(cause="uncollected").count() == 6


def test_shortage_refunds_task_is_idempotent(pickup_day, clock):
    clock.set(pickup_day.delivery_date, 5)
    assert tasks.record_todays_shortage_refunds.delay().get() == 2
    assert tasks.record_shortage_refunds.delay(pickup_day.delivery_date.isoformat()).get() == 0
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("12.50"), Decimal("25.00")]
    # Stock found and the day reallocated after refunding: refused, not paid twice.
    site = StockSite(depot_id=pickup_day.points[0].depot_id)
    receive_lot(product_id=pickup_day.apples.pk, site=site, quantity=3, expiry_date=pickup_day.delivery_date + timedelta(days=4))
    allocate_day(delivery_date=pickup_day.delivery_date)
    with pytest.raises(Conflict):
        record_shortage_refunds(delivery_date=pickup_day.delivery_date)


def test_pickup_lines_and_codes_keep_their_order_lines_and_residents(pickup_day, at_the_point):
    """The database does not check these bulk-written references row by row; the ORM still guards them."""
    line = PickupLine.objects.filter(delivery_date=pickup_day.delivery_date).select_related("order_line").first()
    with pytest.raises(ProtectedError):
        line.order_line.delete()
    with pytest.raises(ProtectedError):
        line.order_line.order.delete()  # its lines cascade, and they are protected
    assert PickupLine.objects.filter(pk=line.pk).exists()
    codes = PickupCode.objects.filter(delivery_date=pickup_day.delivery_date)
    assert set(codes.values_list("resident_id", flat=True)) == set(Resident.objects.values_list("pk", flat=True))


# --- privacy ---


def test_operators_find_export_and_erase_a_resident_and_amounts_stay(pickup_day, at_the_point, leader_api, operator_api):
    day = pickup_day
    collect(leader_api, day, day.points[0], at_the_point["王芳"])
    assert leader_api.get("/api/pickup/residents/lookup", {"phone": "13800000001"}).status_code == 403
    assert operator_api.get("/api/pickup/residents/lookup", {"phone": "abc"}).json()["field"] == "phone"
    found = operator_api.get("/api/pickup/residents/lookup", {"phone": "+86 138 0000 0001"}).json()
    assert found["name"] == "王芳" and found["phone_masked"] == "138****0001"
    assert found["consent"] and found["consent_version"] == "2026-01"
    operator_api.post("/api/pickup/refunds/shortages", {"delivery_date": day.delivery_date.isoformat()})
    exported = operator_api.get(f"/api/pickup/residents/{found['id']}/export").json()
    assert exported["resident"]["name"] == "王芳" and len(exported["order_lines"]) == 2
    assert len(exported["pickup_lines"]) == 2 and len(exported["collections"]) == 2 and len(exported["refunds"]) == 1
    assert exported["shortages"][0]["quantity"] == 2 and len(exported["pickup_codes"]) == 1
    erased = operator_api.post(f"/api/pickup/residents/{found['id']}/erase").json()
    assert (erased["name"], erased["phone_masked"], erased["consent"]) == ("(erased)", "", False) and erased["erased_at"]
    assert operator_api.get("/api/pickup/residents/lookup", {"phone": "13800000001"}).status_code == 404
    assert Refund.objects.get(resident_id=found["id"]).amount == Decimal("25.00")
    assert CommissionEntry.objects.filter(pickup_line__resident_id=found["id"]).count() == 2
    assert not PickupCode.objects.filter(resident_id=found["id"]).exists()


def test_consent_is_recorded_with_its_wording_by_the_residents_leader(pickup_day, leader_api, other_leader_api):
    bob = Resident.objects.get(name="李强")
    body = {"consent": True, "wording_version": "2026-02"}
    assert other_leader_api.post(f"/api/pickup/residents/{bob.pk}/consent", body).status_code == 404
    recorded = leader_api.post(f"/api/pickup/residents/{bob.pk}/consent", body).json()
    assert recorded["consent_version"] == "2026-02" and recorded["consent_at"]
    assert leader_api.post(f"/api/pickup/residents/{bob.pk}/consent", {"consent": True, "wording_version": " "}).status_code == 422


def test_leaders_see_only_their_points_refunds_with_masked_phones(pickup_day, leader_api, other_leader_api, operator_api):
    operator_api.post("/api/pickup/refunds/shortages", {"delivery_date": pickup_day.delivery_date.isoformat()})
    mine = leader_api.get("/api/pickup/refunds").json()["items"]
    assert len(mine) == 2 and all(r["resident_phone"].count("*") == 4 for r in mine)
    assert other_leader_api.get("/api/pickup/refunds").json()["items"] == []
    assert ApiClient(make_user("driver1", "driver")).get("/api/pickup/refunds").status_code == 403


def test_every_pickup_model_has_an_admin_page(client, admin_user, pickup_day):
    from django.apps import apps
    from django.contrib import admin

    client.force_login(admin_user)
    for model in apps.get_app_config("pickup").get_models():
        assert model in admin.site._registry, model
        url = reverse(f"admin:pickup_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_text_with_a_nul_character_is_refused_naming_the_field(pickup_day, leader_api, operator_api):
    """PostgreSQL cannot store NUL in text (found by tests/test_api_fuzz.py): refused on every database."""
    ann = Resident.objects.get(name="王芳")
    consent = leader_api.post(f"/api/pickup/residents/{ann.pk}/consent", {"consent": True, "wording_version": "v2\x00"})
    assert consent.status_code == 422 and consent.json()["field"] == "wording_version"
    assert Resident.objects.get(pk=ann.pk).consent_version != "v2\x00"
    assert leader_api.get("/api/pickup/claims", {"status": "open\x00"}).json()["field"] == "status"
    assert operator_api.get("/api/pickup/residents/lookup", {"phone": "13800000001\x00"}).json()["field"] == "phone"
