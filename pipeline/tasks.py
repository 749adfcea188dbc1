"""Celery wiring of the nightly pipeline: a chain of steps, the route planning step as a chord per depot.

Every task carries the run's launch number and does nothing when a later launch has taken over.
"""
from celery import chord, group, shared_task

from . import steps

STALE = {"skipped": "a later launch of this run has taken over"}


@shared_task(bind=True, acks_late=True)
def run_step(self, run_id: int, launch: int, name: str):
    if not steps.is_current(run_id, launch):
        return STALE
    step = steps.STEP_BY_NAME[name]
    if step.parts is None:
        return steps.execute_step(run_id, name)
    parts = steps.start_fan_out(run_id, name)
    finish = finish_step.si(run_id, launch, name)
    if not parts:
        return finish()
    # The rest of the chain follows the chord, so the next step starts when every part is done.
    return self.replace(chord(group(run_part.si(run_id, launch, name, part) for part in parts), finish))


@shared_task(acks_late=True)
def run_part(run_id: int, launch: int, name: str, part: int) -> dict:
    if not steps.is_current(run_id, launch):
        return STALE
    return steps.execute_part(run_id, name, part)


@shared_task(acks_late=True)
def finish_step(run_id: int, launch: int, name: str) -> dict:
    if not steps.is_current(run_id, launch):
        return STALE
    return steps.finish_fan_out(run_id, name)


@shared_task
def start_due_pipelines() -> list[str]:
    """Run every minute by beat: start the pipeline of each day whose cutoff has passed."""
    from .services import start_pipeline  # services send these tasks, so they import this module

    return [start_pipeline(delivery_date=day).delivery_date.isoformat() for day in steps.due_delivery_dates()]
