from celery import shared_task

from . import services


@shared_task(acks_late=True)
def close_wave(wave_id: int) -> dict:
    """Lock a wave and aggregate its demand; safe to retry (it rebuilds the same rows)."""
    closing = services.close_wave(wave_id)
    return {"wave_id": closing.wave_id, "demand_lines": closing.demand_lines, "quantity": closing.quantity}


@shared_task
def close_due_waves() -> list[int]:
    """Run every minute by beat: close each wave whose cutoff has passed."""
    return [closing.wave_id for closing in services.close_due_waves()]
