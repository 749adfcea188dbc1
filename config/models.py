"""The nightly pipeline's own records: one run per delivery day, one row per step, and an outbox of notices."""
from django.conf import settings
from django.db import models
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

    delivery_date = models.DateField(unique=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    launches = models.PositiveIntegerField(
        default=0, help_text="Times the run was sent to the workers (1 + resumes); a task from an older launch does nothing."
    )

    class Meta:
        ordering = ["-delivery_date"]

    def __str__(self) -> str:
        return f"pipeline {self.delivery_date} ({self.status})"


class PipelineStep(models.Model):
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=32)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="pipeline_step_once_per_run")]

    @property
    def label(self) -> str:
        return str(STEP_LABELS.get(self.name, self.name))

    def __str__(self) -> str:
        return f"{self.run.delivery_date} {self.position}. {self.name} ({self.status})"


class Notice(models.Model):
    """An outbox row: what a leader or driver is told about the day. A messaging gateway sends and stamps it."""

    delivery_date = models.DateField(db_index=True)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery_date", "recipient_id", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_date} → {self.recipient}: {self.subject}"
