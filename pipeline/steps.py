"""The nightly pipeline: the day's steps after the cutoff, in the order of the business, each recorded.

Every step calls the owning app's services and is idempotent (a rerun replaces that step's own output
for the day), so a failed or interrupted run resumes from its first unfinished step. The Celery wiring
is in tasks.py; this module only knows what each step does and how a run is recorded.
"""
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound
from grouporders import services as order_services
from grouporders.models import SalesWave
from pickup import services as pickup_services
from routing import selectors as routing_selectors
from routing import services as routing_services
from warehouse import selectors as warehouse_selectors
from warehouse import services as warehouse_services

from .models import Notice, PipelineRun, PipelineStep, RunStatus


class StepFailed(Exception):
    """A step raised; its error is already recorded on the step row."""


# --- the steps -----------------------------------------------------------------------------------


def close_wave(delivery_date: date) -> dict:
    """Lock the day's wave and aggregate its demand (one transaction, so nothing slips in between)."""
    wave = SalesWave.objects.filter(delivery_date=delivery_date).first()
    if wave is None:
        raise NotFound(
            _("there is no sales wave for %(delivery_date)s") % {"delivery_date": delivery_date},
            field="delivery_date", code="wave_not_found",
        )
    closing = order_services.close_wave(wave.id)
    return {"demand_lines": closing.demand_lines, "quantity": closing.quantity}


def allocate(delivery_date: date) -> dict:
    summary = warehouse_services.allocate_day(delivery_date=delivery_date)
    return {
        "demand_lines": summary.demand_lines,
        "demanded": summary.demanded,
        "allocated": summary.allocated,
        "short_lines": summary.short_lines,
        "refund_amount": str(summary.refund_amount),
    }


def refund_shortages(delivery_date: date) -> dict:
    return {"refunds": pickup_services.record_shortage_refunds(delivery_date=delivery_date)}


def depots_to_route(delivery_date: date) -> list[int]:
    return warehouse_selectors.depots_with_allocations(delivery_date)


def plan_depot(delivery_date: date, depot_id: int) -> dict:
    plan = routing_services.plan_depot_routes(depot_id=depot_id, delivery_date=delivery_date)
    return {"depot_id": depot_id, "plan_id": plan.id}


def route_totals(delivery_date: date) -> dict:
    return routing_selectors.day_totals(delivery_date)


def pick_lists(delivery_date: date) -> dict:
    return {"sort_lists": routing_services.send_stop_order_to_pick_lists(delivery_date=delivery_date)}


def notify(delivery_date: date) -> dict:
    """Pickup codes for residents, and one notice per leader and per driver; a rerun replaces the day's notices."""
    # The notices are read later, by people of the city: in its language (LANGUAGE_CODE, zh-hans), even
    # when an operator's English request started the run (Celery's eager mode runs it inside the request).
    with translation.override(settings.LANGUAGE_CODE):
        codes = pickup_services.issue_pickup_codes(delivery_date=delivery_date)
        notices = [
            Notice(delivery_date=delivery_date, recipient_id=user_id, subject=subject, body=body)
            for user_id, subject, body in routing_selectors.day_notices(delivery_date)
        ]
    with transaction.atomic():
        Notice.objects.filter(delivery_date=delivery_date, sent_at__isnull=True).delete()
        Notice.objects.bulk_create(notices)
    return {"pickup_codes": len(codes), "notices": len(notices)}


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[date], dict] | None = None
    # A fan-out step runs one part per item (in parallel on the workers), then `finish` sums them up.
    parts: Callable[[date], list[int]] | None = None
    run_part: Callable[[date, int], dict] | None = None
    finish: Callable[[date], dict] | None = None


STEPS: tuple[Step, ...] = (
    Step("close_wave", run=close_wave),
    Step("allocate", run=allocate),
    Step("refund_shortages", run=refund_shortages),
    Step("plan_routes", parts=depots_to_route, run_part=plan_depot, finish=route_totals),
    Step("pick_lists", run=pick_lists),
    Step("notify", run=notify),
)
STEP_BY_NAME = {step.name: step for step in STEPS}


# --- recording a run -----------------------------------------------------------------------------


def create_run(*, delivery_date: date, user=None) -> PipelineRun:
    """A new run for the day with every step pending; a day has one run, which is resumed, not duplicated."""
    with transaction.atomic():
        if PipelineRun.objects.select_for_update().filter(delivery_date=delivery_date).exists():
            raise Conflict(
                _("the pipeline for %(delivery_date)s already exists; resume it instead") % {"delivery_date": delivery_date},
                field="delivery_date", code="pipeline_exists",
            )
        run = PipelineRun.objects.create(delivery_date=delivery_date, started_by=user)
        PipelineStep.objects.bulk_create(
            PipelineStep(run=run, name=step.name, position=position) for position, step in enumerate(STEPS, start=1)
        )
    return run


