"""Every write of procurement: suppliers, purchase suggestions, purchase orders and their lifecycle, goods receipts."""
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Depot, Product, Warehouse
from core.errors import Conflict, InvalidInput, NotFound
from grouporders.models import SalesWave, WaveStatus
from warehouse.services import StockSite, receive_lot

from . import newsvendor, selectors
from .models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderState,
    PurchaseOrderTransition,
    PurchaseSuggestion,
    SuggestionStatus,
    Supplier,
    SupplierProduct,
)

State = PurchaseOrderState

# Which state may follow which. Receipts move sent orders to (partially) received; people do the rest.
TRANSITIONS = {
    State.DRAFT: {State.SENT, State.CANCELLED},
    State.SENT: {State.PARTIALLY_RECEIVED, State.RECEIVED, State.CANCELLED},
    State.PARTIALLY_RECEIVED: {State.RECEIVED, State.CLOSED},
    State.RECEIVED: {State.CLOSED},
    State.CLOSED: set(),
    State.CANCELLED: set(),
}


class InvalidTransition(Conflict):
    """409: the purchase order is in a state that does not allow this; the detail names the state."""

    default_code = "invalid_transition"

    def __init__(self, order: PurchaseOrder, action: str):
        super().__init__(
            _("purchase order %(number)s is %(state)s; cannot %(action)s") % {
                "number": order.number, "state": str(State(order.state).label).lower(), "action": action},
            field="state",
        )
        self.state = order.state


# --- suppliers ---------------------------------------------------------------------------------


def create_supplier(*, code: str, name: str, lead_time_days: int = 1, **contact) -> Supplier:
    if Supplier.objects.filter(code=code).exists():
        raise Conflict(_("supplier %(code)s already exists") % {"code": code}, field="code", code="supplier_exists")
    return Supplier.objects.create(code=code, name=name, lead_time_days=lead_time_days, **contact)


def set_supplier_terms(
    *, supplier_id: int, product_id: int, unit_cost: Decimal, case_pack: int, moq: int, daily_capacity: int,
    shelf_life_days: int, priority: int,
) -> SupplierProduct:
    """Create or replace what a supplier sells us of a product; priority 0 makes it the preferred one."""
    if unit_cost <= 0:
        raise InvalidInput(_("a unit cost must be positive"), field="unit_cost", code="cost_not_positive")
    if case_pack < 1:
        raise InvalidInput(_("a case holds at least one unit"), field="case_pack", code="case_pack_too_small")
    if not Supplier.objects.filter(pk=supplier_id).exists():
        raise InvalidInput(_("supplier %(supplier_id)s does not exist") % {"supplier_id": supplier_id}, field="supplier_id", code="supplier_not_found")
    if not Product.objects.filter(pk=product_id).exists():
        raise InvalidInput(_("product %(product_id)s does not exist") % {"product_id": product_id}, field="product_id", code="product_not_found")
    with transaction.atomic():
        taken = SupplierProduct.objects.filter(product_id=product_id, priority=priority).exclude(supplier_id=supplier_id)
        if taken.exists():
            raise Conflict(
                _("another supplier has priority %(priority)s for this product") % {"priority": priority}, field="priority",
                code="priority_taken",
            )
        terms, _created = SupplierProduct.objects.update_or_create(
            supplier_id=supplier_id, product_id=product_id,
            defaults=dict(unit_cost=unit_cost, case_pack=case_pack, moq=moq, daily_capacity=daily_capacity,
                          shelf_life_days=shelf_life_days, priority=priority),
        )
    return terms


# --- purchase suggestions ----------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionRun:
    delivery_date: date
    demand_source: str
    depot_ids: list[int]
    warehouse_id: int | None
    depot_id: int | None
    products: int
    products_without_supplier: int
    suggestions: int
    units: int


