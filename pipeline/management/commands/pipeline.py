"""`manage.py pipeline start|resume|show --date YYYY-MM-DD`: the nightly pipeline by hand."""
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.errors import ServiceError

from ...models import PipelineRun
from ...services import resume_pipeline, start_pipeline


class Command(BaseCommand):
    help = "Start, resume or show the nightly pipeline of a delivery day."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "resume", "show"])
        parser.add_argument("--date", required=True, type=date.fromisoformat, help="delivery day, YYYY-MM-DD")

    def handle(self, *args, action, date, **options):
        try:
            if action == "start":
                start_pipeline(delivery_date=date)
            elif action == "resume":
                run_id = PipelineRun.objects.filter(delivery_date=date).values_list("pk", flat=True).first()
                if run_id is None:
                    raise CommandError(f"there is no pipeline run for {date}")
                resume_pipeline(run_id=run_id)
        except ServiceError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from exc
        self._show(date)

    def _show(self, day):
        run = PipelineRun.objects.filter(delivery_date=day).first()
        if run is None:
            raise CommandError(f"there is no pipeline run for {day}")
        self.stdout.write(f"pipeline {run.delivery_date}: {run.status} (launched {run.launches} times)")
        for step in run.steps.all():
            took = f"{step.duration_seconds:.2f} s" if step.duration_seconds is not None else "-"
            self.stdout.write(f"  {step.position}. {step.name:<17} {step.status:<10} {took:>9}  {step.counts}")
            if step.error:
                self.stdout.write(self.style.ERROR("     " + step.error.splitlines()[0]))