@dataclass(frozen=True)
class Launch:
    run_id: int
    number: int
    steps: list[str]


def claim_launch(run_id: int) -> Launch:
    """Claim a run for (re)starting: its steps from the first unfinished one on, reset to pending.

    The launch number travels with the tasks, so a task of an earlier launch (a message redelivered
    after its worker died) finds itself stale and does nothing.
    """
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise NotFound(
                _("pipeline run %(run_id)s does not exist") % {"run_id": run_id}, field="run_id", code="pipeline_run_not_found"
            )
        if run.status == RunStatus.SUCCEEDED:
            raise Conflict(
                _("the pipeline for %(delivery_date)s has already succeeded") % {"delivery_date": run.delivery_date},
                field="status", code="pipeline_succeeded",
            )
        pending = list(run.steps.exclude(status=RunStatus.SUCCEEDED).order_by("position"))
        # A step left running by a killed worker is rerun: steps are idempotent.
        PipelineStep.objects.filter(pk__in=[step.pk for step in pending]).update(status=RunStatus.PENDING, error="")
        run.launches += 1
        run.status = RunStatus.RUNNING
        run.save(update_fields=["status", "launches"])
    return Launch(run.pk, run.launches, [step.name for step in pending])


def is_current(run_id: int, launch: int) -> bool:
    return PipelineRun.objects.filter(pk=run_id, launches=launch).exists()


def _start_step(run_id: int, name: str) -> date:
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().select_related("run").get(run_id=run_id, name=name)
        step.status = RunStatus.RUNNING
        step.started_at = timezone.now()
        step.finished_at = None
        step.attempts += 1
        step.error = ""
        step.counts = {}
        step.save(update_fields=["status", "started_at", "finished_at", "attempts", "error", "counts"])
        PipelineRun.objects.filter(pk=run_id).update(status=RunStatus.RUNNING)
    return step.run.delivery_date


def _finish_step(run_id: int, name: str, counts: dict) -> None:
    now = timezone.now()
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().get(run_id=run_id, name=name)
        step.status = RunStatus.SUCCEEDED
        step.finished_at = now
        step.duration_seconds = round((now - step.started_at).total_seconds(), 3)
        step.counts = counts
        step.save(update_fields=["status", "finished_at", "duration_seconds", "counts"])
        if not PipelineStep.objects.filter(run_id=run_id).exclude(status=RunStatus.SUCCEEDED).exists():
            PipelineRun.objects.filter(pk=run_id).update(status=RunStatus.SUCCEEDED)


def _fail_step(run_id: int, name: str, exc: BaseException) -> None:
    detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
    with transaction.atomic():
        PipelineStep.objects.filter(run_id=run_id, name=name).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=f"{detail}\n\n{traceback.format_exc(limit=5)}"
        )
        PipelineRun.objects.filter(pk=run_id).update(status=RunStatus.FAILED)


def execute_step(run_id: int, name: str) -> dict:
    """Run one whole step and record it; a failure is recorded, then raised as StepFailed."""
    step = STEP_BY_NAME[name]
    delivery_date = _start_step(run_id, name)
    try:
        counts = step.run(delivery_date)
    except Exception as exc:
        _fail_step(run_id, name, exc)
        raise StepFailed(f"{name}: {exc}") from exc
    _finish_step(run_id, name, counts)
    return counts


def start_fan_out(run_id: int, name: str) -> list[int]:
    """Begin a fan-out step and list its parts (e.g. the depots to plan)."""
    delivery_date = _start_step(run_id, name)
    return STEP_BY_NAME[name].parts(delivery_date)


def _delivery_date(run_id: int) -> date:
    return PipelineRun.objects.values_list("delivery_date", flat=True).get(pk=run_id)


def execute_part(run_id: int, name: str, part: int) -> dict:
    step = STEP_BY_NAME[name]
    delivery_date = _delivery_date(run_id)
    try:
        return step.run_part(delivery_date, part)
    except Exception as exc:
        _fail_step(run_id, name, exc)
        raise StepFailed(f"{name} part {part}: {exc}") from exc


def finish_fan_out(run_id: int, name: str) -> dict:
    step = STEP_BY_NAME[name]
    delivery_date = _delivery_date(run_id)
    counts = step.finish(delivery_date)
    _finish_step(run_id, name, counts)
    return counts


def due_delivery_dates(now: datetime | None = None) -> list[date]:
    """Days whose cutoff has passed and whose pipeline has not been started (what beat starts)."""
    now = now or timezone.now()
    return list(
        SalesWave.objects.filter(cutoff_at__lte=now, delivery_date__gte=timezone.localdate(now))
        .exclude(delivery_date__in=PipelineRun.objects.values("delivery_date"))
        .order_by("delivery_date")
        .values_list("delivery_date", flat=True)
    )
