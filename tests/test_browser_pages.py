"""The leader's pickup page in a real headless Chromium; skipped where Debian's chromium and chromedriver are missing."""
import pytest

from pickup.models import Collection, Receipt
from tests.test_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, _log_in, browser, click_and_wait  # noqa: F401 - the fixture, reused
from tests.test_pickup_api import issue

pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
    pytest.mark.django_db(transaction=True),
]


def test_a_leader_confirms_a_receipt_and_hands_over_with_a_residents_code(browser, live_server, pickup_day, operator_api):  # noqa: F811
    from selenium.webdriver.common.by import By

    day, p1 = pickup_day, pickup_day.points[0]
    codes = issue(operator_api, day)

    def submit(button):
        """Click and wait for the next page (every form posts and comes back as a new page)."""
        click_and_wait(browser, button, browser.find_element(By.TAG_NAME, "main"))

    _log_in(browser, live_server, f"/pickup/?point={p1.pk}&date={day.delivery_date.isoformat()}", "leader1")
    # Two of the six bags of rice came; the apples all did.
    browser.find_element(By.NAME, f"received_{day.rice.pk}").send_keys("2")
    browser.find_element(By.NAME, f"received_{day.apples.pk}").send_keys("3")
    submit(browser.find_element(By.XPATH, "//button[text()='确认收货']"))
    assert "其中 1 种少到" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    claims = browser.find_element(By.ID, "receipt-claims").text
    assert "李强" in claims and "蔡敏" in claims and "138****0003" in claims

    browser.find_element(By.NAME, "code").send_keys(codes["王芳"])
    submit(browser.find_element(By.XPATH, "//button[text()='核验']"))
    assert "王芳 138****0001" in browser.find_element(By.ID, "hand-over").text
    rice_line = day.line("王芳", day.rice)
    rice = browser.find_element(By.NAME, f"quantity_{rice_line.pk}")
    rice.clear()
    rice.send_keys("1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "leader-pickup-code.png"))
    submit(browser.find_element(By.XPATH, "//button[text()='按填写数量交付']"))
    assert "已交付给 王芳（138****0001）" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    browser.save_screenshot(str(ARTIFACTS / "leader-pickup-handed-over.png"))

    assert sorted(Receipt.objects.values_list("product_id", "received_quantity")) == sorted([(day.rice.pk, 2), (day.apples.pk, 3)])
    # Apples 2 and rice 1 handed over; Ann's second bag of rice waits for her.
    assert sorted(Collection.objects.values_list("pickup_line__product__sku", "quantity")) == [("RICE5", 1), (day.apples.sku, 2)]
