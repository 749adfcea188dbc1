from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    """The project package is an app only for the nightly pipeline, the one place that knows every app."""

    name = "config"
    label = "pipeline"
    verbose_name = _("Nightly pipeline")
