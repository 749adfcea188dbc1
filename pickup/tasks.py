from datetime import date

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True)
def record_shortage_refunds(delivery_date: str) -> int:
    """Refund a day's stock shortages; safe to retry (lines already refunded are skipped)."""
    return services.record_shortage_refunds(delivery_date=date.fromisoformat(delivery_date))


@shared_task(acks_late=True)
def record_todays_shortage_refunds() -> int:
    """Daily, before the points open: the morning's shortages, in case the night's pipeline did not get there."""
    return services.record_shortage_refunds(delivery_date=timezone.localdate())


@shared_task(acks_late=True)
def return_uncollected() -> dict:
    """Daily: return or write off what was not collected in time, and refund it; idempotent."""
    summary = services.return_uncollected()
    return {"lines": summary.lines, "restocked": summary.restocked, "written_off": summary.written_off,
            "refund_amount": str(summary.refund_amount)}


@shared_task(acks_late=True)
def settle_commissions() -> int:
    """Daily: settle the commission that is due; idempotent."""
    return services.settle_commissions()
