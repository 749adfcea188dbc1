"""The nightly pipeline's own records: one run per delivery day, one row per step, and an outbox of notices."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    FAILED = "failed", _("Failed")
    SUCCEEDED = "succeeded", _("Succeeded")


# The nightly steps as the dashboard names them (the stored names stay the code's).
STEP_LABELS = {
    "close_wave": _("Close the wave"), "allocate": _("Allocate stock"), "refund_shortages": _("Refund shortages"),
    "plan_routes": _("Plan routes"), "pick_lists": _("Pick lists"), "notify": _("Notify leaders and drivers"),
}


class PipelineRun(models.Model):
    """The day's chain of steps after the cutoff; a failed run resumes from its failed step."""

    delivery_date = models.DateField(_("delivery day"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("started by")
    )
    launches = models.PositiveIntegerField(
        _("launches"), default=0,
        help_text=_("Times the run was sent to the workers (1 + resumes); a task from an older launch does nothing."),
    )

    class Meta:
        ordering = ["-delivery_date"]
        verbose_name = _("nightly pipeline run")
        verbose_name_plural = _("nightly pipeline runs")

    def __str__(self) -> str:
        return gettext("nightly pipeline %(day)s (%(status)s)") % {"day": self.delivery_date, "status": self.get_status_display()}


class PipelineStep(models.Model):
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="steps", verbose_name=_("run"))
    name = models.CharField(_("step"), max_length=32)
    position = models.PositiveSmallIntegerField(_("position"))
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True, help_text=_("What the step did, in numbers."))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["run", "position"]
        verbose_name = _("pipeline step")
        verbose_name_plural = _("pipeline steps")
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="pipeline_step_once_per_run")]

    @property
    def label(self) -> str:
        return str(STEP_LABELS.get(self.name, self.name))

    def __str__(self) -> str:
        return f"{self.run.delivery_date} {self.position}. {self.label} ({self.get_status_display()})"


class Notice(models.Model):
    """An outbox row: what a leader or driver is told about the day. A messaging gateway sends and stamps it."""

    delivery_date = models.DateField(_("delivery day"), db_index=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices", verbose_name=_("recipient")
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True, help_text=_("Empty until the messaging gateway sends it."))

    class Meta:
        ordering = ["delivery_date", "recipient_id", "id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return f"{self.delivery_date} → {self.recipient}: {self.subject}"
