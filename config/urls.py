from django.contrib import admin
from django.urls import include, path, re_path

import core.views
import pipeline.views
import warehouse.views

from .api import api, unknown_path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/(?P<path>.*)$", unknown_path),  # after the API's own routes: they win
    path("accounts/", include("django.contrib.auth.urls")),
    # POST language=zh-hans|en: the language switch in every page's header (kept in the session).
    path("i18n/", include("django.conf.urls.i18n")),
    path("dashboard/", pipeline.views.dashboard, name="dashboard"),
    path("warehouse/pick-lists/", warehouse.views.pick_lists, name="warehouse-pick-lists"),
    path("leader/", include("grouporders.urls")),
    path("procurement/", include("procurement.urls")),
    path("routing/", include("routing.urls")),
    path("pickup/", include("pickup.urls")),
    # Logging in leads here: the first page of the user's roles (the API docs for anybody else).
    path("", core.views.home, name="home"),
]
