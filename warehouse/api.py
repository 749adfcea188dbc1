from datetime import date

from ninja import Router, Status
from ninja.pagination import paginate

from core.http import document
from core.auth import require_role
from core.pagination import Page
from core.models import Role

from . import documents, selectors, services
from .schemas import (
    AllocationOut,
    AllocationRunIn,
    AllocationSummaryOut,
    DemandForecastOut,
    ForecastRunIn,
    ForecastRunOut,
    LineShortageOut,
    LotIn,
    LotOut,
    PickProductOut,
    SortListOut,
    SortListsIn,
    SortListSummary,
    StockCountIn,
    StockMoveOut,
)

router = Router(tags=["warehouse"])

STOCK_STAFF = (Role.WAREHOUSE, Role.OPERATOR, Role.PROCUREMENT)
PICKING_STAFF = (Role.WAREHOUSE, Role.OPERATOR)



# --- stock ---


@router.get("/lots", response=list[LotOut])
@paginate(Page)
def list_lots(request, product_id: int | None = None, depot_id: int | None = None, include_empty: bool = False):
    require_role(request, *STOCK_STAFF)
    return selectors.lots(product_id=product_id, depot_id=depot_id, include_empty=include_empty)


@router.post("/lots", response={201: LotOut}, summary="Book found stock into a new lot (an adjustment)")
def add_lot(request, payload: LotIn):
    require_role(request, *PICKING_STAFF)
    lot = services.receive_lot(
        product_id=payload.product_id,
        site=services.StockSite(warehouse_id=payload.warehouse_id, depot_id=payload.depot_id),
        quantity=payload.quantity,
        expiry_date=payload.expiry_date,
        actor=request.auth,
        reference=payload.reason,
        bin_location=payload.bin_location,
        source="adjustment",
    )
    return Status(201, selectors.lot(lot.pk))


@router.post("/lots/{lot_id}/count", response=LotOut, summary="Record a stock count; the difference is booked")
def count_lot(request, lot_id: int, payload: StockCountIn):
    require_role(request, *PICKING_STAFF)
    services.count_stock(lot_id=lot_id, counted=payload.counted, actor=request.auth)
    return selectors.lot(lot_id)


@router.get("/lots/{lot_id}/moves", response=list[StockMoveOut])
def lot_moves(request, lot_id: int):
    require_role(request, *STOCK_STAFF)
    return selectors.lot(lot_id).moves.all()


# --- forecasts ---


@router.post("/forecasts/run", response=ForecastRunOut, summary="Forecast a depot's demand for a delivery day")
def run_forecast(request, payload: ForecastRunIn):
    require_role(request, Role.PROCUREMENT, Role.OPERATOR)
    return services.forecast_depot(
        delivery_date=payload.delivery_date, depot_id=payload.depot_id, history_days=payload.history_days
    )


@router.get("/forecasts", response=list[DemandForecastOut])
@paginate(Page)
def list_forecasts(request, delivery_date: date, depot_id: int | None = None, product_id: int | None = None, depot_level: bool = False):
    """Per pickup point by default; `depot_level=true` gives one row per product for the whole depot."""
    require_role(request, *STOCK_STAFF)
    return selectors.forecasts(delivery_date, depot_id=depot_id, product_id=product_id, depot_level=depot_level)


# --- allocation ---


@router.post("/allocations/run", response=AllocationSummaryOut, summary="Allocate the day's stock to its demand")
def run_allocation(request, payload: AllocationRunIn):
    """Reruns replace the day's earlier allocation; shortages are cut from residents' lines for refund."""
    require_role(request, *PICKING_STAFF)
    return services.allocate_day(
        delivery_date=payload.delivery_date,
        min_remaining_days=payload.min_remaining_days,
        order_time_weight=payload.order_time_weight,
    )


@router.get("/allocations", response=list[AllocationOut])
@paginate(Page)
def list_allocations(request, delivery_date: date, pickup_point_id: int | None = None):
    require_role(request, *PICKING_STAFF)
    return selectors.allocations(delivery_date, pickup_point_id)


@router.get("/shortages", response=list[LineShortageOut], summary="Order lines cut for lack of stock, and why")
@paginate(Page)
def list_shortages(request, delivery_date: date):
    require_role(request, Role.LEADER, *PICKING_STAFF)
    return selectors.shortages_visible_to(request.auth, delivery_date)


# --- pick lists ---


@router.get("/pick-lists/batch", response=list[PickProductOut])
def batch_pick_list(request, delivery_date: date, depot_id: int | None = None):
    """Per product the total to pick, from which lots and bins, cold chain first."""
    require_role(request, *PICKING_STAFF)
    return selectors.batch_pick_list(delivery_date, depot_id)


@router.get("/pick-lists/batch.csv", response={200: None})
def batch_pick_list_csv(request, delivery_date: date, depot_id: int | None = None):
    require_role(request, *PICKING_STAFF)
    picks = selectors.batch_pick_list(delivery_date, depot_id)
    return document(documents.batch_pick_csv(picks), f"pick-{delivery_date}.csv")


@router.get("/pick-lists/batch.pdf", response={200: None})
def batch_pick_list_pdf(request, delivery_date: date, depot_id: int | None = None):
    require_role(request, *PICKING_STAFF)
    picks = selectors.batch_pick_list(delivery_date, depot_id)
    depot_name = selectors.depot_name(depot_id) if depot_id is not None else None
    return document(documents.batch_pick_pdf(delivery_date, picks, depot_name), f"pick-{delivery_date}.pdf")


@router.post("/sort-lists", response=list[SortListSummary], summary="Rebuild the day's sort lists from route stop orders")
def build_sort_lists(request, payload: SortListsIn):
    require_role(request, *PICKING_STAFF)
    return services.build_sort_lists(
        delivery_date=payload.delivery_date,
        routes=[services.RouteStops(r.route_code, r.depot_id, tuple(r.pickup_point_ids)) for r in payload.routes],
    )


@router.get("/sort-lists", response=list[SortListSummary])
def list_sort_lists(request, delivery_date: date, depot_id: int | None = None):
    require_role(request, *PICKING_STAFF)
    # Read here, not while the answer is serialised: an id beyond the database's range then answers 422.
    return list(selectors.sort_lists(delivery_date, depot_id))


@router.get("/sort-lists/{int:sort_list_id}", response=SortListOut)
def get_sort_list(request, sort_list_id: int):
    require_role(request, *PICKING_STAFF)
    sort_list = selectors.sort_list(sort_list_id)
    stops = selectors.sort_list_stops(sort_list)
    return {
        "id": sort_list.pk, "delivery_date": sort_list.delivery_date, "depot_id": sort_list.depot_id,
        "route_code": sort_list.route_code,
        "stops": [{**stop.__dict__, "tote_label": stop.tote_label(sort_list)} for stop in stops],
    }


@router.get("/sort-lists/{sort_list_id}.csv", response={200: None})
def sort_list_csv(request, sort_list_id: int):
    require_role(request, *PICKING_STAFF)
    sort_list = selectors.sort_list(sort_list_id)
    content = documents.sort_list_csv(sort_list, selectors.sort_list_stops(sort_list))
    return document(content, f"sort-{sort_list.route_code}.csv")


@router.get("/sort-lists/{sort_list_id}.pdf", response={200: None})
def sort_list_pdf(request, sort_list_id: int):
    require_role(request, *PICKING_STAFF)
    sort_list = selectors.sort_list(sort_list_id)
    content = documents.sort_list_pdf(sort_list, selectors.sort_list_stops(sort_list))
    return document(content, f"sort-{sort_list.route_code}.pdf")
