"""API of the nightly pipeline for operators: start a day, watch its steps, resume a failed run."""
from datetime import date, datetime

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from core.auth import require_role
from core.errors import NotFound
from core.models import Role

from .models import PipelineRun
from .services import resume_pipeline, start_pipeline

router = Router(tags=["pipeline"])


class PipelineStartIn(Schema):
    delivery_date: date


class PipelineStepOut(Schema):
    position: int
    name: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    attempts: int
    counts: dict
    error: str


class PipelineRunOut(Schema):
    id: int
    delivery_date: date
    status: str
    launches: int
    created_at: datetime
    steps: list[PipelineStepOut]

    @staticmethod
    def resolve_steps(run):
        return list(run.steps.all())


def _run(delivery_date: date) -> PipelineRun:
    run = PipelineRun.objects.prefetch_related("steps").filter(delivery_date=delivery_date).first()
    if run is None:
        raise NotFound(
            _("there is no pipeline run for %(delivery_date)s") % {"delivery_date": delivery_date},
            field="delivery_date", code="pipeline_run_not_found",
        )
    return run


@router.get("/pipeline/runs", response=list[PipelineRunOut], summary="Recent pipeline runs, newest day first")
def list_runs(request, limit: int = 30):
    require_role(request, Role.OPERATOR)
    return list(PipelineRun.objects.prefetch_related("steps")[: max(1, min(limit, 365))])


@router.post("/pipeline/runs", response={202: PipelineRunOut}, summary="Start the pipeline of a delivery day")
def start_run(request, payload: PipelineStartIn):
    require_role(request, Role.OPERATOR)
    run = start_pipeline(delivery_date=payload.delivery_date, user=request.auth)
    return Status(202, _run(run.delivery_date))


@router.get("/pipeline/runs/{delivery_date}", response=PipelineRunOut)
def get_run(request, delivery_date: date):
    require_role(request, Role.OPERATOR)
    return _run(delivery_date)


@router.post("/pipeline/runs/{delivery_date}/resume", response={202: PipelineRunOut}, summary="Resume from the failed step")
def resume_run(request, delivery_date: date):
    require_role(request, Role.OPERATOR)
    resume_pipeline(run_id=_run(delivery_date).pk)
    return Status(202, _run(delivery_date))
