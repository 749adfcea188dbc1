from datetime import date

from celery import group, shared_task

from catalog.models import Depot

from . import services


@shared_task(acks_late=True)
def allocate_day(delivery_date: str) -> dict:
    """Allocate a day's stock; safe to retry (a rerun replaces the day's own output)."""
    summary = services.allocate_day(delivery_date=date.fromisoformat(delivery_date))
    return {"demand_lines": summary.demand_lines, "allocated": summary.allocated, "short_lines": summary.short_lines,
            "refund_amount": str(summary.refund_amount)}


@shared_task
def write_off_expired() -> int:
    """Daily: write off what is left of expired lots."""
    return services.write_off_expired()


@shared_task(acks_late=True)
def forecast_depot(delivery_date: str, depot_id: int) -> dict:
    """Forecast one depot's demand for a delivery day; reruns replace the earlier forecast."""
    run = services.forecast_depot(delivery_date=date.fromisoformat(delivery_date), depot_id=depot_id)
    return {"depot_id": run.depot_id, "point_series": run.point_series, "depot_series": run.depot_series}


@shared_task
def forecast_all_depots(delivery_date: str) -> list[int]:
    """Fan out one forecast task per depot (they run in parallel on the workers)."""
    depot_ids = list(Depot.objects.values_list("pk", flat=True))
    group(forecast_depot.s(delivery_date, depot_id) for depot_id in depot_ids).apply_async()
    return depot_ids
