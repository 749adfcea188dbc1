"""Starting and resuming the nightly pipeline: records the run, then hands its steps to Celery."""
from datetime import date

from celery import chain
from django.conf import settings

from . import steps
from .models import PipelineRun
from .tasks import run_step


def _send(launch: steps.Launch) -> None:
    """Send the chain of the launch's steps to the workers (in eager mode it runs here and now)."""
    work = chain(run_step.si(launch.run_id, launch.number, name) for name in launch.steps)
    try:
        work.apply_async()
    except steps.StepFailed:
        # Only eager mode raises here; the failure is on the step row, where the operator resumes it.
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            raise


def start_pipeline(*, delivery_date: date, user=None) -> PipelineRun:
    run = steps.create_run(delivery_date=delivery_date, user=user)
    _send(steps.claim_launch(run.id))
    return run


def resume_pipeline(*, run_id: int) -> PipelineRun:
    _send(steps.claim_launch(run_id))
    return PipelineRun.objects.get(pk=run_id)


