from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    """The nightly pipeline: the one place, with the simulator, that knows every app."""

    name = "pipeline"
    verbose_name = _("Nightly pipeline")
