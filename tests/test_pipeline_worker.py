"""The pipeline on a real worker through Redis: killed in the middle of planning routes, restarted and
resumed, it ends with the same allocations, routes and pick lists as an uninterrupted run, nothing twice."""
import time

import pytest

from pipeline.models import PipelineRun, PipelineStep, RunStatus
from pipeline.services import resume_pipeline, start_pipeline
from tests.fixtures_worker import log_tail
from tests.test_pipeline import _outputs, ordered_day  # noqa: F401 - the fixture is used by name

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

PLANNING_SECONDS = 6  # long enough to kill the worker while it is planning


@pytest.fixture
def worker_env():
    return {"ROUTING_SOLVER_TIME_LIMIT_SECONDS": str(PLANNING_SECONDS)}


def _wait_for(condition, worker, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            steps = list(PipelineStep.objects.values_list("name", "status", "error"))
            pytest.fail(f"timed out waiting for {what}; steps: {steps}\n{log_tail(worker.log)}")
        time.sleep(0.2)


def _run_status(day) -> str:
    return PipelineRun.objects.get(delivery_date=day).status


def test_a_killed_worker_resumes_and_matches_an_uninterrupted_run(ordered_day, celery_worker):  # noqa: F811
    day = ordered_day.delivery_date
    start_pipeline(delivery_date=day)
    planning = PipelineStep.objects.filter(run__delivery_date=day, name="plan_routes", status=RunStatus.RUNNING)
    _wait_for(planning.exists, celery_worker, 60, "route planning to start")
    time.sleep(1.0)
    celery_worker.kill()
    assert _run_status(day) == RunStatus.RUNNING  # nobody finished the step: it was killed
    steps = dict(PipelineStep.objects.filter(run__delivery_date=day).values_list("name", "status"))
    assert steps["pick_lists"] == steps["notify"] == RunStatus.PENDING

    celery_worker.start()
    resume_pipeline(run_id=PipelineRun.objects.get(delivery_date=day).pk)
    _wait_for(lambda: _run_status(day) == RunStatus.SUCCEEDED, celery_worker, 120, "the resumed run to succeed")
    resumed = _outputs(day)
    attempts = dict(PipelineStep.objects.filter(run__delivery_date=day).values_list("name", "attempts"))
    assert attempts == {"close_wave": 1, "allocate": 1, "refund_shortages": 1, "plan_routes": 2, "pick_lists": 1, "notify": 1}

    # The same day again, uninterrupted, from scratch: every step replaces its own output.
    PipelineRun.objects.filter(delivery_date=day).delete()
    start_pipeline(delivery_date=day)
    _wait_for(lambda: _run_status(day) == RunStatus.SUCCEEDED, celery_worker, 120, "the uninterrupted run")
    assert _outputs(day) == resumed
    assert resumed["routes"] >= 1 and resumed["sort_lists"] == resumed["routes"] and resumed["codes"] == 5
