"""Every model has an admin page that an operator can open."""
import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_project_model_is_registered_and_its_list_opens(client, admin_user):
    from django.apps import apps

    client.force_login(admin_user)
    for app in ("core", "catalog", "grouporders", "warehouse"):
        for model in apps.get_app_config(app).get_models():
            assert model in admin.site._registry, f"{model.__name__} has no admin"
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert client.get(url).status_code == 200, url


APPS = ("core", "catalog", "grouporders", "warehouse", "procurement", "routing", "pickup", "pipeline")


def test_every_app_and_model_has_a_translated_name():
    from django.apps import apps
    from django.utils import translation

    with translation.override("zh-hans"):
        for label in APPS:
            config = apps.get_app_config(label)
            assert not str(config.verbose_name).isascii(), label
            for model in config.get_models():
                meta = model._meta
                assert not str(meta.verbose_name).isascii(), model.__name__
                assert not str(meta.verbose_name_plural).isascii(), model.__name__
                for field in meta.get_fields(include_parents=True):
                    if field.concrete and not field.auto_created:
                        assert not str(field.verbose_name).isascii(), f"{model.__name__}.{field.name}"


def test_every_list_and_add_form_opens_in_chinese(client, admin_user):
    from django.apps import apps

    client.force_login(admin_user)
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            if model not in admin.site._registry:
                continue  # shown inline only (the pipeline's steps)
            page = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
            assert page.status_code == 200, model.__name__
            assert str(model._meta.verbose_name_plural) in page.content.decode()
            if admin.site._registry[model].has_add_permission(page.wsgi_request):
                assert client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")).status_code == 200


def test_the_admin_speaks_chinese_by_default(client, admin_user, network, leader):
    client.force_login(admin_user)
    index = client.get(reverse("admin:index")).content.decode()
    for words in ("商品与网点", "团购订单", "仓库", "采购", "配送", "自提", "夜间流程", "账号与接口", "自提点", "团长", "波次", "采购单"):
        assert words in index, words

    changelist = client.get(reverse("admin:catalog_pickuppoint_changelist")).content.decode()
    for words in ("选择 自提点 来修改", "编码", "名称", "网格仓", "开门时间", "有效", "上城网格仓"):
        assert words in changelist, words

    point = network["points"][0]
    form = client.get(reverse("admin:catalog_pickuppoint_change", args=[point.pk])).content.decode()
    for words in ("修改 自提点", "地址与位置", "营业时间", "纬度", "经度", "WGS-84（GPS）", "GCJ-02", "由该网格仓的车辆配送到此自提点"):
        assert words in form, words

    leaders = client.get(reverse("admin:grouporders_groupleader_changelist")).content.decode()
    assert "团长" in leaders and "手机号" in leaders and "等级" in leaders and "普通" in leaders


def test_the_admin_speaks_english_when_asked(client, admin_user, network):
    client.force_login(admin_user)
    page = client.get(reverse("admin:catalog_pickuppoint_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Select pickup point to change" in page and "Products and sites" in page


def test_admin_actions_and_messages_are_chinese(client, admin_user):
    from core.models import ApiToken

    client.force_login(admin_user)
    changelist = reverse("admin:core_apitoken_changelist")
    added = client.post(reverse("admin:core_apitoken_add"), {"user": admin_user.pk, "name": "对账系统"}, follow=True)
    assert "请立即复制，之后不会再显示" in added.content.decode()
    assert "吊销所选令牌" in client.get(changelist).content.decode()
    token = ApiToken.objects.get(name="对账系统")
    revoked = client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    assert revoked.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_choices_keep_their_stored_values_and_show_chinese_labels(client, admin_user, leader):
    from grouporders.models import GroupLeader, LeaderTier, LineStatus, WaveStatus
    from warehouse.models import MoveKind

    assert [LeaderTier.ORDINARY, WaveStatus.CLOSED, LineStatus.CANCELLED, MoveKind.WRITE_OFF] == [
        "ordinary", "closed", "cancelled", "write_off",
    ]
    assert GroupLeader.objects.get(user=leader).tier == "ordinary"
    client.force_login(admin_user)
    page = client.get(reverse("admin:warehouse_stockmove_changelist")).content.decode()
    assert "库存流水" in page
    leaders = client.get(reverse("admin:grouporders_groupleader_changelist"), {"tier__exact": "ordinary"}).content.decode()
    assert "普通" in leaders and "王丽" in leaders


def test_a_driver_without_the_driver_role_is_refused_in_chinese(client, admin_user, network):
    from tests.conftest import make_user

    clerk = make_user("clerk", "warehouse", first_name="强", last_name="李")
    client.force_login(admin_user)
    page = client.post(reverse("admin:routing_driver_add"), {
        "user": clerk.pk, "shift_start": "06:00", "shift_end": "14:00", "is_active": "on",
    })
    assert page.status_code == 200
    assert "没有司机角色" in page.content.decode()
