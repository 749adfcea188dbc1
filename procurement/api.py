from datetime import date

from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.pagination import paginate

from core.http import document
from core.auth import require_role
from core.schemas import Text
from core.errors import InvalidInput
from core.models import Role
from core.pagination import Page
from warehouse.services import StockSite

from . import documents, selectors, services
from .schemas import (
    LineQuantityIn,
    NoteIn,
    PurchaseOrderLineIn,
    PurchaseOrderLineOut,
    PurchaseOrderIn,
    PurchaseOrderOut,
    PurchaseOrderSummary,
    GoodsReceiptIn,
    GoodsReceiptOut,
    RejectIn,
    SuggestionDecisionIn,
    SuggestionEditIn,
    SuggestionOut,
    SuggestionRunIn,
    SupplierIn,
    SupplierOut,
    SupplierProductIn,
    SupplierProductOut,
)

router = Router(tags=["procurement"])

BUYERS = (Role.PROCUREMENT, Role.OPERATOR)
RECEIVERS = (Role.WAREHOUSE, Role.PROCUREMENT, Role.OPERATOR)


def _split(parts) -> list[tuple[int, int]] | None:
    return None if parts is None else [(p.supplier_product_id, p.quantity) for p in parts]


# --- suppliers ---


@router.get("/suppliers", response=list[SupplierOut])
@paginate(Page)
def list_suppliers(request, active_only: bool = False):
    require_role(request, *BUYERS)
    return selectors.suppliers(active_only=active_only)


@router.post("/suppliers", response={201: SupplierOut})
def create_supplier(request, payload: SupplierIn):
    require_role(request, *BUYERS)
    return Status(201, services.create_supplier(**payload.dict()))


@router.get("/supplier-products", response=list[SupplierProductOut])
@paginate(Page)
def list_supplier_products(request, product_id: int | None = None, supplier_id: int | None = None):
    require_role(request, *BUYERS)
    return selectors.supplier_products(product_id=product_id, supplier_id=supplier_id)


@router.post("/supplier-products", response=SupplierProductOut, summary="Set a supplier's terms for a product")
def set_supplier_terms(request, payload: SupplierProductIn):
    require_role(request, *BUYERS)
    terms = services.set_supplier_terms(**payload.dict())
    return selectors.supplier_products().get(pk=terms.pk)


@router.get("/suppliers/performance", response=list[selectors.SupplierPerformance], summary="On-time, fill and rejection rates")
def supplier_performance(request, start: date, end: date, supplier_id: int | None = None):
    """Over the purchase orders (sent or later) for delivery days from `start` to `end`."""
    require_role(request, *BUYERS)
    if end < start:
        raise InvalidInput(_("the period ends before it starts"), field="end", code="invalid_period")
    return selectors.supplier_performance(start, end, supplier_id)


# --- suggestions ---


@router.post("/purchase-suggestions/run", response=services.SuggestionRun, summary="Propose what to buy for a delivery day")
def run_suggestions(request, payload: SuggestionRunIn):
    require_role(request, *BUYERS)
    return services.suggest_purchases(**payload.dict())


@router.get("/purchase-suggestions", response=list[SuggestionOut])
@paginate(Page)
def list_suggestions(request, delivery_date: date | None = None, status: Text | None = None):
    require_role(request, *BUYERS)
    return selectors.suggestions(delivery_date, status)


@router.post("/purchase-suggestions/{suggestion_id}/accept", response=list[PurchaseOrderSummary])
def accept_suggestion(request, suggestion_id: int, payload: SuggestionDecisionIn):
    """Puts the suggestion on draft purchase orders, one per supplier; `split` edits the quantities first."""
    require_role(request, *BUYERS)
    return services.accept_suggestion(suggestion_id=suggestion_id, actor=request.auth, split=_split(payload.split))


@router.post("/purchase-suggestions/{suggestion_id}/edit", response=SuggestionOut)
def edit_suggestion(request, suggestion_id: int, payload: SuggestionEditIn):
    require_role(request, *BUYERS)
    services.edit_suggestion(suggestion_id=suggestion_id, split=_split(payload.split), actor=request.auth)
    return selectors.suggestion(suggestion_id)


@router.post("/purchase-suggestions/{suggestion_id}/reject", response=SuggestionOut)
def reject_suggestion(request, suggestion_id: int, payload: RejectIn):
    require_role(request, *BUYERS)
    services.reject_suggestion(suggestion_id=suggestion_id, actor=request.auth, note=payload.note)
    return selectors.suggestion(suggestion_id)


