"""Every write to stock: receipts, moves on the append-only ledger, counts, write-offs, allocation."""
import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, IntegerField, Min, Q, Sum
from django.db.models.functions import Cast, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Depot, PickupPoint, Product, Warehouse
from core.bulk import copy_rows, fetch_array
from core.errors import Conflict, InvalidInput, NotFound
from core.formatting import person_name
from grouporders.models import Deal, DemandLine, GroupLeader, LeaderOrder, LineStatus, OrderLine, SalesWave

from . import allocation, forecasting
from .models import (
    Allocation,
    DemandForecast,
    LineShortage,
    Lot,
    LotSource,
    MoveKind,
    SortList,
    SortListStop,
    StockMove,
)
from .selectors import usable_lots


@dataclass(frozen=True)
class StockSite:
    """Where a lot lies: a central warehouse or a depot."""

    warehouse_id: int | None = None
    depot_id: int | None = None

    def __post_init__(self):
        if (self.warehouse_id is None) == (self.depot_id is None):
            raise InvalidInput(_("a lot lies at exactly one warehouse or depot"), field="site", code="invalid_site")


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
        raise InvalidInput(_("a received quantity must be positive"), field="quantity", code="quantity_not_positive")
    if not Product.objects.filter(pk=product_id).exists():
        raise InvalidInput(_("product %(product_id)s does not exist") % {"product_id": product_id}, field="product_id", code="product_not_found")
    if site.warehouse_id and not Warehouse.objects.filter(pk=site.warehouse_id).exists():
        raise InvalidInput(
            _("warehouse %(warehouse_id)s does not exist") % {"warehouse_id": site.warehouse_id}, field="warehouse_id",
            code="warehouse_not_found",
        )
    if site.depot_id and not Depot.objects.filter(pk=site.depot_id).exists():
        raise InvalidInput(_("depot %(depot_id)s does not exist") % {"depot_id": site.depot_id}, field="depot_id", code="depot_not_found")
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
        raise InvalidInput(_("a stock move needs a non-zero quantity"), field="quantity", code="zero_quantity")
    if not reason:
        raise InvalidInput(_("say why stock moves"), field="reason", code="reason_required")
    with transaction.atomic():
        changed = Lot.objects.filter(pk=lot_id, quantity__gte=-quantity).update(quantity=F("quantity") + quantity)
        if not changed:
            lot = Lot.objects.filter(pk=lot_id).first()
            if lot is None:
                raise NotFound(_("lot %(lot_id)s does not exist") % {"lot_id": lot_id}, field="lot_id", code="lot_not_found")
            raise Conflict(
                _("lot %(lot_id)s has only %(stock)s in stock; cannot take %(taken)s") % {
                    "lot_id": lot_id, "stock": lot.quantity, "taken": -quantity},
                field="quantity", code="insufficient_stock",
            )
        return StockMove.objects.create(
            lot_id=lot_id, kind=kind, quantity=quantity, actor=actor, reason=reason, delivery_date=delivery_date
        )


def count_stock(*, lot_id: int, counted: int, actor=None) -> StockMove | None:
    """A stock count: the difference to the books becomes an adjustment on the ledger."""
    if counted < 0:
        raise InvalidInput(_("a counted quantity cannot be negative"), field="counted", code="negative_quantity")
    with transaction.atomic():
        lot = Lot.objects.select_for_update().filter(pk=lot_id).first()
        if lot is None:
            raise NotFound(_("lot %(lot_id)s does not exist") % {"lot_id": lot_id}, field="lot_id", code="lot_not_found")
        difference = counted - lot.quantity
        if difference == 0:
            return None
        return move_stock(
            lot_id=lot_id, kind=MoveKind.ADJUSTMENT, quantity=difference, actor=actor,
            reason=_("stock count: counted %(counted)s, books said %(books)s") % {"counted": counted, "books": lot.quantity},
        )


