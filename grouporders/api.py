from datetime import date

from django.http import StreamingHttpResponse
from ninja import Header, Router, Status
from ninja.pagination import paginate

from catalog.schemas import PickupPointOut
from core.auth import require_role
from core.schemas import Text
from core.pagination import Page
from core.http import idempotent
from core.models import Role

from . import selectors, services
from .schemas import (
    DealIn,
    DealOut,
    DemandByPointOut,
    DemandByProductOut,
    DemandLineOut,
    LeaderOrderIn,
    LeaderOrderOut,
    LeaderOrderSummary,
    WaveClosingOut,
    WaveIn,
    WaveOut,
    submitted_order_json,
)

router = Router(tags=["group-leader orders"])

STAFF = (Role.OPERATOR, Role.WAREHOUSE, Role.PROCUREMENT)


@router.get("/pickup-points", response=list[PickupPointOut])
@paginate(Page)
def list_pickup_points(request):
    """Leaders see only their own pickup points."""
    return selectors.pickup_points_visible_to(request.auth)


# --- waves and deals ---


@router.get("/waves", response=list[WaveOut])
def list_waves(request, status: Text | None = None):
    return selectors.waves(status)[:100]


@router.post("/waves", response={201: WaveOut})
def create_wave(request, payload: WaveIn):
    require_role(request, Role.OPERATOR)
    return Status(201, services.create_wave(delivery_date=payload.delivery_date, cutoff_at=payload.cutoff_at))


@router.get("/waves/{wave_id}", response=WaveOut)
def get_wave(request, wave_id: int):
    return selectors.wave(wave_id)


@router.get("/waves/{wave_id}/deals", response=list[DealOut])
def list_deals(request, wave_id: int):
    return selectors.deals_of_wave(wave_id)


@router.post("/waves/{wave_id}/deals", response={201: DealOut})
def create_deal(request, wave_id: int, payload: DealIn):
    require_role(request, Role.OPERATOR)
    return Status(201, services.create_deal(wave_id=wave_id, **payload.dict()))


@router.post("/waves/{wave_id}/close", response=WaveClosingOut)
def close_wave(request, wave_id: int):
    """Lock the wave now (also done by beat at the cutoff) and aggregate its demand."""
    require_role(request, Role.OPERATOR)
    return services.close_wave(wave_id)


# --- leader orders ---


@router.get("/orders", response=list[LeaderOrderSummary])
@paginate(Page)
def list_orders(request, wave_id: int | None = None):
    require_role(request, Role.LEADER, Role.OPERATOR)
    orders = selectors.orders_visible_to(request.auth)
    return orders.filter(wave_id=wave_id) if wave_id is not None else orders


@router.post(
    "/orders",
    response={200: LeaderOrderOut, 201: LeaderOrderOut},
    summary="Submit or replace the consolidated order for a pickup point",
)
def submit_order(request, payload: LeaderOrderIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """The whole order for (pickup point, wave); a second submission replaces the first until the cutoff.

    Send an `Idempotency-Key` header: a retried request returns the first answer and changes nothing.
    """
    require_role(request, Role.LEADER)

    def submit():
        order = services.submit_leader_order(
            user=request.auth,
            wave_id=payload.wave_id,
            pickup_point_id=payload.pickup_point_id,
            lines=[
                services.LineInput(
                    resident=services.ResidentInput(line.resident.name, line.resident.phone, line.resident.consent),
                    deal_id=line.deal_id,
                    quantity=line.quantity,
                )
                for line in payload.lines
            ],
        )
        return (201 if order.revision == 1 else 200), submitted_order_json(order)

    return idempotent(request, submit)


@router.get("/orders/{order_id}", response=LeaderOrderOut)
def get_order(request, order_id: int):
    require_role(request, Role.LEADER, Role.OPERATOR)
    return selectors.order_with_lines(request.auth, order_id)


@router.post("/orders/{order_id}/cancel", response=LeaderOrderOut)
def cancel_order(request, order_id: int):
    require_role(request, Role.LEADER)
    services.cancel_leader_order(user=request.auth, order_id=order_id)
    return selectors.order_with_lines(request.auth, order_id)


@router.post("/orders/{order_id}/lines/{line_id}/cancel", response=LeaderOrderOut)
def cancel_line(request, order_id: int, line_id: int):
    require_role(request, Role.LEADER)
    services.cancel_order_line(user=request.auth, order_id=order_id, line_id=line_id)
    return selectors.order_with_lines(request.auth, order_id)


# --- demand after the cutoff ---


@router.get("/demand", response=list[DemandLineOut])
@paginate(Page)
def list_demand(request, delivery_date: date, pickup_point_id: int | None = None, product_id: int | None = None):
    require_role(request, *STAFF)
    return selectors.demand_lines(delivery_date=delivery_date, pickup_point_id=pickup_point_id, product_id=product_id)


@router.get("/demand/by-point", response=list[DemandByPointOut])
@paginate(Page)
def demand_by_point(request, delivery_date: date):
    require_role(request, *STAFF)
    return selectors.demand_by_point(delivery_date)


@router.get("/demand/by-product", response=list[DemandByProductOut])
@paginate(Page)
def demand_by_product(request, delivery_date: date):
    require_role(request, *STAFF)
    return selectors.demand_by_product(delivery_date)


@router.get("/demand.csv", response={200: None})
def export_demand_csv(request, delivery_date: date):
    """The day's demand lines as CSV, streamed."""
    require_role(request, *STAFF)
    return StreamingHttpResponse(
        selectors.demand_csv_lines(delivery_date),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="demand-{delivery_date}.csv"'},
    )
