"""Pages for group leaders (Django templates, session login)."""
from django.urls import path

from . import views

app_name = "grouporders"
urlpatterns = [
    path("", views.home, name="home"),
    path("orders/new", views.new_order, name="new-order"),
    path("orders/<int:order_id>", views.order_detail, name="order"),
    path("orders/<int:order_id>/edit", views.edit_order, name="edit-order"),
    path("orders/<int:order_id>/cancel", views.cancel_order, name="cancel-order"),
    path("orders/<int:order_id>/lines/<int:line_id>/cancel", views.cancel_line, name="cancel-line"),
]