def _receiving_site(depot_ids: list[int], warehouse_id: int | None, depot_id: int | None) -> StockSite:
    """Where the goods arrive: as asked, else the depots' one central warehouse, else the single depot."""
    if warehouse_id is not None or depot_id is not None:
        site = StockSite(warehouse_id=warehouse_id, depot_id=depot_id)
        if warehouse_id is not None and not Warehouse.objects.filter(pk=warehouse_id).exists():
            raise InvalidInput(
                _("warehouse %(warehouse_id)s does not exist") % {"warehouse_id": warehouse_id}, field="warehouse_id",
                code="warehouse_not_found",
            )
        if depot_id is not None and not Depot.objects.filter(pk=depot_id).exists():
            raise InvalidInput(_("depot %(depot_id)s does not exist") % {"depot_id": depot_id}, field="depot_id", code="depot_not_found")
        return site
    central = selectors.central_warehouses(depot_ids)
    if len(central) == 1:
        return StockSite(warehouse_id=central[0])
    if len(depot_ids) == 1 and not central:
        return StockSite(depot_id=depot_ids[0])
    raise InvalidInput(
        _("these depots have no single central warehouse: name where the goods arrive"), field="warehouse_id",
        code="warehouse_required",
    )


def _terms_by_product(terms: list[tuple]) -> dict[int, list[tuple]]:
    by_product: dict[int, list[tuple]] = {}
    for row in terms:
        by_product.setdefault(row[0], []).append(row)
    return by_product


def _options(rows_per_product: list[list[tuple]]) -> newsvendor.SupplierOptions:
    """Supplier terms as (products × preference) arrays for the split."""
    width = max((len(rows) for rows in rows_per_product), default=1)
    shape = (len(rows_per_product), width)
    pack, moq, capacity = np.ones(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    for i, rows in enumerate(rows_per_product):
        for j, (_, _, _, _, case_pack, min_qty, cap, _) in enumerate(rows):
            pack[i, j], moq[i, j], capacity[i, j] = case_pack, min_qty, cap
    return newsvendor.SupplierOptions(pack, moq, capacity)


def _scope(depot_ids: list[int] | None, warehouse_id: int | None, depot_id: int | None):
    """The depots whose demand counts, where the goods arrive, and the sites whose stock counts
    (the depots, their central warehouses and the receiving site): (depots, site, (depots, warehouses))."""
    all_depots = list(Depot.objects.order_by("pk").values_list("pk", flat=True))
    depot_ids = sorted(set(depot_ids)) if depot_ids else all_depots
    unknown = set(depot_ids) - set(all_depots)
    if unknown:
        raise InvalidInput(_("no such depots: %(ids)s") % {"ids": sorted(unknown)}, field="depot_ids", code="depot_not_found")
    site = _receiving_site(depot_ids, warehouse_id, depot_id)
    warehouse_ids = selectors.central_warehouses(depot_ids)
    if site.warehouse_id is not None and site.warehouse_id not in warehouse_ids:
        warehouse_ids.append(site.warehouse_id)
    stock_depots = depot_ids if site.depot_id is None or site.depot_id in depot_ids else [*depot_ids, site.depot_id]
    return depot_ids, site, (stock_depots, warehouse_ids)


def _targets(delivery_date: date, demand_source: str, depot_ids: list[int], products: np.ndarray, ratio: np.ndarray):
    """Per product (target, mean demand): the ordered demand, or the pooled forecast's quantile at the ratio."""
    if demand_source == "orders":
        ordered = selectors.ordered_demand(delivery_date, depot_ids)
        target = np.array([ordered.get(int(p), 0) for p in products], dtype=np.int64)
        return target, target.astype(np.float64)
    rows = selectors.depot_forecasts(delivery_date, depot_ids)
    rows = rows[np.isin(rows[:, 0], products)] if rows.size else rows.reshape(0, 5)
    return newsvendor.newsvendor_targets(
        rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], ratio,
        group=np.searchsorted(products, rows[:, 0].astype(np.int64)), n_groups=products.size,
    )


