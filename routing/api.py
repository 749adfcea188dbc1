from datetime import date

from django.utils import timezone
from ninja import Router
from ninja.pagination import paginate

from core.auth import require_role
from core.models import Role
from core.pagination import Page

from . import selectors, services
from .schemas import (
    ArrivalIn,
    DayIn,
    DeliveryIn,
    DroppedStopOut,
    OutageIn,
    OutageOut,
    PlanIn,
    PlanOut,
    PlanSummaryOut,
    ReplanIn,
    RouteOut,
    SortListCountOut,
    StopOut,
    VehicleOut,
)

router = Router(tags=["routing"])

PLANNERS = (Role.OPERATOR, Role.WAREHOUSE)


# --- plans (operators and warehouse staff) ---


@router.post("/route-plans", response=PlanOut, summary="Plan (or plan again) a depot's routes for a day")
def plan_routes(request, payload: PlanIn):
    """Replaces the depot's plan of the day; 409 once a driver has confirmed a stop (re-plan instead)."""
    require_role(request, *PLANNERS)
    plan = services.plan_depot_routes(
        depot_id=payload.depot_id, delivery_date=payload.delivery_date,
        time_limit_seconds=payload.time_limit_seconds, seed=payload.seed,
    )
    return selectors.plan(plan.pk)


@router.get("/route-plans", response=list[PlanSummaryOut])
@paginate(Page)
def list_plans(request, delivery_date: date | None = None, depot_id: int | None = None):
    require_role(request, *PLANNERS)
    return selectors.plans(delivery_date=delivery_date, depot_id=depot_id)


@router.get("/route-plans/{int:plan_id}", response=PlanOut)
def get_plan(request, plan_id: int):
    require_role(request, *PLANNERS)
    return selectors.plan(plan_id)


@router.get("/route-plans/{int:plan_id}/dropped-stops", response=list[DroppedStopOut])
def list_dropped_stops(request, plan_id: int):
    """Pickup points the plan could not serve, each with the reason; their goods stay at the depot."""
    require_role(request, *PLANNERS)
    return selectors.dropped_stops(plan_id)


@router.post("/route-plans/{int:plan_id}/replan", response=PlanOut, summary="Re-plan what is not yet delivered")
def replan(request, payload: ReplanIn, plan_id: int):
    """Confirmed stops stay; vans on the road go on from their last confirmed stop; stops are read
    afresh from the allocations (late stops join, cancelled ones leave)."""
    require_role(request, *PLANNERS)
    plan = selectors.plan(plan_id)
    services.replan_depot_routes(
        depot_id=plan.depot_id, delivery_date=plan.delivery_date,
        time_limit_seconds=payload.time_limit_seconds, seed=payload.seed,
    )
    return selectors.plan(plan_id)


@router.post("/route-plans/pick-lists", response=SortListCountOut, summary="Hand the day's stop order to the sort lists")
def send_to_pick_lists(request, payload: DayIn):
    require_role(request, *PLANNERS)
    return {"sort_lists": services.send_stop_order_to_pick_lists(delivery_date=payload.delivery_date)}


# --- vehicles ---


@router.get("/vehicles", response=list[VehicleOut])
@paginate(Page)
def list_vehicles(request, depot_id: int | None = None):
    require_role(request, *PLANNERS)
    return selectors.vehicles(depot_id)


@router.post("/vehicles/{int:vehicle_id}/outages", response=OutageOut, summary="Take a vehicle out for a day")
def vehicle_outage(request, payload: OutageIn, vehicle_id: int):
    """The depot's plan of that day, if any, is re-planned without the vehicle at once."""
    require_role(request, *PLANNERS)
    plan = services.mark_vehicle_unavailable(
        vehicle_id=vehicle_id, delivery_date=payload.delivery_date, reason=payload.reason,
        time_limit_seconds=payload.time_limit_seconds, seed=payload.seed,
    )
    return {"vehicle_id": vehicle_id, "delivery_date": payload.delivery_date, "reason": payload.reason.strip(), "plan": plan}


# --- drivers ---


@router.get("/routes/{int:route_id}", response=RouteOut)
def get_route(request, route_id: int):
    """A driver sees only their own routes; other routes answer 404."""
    require_role(request, Role.DRIVER, *PLANNERS)
    return selectors.route(request.auth, route_id)


@router.get("/driver/route", response=RouteOut, summary="The driver's route of the day (default today)")
def my_route(request, delivery_date: date | None = None):
    require_role(request, Role.DRIVER)
    return selectors.driver_route(request.auth, delivery_date or timezone.localdate())


@router.post("/route-stops/{int:stop_id}/arrival", response=StopOut, summary="Confirm arriving at a stop")
def confirm_arrival(request, payload: ArrivalIn, stop_id: int):
    """Idempotent: a repeat keeps the first time. Only the route's driver (or an operator) may confirm."""
    require_role(request, Role.DRIVER, Role.OPERATOR)
    services.confirm_arrival(user=request.auth, stop_id=stop_id, at=payload.at)
    return selectors.stop(request.auth, stop_id)


@router.post("/route-stops/{int:stop_id}/delivery", response=StopOut, summary="Confirm the hand-over at a stop")
def confirm_delivery(request, payload: DeliveryIn, stop_id: int):
    """With the delivered quantity per product (by default all planned). Idempotent; a repeat with
    other quantities answers 409."""
    require_role(request, Role.DRIVER, Role.OPERATOR)
    delivered = None if payload.lines is None else [(line.product_id, line.quantity) for line in payload.lines]
    services.confirm_delivery(user=request.auth, stop_id=stop_id, at=payload.at, delivered=delivered)
    return selectors.stop(request.auth, stop_id)
