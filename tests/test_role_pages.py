"""The role pages through the Django test client: the leader's delivery, receipt and pickup-code check at
/pickup/, the warehouse's goods receipts at /procurement/receipts/, and the header's links per role."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from pickup.models import Claim, Collection, PickupLine, Receipt
from procurement.models import GoodsReceipt, PurchaseOrderState
from routing import services as routing_services
from tests.conftest import make_user
from tests.fixtures_routing import make_driver, make_vehicle
from tests.test_pickup_api import issue
from warehouse.models import Lot

# These tests compare the pages' English (tests/test_pages_chinese.py reads the Chinese).
pytestmark = [pytest.mark.django_db, pytest.mark.english]



@pytest.fixture
def leader_client(client, leader):
    client.force_login(leader)
    return client


@pytest.fixture
def codes(pickup_day, operator_api):
    """The day's pickup codes by resident name, as the SMS sender would hand them out."""
    return issue(operator_api, pickup_day)


def day_form(day, point, **fields):
    return {"date": day.delivery_date.isoformat(), "point": point.pk, **fields}


def line_of(day, name, product) -> PickupLine:
    return PickupLine.objects.get(order_line=day.line(name, product))


# --- who may see what ---


def test_anonymous_users_go_to_the_login_page(client, pickup_day, sent_order):
    for path in ("/pickup/", "/procurement/receipts/", f"/procurement/receipts/purchase-orders/{sent_order.pk}"):
        response = client.get(path) if path.endswith("/") else client.post(path, {})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), path
    for path in ("/pickup/receipt", "/pickup/code"):
        assert client.post(path, day_form(pickup_day, pickup_day.points[0]))["Location"].startswith("/accounts/login/")


def test_other_roles_get_403(client, pickup_day, sent_order):
    client.force_login(make_user("driver", "driver"))
    assert client.get("/pickup/").status_code == 403
    assert client.post("/pickup/code", day_form(pickup_day, pickup_day.points[0], code="123456")).status_code == 403
    assert client.get("/procurement/receipts/").status_code == 403
    client.force_login(make_user("lead", "leader"))
    assert client.get("/procurement/receipts/").status_code == 403
    assert client.post(f"/procurement/receipts/purchase-orders/{sent_order.pk}", {}).status_code == 403


def test_another_leaders_point_is_404_and_nothing_is_written(client, pickup_day, other_leader, codes):
    client.force_login(other_leader)
    p1 = pickup_day.points[0]
    assert client.get("/pickup/", {"point": p1.pk}).status_code == 404
    assert client.get("/pickup/", {"point": "x"}).status_code == 404
    count = day_form(pickup_day, p1, **{f"received_{pickup_day.rice.pk}": 6})
    assert client.post("/pickup/receipt", count).status_code == 404
    assert client.post("/pickup/code", day_form(pickup_day, p1, code=codes["王芳"], hand_over="all")).status_code == 404
    assert not Receipt.objects.exists() and not Collection.objects.exists()


# --- the delivery and its receipt ---


def test_the_delivery_shows_the_stops_eta_what_the_van_brings_and_what_was_handed_over(leader_client, pickup_day, network):
    day, p1 = pickup_day, pickup_day.points[0]
    page = leader_client.get("/pickup/", {"point": p1.pk, "date": day.delivery_date}).content.decode()
    assert "No route is planned to this point" in page

    driver = make_driver("driver-1", make_vehicle(network["depot"], "VAN-1"))
    routing_services.plan_depot_routes(depot_id=network["depot"].pk, delivery_date=day.delivery_date, time_limit_seconds=0.2)
    stop = p1.route_stops.get()
    routing_services.confirm_delivery(user=driver.user, stop_id=stop.pk, delivered=[(day.rice.pk, 5)])

    response = leader_client.get("/pickup/", {"point": p1.pk, "date": day.delivery_date})
    page = response.content.decode()
    assert f"expected at <strong>{timezone.localtime(stop.eta):%H:%M}</strong>" in page
    rows = {d["product"].sku: (d["product"].expected, d["on_van"], d["handed_over"]) for d in response.context["deliveries"]}
    assert rows == {day.apples.sku: (3, 3, 3), "RICE5": (6, 6, 5)}
    # The count starts from what the driver says was handed over; the leader corrects it.
    assert f'name="received_{day.rice.pk}" value="5"' in page