def suggest_purchases(
    *, delivery_date: date, depot_ids: list[int] | None = None, warehouse_id: int | None = None, depot_id: int | None = None
) -> SuggestionRun:
    """Propose what to buy for a delivery day for a set of depots (all by default), product by product.

    Demand is the depots' forecast before the cutoff and the ordered demand after it; the target is
    the newsvendor quantile (see procurement/newsvendor.py), less usable stock at the receiving
    sites and what open purchase orders still bring, grossed up by the preferred supplier's record of
    delivering short (``newsvendor.delivery_rate``), split over the suppliers. Replaces the day's
    still-proposed suggestions for the same receiving site; decided ones stay.
    """
    wave = SalesWave.objects.filter(delivery_date=delivery_date).first()
    if wave is None:
        raise NotFound(
            _("there is no sales wave for %(delivery_date)s") % {"delivery_date": delivery_date}, field="delivery_date",
            code="wave_not_found",
        )
    depot_ids, site, stock_sites = _scope(depot_ids, warehouse_id, depot_id)

    prices = selectors.deal_prices(delivery_date)
    taken = selectors.capacity_taken(delivery_date)
    # Capacity already on other orders for the day is not free.
    by_product = _terms_by_product(
        [(*row[:6], max(row[6] - taken.get(row[1], 0), 0), row[7]) for row in selectors.supplier_terms(list(prices))]
    )
    products = np.array(sorted(set(prices) & set(by_product)), dtype=np.int64)
    product_terms = [by_product[int(p)] for p in products]
    options = _options(product_terms)

    preferred = [rows[0] for rows in product_terms]
    price = np.array([float(prices[int(p)]) for p in products])
    cost = np.array([float(row[3]) for row in preferred])
    days_to_next_wave = 2 + settings.ALLOCATION_MIN_REMAINING_DAYS  # arrives D-1, must still be usable on D+1
    salvage = newsvendor.salvage_value(
        cost, np.array([row[7] for row in preferred]), days_to_next_wave, settings.PROCUREMENT_CARRY_COST_RATE
    )
    ratio = newsvendor.critical_ratio(price, cost, salvage)
    if settings.PROCUREMENT_POLICY == "service_level":
        ratio = np.full_like(ratio, settings.PROCUREMENT_SERVICE_LEVEL)

    demand_source = "orders" if wave.status == WaveStatus.CLOSED else "forecast"
    target, mean = _targets(delivery_date, demand_source, depot_ids, products, ratio)
    if settings.PROCUREMENT_POLICY == "mean" and demand_source == "forecast":
        target = np.ceil(mean).astype(np.int64)
    on_hand_by_product = selectors.usable_on_hand(delivery_date, settings.ALLOCATION_MIN_REMAINING_DAYS, *stock_sites)
    transit_by_product = selectors.in_transit(delivery_date, *stock_sites)
    on_hand = np.array([on_hand_by_product.get(int(p), 0) for p in products], dtype=np.int64)
    coming = np.array([transit_by_product.get(int(p), 0) for p in products], dtype=np.int64)
    need = np.maximum(target - on_hand - coming, 0)
    records = selectors.delivery_records(delivery_date, settings.PROCUREMENT_DELIVERY_HISTORY_DAYS)
    rate = {
        code: float(newsvendor.delivery_rate(*records.get(code, (0, 0, 0)), settings.PROCUREMENT_DELIVERY_PRIOR_LINES))
        for code in {row[2] for rows in product_terms for row in rows}
    }
    # Suppliers deliver short and QC rejects: order what, at the preferred supplier's record, arrives as the need.
    split = newsvendor.split_order(newsvendor.gross_need(need, np.array([rate[row[2]] for row in preferred])), options)

    suggestions = []
    for i in np.flatnonzero(need > 0):
        parts = [
            {"supplier_product_id": row[1], "supplier_code": row[2], "unit_cost": str(row[3]), "case_pack": row[4],
             "moq": row[5], "capacity": row[6], "delivery_rate": round(rate[row[2]], 4), "quantity": int(split[i, j])}
            for j, row in enumerate(product_terms[i])
        ]
        suggestions.append(PurchaseSuggestion(
            delivery_date=delivery_date, product_id=int(products[i]), warehouse_id=site.warehouse_id,
            depot_id=site.depot_id, depot_ids=depot_ids, demand_source=demand_source,
            forecast_mean=round(float(mean[i]), 3), price=prices[int(products[i])], unit_cost=preferred[i][3],
            salvage=Decimal(str(round(salvage[i], 2))), critical_ratio=round(float(ratio[i]), 4),
            target=int(target[i]), on_hand=int(on_hand[i]), in_transit=int(coming[i]), net_need=int(need[i]),
            quantity=int(split[i].sum()), split=parts,
        ))
    with transaction.atomic():
        PurchaseSuggestion.objects.filter(
            delivery_date=delivery_date, warehouse_id=site.warehouse_id, depot_id=site.depot_id,
            status=SuggestionStatus.PROPOSED,
        ).delete()
        PurchaseSuggestion.objects.bulk_create(suggestions, batch_size=2000)
    return SuggestionRun(
        delivery_date, demand_source, depot_ids, site.warehouse_id, site.depot_id, int(products.size),
        len(set(prices) - set(by_product)), len(suggestions), sum(s.quantity for s in suggestions),
    )


