"""Pages of the routing app (Django templates, session login)."""
from django.urls import path

from . import views

app_name = "routing"
urlpatterns = [
    path("driver/", views.driver_route, name="driver-route"),
    path("driver/stops/<int:stop_id>/arrival/", views.confirm_arrival, name="confirm-arrival"),
    path("driver/stops/<int:stop_id>/delivery/", views.confirm_delivery, name="confirm-delivery"),
]
