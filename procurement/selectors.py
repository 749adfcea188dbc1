"""Reads of procurement: the inputs of a suggestion run (set-based), lists, and supplier performance."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Depot
from core.bulk import fetch_array
from core.errors import NotFound
from grouporders.models import Deal, DemandLine, SalesWave
from warehouse.models import DemandForecast
from warehouse.selectors import usable_lots

from .models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderState,
    PurchaseSuggestion,
    Supplier,
    SupplierProduct,
)

OPEN_STATES = (PurchaseOrderState.DRAFT, PurchaseOrderState.SENT, PurchaseOrderState.PARTIALLY_RECEIVED)


def _per_product(queryset, value: str) -> dict[int, int]:
    return dict(queryset.order_by().values("product_id").annotate(total=Sum(value)).values_list("product_id", "total"))


def _at_sites(depot_ids: list[int], warehouse_ids: list[int]) -> Q:
    return Q(depot_id__in=depot_ids) | Q(warehouse_id__in=warehouse_ids)


def has_wave(delivery_date: date) -> bool:
    return SalesWave.objects.filter(delivery_date=delivery_date).exists()


def deal_prices(delivery_date: date) -> dict[int, Decimal]:
    """The selling price per product in the day's wave."""
    return dict(Deal.objects.filter(wave__delivery_date=delivery_date).values_list("product_id", "price"))


def supplier_terms(product_ids) -> list[tuple]:
    """Active suppliers' terms for the products, preferred first:
    (product_id, supplier_product_id, supplier_code, unit_cost, case_pack, moq, daily_capacity, shelf_life_days)."""
    return list(
        SupplierProduct.objects.filter(product_id__in=product_ids, supplier__is_active=True)
        .order_by("product_id", "priority")
        .values_list("product_id", "pk", "supplier__code", "unit_cost", "case_pack", "moq", "daily_capacity", "shelf_life_days")
    )


def capacity_taken(delivery_date: date) -> dict[int, int]:
    """Units per supplier product already on purchase orders for the day (its daily capacity is shared)."""
    lines = PurchaseOrderLine.objects.filter(purchase_order__delivery_date=delivery_date).exclude(
        purchase_order__state=PurchaseOrderState.CANCELLED
    )
    return dict(lines.order_by().values("supplier_product_id").annotate(total=Sum("quantity")).values_list("supplier_product_id", "total"))


def depot_forecasts(delivery_date: date, depot_ids: list[int]) -> np.ndarray:
    """Depot-level forecasts as rows (product_id, mean, p50, p80, p95)."""
    return fetch_array(
        DemandForecast.objects.filter(delivery_date=delivery_date, depot_id__in=depot_ids, pickup_point__isnull=True)
        .order_by()
        .values_list("product_id", "mean", "p50", "p80", "p95"),
        dtype="float64",
    )


def ordered_demand(delivery_date: date, depot_ids: list[int]) -> dict[int, int]:
    """Demand aggregated after the cutoff, per product over the depots' pickup points."""
    return _per_product(DemandLine.objects.filter(delivery_date=delivery_date, pickup_point__depot_id__in=depot_ids), "quantity")


def usable_on_hand(delivery_date: date, min_remaining_days: int, depot_ids: list[int], warehouse_ids: list[int]) -> dict[int, int]:
    """Free stock per product at the sites that will still be good on the delivery day."""
    return _per_product(usable_lots(delivery_date, min_remaining_days).filter(_at_sites(depot_ids, warehouse_ids)), "quantity")


def in_transit(delivery_date: date, depot_ids: list[int], warehouse_ids: list[int]) -> dict[int, int]:
    """Units still to come on open purchase orders (drafts included) due by the day, to the sites."""
    lines = PurchaseOrderLine.objects.filter(
        Q(purchase_order__depot_id__in=depot_ids) | Q(purchase_order__warehouse_id__in=warehouse_ids),
        purchase_order__state__in=OPEN_STATES,
        purchase_order__delivery_date__lte=delivery_date,
        quantity__gt=F("accepted_quantity"),
    )
    return _per_product(lines, F("quantity") - F("accepted_quantity"))


def delivery_records(before: date, days: int) -> dict[str, tuple[int, int, int]]:
    """Per supplier code, over its purchase orders due in the ``days`` before ``before`` and done with
    (received in full, or closed after a short delivery): (lines, units ordered, units accepted)."""
    lines = PurchaseOrderLine.objects.filter(
        purchase_order__delivery_date__gte=before - timedelta(days=days),
        purchase_order__delivery_date__lt=before,
        purchase_order__state__in=(PurchaseOrderState.RECEIVED, PurchaseOrderState.CLOSED),
    )
    return {
        code: (count, ordered, accepted)
        for code, count, ordered, accepted in lines.order_by()
        .values("purchase_order__supplier__code")
        .annotate(count=Count("id"), ordered=Sum("quantity"), accepted=Sum("accepted_quantity"))
        .values_list("purchase_order__supplier__code", "count", "ordered", "accepted")
    }


def central_warehouses(depot_ids: list[int]) -> list[int]:
    return sorted(
        set(Depot.objects.filter(pk__in=depot_ids, warehouse__isnull=False).values_list("warehouse_id", flat=True))
    )


