"""Reads of the order side, always scoped to what the caller may see."""
import csv
from datetime import date

from django.db.models import Count, QuerySet, Sum

from catalog.models import PickupPoint
from core.errors import NotFound
from core.models import Role
from core.selectors import roles_of

from .models import Deal, DemandLine, LeaderOrder, SalesWave


def waves(status: str | None = None) -> QuerySet[SalesWave]:
    qs = SalesWave.objects.all()
    return qs.filter(status=status) if status else qs


def wave(wave_id: int) -> SalesWave:
    found = SalesWave.objects.filter(pk=wave_id).first()
    if found is None:
        raise NotFound(f"wave {wave_id} does not exist", field="wave_id")
    return found


def deals_of_wave(wave_id: int) -> QuerySet[Deal]:
    return Deal.objects.filter(wave_id=wave(wave_id).pk).select_related("product")


def pickup_points_visible_to(user) -> QuerySet[PickupPoint]:
    """Leaders see their own points; staff roles see all."""
    points = PickupPoint.objects.select_related("depot")
    if roles_of(user) - {Role.LEADER.value}:
        return points
    return points.filter(leaders__user=user)


def orders_visible_to(user) -> QuerySet[LeaderOrder]:
    orders = LeaderOrder.objects.select_related("wave", "pickup_point", "leader__user")
    if Role.OPERATOR.value in roles_of(user):
        return orders
    return orders.filter(leader__user=user)


def order_with_lines(user, order_id: int) -> LeaderOrder:
    """An order the caller may see, with lines; anybody else's order does not exist for them."""
    order = (
        orders_visible_to(user)
        .prefetch_related("lines__resident", "lines__deal__product")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound(f"order {order_id} does not exist", field="order_id")
    return order


def demand_lines(
    *, delivery_date: date, pickup_point_id: int | None = None, product_id: int | None = None
) -> QuerySet[DemandLine]:
    qs = DemandLine.objects.filter(delivery_date=delivery_date).select_related("pickup_point", "product")
    if pickup_point_id is not None:
        qs = qs.filter(pickup_point_id=pickup_point_id)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    return qs


def demand_by_point(delivery_date: date):
    return (
        DemandLine.objects.filter(delivery_date=delivery_date)
        .values("pickup_point_id", "pickup_point__code", "pickup_point__name")
        .annotate(quantity=Sum("quantity"), products=Count("product_id"), amount=Sum("amount"))
        .order_by("pickup_point__code")
    )


def demand_by_product(delivery_date: date):
    return (
        DemandLine.objects.filter(delivery_date=delivery_date)
        .values("product_id", "product__sku", "product__name")
        .annotate(quantity=Sum("quantity"), pickup_points=Count("pickup_point_id"), amount=Sum("amount"))
        .order_by("product__sku")
    )


DEMAND_CSV_HEADER = ["delivery_date", "pickup_point", "product_sku", "product", "quantity", "orders", "lines", "amount"]


class _Line:
    """A file-like object whose write returns the line, so csv.writer can feed a streamed response."""

    def write(self, value: str) -> str:
        return value


def demand_csv_lines(delivery_date: date):
    """The day's demand lines as CSV text, one line at a time, without loading them all into memory."""
    writer = csv.writer(_Line())
    yield writer.writerow(DEMAND_CSV_HEADER)
    rows = (
        demand_lines(delivery_date=delivery_date)
        .values_list(
            "delivery_date", "pickup_point__code", "product__sku", "product__name",
            "quantity", "order_count", "line_count", "amount",
        )
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield writer.writerow(row)
