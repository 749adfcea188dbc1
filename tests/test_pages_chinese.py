"""The pages in the users' language: Chinese by default, English when the browser asks for it (Accept-Language)
or the header's switch chose it (kept in the session); money as ¥0.00, days as 12月5日 周六, phones masked."""
import html
import re

import pytest
from django.test import Client

from grouporders.models import LeaderOrder
from routing import services as routing_services
from tests.conftest import make_user, order_payload
from tests.fixtures_routing import make_driver, make_vehicle

pytestmark = pytest.mark.django_db

WEEKDAYS = "一二三四五六日"


def chinese_day(d) -> str:
    return f"{d.month}月{d.day}日 周{WEEKDAYS[d.weekday()]}"


def visible_text(page: str) -> str:
    """What a person reads: the page without scripts, styles and tags (attributes people read are kept)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    shown_attributes = " ".join(re.findall(r'(?:placeholder|aria-label|title|data-[a-z]+)="([^"/]*)"', page))
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page + " " + shown_attributes))


def log_in(user, **headers) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


@pytest.fixture
def submitted_order(leader_api, wave, deals, network):
    """Two lines: 2 × 12.50 and 3 × 3.99."""
    payload = order_payload(wave, network["points"][0], [("王芳", "13800138000", deals[0], 2), ("李强", "13900139000", deals[1], 3)])
    response = leader_api.post("/api/orders", payload)
    assert response.status_code in (200, 201), response.content
    return LeaderOrder.objects.get(pk=response.json()["id"])


# --- the language ---


def test_pages_are_chinese_by_default(leader, submitted_order):
    page = log_in(leader).get("/leader/").content.decode()  # no Accept-Language, no choice made
    assert '<html lang="zh-hans">' in page
    assert "社区团购履约" in page and "<h1>团长</h1>" in page and "后截单" in page
    assert ">订单</a>" in page and ">提货</a>" in page and ">对账单</a>" in page  # the header's links
    assert "王丽" in page  # the user, surname first
    assert chinese_day(submitted_order.wave.delivery_date) in page
    assert '<option value="zh-hans" selected>简体中文</option>' in page and '<option value="en">English</option>' in page


def test_accept_language_en_gives_english(leader, submitted_order):
    page = log_in(leader, HTTP_ACCEPT_LANGUAGE="en").get("/leader/").content.decode()
    assert '<html lang="en">' in page
    assert "Group-buy fulfilment" in page and "<h1>Group leader</h1>" in page and ">Orders</a>" in page
    assert "团长" not in page and "截单" not in page
    assert '<option value="en" selected>English</option>' in page


def test_the_switch_keeps_the_choice_in_the_session(leader, submitted_order):
    client = log_in(leader, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/leader/"})
    assert response.status_code == 302 and response["Location"] == "/leader/"
    assert "<h1>Group leader</h1>" in client.get("/leader/").content.decode()
    assert "Order " in client.get(f"/leader/orders/{submitted_order.pk}").content.decode()  # and on the next page
    # The choice beats the browser's language, both ways.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/leader/"})
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "<h1>团长</h1>" in client.get("/leader/").content.decode()


def test_the_login_page_is_chinese_with_the_switch():
    page = Client().get("/accounts/login/").content.decode()
    assert '<html lang="zh-hans">' in page and "<h1>登录</h1>" in page and "用户名" in page and "密码" in page
    assert 'action="/i18n/setlang/"' in page and 'name="next" value="/accounts/login/"' in page
    wrong = Client().post("/accounts/login/", {"username": "nobody", "password": "x"}).content.decode()
    assert "用户名或密码错误" in wrong
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accounts/login/").content.decode()
    assert "<h1>Log in</h1>" in english and "Username" in english


def test_logging_out_shows_our_own_page(leader):
    page = log_in(leader).post("/accounts/logout/").content.decode()
    assert "<h1>已退出登录</h1>" in page and 'href="/accounts/login/"' in page and "社区团购履约" in page


def test_logging_in_leads_to_the_first_page_of_the_users_roles(leader, db):
    assert log_in(leader).get("/")["Location"] == "/leader/"
    assert log_in(make_user("picker", "warehouse")).get("/")["Location"] == "/warehouse/pick-lists/"
    assert Client().get("/")["Location"] == "/api/docs"


def test_403_and_404_pages_are_chinese(leader, submitted_order):
    refused = log_in(make_user("picker", "warehouse")).get("/leader/")
    assert refused.status_code == 403
    assert "无权访问" in refused.content.decode() and "此页面仅限：团长、运营。" in refused.content.decode()
    missing = log_in(leader).get("/leader/orders/999999")
    assert missing.status_code == 404 and "页面不存在" in missing.content.decode()


# --- money, days, phones, statuses ---


def test_money_shows_as_yuan_with_two_decimals(leader, submitted_order):
    client = log_in(leader)
    home = client.get("/leader/").content.decode()
    assert "¥12.50" in home and "¥3.99" in home and "¥36.97" in home  # 2 × 12.50 + 3 × 3.99
    order = client.get(f"/leader/orders/{submitted_order.pk}").content.decode()
    assert "¥25.00" in order and "¥11.97" in order and "¥36.97" in order
    assert "共 2 个有效订单行" in order


def test_phones_are_masked_and_statuses_translated(leader, submitted_order):
    order = visible_text(log_in(leader).get(f"/leader/orders/{submitted_order.pk}").content.decode())
    assert "138****8000" in order and "139****9000" in order
    assert "13800138000" not in order and "13900139000" not in order
    assert "active" not in order  # the line's status by its label


def test_flash_messages_are_chinese(leader, wave, deals, network):
    client = log_in(leader)
    point = network["points"][0]
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0", "save": "", "form-0-name": "王芳", "form-0-phone": "13800138000",
            "form-0-consent": "on", "form-0-deal": deals[0].pk, "form-0-quantity": "2"}
    response = client.post(f"/leader/orders/new?point={point.pk}", data)
    assert response.status_code == 302
    assert f"{point.name} 的订单已保存，共 1 行。" in client.get(response["Location"]).content.decode()
    errors = client.post(f"/leader/orders/new?point={network['points'][1].pk}", {**data, "form-0-quantity": "many"})
    assert errors.status_code == 422 and "没有保存任何内容" in errors.content.decode()
    assert "第 1 行，数量：" in errors.content.decode()  # which field to fix, in Chinese


# --- every page of every role speaks Chinese ---

# Latin text a Chinese page may show: codes, units and abbreviations of the fixtures and the trade.
ALLOWED_LATIN = {"SKU1", "SKU2", "SKU3", "RICE5", "P1", "P2", "P3", "D1", "VAN", "PDF", "CSV", "GMV", "WAPE", "km", "bag",
                 "English", "QR", "MOQ", "kg"}


@pytest.fixture
def driven_day(pickup_day, network):
    """The pickup day with a planned route driven by driver-1."""
    driver = make_driver("driver-1", make_vehicle(network["depot"], "VAN-1"))
    routing_services.plan_depot_routes(depot_id=network["depot"].pk, delivery_date=pickup_day.delivery_date, time_limit_seconds=0.2)
    return pickup_day, driver


def test_no_english_is_left_on_the_chinese_pages(driven_day, leader):
    day, driver = driven_day
    d, point = day.delivery_date.isoformat(), day.points[0]
    order = LeaderOrder.objects.filter(pickup_point=point).first()
    pages = {
        leader: ["/leader/", f"/leader/orders/{order.pk}", f"/leader/orders/{order.pk}/edit", f"/pickup/?point={point.pk}&date={d}",
                 "/pickup/statement/"],
        driver.user: [f"/routing/driver/?date={d}"],
        make_user("staff", "warehouse", "procurement"): [f"/warehouse/pick-lists/?date={d}", f"/procurement/?date={d}",
                                                         f"/procurement/receipts/?due={d}"],
        make_user("ops", "operator"): [f"/dashboard/?date={d}"],
    }
    leftovers = {}
    for user, paths in pages.items():
        client = log_in(user)  # a user without a name is shown by the username
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            words = set(re.findall(r"[A-Za-z][A-Za-z0-9_-]*", visible_text(response.content.decode()))) - ALLOWED_LATIN
            words = {w for w in words - {"driver-1", "staff", "ops"} if not re.fullmatch(r"(VAN|P|D|SKU)[\w-]*|R\d+[\w-]*", w)}
            if words:
                leftovers[path] = sorted(words)
    assert leftovers == {}



def test_switching_the_language_on_a_page_answering_a_post_comes_back_by_get(leader, pickup_day):
    client = log_in(leader)
    point, day = pickup_day.points[0], pickup_day.delivery_date.isoformat()
    page = client.post("/pickup/code", {"point": point.pk, "date": day, "code": "000000"}).content.decode()
    back = f"/pickup/?point={point.pk}&amp;date={day}"
    assert f'name="next" value="{back}"' in page
    response = client.post("/i18n/setlang/", {"language": "en", "next": html.unescape(back)})
    assert client.get(response["Location"]).status_code == 200
