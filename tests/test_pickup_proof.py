"""Issue 6's proof, end to end through the API: a short product, a resident who never comes, a claim,
returns, refunds and commission to the cent; and a wrong-code storm that locks one point only.
"""
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from pickup.models import Refund, RefundCause
from pickup.services import collect_with_code
from warehouse.models import Lot, LotSource
from warehouse.selectors import ledger_mismatches

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def refunds_by(operator_api, day, cause):
    items = operator_api.get("/api/pickup/refunds", {"delivery_date": day.delivery_date, "limit": 1000}).json()["items"]
    return {(r["resident_phone"][-4:], r["product"], r["quantity"], Decimal(r["amount"])) for r in items if r["cause"] == cause}


def codes_by_name(operator_api, day):
    response = operator_api.post("/api/pickup/codes/issue", {"delivery_date": day.delivery_date.isoformat()})
    assert response.status_code == 200, response.content
    return {c["resident_name"]: c["code"] for c in response.json()}


def collect(leader_api, day, point, code, lines=None):
    payload = {"delivery_date": day.delivery_date.isoformat(), "pickup_point_id": point.pk, "code": code}
    if lines is not None:
        payload["lines"] = lines
    return leader_api.post("/api/pickup/collect", payload)


def statement(api, start, end):
    response = api.get("/api/pickup/statements", {"start": start, "end": end})
    assert response.status_code == 200, response.content
    return {k: Decimal(v) for k, v in response.json().items() if k in ("gmv", "accrued", "settled", "clawed_back", "payable")}


def test_a_wave_with_a_shortage_a_no_show_and_a_claim_settles_to_the_cent(pickup_day, clock, leader_api, operator_api):
    day, (p1, _) = pickup_day, pickup_day.points
    d = day.delivery_date

    # Night: the shortage of apples (3 of 6, shared 2:1 between Ann and Bob) is refunded, once.
    assert operator_api.post("/api/pickup/refunds/shortages", {"delivery_date": d.isoformat()}).json() == {"refunds": 2}
    assert operator_api.post("/api/pickup/refunds/shortages", {"delivery_date": d.isoformat()}).json() == {"refunds": 0}
    assert refunds_by(operator_api, day, "shortage") == {
        ("0001", "红富士苹果 1kg/袋", 2, Decimal("25.00")), ("0002", "红富士苹果 1kg/袋", 1, Decimal("12.50")),
    }
    codes = codes_by_name(operator_api, day)
    assert set(codes) == {"王芳", "李强", "蔡敏", "丁浩"} and all(len(c) == 6 and c.isdigit() for c in codes.values())

    # Morning of D: the leader confirms the delivery against the manifest; nothing differs.
    clock.set(d, 9)
    manifest = leader_api.get("/api/pickup/manifest", {"delivery_date": d, "pickup_point_id": p1.pk}).json()
    expected = {p["sku"]: p["expected"] for p in manifest["products"]}
    assert expected == {"SKU1": 3, "RICE5": 6}
    assert all(line["resident_phone"].count("*") == 4 for line in manifest["lines"])
    receipt = leader_api.post("/api/pickup/receipts", {
        "delivery_date": d.isoformat(), "pickup_point_id": p1.pk,
        "lines": [{"product_id": day.apples.pk, "received_quantity": 3}, {"product_id": day.rice.pk, "received_quantity": 6}],
    })
    assert receipt.status_code == 201 and [r["difference"] for r in receipt.json()] == [0, 0]

    # D 10:00: Ann and Cai collect everything (and Dan at P2); Bob never comes.
    clock.set(d, 10)
    assert collect(leader_api, day, day.points[1], codes["丁浩"]).status_code == 200
    ann = collect(leader_api, day, p1, codes["王芳"])
    assert ann.status_code == 200, ann.content
    assert sorted((line["product"], line["collected_now"]) for line in ann.json()["lines"]) == [("东北大米 5kg/袋", 2), ("红富士苹果 1kg/袋", 2)]
    assert collect(leader_api, day, p1, codes["蔡敏"]).status_code == 200

    # D+1: Cai's leader files a claim for one damaged bag of rice; an operator approves it.
    clock.set(d + timedelta(days=1), 11)
    cai_rice = day.line("蔡敏", day.rice)
    claim = leader_api.post("/api/pickup/claims", {
        "order_line_id": cai_rice.pk, "kind": "damaged", "quantity": 1, "reason": "bag torn", "photo_ref": "photos/c1.jpg",
    })
    assert claim.status_code == 201, claim.content
    approved = operator_api.post(f"/api/pickup/claims/{claim.json()['id']}/approve", {"note": "photo checked"})
    assert approved.json()["status"] == "approved"
    assert refunds_by(operator_api, day, "claim") == {("0003", "东北大米 5kg/袋", 1, Decimal("29.90"))}

    # D+2 01:00: Bob's goods go back: rice into depot stock, chilled apples written off; Bob is refunded.
    clock.set(d + timedelta(days=2), 1)
    returned = operator_api.post("/api/pickup/returns/run").json()
    assert returned == {"lines": 2, "restocked": 1, "written_off": 1, "refund_amount": "42.40"}
    assert operator_api.post("/api/pickup/returns/run").json()["lines"] == 0
    assert refunds_by(operator_api, day, "uncollected") == {
        ("0002", "红富士苹果 1kg/袋", 1, Decimal("12.50")), ("0002", "东北大米 5kg/袋", 1, Decimal("29.90")),
    }
    back = Lot.objects.get(source=LotSource.RETURN)
    assert (back.product_id, back.quantity, back.depot_id) == (day.rice.pk, 1, p1.depot_id)
    assert back.expiry_date == d + timedelta(days=170)
    assert ledger_mismatches() == []

    # Commission at the ordinary tier's 5 %: Ann's apples 25.00 → 1.25, Ann's rice 59.80 → 2.99,
    # Cai's rice 89.70 less the refunded bag = 59.80 → 2.99, Dan's rice 29.90 → 1.495 → 1.50 (half up).
    # Nothing on Bob's lines or on the short units.
    month = (d.replace(day=1), d + timedelta(days=31))
    assert statement(leader_api, *month) == {
        "gmv": Decimal("174.50"), "accrued": Decimal("8.73"), "settled": Decimal("0.00"),
        "clawed_back": Decimal("0.00"), "payable": Decimal("0.00"),
    }

    # Seven days after collection it settles, not a minute before; the daily run is idempotent.
    clock.set(d + timedelta(days=7), 9, 59)
    assert operator_api.post("/api/pickup/commission/settle").json() == {"settled": 0}
    clock.set(d + timedelta(days=7), 10, 0)
    assert operator_api.post("/api/pickup/commission/settle").json() == {"settled": 4}
    assert operator_api.post("/api/pickup/commission/settle").json() == {"settled": 0}
    settled_period = (d, d + timedelta(days=7))
    assert statement(leader_api, *settled_period)["settled"] == Decimal("8.73")
    assert statement(leader_api, *settled_period)["payable"] == Decimal("8.73")

    # D+9: customer service accepts a late claim on one of Ann's apples; the settled commission is
    # clawed back on the next statement: 1.25 → 5 % of 12.50 = 0.63 (half up), so 0.62 back.
    clock.set(d + timedelta(days=9), 15)
    ann_apples = day.line("王芳", day.apples)
    late = leader_api.post("/api/pickup/claims", {"order_line_id": ann_apples.pk, "kind": "quality", "quantity": 1, "reason": "soft"})
    assert late.status_code == 409 and late.json()["field"] == "order_line_id"  # the leader is past the window
    late = operator_api.post("/api/pickup/claims", {"order_line_id": ann_apples.pk, "kind": "quality", "quantity": 1, "reason": "soft"})
    assert late.status_code == 201
    operator_api.post(f"/api/pickup/claims/{late.json()['id']}/approve", {"note": "goodwill"})
    next_period = (d + timedelta(days=8), d + timedelta(days=14))
    assert statement(leader_api, *next_period) == {
        "gmv": Decimal("0.00"), "accrued": Decimal("0.00"), "settled": Decimal("0.00"),
        "clawed_back": Decimal("0.62"), "payable": Decimal("-0.62"),
    }
    assert statement(leader_api, *settled_period)["payable"] == Decimal("8.73")  # the past statement stands

    # Every refund, to the cent: shortage 37.50, claims 29.90 + 12.50, uncollected 42.40.
    totals = dict(Refund.objects.values_list("cause").annotate(total=Sum("amount")).order_by("cause"))
    assert totals == {
        RefundCause.CLAIM: Decimal("42.40"), RefundCause.SHORTAGE: Decimal("37.50"), RefundCause.UNCOLLECTED: Decimal("42.40"),
    }


