"""Reads of stock: balances, the ledger check, usable lots."""
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.db.models import OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from catalog.models import Depot, StorageTemperature
from core.errors import NotFound
from core.models import Role
from core.selectors import roles_of

from .models import Allocation, DemandForecast, LineShortage, Lot, SortList, StockMove


def usable_lots(delivery_date: date, min_remaining_days: int = 0) -> QuerySet[Lot]:
    """Lots with stock that will still be good on the delivery day plus the minimum remaining shelf life."""
    return Lot.objects.filter(
        quantity__gt=0, written_off_at__isnull=True, expiry_date__gte=delivery_date + timedelta(days=min_remaining_days)
    )


@dataclass(frozen=True)
class LedgerMismatch:
    lot_id: int
    lot_quantity: int
    ledger_quantity: int


def ledger_mismatches() -> list[LedgerMismatch]:
    """Lots whose balance differs from the sum of their ledger moves (there should be none)."""
    ledger = StockMove.objects.filter(lot=OuterRef("pk")).values("lot").annotate(total=Sum("quantity")).values("total")
    rows = (
        Lot.objects.annotate(ledger=Coalesce(Subquery(ledger), Value(0)))
        .exclude(quantity=Coalesce(Subquery(ledger), Value(0)))
        .values_list("pk", "quantity", "ledger")
    )
    return [LedgerMismatch(*row) for row in rows]


# --- pick lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PickLot:
    lot_id: int
    bin_location: str
    expiry_date: date
    quantity: int


@dataclass(frozen=True)
class PickProduct:
    product_id: int
    sku: str
    name: str
    unit: str
    storage_temperature: str
    total: int
    lots: list[PickLot]

    @property
    def zone_name(self) -> str:
        """The temperature zone as people read it (常温, 冷藏, 冷冻)."""
        return str(StorageTemperature(self.storage_temperature).label)


TEMPERATURE_ORDER = {"frozen": 0, "chilled": 1, "ambient": 2}


def batch_pick_list(delivery_date: date, depot_id: int | None = None) -> list[PickProduct]:
    """Per product the total to pick for the day, from which lots and bins; cold chain first, then by SKU."""
    allocations = Allocation.objects.filter(delivery_date=delivery_date)
    if depot_id is not None:
        allocations = allocations.filter(pickup_point__depot_id=depot_id)
    rows = (
        allocations.values(
            "product_id", "product__sku", "product__name", "product__unit", "product__storage_temperature",
            "lot_id", "lot__bin_location", "lot__expiry_date",
        )
        .annotate(quantity=Sum("quantity"))
        .order_by("product__storage_temperature", "product__sku", "lot__expiry_date", "lot_id")
    )
    products: dict[int, PickProduct] = {}
    for row in rows:
        product = products.get(row["product_id"])
        if product is None:
            product = products[row["product_id"]] = PickProduct(
                row["product_id"], row["product__sku"], row["product__name"], row["product__unit"],
                row["product__storage_temperature"], 0, [],
            )
        product.lots.append(PickLot(row["lot_id"], row["lot__bin_location"], row["lot__expiry_date"], row["quantity"]))
    picks = [replace(p, total=sum(lot.quantity for lot in p.lots)) for p in products.values()]
    return sorted(picks, key=lambda p: (TEMPERATURE_ORDER[p.storage_temperature], p.sku))


def sort_lists(delivery_date: date, depot_id: int | None = None) -> QuerySet[SortList]:
    qs = SortList.objects.filter(delivery_date=delivery_date).select_related("depot")
    return qs.filter(depot_id=depot_id) if depot_id is not None else qs


@dataclass(frozen=True)
class SortLine:
    sku: str
    name: str
    unit: str
    storage_temperature: str
    quantity: int


@dataclass(frozen=True)
class SortStop:
    stop_number: int
    pickup_point_id: int
    pickup_point_code: str
    pickup_point_name: str
    address: str
    leader_name: str
    crates: int
    units: int
    lines: list[SortLine]

    def tote_label(self, sort_list: SortList) -> str:
        """What the QR code on each tote says: enough to put a lost tote back on the right van and stop."""
        return (
            f"SL|{sort_list.delivery_date:%Y%m%d}|{sort_list.route_code}|{self.stop_number}"
            f"|{self.pickup_point_code}|{self.crates}"
        )


