"""API errors: a stable machine-readable code beside a detail in the caller's language (zh-hans by default)."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from grouporders.models import SalesWave
from tests.conftest import order_payload

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
