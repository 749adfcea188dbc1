"""Pages of the pickup app (Django templates, session login)."""
from django.urls import path

from . import views

app_name = "pickup"
urlpatterns = [
    path("", views.point_day, name="point-day"),
    path("statement/", views.statement, name="statement"),
]
