"""Every role's pages on a phone (390×844) and a desktop (1366×900) in Chinese, in a real headless Chromium.

On the phone no page scrolls sideways, the main buttons are a thumb's size (44 px), and no English UI word
shows; a screenshot of every page at both sizes lands in var/test-artifacts/<role>-<page>-<size>.png.
Skipped where Debian's chromium and chromedriver are missing.
"""
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from core.models import Role
from core.templatetags.navigation import LINKS_OF_ROLE
from tests.conftest import make_user
from tests.test_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, _log_in, browser  # noqa: F401 - the fixture, reused
from tests.test_pipeline import ordered_day  # noqa: F401 - the fixture, reused

pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
    pytest.mark.django_db(transaction=True),
]

PHONE, DESKTOP = (390, 844), (1366, 900)
# Words of our English UI that must not show in the Chinese pages (whole words, any case). Product, point
# and people's names are Chinese in the fixtures; codes (SKU1, R1, VAN-1, PO-…) and CSV/PDF/KPI are fine.
ENGLISH_UI_WORDS = (
    "Delivery", "Deliver", "Delivered", "Arrived", "Pick list", "Pick lists", "Sort list", "Submit", "Show", "Save",
    "Cancel", "Orders", "Order", "Route", "Stops", "Log out", "Logout", "Statement", "Receipts", "Receipt",
    "Purchasing", "Purchase", "Dashboard", "Nothing", "Pickup", "Confirm", "Check", "Hand over", "Navigate",
    "Scan", "Product", "Quantity", "Total", "Leader", "Day", "Date", "Wave", "Deal", "Supplier", "Accept",
    "Reject", "Download", "Status", "Step", "Units", "crates", "Planned", "Zone", "Chilled", "Ambient",
    "Frozen", "Succeeded", "Failed", "Running", "Commission", "Payable", "Settled", "Expiry", "Stock",
    "Suggestion", "Forecast", "Received", "Due", "Open", "Closed", "Admin", "Welcome", "Documentation",
)
_ENGLISH = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in ENGLISH_UI_WORDS) + r")(?![A-Za-z])", re.I)
# The buttons a thumb presses (the admin keeps Django's own styles, so it is left out of this check).
MAIN_BUTTONS = "main button, main a.button, main input[type=submit], header nav a, header button"


@pytest.fixture
def day_of_every_role(ordered_day, sent_order, supplier_terms, depot_forecast, network, leader):  # noqa: F811
    """The night has run for the day (routes, pick lists, codes), a purchase order and a suggestion wait,
    a resident has collected (so the statement has a line), and the next wave is open for orders."""
    from django.core.management import call_command

    from grouporders import services as order_services
    from grouporders.models import LeaderOrder
    from pickup import services as pickup_services
    from pickup.models import PickupLine
    from procurement import services as procurement_services

    day = ordered_day.delivery_date
    depot_forecast((0, 200.0, 196, 230, 262))
    procurement_services.suggest_purchases(delivery_date=day)
    call_command("pipeline", "start", "--date", day.isoformat())
    p1 = network["points"][0]
    line = PickupLine.objects.filter(delivery_date=day, pickup_point=p1).order_by("pk").first()
    code = pickup_services.reissue_pickup_code(delivery_date=day, resident_id=line.resident_id).code
    pickup_services.collect_with_code(user=leader, delivery_date=day, pickup_point_id=p1.pk, code=code)
    next_wave = order_services.create_wave(delivery_date=day + timedelta(days=1))
    order_services.create_deal(wave_id=next_wave.pk, product_id=network["products"][2].pk, price=Decimal("19.90"))
    make_user("picker", Role.WAREHOUSE)
    make_user("ops", Role.OPERATOR, is_staff=True, is_superuser=True)
    order = LeaderOrder.objects.filter(leader__user=leader, pickup_point=p1, wave=ordered_day).get()
    d = day.isoformat()
    # Per role: (user, [(page name, path)]) - every header link of the role, with the day's parameters.
    return {
        "leader": ("leader1", [
            ("orders", reverse("grouporders:home")),
            ("order-form", f"{reverse('grouporders:new-order')}?point={p1.pk}&wave={next_wave.pk}"),
            ("order", reverse("grouporders:order", args=[order.pk])),
            ("pickup", f"{reverse('pickup:point-day')}?point={p1.pk}&date={d}"),
            ("statement", reverse("pickup:statement")),
        ]),
        "driver": ("driver-1", [("route", f"{reverse('routing:driver-route')}?date={d}")]),
        "warehouse": ("picker", [
            ("pick-lists", f"{reverse('warehouse-pick-lists')}?date={d}"),
            ("receipts", f"{reverse('procurement:receipts')}?due={d}"),
        ]),
        "procurement": ("buyer", [
            ("purchasing", f"{reverse('procurement:overview')}?date={d}"),
            ("receipts", f"{reverse('procurement:receipts')}?due={d}"),
        ]),
        "operator": ("ops", [
            ("dashboard", f"{reverse('dashboard')}?date={d}"),
            ("admin", reverse("admin:index")),
        ]),
    }


