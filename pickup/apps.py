from django.apps import AppConfig


class PickupConfig(AppConfig):
    name = "pickup"
    verbose_name = "Pickup: receipt at the point, pickup codes, refunds, after-sales, leader commission"