def test_a_short_receipt_opens_claims_that_the_page_shows(leader_client, pickup_day):
    day, p1 = pickup_day, pickup_day.points[0]
    response = leader_client.post("/pickup/receipt", day_form(day, p1, **{f"received_{day.rice.pk}": "2", f"received_{day.apples.pk}": ""}))
    assert response.status_code == 302
    # Only rice was counted; the apples can be confirmed later.
    assert list(Receipt.objects.values_list("product_id", "received_quantity")) == [(day.rice.pk, 2)]
    page = leader_client.get(response["Location"])
    text = page.content.decode()
    assert "Receipt of 1 product(s) confirmed. 1 came short" in text
    assert "-4: claims opened" in text
    claims = [(c.pickup_line.resident.name, c.pickup_line.resident.phone_masked, c.quantity) for c in page.context["receipt_claims"]]
    assert claims == [("李强", "138****0002", 1), ("蔡敏", "138****0003", 3)]
    assert f'name="received_{day.apples.pk}"' in text and f'name="received_{day.rice.pk}"' not in text


def test_a_bad_count_confirms_nothing_and_keeps_what_was_typed(leader_client, pickup_day):
    day, p1 = pickup_day, pickup_day.points[0]
    typed = {f"received_{day.rice.pk}": "6", f"received_{day.apples.pk}": "-1"}
    response = leader_client.post("/pickup/receipt", day_form(day, p1, **typed))
    page = response.content.decode()
    assert response.status_code == 422 and "Nothing was confirmed" in page
    assert f"{day.apples.name} received: Ensure this value is greater than or equal to 0." in page
    assert f'name="received_{day.rice.pk}" value="6"' in page and f'name="received_{day.apples.pk}" value="-1"' in page
    empty = leader_client.post("/pickup/receipt", day_form(day, p1))
    assert empty.status_code == 422 and "enter what arrived of at least one product" in empty.content.decode()
    assert not Receipt.objects.exists() and not Claim.objects.exists()


def test_a_count_for_a_product_confirmed_meanwhile_is_refused_whole(leader_client, leader_api, pickup_day):
    day, p1 = pickup_day, pickup_day.points[0]
    leader_api.post("/api/pickup/receipts", {"delivery_date": day.delivery_date.isoformat(), "pickup_point_id": p1.pk,
                                             "lines": [{"product_id": day.rice.pk, "received_quantity": 6}]})
    # The page was opened before: it still posts a count for rice, with one for the apples.
    typed = {f"received_{day.rice.pk}": "5", f"received_{day.apples.pk}": "3"}
    response = leader_client.post("/pickup/receipt", day_form(day, p1, **typed))
    page = response.content.decode()
    assert response.status_code == 409 and f"products [{day.rice.pk}] were already confirmed" in page
    assert f'name="received_{day.apples.pk}" value="3"' in page
    assert list(Receipt.objects.values_list("product_id", "received_quantity")) == [(day.rice.pk, 6)]


# --- the pickup-code check ---


