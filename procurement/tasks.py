from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import selectors, services


@shared_task
def suggest_tomorrows_purchases() -> list[dict]:
    """Propose tomorrow's purchases for each group of depots that buys together; reruns replace proposals."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    if not selectors.has_wave(tomorrow):
        return []
    runs = [services.suggest_purchases(delivery_date=tomorrow, depot_ids=depots) for depots in selectors.receiving_groups()]
    return [{**run.__dict__, "delivery_date": run.delivery_date.isoformat()} for run in runs]
