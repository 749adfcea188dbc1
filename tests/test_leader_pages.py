"""The group leader's pages: home, the order form (submit, replace, errors, cutoff), the order and its cancellation."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from grouporders.models import LeaderOrder, LineStatus, OrderLine, Resident, SalesWave
from tests.conftest import make_user, order_payload
from tests.test_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, browser  # noqa: F401 - the fixture, reused

# These tests compare the pages' English (tests/test_pages_chinese.py reads the Chinese).
pytestmark = [pytest.mark.django_db, pytest.mark.english]



def form_data(rows, *, initial=0, **buttons):
    """The order formset as the browser posts it; rows are dicts of the row's fields."""
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(initial), **buttons}
    for index, row in enumerate(rows):
        data.update({f"form-{index}-{name}": value for name, value in row.items()})
    return data


def row(name, phone, deal, quantity, consent=True):
    return {"name": name, "phone": phone, "deal": deal.pk, "quantity": quantity, **({"consent": "on"} if consent else {})}


@pytest.fixture
def point(network):
    return network["points"][0]


@pytest.fixture
def leader_client(client, leader):
    client.force_login(leader)
    return client


@pytest.fixture
def submitted_order(leader_api, wave, deals, point):
    """An order of two lines submitted through the API: 2 × 12.50 and 3 × 3.99."""
    response = leader_api.post(
        "/api/orders", order_payload(wave, point, [("Wang", "13800138000", deals[0], 2), ("Li", "13900139000", deals[1], 3)])
    )
    return LeaderOrder.objects.get(pk=response.json()["id"])


