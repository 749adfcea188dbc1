from django.apps import AppConfig


class GroupordersConfig(AppConfig):
    name = "grouporders"
    verbose_name = "Group-leader orders"