def transfer_stock(*, lot_id: int, to: StockSite, quantity: int, actor=None, bin_location: str = "") -> Lot:
    """Move part of a lot to another site; the goods keep their expiry date."""
    if quantity <= 0:
        raise InvalidInput(_("a transferred quantity must be positive"), field="quantity", code="quantity_not_positive")
    with transaction.atomic():
        source = Lot.objects.select_for_update().filter(pk=lot_id).first()
        if source is None:
            raise NotFound(_("lot %(lot_id)s does not exist") % {"lot_id": lot_id}, field="lot_id", code="lot_not_found")
        move_stock(
            lot_id=lot_id, kind=MoveKind.TRANSFER, quantity=-quantity, actor=actor,
            reason=_("transfer out of lot %(lot_id)s") % {"lot_id": lot_id},
        )
        target = Lot.objects.create(
            product_id=source.product_id, warehouse_id=to.warehouse_id, depot_id=to.depot_id, quantity=quantity,
            expiry_date=source.expiry_date, received_at=source.received_at, source=LotSource.ADJUSTMENT,
            reference=_("transfer from lot %(lot_id)s") % {"lot_id": lot_id}, bin_location=bin_location,
        )
        StockMove.objects.create(
            lot=target, kind=MoveKind.TRANSFER, quantity=quantity, actor=actor,
            reason=_("transfer from lot %(lot_id)s") % {"lot_id": lot_id},
        )
    return target


