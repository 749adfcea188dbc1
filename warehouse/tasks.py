from datetime import date

from celery import shared_task

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
