"""Pages in a real headless Chromium (Debian's chromium and chromedriver); skipped where they are not installed."""
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_user
from tests.test_pick_lists import allocated_day  # noqa: F401 - the fixture, reused
from tests.test_pipeline import ordered_day  # noqa: F401 - the fixture, reused

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"

pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No sandbox as root in CI; no background networking on a machine without outside access.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(flag)
    # A phone in China asks for Chinese (Accept-Language: zh-CN), so the pages answer in zh-hans.
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_warehouse_staff_log_in_and_see_the_days_pick_lists(browser, live_server, allocated_day, network, warehouse_api):  # noqa: F811
    from selenium.webdriver.common.by import By

    warehouse_api.post("/api/sort-lists", {"delivery_date": allocated_day.isoformat(), "routes": [
        {"route_code": "R1", "depot_id": network["depot"].pk, "pickup_point_ids": [p.pk for p in network["points"]]}
    ]})
    make_user("picker", "warehouse")
    _log_in(browser, live_server, f"/warehouse/pick-lists/?date={allocated_day.isoformat()}", "picker")

    assert browser.find_element(By.TAG_NAME, "h1").text.endswith("拣货单")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "SKU1" in page and "SKU2" in page and "R1" in page
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href$='.pdf'], a[href*='.pdf?']")]
    assert any("/api/pick-lists/batch.pdf" in href for href in links) and any("/api/sort-lists/" in href for href in links)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "warehouse-pick-lists.png"))


def click_and_wait(browser, button, page):
    """Click a button whose form posts and comes back as a new page, and wait until ``page`` (an
    element of the old page) is gone. Chromium 156 sometimes answers a question about an element
    of a page it has just left with "Node with given id does not belong to the document" instead
    of the stale-element error selenium's staleness_of expects: both mean the old page is gone."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def left(_):
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    button.click()
    WebDriverWait(browser, 15).until(left)


def _log_in(browser, live_server, path, username):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()  # a fresh session for each user
    browser.get(f"{live_server.url}{path}")
    assert "/accounts/login/" in browser.current_url  # the page asks for a login first
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(f"pw-{username}")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The login page's own address carries ?next=<path>, so wait until the browser has left it.
    WebDriverWait(browser, 15).until(lambda b: "/accounts/login/" not in b.current_url)


def test_a_driver_confirms_a_stop_and_the_dashboard_shows_the_day(browser, live_server, ordered_day):  # noqa: F811
    from django.core.management import call_command
    from selenium.webdriver.common.by import By

    day = ordered_day.delivery_date.isoformat()
    call_command("pipeline", "start", "--date", day)

    _log_in(browser, live_server, f"/routing/driver/?date={day}", "driver-1")
    for button in ("确认到达", "确认送达"):
        first_stop = browser.find_element(By.CSS_SELECTOR, ".stop")
        # Each button posts and redirects back: wait for the new page before looking at it.
        click_and_wait(browser, first_stop.find_element(By.XPATH, f".//button[text()='{button}']"), first_stop)
    assert "已送达" in browser.find_element(By.CSS_SELECTOR, ".stop.done").text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "driver-route.png"))

    make_user("ops", "operator")
    _log_in(browser, live_server, f"/dashboard/?date={day}", "ops")
    kpis = {row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
            for row in browser.find_elements(By.CSS_SELECTOR, "#kpis tr")}
    assert kpis["团长订单数"] == "3" and kpis["已送达站点"] == "1" and kpis["线路数"] == "1"
    assert "成功" in browser.find_element(By.CSS_SELECTOR, "table.run").text
    browser.save_screenshot(str(ARTIFACTS / "operator-dashboard.png"))
