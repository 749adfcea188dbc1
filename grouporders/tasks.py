from celery import shared_task

from . import services


@shared_task(acks_late=True)
def close_wave(wave_id: int) -> dict:
    """Lock a wave and aggregate its demand; safe to retry (it rebuilds the same rows)."""
    closing = services.close_wave(wave_id)
    return {"wave_id": closing.wave_id, "demand_lines": closing.demand_lines, "quantity": closing.quantity}