def write_off_expired(today: date | None = None) -> int:
    """Write off what is left of every lot past its expiry date; run daily. Returns lots written off."""
    today = today or timezone.localdate()
    with transaction.atomic():
        expired = list(
            Lot.objects.select_for_update().filter(expiry_date__lt=today, quantity__gt=0).values_list("pk", "quantity")
        )
        StockMove.objects.bulk_create(
            StockMove(lot_id=pk, kind=MoveKind.WRITE_OFF, quantity=-quantity, reason=_("expired before %(day)s") % {"day": today})
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


def crates_needed(volume_ml: int, weight_g: int) -> int:
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
            raise InvalidInput(_("a route needs a code"), field=f"routes.{index}.route_code", code="route_code_required")
        for point_id in route.pickup_point_ids:
            if point_id in seen:
                raise InvalidInput(
                    _("pickup point %(point_id)s is on both %(first)s and %(second)s") % {
                        "point_id": point_id, "first": seen[point_id], "second": route.route_code},
                    field=f"routes.{index}.pickup_point_ids", code="point_on_two_routes",
                )
            seen[point_id] = route.route_code
    if len({r.route_code for r in routes}) != len(routes):
        raise InvalidInput(_("route codes must be unique"), field="routes", code="duplicate_route_code")
    points = dict(PickupPoint.objects.filter(pk__in=seen).values_list("pk", "depot_id"))
    for index, route in enumerate(routes):
        for point_id in route.pickup_point_ids:
            if point_id not in points:
                raise InvalidInput(
                    _("pickup point %(point_id)s does not exist") % {"point_id": point_id},
                    field=f"routes.{index}.pickup_point_ids", code="pickup_point_not_found",
                )
            if points[point_id] != route.depot_id:
                raise InvalidInput(
                    _("pickup point %(point_id)s is not served by depot %(depot_id)s") % {
                        "point_id": point_id, "depot_id": route.depot_id},
                    field=f"routes.{index}.pickup_point_ids", code="point_of_another_depot",
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
        load[zone["pickup_point_id"]][1] += crates_needed(zone["volume"], zone["weight"])
    leaders = {
        point_id: person_name(first, last, username)
        for point_id, first, last, username in (
            GroupLeader.pickup_points.through.objects.filter(pickuppoint_id__in=seen)
            .order_by("pickuppoint_id", "groupleader_id")
            .values_list("pickuppoint_id", "groupleader__user__first_name", "groupleader__user__last_name",
                         "groupleader__user__username")
        )
    }

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


# --- allocation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationSummary:
    delivery_date: date
    demand_lines: int
    demanded: int
    allocated: int
    short_lines: int
    refund_amount: Decimal


def _undo_allocations(delivery_date: date) -> None:
    """Give the day's allocated stock back to its lots (on the ledger) and drop the day's output."""
    returned = list(
        Allocation.objects.filter(delivery_date=delivery_date).values("lot_id").annotate(total=Sum("quantity")).values_list("lot_id", "total")
    )
    _apply_lot_changes(returned, reason=_("allocation for %(delivery_date)s redone") % {"delivery_date": delivery_date}, delivery_date=delivery_date)
    LineShortage.objects.filter(delivery_date=delivery_date).delete()
    Allocation.objects.filter(delivery_date=delivery_date).delete()


def _apply_lot_changes(changes: list[tuple[int, int]], *, reason: str, delivery_date: date) -> None:
    """Change many lots at once, with one allocation move per lot on the ledger."""
    if not changes:
        return
    table = connection.ops.quote_name(Lot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET quantity = quantity + %s WHERE id = %s", [(q, lot) for lot, q in changes])
    copy_rows(
        StockMove,
        ["lot_id", "kind", "quantity", "reason", "delivery_date", "created_at"],
        ((lot, MoveKind.ALLOCATION, q, reason, delivery_date, timezone.now()) for lot, q in changes),
    )


def allocate_day(
    *, delivery_date: date, min_remaining_days: int | None = None, order_time_weight: float | None = None
) -> AllocationSummary:
    """Allocate usable stock to the day's demand, fairly when short, and record every resident's cut.

    With an order-time weight w > 0, a pickup point whose leader ordered first weighs up to 1 + w
    times its demand in the fair share, the last one 1 (see `_order_time_weights`).
    Idempotent: it first undoes its own earlier output for the day (stock goes back through the
    ledger), then allocates afresh; nothing of other days is touched.
    """
    if min_remaining_days is None:
        min_remaining_days = settings.ALLOCATION_MIN_REMAINING_DAYS
    if order_time_weight is None:
        order_time_weight = settings.ALLOCATION_ORDER_TIME_WEIGHT
    if min_remaining_days < 0:
        raise InvalidInput(
            _("the minimum remaining shelf life cannot be negative"), field="min_remaining_days", code="negative_shelf_life"
        )
    if not 0 <= order_time_weight <= 1:
        raise InvalidInput(_("the order-time weight must be between 0 and 1"), field="order_time_weight", code="weight_out_of_range")
    with transaction.atomic():
        _undo_allocations(delivery_date)
        demand = fetch_array(
            DemandLine.objects.filter(delivery_date=delivery_date).values_list("id", "pickup_point_id", "product_id", "quantity")
        )
        lots = list(
            usable_lots(delivery_date, min_remaining_days)
            .filter(product_id__in=np.unique(demand[:, 2]).tolist())
            .select_for_update()
            .order_by()
            .values_list("id", "product_id", "expiry_date", "quantity")
        )
        lot_ids = np.array([lot[0] for lot in lots], dtype=np.int64)
        try:
            result = allocation.allocate_arrays(
                demand[:, 2], demand[:, 1], demand[:, 3],
                np.array([lot[1] for lot in lots], dtype=np.int64),
                np.array([lot[2] for lot in lots], dtype="datetime64[D]"),
                np.array([lot[3] for lot in lots], dtype=np.int64),
                lot_ids,
                demand_weight=_order_time_weights(delivery_date, demand[:, 1], order_time_weight) if order_time_weight else None,
            )
        except ValueError as exc:  # totals beyond what the allocator counts in: bad stock data, not a crash
            raise Conflict(
                _("cannot allocate %(delivery_date)s: %(error)s") % {"delivery_date": delivery_date, "error": exc},
                field="delivery_date", code="allocation_failed",
            ) from exc
        line, lot_index, quantity = result.alloc_line, result.alloc_lot, result.alloc_qty
        copy_rows(
            Allocation,
            ["delivery_date", "pickup_point_id", "product_id", "lot_id", "quantity"],
            zip(
                itertools.repeat(delivery_date), demand[line, 1].tolist(), demand[line, 2].tolist(),
                lot_ids[lot_index].tolist(), quantity.tolist(),
            ),
        )
        taken = np.bincount(lot_index, weights=quantity, minlength=lot_ids.size).astype(np.int64)
        used = np.flatnonzero(taken)
        _apply_lot_changes(
            list(zip(lot_ids[used].tolist(), (-taken[used]).tolist())),
            reason=_("allocated to demand of %(delivery_date)s") % {"delivery_date": delivery_date}, delivery_date=delivery_date,
        )
        refund = _record_line_shortages(delivery_date, demand, result.shortage, result.allocated)
    return AllocationSummary(
        delivery_date, len(demand), int(demand[:, 3].sum()), int(result.allocated.sum()),
        int((result.shortage > 0).sum()), refund,
    )


def _order_time_weights(delivery_date: date, demand_points: np.ndarray, weight: float) -> np.ndarray:
    """Per demand line: 1 + weight for the point whose leader ordered first, falling linearly to 1 for the last."""
    first_order = dict(
        LeaderOrder.objects.filter(wave__delivery_date=delivery_date)
        .values("pickup_point_id")
        .annotate(first=Min("submitted_at"))
        .values_list("pickup_point_id", "first")
    )
    if not first_order:
        return np.ones(demand_points.size)
    earliest, latest = min(first_order.values()), max(first_order.values())
    span = (latest - earliest).total_seconds() or 1.0
    points = np.array(sorted(first_order), dtype=np.int64)
    lateness = np.array([(first_order[p] - earliest).total_seconds() / span for p in points.tolist()])
    position = np.minimum(np.searchsorted(points, demand_points), points.size - 1)
    # A point without an order of its own (it cannot have demand, but be safe) counts as the latest.
    lateness = np.where(points[position] == demand_points, lateness[position], 1.0)
    return 1.0 + weight * (1.0 - lateness)


def _record_line_shortages(delivery_date: date, demand: np.ndarray, shortage: np.ndarray, allocated: np.ndarray) -> Decimal:
    """Cut each short demand line's shortage from its residents' order lines, each with its exact refund."""
    short = np.flatnonzero(shortage > 0)
    if short.size == 0:
        return Decimal("0.00")
    wave_ids = list(SalesWave.objects.filter(delivery_date=delivery_date).values_list("pk", flat=True))
    lines = fetch_array(
        # Every active line of the day; the ones of short demand lines are picked out below, in numpy.
        OrderLine.objects.filter(status=LineStatus.ACTIVE, order__wave_id__in=wave_ids)
        .annotate(cents=Cast(Round(F("unit_price") * 100), IntegerField()))
        .values_list("id", "order__pickup_point_id", "deal__product_id", "quantity", "order_id", "cents")
    )
    if lines.size == 0:
        return Decimal("0.00")
    line_id, point, product, quantity, order_id, cents = lines.T
    # Lines share their order's time; converting 3,000 order times is cheaper than a million line times.
    orders = LeaderOrder.objects.filter(pk__in=np.unique(order_id).tolist()).order_by("pk").values_list("pk", "submitted_at")
    order_pks = np.array([pk for pk, _ in orders], dtype=np.int64)
    order_times = np.array([int(at.timestamp() * 1_000_000) for _, at in orders], dtype=np.int64)
    ordered_at = order_times[np.searchsorted(order_pks, order_id)]
    # The short demand line (an index into `short`) of each order line, matched on (point, product).
    modulus = int(max(demand[:, 2].max(), product.max())) + 1
    short_keys = demand[short, 1] * modulus + demand[short, 2]
    line_keys = point * modulus + product
    sorter = np.argsort(short_keys)
    position = np.minimum(np.searchsorted(short_keys, line_keys, sorter=sorter), short.size - 1)
    belongs = short_keys[sorter[position]] == line_keys
    group = sorter[position[belongs]]
    cuts = allocation.split_shortage_arrays(
        group, quantity[belongs], ordered_at[belongs], line_id[belongs], shortage[short]
    )
    cut = cuts > 0
    demand_row = short[group[cut]]
    refund_cents = cents[belongs][cut] * cuts[cut]
    copy_rows(
        LineShortage,
        ["delivery_date", "order_line_id", "quantity", "refund_amount", "point_demanded", "point_allocated"],
        zip(
            itertools.repeat(delivery_date),
            line_id[belongs][cut].tolist(),
            cuts[cut].tolist(),
            (f"{c // 100}.{c % 100:02d}" for c in refund_cents.tolist()),
            demand[demand_row, 3].tolist(),
            allocated[demand_row].tolist(),
        ),
    )
    return Decimal(int(refund_cents.sum())).scaleb(-2)


# --- forecasts ---------------------------------------------------------------------------------


def _columns(rows: list[tuple], dtypes) -> list[np.ndarray]:
    return [np.array(column, dtype=dtype) for column, dtype in zip(zip(*rows), dtypes)]


def _day_offsets(days: np.ndarray, start: date) -> np.ndarray:
    return (days - np.datetime64(start, "D")).astype(np.int64)


@dataclass(frozen=True)
class ForecastRun:
    delivery_date: date
    depot_id: int
    point_series: int
    depot_series: int


def forecast_depot(*, delivery_date: date, depot_id: int, history_days: int = 364) -> ForecastRun:
    """Forecast the delivery day's demand per product at each of the depot's pickup points and for the depot.

    A day on which a product was not on sale is unknown (not zero) to the forecaster; products on sale
    on the delivery day without history fall back to their category's level. Replaces the day's
    earlier forecasts for the depot.
    """
    if not Depot.objects.filter(pk=depot_id).exists():
        raise NotFound(_("depot %(depot_id)s does not exist") % {"depot_id": depot_id}, field="depot_id", code="depot_not_found")
    if history_days < 7:
        raise InvalidInput(_("at least a week of history is needed"), field="history_days", code="history_too_short")
    start = delivery_date - timedelta(days=history_days)
    points = np.array(
        PickupPoint.objects.filter(depot_id=depot_id, is_active=True).order_by("pk").values_list("pk", flat=True), dtype=np.int64
    )
    offered = list(
        Deal.objects.filter(wave__delivery_date__gte=start, wave__delivery_date__lte=delivery_date)
        .annotate(sold_out=ExpressionWrapper(
            Q(quantity_limit__isnull=False) & Q(sold_quantity__gte=F("quantity_limit")), output_field=BooleanField()
        ))
        .values_list("product_id", "wave__delivery_date", "is_promotion", "price", "sold_out")
    )
    on_sale = {product for product, day, *_ in offered if day == delivery_date}
    history_products = (
        DemandLine.objects.filter(delivery_date__gte=start, delivery_date__lt=delivery_date, pickup_point__depot_id=depot_id)
        .order_by()
        .values_list("product_id", flat=True)
        .distinct()
    )
    products = np.array(sorted(on_sale | set(history_products)), dtype=np.int64)
    if points.size == 0 or products.size == 0:
        DemandForecast.objects.filter(delivery_date=delivery_date, depot_id=depot_id).delete()
        return ForecastRun(delivery_date, depot_id, 0, 0)
    n_days = history_days
    # Per product and day: offered at all, promoted, its price (the lowest of the day's deals), and
    # sold out (a limited deal reached its limit: the day's orders are a lower bound of its demand).
    offered_grid = np.zeros((products.size, n_days + 1), dtype=bool)
    promo_grid = np.zeros_like(offered_grid)
    sold_out_grid = np.zeros_like(offered_grid)
    price_grid = np.full(offered_grid.shape, np.nan)
    if offered:
        deal_product, deal_day, deal_promo, deal_price, deal_sold_out = _columns(
            offered, (np.int64, "datetime64[D]", bool, np.float64, bool)
        )
        known = np.isin(deal_product, products)
        rows, days = np.searchsorted(products, deal_product[known]), _day_offsets(deal_day[known], start)
        offered_grid[rows, days] = True
        np.logical_or.at(promo_grid, (rows, days), deal_promo[known])
        np.logical_or.at(sold_out_grid, (rows, days), deal_sold_out[known])
        np.fmin.at(price_grid, (rows, days), deal_price[known])
    # Point series are product-major: series = product row * n_points + point column.
    n_points = points.size
    point_history = np.where(offered_grid[:, None, :n_days], 0.0, np.nan).repeat(n_points, axis=1).reshape(-1, n_days)
    # Numbers only (a line's day by its wave's): a large city's year is millions of rows, and making a
    # Python date of each cost more than the query.
    sold = fetch_array(
        DemandLine.objects.filter(
            delivery_date__gte=start, delivery_date__lt=delivery_date, pickup_point_id__in=points.tolist()
        ).values_list("product_id", "pickup_point_id", "wave_id", "quantity")
    )
    if sold.size:
        sold_product, sold_point, sold_wave, sold_quantity = sold.T
        waves = SalesWave.objects.filter(delivery_date__gte=start, delivery_date__lt=delivery_date).order_by("pk")
        wave_id, wave_day = _columns(list(waves.values_list("pk", "delivery_date")), (np.int64, "datetime64[D]"))
        sold_day = _day_offsets(wave_day, start)[np.searchsorted(wave_id, sold_wave)]
        series = np.searchsorted(products, sold_product) * n_points + np.searchsorted(points, sold_point)
        point_history[series, sold_day] = sold_quantity
    depot_history = np.nansum(point_history.reshape(products.size, n_points, n_days), axis=1)
    depot_history[~offered_grid[:, :n_days]] = np.nan
    categories = dict(Product.objects.filter(pk__in=products.tolist()).values_list("pk", "category"))
    category_codes = {c: k for k, c in enumerate(sorted(set(categories.values())))}
    product_group = np.array([category_codes[categories[int(p)]] for p in products])
    history = np.vstack([point_history, depot_history])

    def per_series(grid: np.ndarray) -> np.ndarray:
        """A (product, day) grid as (series, day): each product's row for its points, then for the depot."""
        return np.vstack([grid.repeat(n_points, axis=0), grid])

    promo, sold_out, price = per_series(promo_grid), per_series(sold_out_grid), per_series(price_grid)
    # Depot series pool among themselves: their scale differs from a single point's.
    group = np.concatenate([product_group.repeat(n_points), product_group + len(category_codes)])
    result = forecasting.forecast(
        forecasting.ForecastInput(
            history, promo[:, :n_days], promo[:, n_days:], group, start_weekday=start.weekday(),
            day_code=forecasting.china_day_codes(start, n_days + 1),
            censored=sold_out[:, :n_days] if sold_out.any() else None,
            price_history=price[:, :n_days], price_future=price[:, n_days:],
        ),
        horizon=1,
    )
    mean, p50, p80, p95 = (a[:, 0] for a in (result.mean, result.quantiles[0.5], result.quantiles[0.8], result.quantiles[0.95]))
    series_product = np.concatenate([products.repeat(n_points), products])
    series_point = np.concatenate([np.tile(points, products.size), np.full(products.size, -1)])
    now = timezone.now()
    with transaction.atomic():
        DemandForecast.objects.filter(delivery_date=delivery_date, depot_id=depot_id).delete()
        copy_rows(
            DemandForecast,
            ["delivery_date", "product_id", "depot_id", "pickup_point_id", "mean", "p50", "p80", "p95", "created_at"],
            (
                (delivery_date, int(prod), depot_id, None if point < 0 else int(point), round(float(m), 3), int(a), int(b), int(c), now)
                for prod, point, m, a, b, c in zip(series_product, series_point, mean, p50, p80, p95)
            ),
        )
    return ForecastRun(delivery_date, depot_id, int(products.size * n_points), int(products.size))
