from celery import shared_task

from . import services


@shared_task
def forget_old_idempotency_keys() -> int:
    """Daily: drop remembered answers older than IDEMPOTENCY_KEY_TTL_HOURS."""
    return services.forget_old_idempotency_keys()
