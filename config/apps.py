from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """The project package is an app only for the nightly pipeline, the one place that knows every app."""

    name = "config"
    label = "pipeline"
    verbose_name = "Nightly pipeline"
