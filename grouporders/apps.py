from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupordersConfig(AppConfig):
    name = "grouporders"
    verbose_name = _("Group-buy orders")