def _locked_proposal(suggestion_id: int) -> PurchaseSuggestion:
    suggestion = PurchaseSuggestion.objects.select_for_update().filter(pk=suggestion_id).first()
    if suggestion is None:
        raise NotFound(
            _("purchase suggestion %(suggestion_id)s does not exist") % {"suggestion_id": suggestion_id},
            field="suggestion_id", code="suggestion_not_found",
        )
    if suggestion.status != SuggestionStatus.PROPOSED:
        raise Conflict(
            _("the suggestion is already %(status)s") % {"status": str(SuggestionStatus(suggestion.status).label).lower()}, field="status",
            code="suggestion_decided",
        )
    return suggestion


def _check_terms(terms: SupplierProduct, quantity: int, field: str) -> None:
    """Orders come in whole cases and at least the supplier's minimum."""
    if quantity < 0:
        raise InvalidInput(_("a quantity cannot be negative"), field=field, code="negative_quantity")
    if quantity % terms.case_pack:
        raise InvalidInput(
            _("%(supplier)s sells in cases of %(case_pack)s") % {"supplier": terms.supplier.code, "case_pack": terms.case_pack},
            field=field, code="case_pack",
        )
    if 0 < quantity < terms.moq:
        raise InvalidInput(
            _("%(supplier)s takes orders of at least %(moq)s") % {"supplier": terms.supplier.code, "moq": terms.moq},
            field=field, code="below_moq",
        )


def _edited_split(suggestion: PurchaseSuggestion, split: list[tuple[int, int]]) -> list[dict]:
    """Staff's split (supplier product, quantity) checked against the terms, in the stored format."""
    terms = {
        t.pk: t for t in SupplierProduct.objects.select_related("supplier").filter(
            pk__in=[sp for sp, _ in split], product_id=suggestion.product_id
        )
    }
    parts = []
    for index, (supplier_product_id, quantity) in enumerate(split):
        term = terms.get(supplier_product_id)
        if term is None:
            raise InvalidInput(
                _("supplier product %(id)s does not sell this product") % {"id": supplier_product_id},
                field=f"split.{index}.supplier_product_id", code="supplier_product_not_found",
            )
        _check_terms(term, quantity, f"split.{index}.quantity")
        parts.append({"supplier_product_id": term.pk, "supplier_code": term.supplier.code, "unit_cost": str(term.unit_cost),
                      "case_pack": term.case_pack, "moq": term.moq, "capacity": term.daily_capacity, "quantity": quantity})
    if len({p["supplier_product_id"] for p in parts}) != len(parts):
        raise InvalidInput(_("each supplier product at most once"), field="split", code="duplicate_supplier_product")
    return parts


def edit_suggestion(*, suggestion_id: int, split: list[tuple[int, int]], actor) -> PurchaseSuggestion:
    """Change how much to buy from whom; the suggestion stays proposed and keeps its explanation."""
    with transaction.atomic():
        suggestion = _locked_proposal(suggestion_id)
        suggestion.split = _edited_split(suggestion, split)
        suggestion.quantity = sum(p["quantity"] for p in suggestion.split)
        suggestion.decision_note = _("edited by %(actor)s") % {"actor": actor}
        suggestion.save(update_fields=["split", "quantity", "decision_note"])
    return suggestion


def reject_suggestion(*, suggestion_id: int, actor, note: str = "") -> PurchaseSuggestion:
    with transaction.atomic():
        suggestion = _locked_proposal(suggestion_id)
        suggestion.status = SuggestionStatus.REJECTED
        suggestion.decided_by, suggestion.decided_at, suggestion.decision_note = actor, timezone.now(), note[:200]
        suggestion.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return suggestion


