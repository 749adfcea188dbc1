"""Every write to stock: receipts, moves on the append-only ledger, counts, write-offs, allocation."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from catalog.models import Depot, PickupPoint, Product, Warehouse
from core.errors import Conflict, InvalidInput, NotFound
from grouporders.models import GroupLeader

from .models import Allocation, Lot, LotSource, MoveKind, SortList, SortListStop, StockMove


@dataclass(frozen=True)
class StockSite:
    """Where a lot lies: a central warehouse or a depot."""

    warehouse_id: int | None = None
    depot_id: int | None = None

    def __post_init__(self):
        if (self.warehouse_id is None) == (self.depot_id is None):
            raise InvalidInput("a lot lies at exactly one warehouse or depot", field="site")


def receive_lot(
    *,
    product_id: int,
    site: StockSite,
    quantity: int,
    expiry_date: date,
    actor=None,
    reference: str = "",
    bin_location: str = "",
    source: str = LotSource.RECEIPT,
    received_at: datetime | None = None,
) -> Lot:
    """Put received goods into stock as a new lot, with its receipt on the ledger."""
    if quantity <= 0:
        raise InvalidInput("a received quantity must be positive", field="quantity")
    if not Product.objects.filter(pk=product_id).exists():
        raise InvalidInput(f"product {product_id} does not exist", field="product_id")
    if site.warehouse_id and not Warehouse.objects.filter(pk=site.warehouse_id).exists():
        raise InvalidInput(f"warehouse {site.warehouse_id} does not exist", field="warehouse_id")
    if site.depot_id and not Depot.objects.filter(pk=site.depot_id).exists():
        raise InvalidInput(f"depot {site.depot_id} does not exist", field="depot_id")
    with transaction.atomic():
        lot = Lot.objects.create(
            product_id=product_id,
            warehouse_id=site.warehouse_id,
            depot_id=site.depot_id,
            quantity=quantity,
            expiry_date=expiry_date,
            received_at=received_at or timezone.now(),
            source=source,
            reference=reference,
            bin_location=bin_location,
        )
        kind = MoveKind.RECEIPT if source == LotSource.RECEIPT else MoveKind(source)
        StockMove.objects.create(lot=lot, kind=kind, quantity=quantity, actor=actor, reason=reference or source)
    return lot


def move_stock(
    *, lot_id: int, kind: MoveKind, quantity: int, actor=None, reason: str, delivery_date: date | None = None
) -> StockMove:
    """Apply one signed change to a lot and record it on the ledger; never lets stock go negative.

    The check and the change are one conditional UPDATE, so concurrent moves on one lot serialise on
    its row lock and the loser gets a clear 409 instead of a negative balance.
    """
    if quantity == 0:
        raise InvalidInput("a stock move needs a non-zero quantity", field="quantity")
    if not reason:
        raise InvalidInput("say why stock moves", field="reason")
    with transaction.atomic():
        changed = Lot.objects.filter(pk=lot_id, quantity__gte=-quantity).update(quantity=F("quantity") + quantity)
        if not changed:
            lot = Lot.objects.filter(pk=lot_id).first()
            if lot is None:
                raise NotFound(f"lot {lot_id} does not exist", field="lot_id")
            raise Conflict(f"lot {lot_id} has only {lot.quantity} in stock; cannot take {-quantity}", field="quantity")
        return StockMove.objects.create(
            lot_id=lot_id, kind=kind, quantity=quantity, actor=actor, reason=reason, delivery_date=delivery_date
        )


def count_stock(*, lot_id: int, counted: int, actor=None) -> StockMove | None:
    """A stock count: the difference to the books becomes an adjustment on the ledger."""
    if counted < 0:
        raise InvalidInput("a counted quantity cannot be negative", field="counted")
    with transaction.atomic():
        lot = Lot.objects.select_for_update().filter(pk=lot_id).first()
        if lot is None:
            raise NotFound(f"lot {lot_id} does not exist", field="lot_id")
        difference = counted - lot.quantity
        if difference == 0:
            return None
        return move_stock(
            lot_id=lot_id, kind=MoveKind.ADJUSTMENT, quantity=difference, actor=actor,
            reason=f"stock count: counted {counted}, books said {lot.quantity}",
        )


def transfer_stock(*, lot_id: int, to: StockSite, quantity: int, actor=None, bin_location: str = "") -> Lot:
    """Move part of a lot to another site; the goods keep their expiry date."""
    if quantity <= 0:
        raise InvalidInput("a transferred quantity must be positive", field="quantity")
    with transaction.atomic():
        source = Lot.objects.select_for_update().filter(pk=lot_id).first()
        if source is None:
            raise NotFound(f"lot {lot_id} does not exist", field="lot_id")
        move_stock(lot_id=lot_id, kind=MoveKind.TRANSFER, quantity=-quantity, actor=actor, reason=f"transfer out of lot {lot_id}")
        target = Lot.objects.create(
            product_id=source.product_id, warehouse_id=to.warehouse_id, depot_id=to.depot_id, quantity=quantity,
            expiry_date=source.expiry_date, received_at=source.received_at, source=LotSource.ADJUSTMENT,
            reference=f"transfer from lot {lot_id}", bin_location=bin_location,
        )
        StockMove.objects.create(lot=target, kind=MoveKind.TRANSFER, quantity=quantity, actor=actor, reason=f"transfer from lot {lot_id}")
    return target


def write_off_expired(today: date | None = None) -> int:
    """Write off what is left of every lot past its expiry date; run daily. Returns lots written off."""
    today = today or timezone.localdate()
    with transaction.atomic():
        expired = list(
            Lot.objects.select_for_update().filter(expiry_date__lt=today, quantity__gt=0).values_list("pk", "quantity")
        )
        StockMove.objects.bulk_create(
            StockMove(lot_id=pk, kind=MoveKind.WRITE_OFF, quantity=-quantity, reason=f"expired before {today}")
            for pk, quantity in expired
        )
        Lot.objects.filter(pk__in=[pk for pk, _ in expired]).update(quantity=0, written_off_at=timezone.now())
    return len(expired)


# --- sort lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteStops:
    """A delivery route as the warehouse needs it: its code, depot and pickup points in delivery order."""

    route_code: str
    depot_id: int
    pickup_point_ids: tuple[int, ...]


def _crates(volume_ml: int, weight_g: int) -> int:
    """Totes needed for one temperature zone: whichever of volume and weight fills them first."""
    by_volume = -(-volume_ml // settings.CRATE_VOLUME_ML)
    by_weight = -(-weight_g // settings.CRATE_MAX_WEIGHT_G)
    return max(by_volume, by_weight, 1)


def build_sort_lists(*, delivery_date: date, routes: list[RouteStops]) -> list[SortList]:
    """Replace the day's sort lists with one per route, stops numbered in delivery order.

    The stop order comes in as plain data (from routing), so the warehouse never imports routing.
    """
    seen: dict[int, str] = {}
    for index, route in enumerate(routes):
        if not route.route_code:
            raise InvalidInput("a route needs a code", field=f"routes.{index}.route_code")
        for point_id in route.pickup_point_ids:
            if point_id in seen:
                raise InvalidInput(
                    f"pickup point {point_id} is on both {seen[point_id]} and {route.route_code}",
                    field=f"routes.{index}.pickup_point_ids",
                )
            seen[point_id] = route.route_code
    if len({r.route_code for r in routes}) != len(routes):
        raise InvalidInput("route codes must be unique", field="routes")
    points = dict(PickupPoint.objects.filter(pk__in=seen).values_list("pk", "depot_id"))
    for index, route in enumerate(routes):
        for point_id in route.pickup_point_ids:
            if point_id not in points:
                raise InvalidInput(f"pickup point {point_id} does not exist", field=f"routes.{index}.pickup_point_ids")
            if points[point_id] != route.depot_id:
                raise InvalidInput(
                    f"pickup point {point_id} is not served by depot {route.depot_id}",
                    field=f"routes.{index}.pickup_point_ids",
                )

    load = defaultdict(lambda: [0, 0])  # point -> [units, crates]
    zones = (
        Allocation.objects.filter(delivery_date=delivery_date, pickup_point_id__in=seen)
        .values("pickup_point_id", "product__storage_temperature")
        .annotate(
            units=Sum("quantity"),
            volume=Sum(F("quantity") * F("product__volume_ml")),
            weight=Sum(F("quantity") * F("product__weight_g")),
        )
    )
    for zone in zones:
        load[zone["pickup_point_id"]][0] += zone["units"]
        load[zone["pickup_point_id"]][1] += _crates(zone["volume"], zone["weight"])
    leaders = dict(
        GroupLeader.pickup_points.through.objects.filter(pickuppoint_id__in=seen)
        .order_by("pickuppoint_id", "groupleader_id")
        .values_list("pickuppoint_id", "groupleader__user__username")
    )

    with transaction.atomic():
        SortList.objects.filter(delivery_date=delivery_date).delete()
        sort_lists = SortList.objects.bulk_create(
            SortList(delivery_date=delivery_date, depot_id=r.depot_id, route_code=r.route_code) for r in routes
        )
        SortListStop.objects.bulk_create(
            SortListStop(
                sort_list=sort_list,
                stop_number=number,
                pickup_point_id=point_id,
                leader_name=leaders.get(point_id, ""),
                units=load[point_id][0],
                crates=load[point_id][1],
            )
            for sort_list, route in zip(sort_lists, routes)
            for number, point_id in enumerate(route.pickup_point_ids, start=1)
        )
    return sort_lists
