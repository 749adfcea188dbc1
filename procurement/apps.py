from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "procurement"
    verbose_name = "Procurement: suppliers, purchase suggestions, purchase orders, goods receipts"
