"""API errors: a stable machine-readable code beside a detail in the caller's language (zh-hans by default)."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from grouporders.models import SalesWave
from tests.conftest import order_payload
from tests.test_pipeline import ordered_day  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def _in(language, api, path, payload):
    return api.post(path, payload, headers={"Accept-Language": language} if language else {"Accept-Language": ""})


def test_ordering_after_the_cutoff_says_so_in_chinese_by_default_and_in_english_on_request(leader_api, wave, deals, network):
    SalesWave.objects.filter(pk=wave.pk).update(cutoff_at=timezone.now() - timedelta(minutes=1))
    payload = order_payload(wave, network["points"][0], [("王芳", "13800000001", deals[0], 1)])
    chinese = _in(None, leader_api, "/api/orders", payload)
    english = _in("en", leader_api, "/api/orders", payload)
    assert chinese.status_code == english.status_code == 409
    assert chinese.json()["code"] == english.json()["code"] == "cutoff_passed"
    assert chinese.json()["field"] == english.json()["field"] == "wave_id"
    assert "已截单" in chinese.json()["detail"]
    assert "is closed" in english.json()["detail"]


def test_a_limit_names_the_line_and_gives_its_code(leader_api, wave, deals, network):
    payload = order_payload(wave, network["points"][0], [("王芳", "13800000001", deals[1], 9)])
    response = _in("zh-hans", leader_api, "/api/orders", payload)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "per_resident_limit" and body["field"] == "lines.0.quantity"
    assert "每人限购 5" in body["detail"]


def test_validation_errors_keep_the_schema_field_names_and_translate_the_message(leader_api, wave, network):
    payload = {"wave_id": wave.pk, "pickup_point_id": network["points"][0].pk,
               "lines": [{"resident": {"name": "王芳", "phone": "13800000001", "consent": True}, "deal_id": 1, "quantity": "many"}]}
    chinese, english = _in(None, leader_api, "/api/orders", payload), _in("en", leader_api, "/api/orders", payload)
    assert chinese.status_code == english.status_code == 422
    assert chinese.json()["field"] == english.json()["field"] == "lines.0.quantity"
    assert chinese.json()["code"] == english.json()["code"] == "validation_error"
    assert chinese.json()["errors"][0]["code"] == "int_parsing"
    assert chinese.json()["detail"] == "请填写整数"
    assert "integer" in english.json()["detail"]


@pytest.mark.parametrize("language, text", [("zh-hans", "需要登录"), ("en", "authentication required")])
def test_no_token_answers_401_with_a_code(language, text):
    response = Client().get("/api/waves", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_required" and text in response.json()["detail"]


def test_an_unknown_order_is_404_not_found_in_both_languages(leader_api, network):
    chinese = leader_api.get("/api/orders/999999", headers={"Accept-Language": "zh-hans"})
    english = leader_api.get("/api/orders/999999", headers={"Accept-Language": "en"})
    assert chinese.status_code == english.status_code == 404
    assert chinese.json()["code"] == english.json()["code"]
    assert chinese.json()["detail"] != english.json()["detail"]


def test_an_unknown_api_path_is_a_json_404_not_the_sites_page(leader_api):
    for path in ("/api/no-such-thing", "/api/orders/1/nothing/here"):
        response = leader_api.get(path, headers={"Accept-Language": "zh-hans"})
        assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
        assert response.json() == {"detail": "该路径下没有 API 接口", "field": "path", "code": "unknown_path"}
    assert leader_api.get("/api/orders/999999").json()["code"] == "order_not_found"  # the API's own routes still answer


@pytest.mark.parametrize("language, text", [("zh-hans", "需要以下角色之一：运营"), ("en", "one of the roles: operator")])
def test_a_missing_role_is_403_role_required_naming_the_roles(db, language, text):
    from tests.conftest import ApiClient, make_user

    response = ApiClient(make_user("无角色")).get("/api/depots", headers={"Accept-Language": language})
    assert response.status_code == 403
    assert response.json()["code"] == "role_required" and text in response.json()["detail"]


def test_a_constraint_names_its_bound_in_chinese_and_keeps_pydantics_english(leader_api, wave, network):
    payload = {"wave_id": wave.pk, "pickup_point_id": network["points"][0].pk,
               "lines": [{"resident": {"name": "王芳", "phone": "13800000001", "consent": True}, "deal_id": 1, "quantity": 0}]}
    chinese, english = _in("zh-hans", leader_api, "/api/orders", payload), _in("en", leader_api, "/api/orders", payload)
    assert chinese.json()["errors"][0]["code"] == english.json()["errors"][0]["code"] == "greater_than"
    assert chinese.json()["detail"] == "必须大于 0"
    assert english.json()["detail"] == "Input should be greater than 0"


def test_a_missing_field_and_a_validator_of_ours(operator_api, wave):
    missing = _in(None, operator_api, "/api/waves", {})
    assert missing.status_code == 422 and missing.json()["field"] == "delivery_date"
    assert missing.json()["errors"][0]["code"] == "missing" and missing.json()["detail"] == "此项必填"
    past = {"delivery_date": "2001-01-01"}
    chinese, english = _in(None, operator_api, "/api/waves", past), _in("en", operator_api, "/api/waves", past)
    assert chinese.json()["errors"][0]["code"] == english.json()["errors"][0]["code"] == "date_not_in_future"
    assert english.json()["detail"] == "a new wave is for a day still to come"
    assert chinese.json()["detail"] != english.json()["detail"] and "波次" in chinese.json()["detail"]


def test_a_body_that_is_not_json_is_400_bad_request(leader_api):
    response = leader_api.client.post("/api/orders", "{nope", content_type="application/json",
                                      HTTP_AUTHORIZATION=f"Bearer {leader_api.token}")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and "JSON" in response.json()["detail"]


def test_a_pipeline_day_without_a_run_is_404_with_its_own_code(operator_api):
    chinese = operator_api.get("/api/pipeline/runs/2031-01-01", headers={"Accept-Language": "zh-hans"})
    english = operator_api.get("/api/pipeline/runs/2031-01-01", headers={"Accept-Language": "en"})
    assert chinese.status_code == english.status_code == 404
    assert chinese.json()["code"] == english.json()["code"] == "pipeline_run_not_found"
    assert "夜间流程" in chinese.json()["detail"] and "no pipeline run" in english.json()["detail"]


def test_the_resident_is_sent_a_chinese_pickup_code_message_whoever_asks(
    pickup_day, operator_api, settings, django_capture_on_commit_callbacks,
):
    settings.PICKUP_CODE_SENDER = "tests.test_api_language.remember"
    REMEMBERED.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.post("/api/pickup/codes/issue", {"delivery_date": pickup_day.delivery_date.isoformat()},
                                     headers={"Accept-Language": "en"})
    assert response.status_code == 200
    for code in response.json():
        assert code["message"].startswith("您 ") and f"提货码是 {code['code']}" in code["message"]
    sent = [issued.message for issued in REMEMBERED]
    assert sent and all("提货码" in text and "团长" in text for text in sent)


REMEMBERED = []


def remember(issued):
    REMEMBERED.extend(issued)


def test_the_leaders_and_drivers_notices_are_chinese_even_when_an_english_request_starts_the_night(
    ordered_day, operator_api,
):
    from pipeline.models import Notice

    day = ordered_day.delivery_date
    response = operator_api.post("/api/pipeline/runs", {"delivery_date": day.isoformat()}, headers={"Accept-Language": "en"})
    assert response.status_code == 202, response.content
    notices = list(Notice.objects.filter(delivery_date=day))
    assert notices
    subjects = [n.subject for n in notices]
    assert any(s.startswith("您 ") and "的线路" in s for s in subjects)  # the driver's
    assert any("送货到" in s for s in subjects)  # a leader's
    assert all("月" in s and "周" in s for s in subjects)  # the day as 12月5日 周六
    assert all(("预计" in n.body and "筐" in n.body) or "从网格仓出发" in n.body for n in notices)
