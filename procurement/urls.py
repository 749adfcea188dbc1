"""Pages of the procurement app (Django templates, session login)."""
from django.urls import path

from . import views

app_name = "procurement"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("suggestions/<int:suggestion_id>/decide", views.decide, name="decide"),
    path("receipts/", views.receipts, name="receipts"),
    path("receipts/purchase-orders/<int:purchase_order_id>", views.receive, name="receive"),
    path("receipts/<int:receipt_id>/", views.receipt, name="receipt"),
]