def accept_suggestion(*, suggestion_id: int, actor, split: list[tuple[int, int]] | None = None) -> list[PurchaseOrder]:
    """Put the suggestion (or staff's edited split) on draft purchase orders, one per supplier."""
    with transaction.atomic():
        suggestion = _locked_proposal(suggestion_id)
        if split is not None:
            suggestion.split = _edited_split(suggestion, split)
            suggestion.quantity = sum(p["quantity"] for p in suggestion.split)
        parts = [p for p in suggestion.split if p["quantity"] > 0]
        if not parts:
            raise InvalidInput(_("nothing to order: every supplier's quantity is 0"), field="split", code="nothing_to_order")
        site = StockSite(warehouse_id=suggestion.warehouse_id, depot_id=suggestion.depot_id)
        terms = SupplierProduct.objects.select_related("supplier").in_bulk([p["supplier_product_id"] for p in parts])
        orders = []
        for part in parts:
            term = terms[part["supplier_product_id"]]
            order = _draft_order(term.supplier, suggestion.delivery_date, site, actor)
            line = order.lines.filter(product_id=term.product_id).first()
            if line is None:
                order.lines.create(supplier_product=term, product_id=term.product_id, quantity=part["quantity"], unit_cost=term.unit_cost)
            else:
                PurchaseOrderLine.objects.filter(pk=line.pk).update(quantity=F("quantity") + part["quantity"])
            orders.append(order)
        suggestion.status = SuggestionStatus.ACCEPTED
        suggestion.decided_by, suggestion.decided_at = actor, timezone.now()
        suggestion.save(update_fields=["status", "decided_by", "decided_at", "split", "quantity"])
    return orders


# --- purchase orders ---------------------------------------------------------------------------


def _record(order: PurchaseOrder, from_state: str, to_state: str, actor, note: str = "") -> None:
    PurchaseOrderTransition.objects.create(purchase_order=order, from_state=from_state, to_state=to_state, actor=actor, note=note)


def _new_order(supplier: Supplier, delivery_date: date, site: StockSite, actor) -> PurchaseOrder:
    order = PurchaseOrder.objects.create(
        number=f"PO-{delivery_date:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}", supplier=supplier,
        delivery_date=delivery_date, expected_on=delivery_date - timedelta(days=1),  # received the night before
        warehouse_id=site.warehouse_id, depot_id=site.depot_id, created_by=actor,
    )
    _record(order, "", State.DRAFT, actor, "created")
    return order


def _draft_order(supplier: Supplier, delivery_date: date, site: StockSite, actor) -> PurchaseOrder:
    """The supplier's draft order for the day and site, so accepted suggestions gather on one order."""
    existing = PurchaseOrder.objects.filter(
        supplier=supplier, delivery_date=delivery_date, warehouse_id=site.warehouse_id, depot_id=site.depot_id,
        state=State.DRAFT,
    ).first()
    return existing or _new_order(supplier, delivery_date, site, actor)


def create_purchase_order(
    *, supplier_id: int, delivery_date: date, site: StockSite, lines: list[tuple[int, int]], actor
) -> PurchaseOrder:
    """A draft order by hand: lines are (product id, quantity) on the supplier's terms."""
    supplier = Supplier.objects.filter(pk=supplier_id, is_active=True).first()
    if supplier is None:
        raise InvalidInput(_("no active supplier %(supplier_id)s") % {"supplier_id": supplier_id}, field="supplier_id", code="supplier_not_found")
    if not lines:
        raise InvalidInput(_("an order needs at least one line"), field="lines", code="no_lines")
    with transaction.atomic():
        order = _new_order(supplier, delivery_date, site, actor)
        for index, (product_id, quantity) in enumerate(lines):
            _add_line(order, product_id, quantity, f"lines.{index}")
    return order


def _add_line(order: PurchaseOrder, product_id: int, quantity: int, field: str) -> PurchaseOrderLine:
    term = SupplierProduct.objects.select_related("supplier").filter(supplier=order.supplier, product_id=product_id).first()
    if term is None:
        raise InvalidInput(
            _("%(supplier)s does not sell product %(product_id)s") % {"supplier": order.supplier.code, "product_id": product_id},
            field=f"{field}.product_id", code="not_sold_by_supplier",
        )
    if quantity <= 0:
        raise InvalidInput(_("a line needs a positive quantity"), field=f"{field}.quantity", code="quantity_not_positive")
    _check_terms(term, quantity, f"{field}.quantity")
    if order.lines.filter(product_id=product_id).exists():
        raise Conflict(
            _("the order already has a line for product %(product_id)s") % {"product_id": product_id},
            field=f"{field}.product_id", code="duplicate_product",
        )
    return order.lines.create(supplier_product=term, product_id=product_id, quantity=quantity, unit_cost=term.unit_cost)