def receiving_groups() -> list[list[int]]:
    """Depots grouped by the central warehouse that buys for them; a depot without one buys alone."""
    groups: dict[object, list[int]] = {}
    for depot_id, warehouse_id in Depot.objects.order_by("pk").values_list("pk", "warehouse_id"):
        groups.setdefault(warehouse_id or f"depot-{depot_id}", []).append(depot_id)
    return list(groups.values())


# --- lists and details ---


def suppliers(*, active_only: bool = False) -> QuerySet[Supplier]:
    qs = Supplier.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def supplier_products(*, product_id: int | None = None, supplier_id: int | None = None) -> QuerySet[SupplierProduct]:
    qs = SupplierProduct.objects.select_related("supplier", "product")
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    if supplier_id is not None:
        qs = qs.filter(supplier_id=supplier_id)
    return qs


def suggestions(delivery_date: date | None = None, status: str | None = None) -> QuerySet[PurchaseSuggestion]:
    qs = PurchaseSuggestion.objects.select_related("product").order_by("delivery_date", "product__sku", "id")
    if delivery_date is not None:
        qs = qs.filter(delivery_date=delivery_date)
    if status:
        qs = qs.filter(status=status)
    return qs


def suggestion(suggestion_id: int) -> PurchaseSuggestion:
    found = PurchaseSuggestion.objects.select_related("product").filter(pk=suggestion_id).first()
    if found is None:
        raise NotFound(
            _("purchase suggestion %(suggestion_id)s does not exist") % {"suggestion_id": suggestion_id},
            field="suggestion_id", code="suggestion_not_found",
        )
    return found


def purchase_orders(
    *, delivery_date: date | None = None, state: str | None = None, supplier_id: int | None = None
) -> QuerySet[PurchaseOrder]:
    qs = PurchaseOrder.objects.select_related("supplier", "warehouse", "depot").annotate(line_count=Count("lines"))
    if delivery_date is not None:
        qs = qs.filter(delivery_date=delivery_date)
    if state:
        qs = qs.filter(state=state)
    if supplier_id is not None:
        qs = qs.filter(supplier_id=supplier_id)
    return qs


def purchase_order(purchase_order_id: int) -> PurchaseOrder:
    found = (
        PurchaseOrder.objects.select_related("supplier", "warehouse", "depot")
        .prefetch_related("lines__product", "lines__supplier_product", "transitions__actor")
        .filter(pk=purchase_order_id)
        .first()
    )
    if found is None:
        raise NotFound(
            _("purchase order %(purchase_order_id)s does not exist") % {"purchase_order_id": purchase_order_id},
            field="purchase_order_id", code="purchase_order_not_found",
        )
    return found


def receipt_lines(receipt: GoodsReceipt) -> QuerySet[GoodsReceiptLine]:
    return receipt.lines.select_related("purchase_order_line__product").order_by("id")


# --- supplier performance ---


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class SupplierPerformance:
    """on_time_rate: share of the orders with goods received whose first delivery came by the due day;
    fill_rate: accepted over ordered units; rejection_rate: units refused at QC over units delivered."""

    supplier_id: int
    supplier_code: str
    supplier_name: str
    purchase_orders: int
    received_orders: int
    on_time_orders: int
    ordered_units: int
    accepted_units: int
    rejected_units: int
    on_time_rate: float | None
    fill_rate: float | None
    rejection_rate: float | None


def supplier_performance(start: date, end: date, supplier_id: int | None = None) -> list[SupplierPerformance]:
    """Per supplier, its purchase orders for delivery days in [start, end] that were sent (not drafts or cancelled)."""
    orders = PurchaseOrder.objects.filter(delivery_date__gte=start, delivery_date__lte=end).exclude(
        state__in=[PurchaseOrderState.DRAFT, PurchaseOrderState.CANCELLED]
    )
    if supplier_id is not None:
        orders = orders.filter(supplier_id=supplier_id)
    units = {
        row["purchase_order__supplier_id"]: row
        for row in PurchaseOrderLine.objects.filter(purchase_order__in=orders)
        .values("purchase_order__supplier_id")
        .annotate(ordered=Sum("quantity"), accepted=Sum("accepted_quantity"), rejected=Sum("rejected_quantity"))
    }
    timeliness: dict[int, list[int]] = {}
    for supplier, expected_on, first_receipt in orders.annotate(first_receipt=Min("receipts__received_at")).values_list(
        "supplier_id", "expected_on", "first_receipt"
    ):
        counts = timeliness.setdefault(supplier, [0, 0, 0])
        counts[0] += 1
        if first_receipt is not None:
            counts[1] += 1
            counts[2] += timezone.localdate(first_receipt) <= expected_on
    performance = []
    for supplier, code, name in Supplier.objects.filter(pk__in=timeliness).order_by("code").values_list("pk", "code", "name"):
        total, received, on_time = timeliness[supplier]
        row = units.get(supplier, {})
        ordered, accepted, rejected = (row.get(key) or 0 for key in ("ordered", "accepted", "rejected"))
        performance.append(SupplierPerformance(
            supplier, code, name, total, received, on_time, ordered, accepted, rejected,
            _rate(on_time, received), _rate(accepted, ordered), _rate(rejected, accepted + rejected),
        ))
    return performance