def test_a_code_shows_the_residents_lines_without_handing_anything_over(leader_client, pickup_day, codes):
    day, p1 = pickup_day, pickup_day.points[0]
    response = leader_client.post("/pickup/code", day_form(day, p1, code=codes["王芳"]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>王芳</strong> 138****0001" in page and "13800000001" not in page
    # Ann: 4 apples ordered, 2 short (3 in stock shared with Bob's 2), 2 rice; each field starts at what is left.
    rows = {line.product.sku: (line.collectable_quantity, field.value()) for line, field in response.context["hand_over"].rows}
    assert rows == {day.apples.sku: (2, 2), "RICE5": (2, 2)}
    assert f'name="code" value="{codes["王芳"]}"' in page
    assert not Collection.objects.exists()


def test_the_leader_hands_over_some_then_everything_left(leader_client, pickup_day, codes):
    day, p1 = pickup_day, pickup_day.points[0]
    apples, rice = line_of(day, "王芳", day.apples), line_of(day, "王芳", day.rice)
    some = {f"quantity_{apples.order_line_id}": "0", f"quantity_{rice.order_line_id}": "1"}
    response = leader_client.post("/pickup/code", day_form(day, p1, code=codes["王芳"], hand_over="entered", **some))
    assert response.status_code == 302
    assert "Handed over to 王芳 (138****0001): 东北大米 5kg/袋 × 1." in leader_client.get(response["Location"]).content.decode()
    assert [(c.pickup_line_id, c.quantity) for c in Collection.objects.all()] == [(rice.pk, 1)]

    response = leader_client.post("/pickup/code", day_form(day, p1, code=codes["王芳"], hand_over="all"))
    assert response.status_code == 302
    apples.refresh_from_db(), rice.refresh_from_db()
    assert (apples.collected_quantity, rice.collected_quantity) == (2, 2)
    again = leader_client.post("/pickup/code", day_form(day, p1, code=codes["王芳"]))
    assert "Everything of this resident was collected or returned." in again.content.decode()


def test_hand_over_errors_name_the_line_and_hand_over_nothing(leader_client, pickup_day, codes):
    day, p1 = pickup_day, pickup_day.points[0]
    apples, rice = line_of(day, "王芳", day.apples), line_of(day, "王芳", day.rice)
    too_many = {f"quantity_{apples.order_line_id}": "1", f"quantity_{rice.order_line_id}": "5"}
    response = leader_client.post("/pickup/code", day_form(day, p1, code=codes["王芳"], hand_over="entered", **too_many))
    page = response.content.decode()
    assert response.status_code == 422 and "Nothing was handed over" in page
    assert f"东北大米 5kg/袋: between 1 and 2 of order line {rice.order_line_id} can be collected" in page
    assert f'name="quantity_{rice.order_line_id}" value="5"' in page  # as typed
    nothing = {f"quantity_{apples.order_line_id}": "0", f"quantity_{rice.order_line_id}": "0"}
    response = leader_client.post("/pickup/code", day_form(day, p1, code=codes["王芳"], hand_over="entered", **nothing))
    assert response.status_code == 422 and "enter a quantity to hand over on at least one line" in response.content.decode()
    assert not Collection.objects.exists()


def test_a_wrong_code_says_so_and_keeps_what_was_typed(leader_client, pickup_day, codes):
    day, p1 = pickup_day, pickup_day.points[0]
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in codes.values())
    response = leader_client.post("/pickup/code", day_form(day, p1, code=wrong, hand_over="all"))
    page = response.content.decode()
    assert response.status_code == 422 and "this pickup code is not valid at this point today" in page
    assert f'value="{wrong}"' in page and "Code valid" not in page
    # Dan's code is right, but at the other point.
    assert leader_client.post("/pickup/code", day_form(day, p1, code=codes["丁浩"])).status_code == 422
    assert leader_client.post("/pickup/code", day_form(day, p1, code="")).status_code == 422
    assert not Collection.objects.exists()


def test_too_many_wrong_codes_lock_the_point_until_a_time_shown(leader_client, pickup_day, codes, clock, leader_api):
    day, (p1, p2) = pickup_day, pickup_day.points
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in codes.values())
    clock.set(day.delivery_date, 10, 3)
    for _ in range(5):
        assert leader_client.post("/pickup/code", day_form(day, p1, code=wrong)).status_code == 422
    clock.set(day.delivery_date, 10, 5)
    response = leader_client.post("/pickup/code", day_form(day, p1, code=codes["王芳"], hand_over="all"))
    assert response.status_code == 429
    assert "verification is locked until 10:13" in response.content.decode()
    assert not Collection.objects.exists()
    # Locked through the API's wrong codes, the page knows until when just the same.
    clock.set(day.delivery_date, 10, 30)
    for _ in range(5):
        leader_api.post("/api/pickup/collect", {"delivery_date": day.delivery_date.isoformat(), "pickup_point_id": p2.pk, "code": wrong})
    response = leader_client.post("/pickup/code", day_form(day, p2, code=codes["丁浩"]))
    assert response.status_code == 429 and "verification is locked until 10:40" in response.content.decode()


# --- goods receipts at the warehouse ---


@pytest.fixture
def warehouse_client(client):
    client.force_login(make_user("receiver", "warehouse"))
    return client


def receipt_form(order, document_number, *rows):
    """rows: (order line, accepted, rejected, QC reason, expiry date) as typed."""
    data = {f"po{order.pk}-document_number": document_number}
    for line, accepted, rejected, reason, expiry in rows:
        prefix = f"po{order.pk}-line{line.pk}"
        data.update({f"{prefix}-accepted_quantity": accepted, f"{prefix}-rejected_quantity": rejected,
                     f"{prefix}-qc_reason": reason, f"{prefix}-expiry_date": expiry})
    return data


def test_receipts_list_the_open_orders_due(warehouse_client, sent_order):
    page = warehouse_client.get("/procurement/receipts/", {"due": sent_order.expected_on.isoformat()}).content.decode()
    assert sent_order.number in page and "SKU1" in page and "SKU2" in page
    earlier = (sent_order.expected_on - timedelta(days=1)).isoformat()
    assert sent_order.number not in warehouse_client.get("/procurement/receipts/", {"due": earlier}).content.decode()