# --- purchase orders ---


@router.get("/purchase-orders", response=list[PurchaseOrderSummary])
@paginate(Page)
def list_purchase_orders(request, delivery_date: date | None = None, state: Text | None = None, supplier_id: int | None = None):
    require_role(request, *RECEIVERS)
    return selectors.purchase_orders(delivery_date=delivery_date, state=state, supplier_id=supplier_id)


@router.post("/purchase-orders", response={201: PurchaseOrderOut}, summary="Draft a purchase order by hand")
def create_purchase_order(request, payload: PurchaseOrderIn):
    require_role(request, *BUYERS)
    order = services.create_purchase_order(
        supplier_id=payload.supplier_id, delivery_date=payload.delivery_date,
        site=StockSite(warehouse_id=payload.warehouse_id, depot_id=payload.depot_id),
        lines=[(line.product_id, line.quantity) for line in payload.lines], actor=request.auth,
    )
    return Status(201, selectors.purchase_order(order.pk))


@router.get("/purchase-orders/{int:purchase_order_id}", response=PurchaseOrderOut)
def get_purchase_order(request, purchase_order_id: int):
    require_role(request, *RECEIVERS)
    return selectors.purchase_order(purchase_order_id)


@router.post("/purchase-orders/{int:purchase_order_id}/lines", response={201: PurchaseOrderLineOut}, summary="Add a line to a draft")
def add_line(request, purchase_order_id: int, payload: PurchaseOrderLineIn):
    require_role(request, *BUYERS)
    return Status(201, services.add_line(purchase_order_id=purchase_order_id, product_id=payload.product_id, quantity=payload.quantity))


@router.post("/purchase-orders/{int:purchase_order_id}/lines/{line_id}", response=PurchaseOrderOut, summary="Change a draft line")
def change_line(request, purchase_order_id: int, line_id: int, payload: LineQuantityIn):
    require_role(request, *BUYERS)
    services.change_line(purchase_order_id=purchase_order_id, line_id=line_id, quantity=payload.quantity)
    return selectors.purchase_order(purchase_order_id)


@router.post("/purchase-orders/{int:purchase_order_id}/send", response=PurchaseOrderOut)
def send_purchase_order(request, purchase_order_id: int):
    require_role(request, *BUYERS)
    services.send_purchase_order(purchase_order_id=purchase_order_id, actor=request.auth)
    return selectors.purchase_order(purchase_order_id)


@router.post("/purchase-orders/{int:purchase_order_id}/cancel", response=PurchaseOrderOut)
def cancel_purchase_order(request, purchase_order_id: int, payload: NoteIn):
    require_role(request, *BUYERS)
    services.cancel_purchase_order(purchase_order_id=purchase_order_id, actor=request.auth, note=payload.note)
    return selectors.purchase_order(purchase_order_id)


@router.post("/purchase-orders/{int:purchase_order_id}/close", response=PurchaseOrderOut)
def close_purchase_order(request, purchase_order_id: int, payload: NoteIn):
    require_role(request, *BUYERS)
    services.close_purchase_order(purchase_order_id=purchase_order_id, actor=request.auth, note=payload.note)
    return selectors.purchase_order(purchase_order_id)


@router.post("/purchase-orders/{int:purchase_order_id}/receipts", response={201: GoodsReceiptOut}, summary="Book a goods receipt with QC")
def receive_goods(request, purchase_order_id: int, payload: GoodsReceiptIn):
    """Idempotent on `document_number`: the same receipt again answers as the first time; other content under it is a 409."""
    require_role(request, *RECEIVERS)
    receipt = services.receive_goods(
        purchase_order_id=purchase_order_id, document_number=payload.document_number, received_at=payload.received_at,
        lines=[services.ReceiptLineInput(**line.dict()) for line in payload.lines], actor=request.auth,
    )
    return Status(201, receipt)



@router.get("/purchase-orders/{purchase_order_id}.csv", response={200: None})
def purchase_order_csv(request, purchase_order_id: int):
    require_role(request, *RECEIVERS)
    order = selectors.purchase_order(purchase_order_id)
    return document(documents.purchase_order_csv(order), f"{order.number}.csv")


@router.get("/purchase-orders/{purchase_order_id}.pdf", response={200: None})
def purchase_order_pdf(request, purchase_order_id: int):
    require_role(request, *RECEIVERS)
    order = selectors.purchase_order(purchase_order_id)
    return document(documents.purchase_order_pdf(order), f"{order.number}.pdf")
