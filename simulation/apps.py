from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulationConfig(AppConfig):
    """The city simulator (`manage.py simulate`): drives every app's services through simulated days."""

    name = "simulation"
    verbose_name = _("City simulator")