def _locked_order(purchase_order_id: int) -> PurchaseOrder:
    order = PurchaseOrder.objects.select_for_update().select_related("supplier").filter(pk=purchase_order_id).first()
    if order is None:
        raise NotFound(
            _("purchase order %(purchase_order_id)s does not exist") % {"purchase_order_id": purchase_order_id},
            field="purchase_order_id", code="purchase_order_not_found",
        )
    return order


def _locked_draft(purchase_order_id: int, action: str) -> PurchaseOrder:
    order = _locked_order(purchase_order_id)
    if order.state != State.DRAFT:
        raise InvalidTransition(order, action)
    return order


def add_line(*, purchase_order_id: int, product_id: int, quantity: int) -> PurchaseOrderLine:
    with transaction.atomic():
        order = _locked_draft(purchase_order_id, _("change lines (only drafts can)"))
        return _add_line(order, product_id, quantity, "line")


def change_line(*, purchase_order_id: int, line_id: int, quantity: int) -> PurchaseOrderLine | None:
    """Set a draft line's quantity; 0 removes the line."""
    with transaction.atomic():
        order = _locked_draft(purchase_order_id, _("change lines (only drafts can)"))
        line = order.lines.select_related("supplier_product__supplier").filter(pk=line_id).first()
        if line is None:
            raise NotFound(
                _("line %(line_id)s is not on %(number)s") % {"line_id": line_id, "number": order.number}, field="line_id",
                code="line_not_found",
            )
        if quantity == 0:
            line.delete()
            return None
        _check_terms(line.supplier_product, quantity, "quantity")
        line.quantity = quantity
        line.save(update_fields=["quantity"])
    return line


def _move(purchase_order_id: int, to_state: State, actor, note: str = "") -> PurchaseOrder:
    with transaction.atomic():
        order = _locked_order(purchase_order_id)
        if to_state not in TRANSITIONS[State(order.state)]:
            raise InvalidTransition(order, _("become %(state)s") % {"state": str(State(to_state).label).lower()})
        if to_state == State.SENT and not order.lines.exists():
            raise InvalidInput(_("an order without lines cannot be sent"), field="lines", code="no_lines")
        from_state, order.state = order.state, to_state
        order.save(update_fields=["state"])
        _record(order, from_state, to_state, actor, note)
    return order


def send_purchase_order(*, purchase_order_id: int, actor) -> PurchaseOrder:
    return _move(purchase_order_id, State.SENT, actor)


def cancel_purchase_order(*, purchase_order_id: int, actor, note: str = "") -> PurchaseOrder:
    return _move(purchase_order_id, State.CANCELLED, actor, note)


def close_purchase_order(*, purchase_order_id: int, actor, note: str = "") -> PurchaseOrder:
    """Close a (partially) received order: nothing more is expected from it."""
    return _move(purchase_order_id, State.CLOSED, actor, note)


# --- goods receipts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLineInput:
    line_id: int
    accepted_quantity: int
    rejected_quantity: int = 0
    qc_reason: str = ""
    expiry_date: date | None = None


