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
