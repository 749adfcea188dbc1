from datetime import date

from celery import group, shared_task

from warehouse.selectors import depots_with_allocations

from . import services


@shared_task(acks_late=True)
def plan_depot_routes(depot_id: int, delivery_date_iso: str) -> dict:
    """Plan one depot's day; safe to retry (a rerun replaces the depot's plan of the day)."""
    plan = services.plan_depot_routes(depot_id=depot_id, delivery_date=date.fromisoformat(delivery_date_iso))
    return {"depot_id": depot_id, "plan_id": plan.pk, "stops": plan.stop_count, "dropped": plan.dropped_count}


@shared_task
def plan_all_depots(delivery_date_iso: str) -> list[int]:
    """Fan out one planning task per depot with allocations that day; the group runs them in parallel
    on the workers. Returns the depots sent off."""
    depot_ids = depots_with_allocations(date.fromisoformat(delivery_date_iso))
    group(plan_depot_routes.si(depot_id, delivery_date_iso) for depot_id in depot_ids).apply_async()
    return depot_ids