def _fingerprint(purchase_order_id: int, received_at: datetime | None, lines: list[ReceiptLineInput]) -> str:
    content = {
        "purchase_order": purchase_order_id,
        "received_at": received_at.isoformat() if received_at else None,
        "lines": sorted(
            [line.line_id, line.accepted_quantity, line.rejected_quantity, line.qc_reason,
             line.expiry_date.isoformat() if line.expiry_date else None]
            for line in lines
        ),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _check_receipt_line(index: int, entry: ReceiptLineInput, line: PurchaseOrderLine | None, received_on: date) -> None:
    field = f"lines.{index}"
    if line is None:
        raise InvalidInput(
            _("line %(line_id)s is not on this purchase order") % {"line_id": entry.line_id}, field=f"{field}.line_id",
            code="line_not_found",
        )
    if entry.accepted_quantity < 0 or entry.rejected_quantity < 0:
        raise InvalidInput(_("quantities cannot be negative"), field=f"{field}.accepted_quantity", code="negative_quantity")
    if entry.accepted_quantity == 0 and entry.rejected_quantity == 0:
        raise InvalidInput(
            _("a receipt line needs an accepted or a rejected quantity"), field=f"{field}.accepted_quantity",
            code="quantity_required",
        )
    if entry.rejected_quantity and not entry.qc_reason.strip():
        raise InvalidInput(_("say why goods were rejected"), field=f"{field}.qc_reason", code="qc_reason_required")
    if entry.expiry_date is not None and entry.expiry_date < received_on:
        raise InvalidInput(_("the goods would already be expired"), field=f"{field}.expiry_date", code="already_expired")
    allowed = int(line.quantity * (1 + settings.PROCUREMENT_RECEIPT_TOLERANCE))
    if line.accepted_quantity + entry.accepted_quantity > allowed:
        raise InvalidInput(
            _("%(sku)s: %(accepted)s of %(ordered)s already accepted; %(more)s more would exceed the %(allowed)s allowed") % {
                "sku": line.product.sku, "accepted": line.accepted_quantity, "ordered": line.quantity,
                "more": entry.accepted_quantity, "allowed": allowed},
            field=f"{field}.accepted_quantity", code="over_tolerance",
        )


def receive_goods(
    *, purchase_order_id: int, document_number: str, lines: list[ReceiptLineInput], actor, received_at: datetime | None = None
) -> GoodsReceipt:
    """Check a delivery in: accepted goods become lots (warehouse services), rejected ones are only recorded.

    Idempotent on the document number: the same document again returns the first receipt; a
    different content under a known number is a 409. The order's row and its lines are locked, so
    two receipts at once on one line cannot both pass the tolerance check.
    """
    document_number = document_number.strip()
    if not document_number:
        raise InvalidInput(_("a receipt needs its document number"), field="document_number", code="document_number_required")
    if received_at is not None and timezone.is_naive(received_at):
        raise InvalidInput(_("received_at needs a time zone"), field="received_at", code="naive_datetime")
    if not lines:
        raise InvalidInput(_("a receipt needs at least one line"), field="lines", code="no_lines")
    if len({line.line_id for line in lines}) != len(lines):
        raise InvalidInput(_("each order line at most once per receipt"), field="lines", code="duplicate_line")
    fingerprint = _fingerprint(purchase_order_id, received_at, lines)
    with transaction.atomic():
        order = _locked_order(purchase_order_id)
        earlier = GoodsReceipt.objects.filter(document_number=document_number).first()
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise Conflict(
                    _("receipt %(document_number)s was already booked with other content") % {"document_number": document_number},
                    field="document_number", code="receipt_differs",
                )
            return earlier
        if order.state not in (State.SENT, State.PARTIALLY_RECEIVED):
            raise InvalidTransition(order, _("receive goods"))
        order_lines = {
            line.pk: line
            for line in PurchaseOrderLine.objects.select_for_update().select_related("product", "supplier_product")
            .filter(purchase_order=order).order_by("pk")
        }
        received_at = received_at or timezone.now()
        received_on = timezone.localdate(received_at)
        for index, entry in enumerate(lines):
            _check_receipt_line(index, entry, order_lines.get(entry.line_id), received_on)
        receipt = GoodsReceipt.objects.create(
            document_number=document_number, purchase_order=order, received_at=received_at, received_by=actor, fingerprint=fingerprint
        )
        site = StockSite(warehouse_id=order.warehouse_id, depot_id=order.depot_id)
        for entry in lines:
            line = order_lines[entry.line_id]
            expiry = entry.expiry_date or received_on + timedelta(days=line.supplier_product.shelf_life_days)
            lot = None
            if entry.accepted_quantity:
                lot = receive_lot(
                    product_id=line.product_id, site=site, quantity=entry.accepted_quantity, expiry_date=expiry,
                    actor=actor, reference=f"{order.number} receipt {document_number}", received_at=received_at,
                )
            GoodsReceiptLine.objects.create(
                receipt=receipt, purchase_order_line=line, accepted_quantity=entry.accepted_quantity,
                rejected_quantity=entry.rejected_quantity, qc_reason=entry.qc_reason.strip(), expiry_date=expiry, lot=lot,
            )
            line.accepted_quantity += entry.accepted_quantity
            line.rejected_quantity += entry.rejected_quantity
            line.save(update_fields=["accepted_quantity", "rejected_quantity"])
        complete = all(line.accepted_quantity >= line.quantity for line in order_lines.values())
        to_state = State.RECEIVED if complete else State.PARTIALLY_RECEIVED
        if to_state != order.state:
            _record(order, order.state, to_state, actor, f"receipt {document_number}")
            order.state = to_state
            order.save(update_fields=["state"])
    return receipt