def test_a_wrong_code_storm_locks_one_point_and_not_the_other(pickup_day, leader_api, operator_api, settings):
    settings.PICKUP_CODE_LOCK_SECONDS = 2
    day, (p1, p2) = pickup_day, pickup_day.points
    codes = codes_by_name(operator_api, day)
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in codes.values())
    for attempt in range(5):
        response = collect(leader_api, day, p1, wrong)
        assert response.status_code == 422 and response.json()["field"] == "code", attempt
    # Locked: even the right code is refused at P1 now, with 429.
    locked = collect(leader_api, day, p1, codes["王芳"])
    assert locked.status_code == 429 and locked.json()["field"] == "code"
    # Dan's code at P2 works; Ann's code is not valid at P2 (she collects at P1) and counts there only.
    assert collect(leader_api, day, p2, codes["丁浩"]).status_code == 200
    assert collect(leader_api, day, p2, codes["王芳"]).status_code == 422
    time.sleep(2.1)  # the lock expires (10 minutes by default)
    assert collect(leader_api, day, p1, codes["王芳"]).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_devices_verifying_one_code_at_once_hand_the_goods_over_once(pickup_day, leader, operator_api):
    from core.errors import Conflict
    from pickup.models import Collection
    from tests.conftest import run_concurrently

    day, p1 = pickup_day, pickup_day.points[0]
    code = codes_by_name(operator_api, day)["蔡敏"]
    results = run_concurrently(
        4, lambda i: collect_with_code(user=leader, delivery_date=day.delivery_date, pickup_point_id=p1.pk, code=code)
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results
    assert Collection.objects.aggregate(total=Sum("quantity"))["total"] == 3


@pytest.mark.django_db(transaction=True)
def test_a_whole_day_and_its_points_writing_pickup_lines_at_once_write_each_line_once(pickup_day):
    """The whole-day writer inserts without ON CONFLICT: the wave row lock keeps point writers out meanwhile."""
    from grouporders.models import LineStatus, OrderLine
    from pickup.models import PickupLine
    from pickup.services import ensure_pickup_lines
    from tests.conftest import run_concurrently

    day, (p1, p2) = pickup_day.delivery_date, pickup_day.points
    callers = [None, p1.pk, p2.pk, p1.pk, None, p2.pk, None, p1.pk]
    results = run_concurrently(len(callers), lambda i: ensure_pickup_lines(day, callers[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    active = OrderLine.objects.filter(status=LineStatus.ACTIVE, order__wave__delivery_date=day).count()
    assert sum(results) == active == PickupLine.objects.filter(delivery_date=day).count() == 6