def test_pages_send_anonymous_users_to_the_login_page(client, submitted_order, point):
    for path in ("/leader/", f"/leader/orders/new?point={point.pk}", f"/leader/orders/{submitted_order.pk}"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_warehouse_staff_get_403(client, submitted_order, point):
    client.force_login(make_user("picker", "warehouse"))
    for path in ("/leader/", f"/leader/orders/new?point={point.pk}", f"/leader/orders/{submitted_order.pk}"):
        assert client.get(path).status_code == 403


def test_home_shows_the_open_wave_deals_points_and_orders(leader_client, submitted_order, deals, network):
    page = leader_client.get("/leader/").content.decode()
    assert "closes in" in page
    assert "红富士苹果 1kg/袋" in page and "¥12.50" in page and "¥3.99" in page
    assert ">17<" in page  # 20 units of the limited deal, 3 sold
    assert "翠苑一区3幢" in page and "金色家园南门便利店" in page and "文新街道丰潭路12号店" not in page  # the other leader's point
    assert f"/leader/orders/{submitted_order.pk}/edit" in page  # point 1 has its order: edit it
    assert f"/leader/orders/new?point={network['points'][1].pk}" in page
    assert "¥36.97<" in page  # 2 × 12.50 + 3 × 3.99


def test_submitting_the_form_creates_the_order_and_shows_it(leader_client, wave, deals, point):
    response = leader_client.post(
        f"/leader/orders/new?point={point.pk}",
        form_data([row("Wang", "138 0013 8000", deals[0], 2), row("Li", "13900139000", deals[1], 3), {}], save=""),
    )
    order = LeaderOrder.objects.get(pickup_point=point, wave=wave)
    assert response.status_code == 302 and response["Location"] == f"/leader/orders/{order.pk}"
    lines = order.lines.order_by("id")
    assert [(line.resident.name, line.resident.phone_masked, line.deal_id, line.quantity) for line in lines] == [
        ("Wang", "138****8000", deals[0].pk, 2),
        ("Li", "139****9000", deals[1].pk, 3),
    ]
    page = leader_client.get(response["Location"]).content.decode()
    assert "saved with 2 lines" in page and "138****8000" in page and "¥36.97" in page and "Total of 2 active lines" in page


@pytest.mark.parametrize(
    "quantity, status, message",
    [
        ("9", 422, "row 2, quantity: quantity 9 is above the limit of 5 per resident"),
        ("0", 422, "row 2, quantity: quantity must be at least 1"),
        ("many", 422, "row 2, quantity: Enter a whole number."),
        ("", 422, "row 2, quantity: required"),
    ],
)
def test_a_bad_quantity_names_the_field_keeps_the_input_and_stores_nothing(
    leader_client, wave, deals, point, quantity, status, message
):
    response = leader_client.post(
        f"/leader/orders/new?point={point.pk}",
        form_data([row("Wang", "13800138000", deals[0], "2"), row("Li", "13900139000", deals[1], quantity)], save=""),
    )
    page = response.content.decode()
    assert response.status_code == status
    assert "Nothing was saved." in page and message in page
    assert 'value="Wang"' in page and 'value="13900139000"' in page and f'value="{quantity}"' in page
    assert not LeaderOrder.objects.exists() and not OrderLine.objects.exists() and not Resident.objects.exists()


@pytest.mark.parametrize(
    "second_row, message",
    [
        (lambda deals: row("Wang", "+86 138 0013 8000", deals[0], "1"), "row 2: the same resident and deal appear twice"),
        (lambda deals: row("Li", "12ab", deals[0], "1"), "row 2, phone: not a valid phone number"),
        (lambda deals: row("  ", "13900139000", deals[0], "1"), "row 2, resident name: required"),
        (lambda deals: {"name": "Li", "phone": "13900139000", "quantity": "1"}, "row 2, deal: required"),
    ],
)
def test_other_bad_rows_are_named_by_row_and_field(leader_client, wave, deals, point, second_row, message):
    rows = [row("Wang", "13800138000", deals[0], "2"), second_row(deals)]
    response = leader_client.post(f"/leader/orders/new?point={point.pk}", form_data(rows, save=""))
    assert response.status_code == 422 and message in response.content.decode()
    assert not LeaderOrder.objects.exists() and not Resident.objects.exists()


def test_a_sold_out_deal_is_shown_for_the_whole_form(leader_client, other_leader_api, wave, deals, network, point):
    residents = [(f"R{i}", f"1370000000{i}", deals[1], 5) for i in range(4)]
    other_leader_api.post("/api/orders", order_payload(wave, network["points"][2], residents))  # all 20 units
    response = leader_client.post(
        f"/leader/orders/new?point={point.pk}", form_data([row("Wang", "13800138000", deals[1], "1")], save="")
    )
    assert response.status_code == 409
    assert "lines: deal" in response.content.decode() and "has only 0 left" in response.content.decode()
    assert not LeaderOrder.objects.filter(pickup_point=point).exists()


def test_rows_are_added_and_removed_without_losing_what_was_typed(leader_client, wave, deals, point):
    url = f"/leader/orders/new?point={point.pk}"
    typed = [row("Wang", "13800138000", deals[0], "2"), row("Zhao", "13700137000", deals[0], "1")]
    added = leader_client.post(url, form_data(typed, add_row="1")).content.decode()
    assert 'name="form-TOTAL_FORMS" value="3"' in added and 'value="Wang"' in added and 'value="Zhao"' in added
    assert "required" not in added and not LeaderOrder.objects.exists()

    removed = leader_client.post(url, form_data(typed, remove_row="form-1")).content.decode()
    assert 'value="Wang"' in removed and 'value="Zhao"' not in removed and 'name="form-1-name"' not in removed
    # The removed row's inputs are gone from the page, so the next submission leaves it out.
    leader_client.post(url, form_data([typed[0], {}], save=""))
    assert [line.resident.name for line in OrderLine.objects.all()] == ["Wang"]


def test_editing_shows_the_saved_lines_and_replaces_the_order(leader_client, submitted_order, deals, point):
    url = f"/leader/orders/{submitted_order.pk}/edit"
    page = leader_client.get(url).content.decode()
    wang = submitted_order.lines.get(resident__name="Wang").resident
    assert 'value="Wang"' in page and 'placeholder="138****8000"' in page and f'value="{wang.pk}"' in page
    assert leader_client.get(f"/leader/orders/new?point={point.pk}")["Location"] == url

    # A saved row keeps its resident without the phone being typed again.
    response = leader_client.post(url, form_data([row("Wang", "", deals[0], "5") | {"resident_id": wang.pk}], initial=2, save=""))
    assert response.status_code == 302
    assert [(line.resident_id, line.quantity) for line in submitted_order.lines.all()] == [(wang.pk, 5)]


def test_a_resident_id_from_elsewhere_is_refused_and_nothing_changes(
    leader_client, submitted_order, deals, point, other_leader_api, wave, network
):
    other = other_leader_api.post("/api/orders", order_payload(wave, network["points"][2], [("Zhou", "13700137000", deals[0], 1)]))
    stranger = LeaderOrder.objects.get(pk=other.json()["id"]).lines.get().resident_id
    url = f"/leader/orders/{submitted_order.pk}/edit"
    response = leader_client.post(url, form_data([row("Zhou", "", deals[0], "1") | {"resident_id": stranger}], initial=2, save=""))
    assert response.status_code == 422 and "enter their phone" in response.content.decode()
    assert sorted(submitted_order.lines.values_list("resident__name", "quantity")) == [("Li", 3), ("Wang", 2)]


def test_another_leaders_order_and_point_answer_404(client, submitted_order, other_leader, network, deals):
    client.force_login(other_leader)
    order = submitted_order.pk
    assert client.get(f"/leader/orders/{order}").status_code == 404
    assert client.get(f"/leader/orders/{order}/edit").status_code == 404
    assert client.post(f"/leader/orders/{order}/edit", form_data([row("X", "13600136000", deals[0], "1")], save="")).status_code == 404
    assert client.post(f"/leader/orders/{order}/cancel").status_code == 404
    line = submitted_order.lines.first().pk
    assert client.post(f"/leader/orders/{order}/lines/{line}/cancel").status_code == 404
    assert client.get(f"/leader/orders/new?point={network['points'][0].pk}").status_code == 404
    assert client.get("/leader/orders/new?point=abc").status_code == 404
    assert client.get("/leader/orders/new?point=²").status_code == 404
    assert submitted_order.lines.filter(status=LineStatus.ACTIVE).count() == 2


def test_after_the_cutoff_the_form_is_read_only_and_changes_are_refused(leader_client, submitted_order, wave, deals):
    SalesWave.objects.filter(pk=wave.pk).update(cutoff_at=timezone.now() - timedelta(minutes=1))
    url = f"/leader/orders/{submitted_order.pk}/edit"
    page = leader_client.get(url).content.decode()
    assert "orders can no longer change" in page and "Replace the order" not in page
    assert 'name="form-0-name" value="Wang" maxlength="100" disabled' in page

    response = leader_client.post(url, form_data([row("Wang", "13800138000", deals[0], "9")], initial=2, save=""))
    assert response.status_code == 409 and "orders can no longer change" in response.content.decode()
    assert sorted(submitted_order.lines.values_list("quantity", flat=True)) == [2, 3]

    detail = leader_client.get(f"/leader/orders/{submitted_order.pk}").content.decode()
    assert "locked" in detail and "Cancel the order" not in detail
    followed = leader_client.post(f"/leader/orders/{submitted_order.pk}/cancel", follow=True).content.decode()
    assert "is closed" in followed and submitted_order.lines.filter(status=LineStatus.ACTIVE).count() == 2


def test_lines_and_orders_are_cancelled_with_a_post(leader_client, submitted_order):
    order = submitted_order
    line = order.lines.get(resident__name="Li")
    assert leader_client.get(f"/leader/orders/{order.pk}/lines/{line.pk}/cancel").status_code == 405
    page = leader_client.post(f"/leader/orders/{order.pk}/lines/{line.pk}/cancel", follow=True).content.decode()
    assert "Line cancelled." in page and "Total of 1 active line" in page and "¥25.00" in page
    line.deal.refresh_from_db()
    assert line.deal.sold_quantity == 0  # the limited units are free again

    page = leader_client.post(f"/leader/orders/{order.pk}/cancel", follow=True).content.decode()
    assert "Order cancelled." in page and "Total of 0 active lines" in page
    assert not order.lines.filter(status=LineStatus.ACTIVE).exists()


def test_an_operator_sees_any_order_but_changes_none(client, submitted_order, point):
    client.force_login(make_user("boss", "operator"))
    page = client.get(f"/leader/orders/{submitted_order.pk}").content.decode()
    assert "Wang" in page and "¥36.97" in page and "Cancel" not in page
    assert f"/leader/orders/{submitted_order.pk}" in client.get("/leader/").content.decode()
    assert client.get(f"/leader/orders/{submitted_order.pk}/edit").status_code == 404
    assert client.get(f"/leader/orders/new?point={point.pk}").status_code == 404


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
@pytest.mark.django_db(transaction=True)
def test_a_leader_submits_an_order_in_the_browser(browser, live_server, leader, wave, deals, point):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(f"{live_server.url}/leader/orders/new?point={point.pk}")
    assert "/accounts/login/" in browser.current_url
    browser.find_element(By.ID, "id_username").send_keys("leader1")
    browser.find_element(By.ID, "id_password").send_keys("pw-leader1")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "order-form")))

    def fill(index, name, phone, deal, quantity):
        browser.find_element(By.NAME, f"form-{index}-name").send_keys(name)
        browser.find_element(By.NAME, f"form-{index}-phone").send_keys(phone)
        browser.find_element(By.NAME, f"form-{index}-consent").click()
        Select(browser.find_element(By.NAME, f"form-{index}-deal")).select_by_value(str(deal.pk))
        browser.find_element(By.NAME, f"form-{index}-quantity").send_keys(quantity)

    fill(0, "Wang", "13800138000", deals[0], "2")
    browser.find_element(By.CSS_SELECTOR, "button[name=add_row]").click()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.NAME, "form-1-name")))
    fill(1, "Li", "13900139000", deals[1], "3")
    browser.find_element(By.CSS_SELECTOR, "button[name=save].primary").click()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "order-totals")))

    number = LeaderOrder.objects.get().pk
    assert "¥36.97" in browser.find_element(By.ID, "order-totals").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#order-lines tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == ["138****8000", "139****9000"]
    assert OrderLine.objects.count() == 2 and sum(line.quantity * line.unit_price for line in OrderLine.objects.all()) == Decimal("36.97")

    # The header's language switch: the same page comes back in the language chosen, and stays so on the next page.
    def switch_to(language, heading):
        Select(browser.find_element(By.CSS_SELECTOR, "header select[name=language]")).select_by_value(language)
        WebDriverWait(browser, 15).until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), heading))
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language

    switch_to("en", "Order")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Order {number} for 翠苑一区3幢"
    assert "Total of 2 active lines" in browser.find_element(By.ID, "order-totals").text
    switch_to("zh-hans", "订单")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"订单 {number} · 翠苑一区3幢"
    assert "共 2 个有效订单行" in browser.find_element(By.ID, "order-totals").text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "leader-order.png"))
    browser.get(f"{live_server.url}/leader/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "团长"