def test_a_receipt_books_lots_and_shows_them(warehouse_client, sent_order):
    first, second = sent_order.lines.order_by("pk")
    expiry = (sent_order.expected_on + timedelta(days=3)).isoformat()
    data = receipt_form(sent_order, "GRN-1", (first, "40", "2", "bruised", expiry), (second, "", "", "", ""))
    response = warehouse_client.post(f"/procurement/receipts/purchase-orders/{sent_order.pk}", data)
    receipt = GoodsReceipt.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/procurement/receipts/{receipt.pk}/"
    lot = Lot.objects.get(reference__contains="GRN-1")
    assert (lot.product_id, lot.quantity, lot.expiry_date.isoformat()) == (first.product_id, 40, expiry)
    page = warehouse_client.get(response["Location"])
    text = page.content.decode()
    assert "Receipt GRN-1 booked" in text and f"lot {lot.pk}" in text and "bruised" in text
    assert "order now Partially received" in text
    sent_order.refresh_from_db()
    assert sent_order.state == PurchaseOrderState.PARTIALLY_RECEIVED


@pytest.mark.parametrize(
    "rows, status, message",
    [
        ([("40", "2", "", "")], 422, "SKU1 QC reason: say why goods were rejected"),
        ([("forty", "", "", "")], 422, "SKU1 accepted: Enter a whole number."),
        ([("70", "", "", "")], 422, "SKU1 accepted: SKU1: 0 of 60 already accepted; 70 more would exceed the 63 allowed"),
        ([("", "", "", "")], 422, "lines: enter an accepted or a rejected quantity on at least one line"),
        ([("10", "", "", "2000-01-01")], 422, "SKU1 expiry date: the goods would already be expired"),
    ],
)
def test_receipt_errors_name_the_field_keep_the_typing_and_book_nothing(warehouse_client, sent_order, rows, status, message):
    first = sent_order.lines.order_by("pk").first()
    data = receipt_form(sent_order, "GRN-E", *[(first, *row) for row in rows])
    response = warehouse_client.post(f"/procurement/receipts/purchase-orders/{sent_order.pk}", data)
    page = response.content.decode()
    assert response.status_code == status and "Nothing was booked." in page and message in page
    assert 'value="GRN-E"' in page and (not rows[0][0] or f'value="{rows[0][0]}"' in page)
    assert not GoodsReceipt.objects.exists() and not Lot.objects.filter(reference__contains="GRN").exists()


def test_a_document_number_booked_with_other_content_is_refused(warehouse_client, sent_order):
    first = sent_order.lines.order_by("pk").first()
    path = f"/procurement/receipts/purchase-orders/{sent_order.pk}"
    assert warehouse_client.post(path, receipt_form(sent_order, "GRN-1", (first, "10", "", "", ""))).status_code == 302
    response = warehouse_client.post(path, receipt_form(sent_order, "GRN-1", (first, "11", "", "", "")))
    assert response.status_code == 409
    assert "document number: receipt GRN-1 was already booked with other content" in response.content.decode()
    missing = warehouse_client.post(path, receipt_form(sent_order, "", (first, "11", "", "", "")))
    assert missing.status_code == 422 and "document number: This field is required." in missing.content.decode()
    assert GoodsReceipt.objects.count() == 1


# --- the header's links ---


def header_links(page: str) -> list[tuple[str, str]]:
    nav = re.search(r'<nav aria-label="Pages">(.*?)</nav>', page)
    return [(label, url) for url, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav[1])] if nav else []


@pytest.mark.parametrize(
    "roles, page, links",
    [
        (("leader",), "/leader/", [("Orders", "/leader/"), ("Pickup", "/pickup/"), ("Statement", "/pickup/statement/")]),
        (("driver",), "/routing/driver/", [("Route", "/routing/driver/")]),
        (("warehouse", "procurement"), "/procurement/receipts/", [
            ("Pick lists", "/warehouse/pick-lists/"), ("Goods receipts", "/procurement/receipts/"), ("Purchasing", "/procurement/"),
        ]),
        (("operator",), "/dashboard/", [("Dashboard", "/dashboard/"), ("Admin", "/admin/")]),
    ],
)
def test_the_header_links_the_pages_of_the_users_roles(client, db, roles, page, links):
    client.force_login(make_user("someone", *roles))
    html = client.get(page).content.decode()
    assert header_links(html) == links
    assert f'<a href="{page}" aria-current="page">' in html


def test_the_login_page_has_no_links(client, db):
    assert header_links(client.get("/accounts/login/").content.decode()) == []