def sort_list_stops(sort_list: SortList) -> list[SortStop]:
    """The stops of a route in loading order: last delivery first, so the first stop is loaded last."""
    stops = list(sort_list.stops.select_related("pickup_point").order_by("-stop_number"))
    lines: dict[int, list[SortLine]] = defaultdict(list)
    rows = (
        Allocation.objects.filter(delivery_date=sort_list.delivery_date, pickup_point_id__in=[s.pickup_point_id for s in stops])
        .values("pickup_point_id", "product__sku", "product__name", "product__unit", "product__storage_temperature")
        .annotate(quantity=Sum("quantity"))
        .order_by("pickup_point_id", "product__storage_temperature", "product__sku")
    )
    for row in rows:
        lines[row["pickup_point_id"]].append(
            SortLine(row["product__sku"], row["product__name"], row["product__unit"], row["product__storage_temperature"], row["quantity"])
        )
    return [
        SortStop(
            s.stop_number, s.pickup_point_id, s.pickup_point.code, s.pickup_point.name, s.pickup_point.address,
            s.leader_name, s.crates, s.units, lines[s.pickup_point_id],
        )
        for s in stops
    ]


def sort_list(sort_list_id: int) -> SortList:
    found = SortList.objects.select_related("depot").filter(pk=sort_list_id).first()
    if found is None:
        raise NotFound(
            _("sort list %(sort_list_id)s does not exist") % {"sort_list_id": sort_list_id}, field="sort_list_id",
            code="sort_list_not_found",
        )
    return found


def lots(*, product_id: int | None = None, depot_id: int | None = None, include_empty: bool = False) -> QuerySet[Lot]:
    qs = Lot.objects.select_related("product")
    if not include_empty:
        qs = qs.filter(quantity__gt=0)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    if depot_id is not None:
        qs = qs.filter(depot_id=depot_id)
    return qs


def lot(lot_id: int) -> Lot:
    found = Lot.objects.select_related("product").filter(pk=lot_id).first()
    if found is None:
        raise NotFound(_("lot %(lot_id)s does not exist") % {"lot_id": lot_id}, field="lot_id", code="lot_not_found")
    return found


def depot_name(depot_id: int) -> str:
    name = Depot.objects.filter(pk=depot_id).values_list("name", flat=True).first()
    if name is None:
        raise NotFound(_("depot %(depot_id)s does not exist") % {"depot_id": depot_id}, field="depot_id", code="depot_not_found")
    return name


def allocations(delivery_date: date, pickup_point_id: int | None = None) -> QuerySet[Allocation]:
    qs = Allocation.objects.filter(delivery_date=delivery_date).order_by("pickup_point_id", "product_id", "lot_id")
    return qs.filter(pickup_point_id=pickup_point_id) if pickup_point_id is not None else qs


def depots_with_allocations(delivery_date: date) -> list[int]:
    """The depots that have something to deliver that day (each gets its own route plan)."""
    return sorted(
        Allocation.objects.filter(delivery_date=delivery_date)
        .order_by()
        .values_list("pickup_point__depot_id", flat=True)
        .distinct()
    )


def shortages_visible_to(user, delivery_date: date) -> QuerySet[LineShortage]:
    """Cut order lines with their reason; a leader sees only those of their own orders."""
    qs = LineShortage.objects.filter(delivery_date=delivery_date).select_related(
        "order_line__resident", "order_line__deal__product"
    ).annotate(reason=LineShortage.reason_expression()).order_by("order_line_id")
    if roles_of(user) & {Role.OPERATOR.value, Role.WAREHOUSE.value}:
        return qs
    return qs.filter(order_line__order__leader__user=user)


def forecasts(
    delivery_date: date, *, depot_id: int | None = None, product_id: int | None = None, depot_level: bool = False
) -> QuerySet[DemandForecast]:
    qs = DemandForecast.objects.filter(delivery_date=delivery_date, pickup_point__isnull=depot_level).order_by(
        "depot_id", "product_id", "pickup_point_id"
    )
    if depot_id is not None:
        qs = qs.filter(depot_id=depot_id)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    return qs