def _resize(browser, width, height):
    """Make the page's viewport (window.innerWidth) the size asked for, whatever the window's frame takes."""
    browser.set_window_size(width, height)
    inner = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    if inner != [width, height]:
        browser.set_window_size(2 * width - inner[0], 2 * height - inner[1])
    assert browser.execute_script("return window.innerWidth") == width


def _screenshot(browser, name, width, height):
    """The whole page (the window grown to the page's height, up to 4000 px), then the size again."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    full = min(browser.execute_script("return document.documentElement.scrollHeight"), 4000)
    _resize(browser, width, max(height, full))
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    _resize(browser, width, height)


def _english_words(browser) -> list[str]:
    return sorted({m.group(0) for m in _ENGLISH.finditer(browser.execute_script("return document.body.innerText"))})


def _small_buttons(browser) -> list[str]:
    return browser.execute_script("""
        return Array.from(document.querySelectorAll(arguments[0]))
          .filter(e => e.offsetParent !== null && !e.closest('#header, #container'))  // visible; not Django admin's
          .map(e => [e.innerText.trim() || e.value || e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
          .filter(([, h]) => h < 44).map(([t, h]) => t + ' ' + Math.round(h) + 'px');
    """, MAIN_BUTTONS)


@pytest.mark.parametrize("role", ["leader", "driver", "warehouse", "procurement", "operator"])
def test_every_page_of_a_role_fits_a_phone_and_speaks_chinese(browser, live_server, day_of_every_role, role):
    username, pages = day_of_every_role[role]
    header_links = {reverse(url_name) for _, url_name in LINKS_OF_ROLE[Role(role)]}
    assert header_links <= {urlsplit(path).path for _, path in pages}, "a header link of the role is not visited"

    _log_in(browser, live_server, pages[0][1], username)
    assert browser.execute_script("return document.documentElement.lang") == "zh-hans"
    for page, path in pages:
        name = f"{role}-{page}"
        _resize(browser, *PHONE)
        browser.get(f"{live_server.url}{path}")
        assert "/accounts/login/" not in browser.current_url and "/admin/login/" not in browser.current_url, name
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{name} scrolls sideways on a phone: {width}"
        assert _english_words(browser) == [], f"{name} shows English"
        assert _small_buttons(browser) == [], f"{name} has buttons under 44 px on a phone"
        _screenshot(browser, f"{name}-phone", *PHONE)

        _resize(browser, *DESKTOP)
        browser.get(f"{live_server.url}{path}")
        assert _english_words(browser) == [], f"{name} shows English on a desktop"
        _screenshot(browser, f"{name}-desktop", *DESKTOP)


def test_the_drivers_navigation_link_gives_amap_gcj02_coordinates(browser, live_server, day_of_every_role, network):
    from selenium.webdriver.common.by import By

    from catalog.coordinates import wgs84_to_gcj02
    from catalog.models import PickupPoint

    username, [(_, path)] = day_of_every_role["driver"]
    _log_in(browser, live_server, path, username)
    _resize(browser, *PHONE)
    first_stop = browser.find_element(By.CSS_SELECTOR, ".stop")
    link = first_stop.find_element(By.CSS_SELECTOR, "a[href^='https://uri.amap.com/navigation']")
    assert link.text == "导航" and link.size["height"] >= 44
    lng, lat, point_name = parse_qs(urlsplit(link.get_attribute("href")).query)["to"][0].split(",", 2)
    point = PickupPoint.objects.get(name=point_name)
    assert point_name in first_stop.text
    expected_lat, expected_lng = wgs84_to_gcj02(float(point.latitude), float(point.longitude))
    assert (float(lat), float(lng)) == pytest.approx((expected_lat, expected_lng), abs=1e-6)
    # Not the stored WGS-84: in Hangzhou GCJ-02 lies a few hundred metres off.
    assert abs(float(lat) - float(point.latitude)) > 1e-3 and abs(float(lng) - float(point.longitude)) > 1e-3


def test_the_leaders_pickup_page_has_a_scan_button(browser, live_server, day_of_every_role):
    from selenium.webdriver.common.by import By

    username, pages = day_of_every_role["leader"]
    path = dict(pages)["pickup"]
    _log_in(browser, live_server, path, username)
    _resize(browser, *PHONE)
    scan = browser.find_element(By.ID, "scan-code")
    assert scan.is_displayed() and scan.size["height"] >= 44 and scan.text == "扫码"
    assert browser.execute_script('return window.pickupScanner.codeOf("PICKUP 123456")') == "123456"
    assert browser.execute_script('return window.pickupScanner.codeOf("no code")') is None
