"""Pages of the pickup app (Django templates, session login)."""
from django.urls import path

from . import views

app_name = "pickup"
urlpatterns = [
    path("", views.point_day, name="point-day"),
    path("receipt", views.confirm_receipt, name="confirm-receipt"),
    path("code", views.check_code, name="check-code"),
    path("statement/", views.statement, name="statement"),
]
