"""Reads of the order side, always scoped to what the caller may see."""
import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.db.models import Count, DecimalField, F, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import PickupPoint
from core.documents import BOM
from core.errors import InvalidInput, NotFound
from core.models import Role
from core.selectors import roles_of

from .models import Deal, DemandLine, LeaderOrder, LineStatus, OrderLine, Resident, SalesWave, WaveStatus
from .phones import hash_phone, normalize_phone


def waves(status: str | None = None) -> QuerySet[SalesWave]:
    qs = SalesWave.objects.all()
    return qs.filter(status=status) if status else qs


def wave(wave_id: int) -> SalesWave:
    found = SalesWave.objects.filter(pk=wave_id).first()
    if found is None:
        raise NotFound(_("wave %(wave_id)s does not exist") % {"wave_id": wave_id}, field="wave_id", code="wave_not_found")
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
        raise NotFound(_("order %(order_id)s does not exist") % {"order_id": order_id}, field="order_id", code="order_not_found")
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


DEMAND_CSV_HEADER = [
    gettext_lazy("Delivery day"), gettext_lazy("Pickup point"), gettext_lazy("SKU"), gettext_lazy("Product"),
    gettext_lazy("Quantity"), gettext_lazy("Orders"), gettext_lazy("Lines"), gettext_lazy("Amount"),
]


class _Line:
    """A file-like object whose write returns the line, so csv.writer can feed a streamed response."""

    def write(self, value: str) -> str:
        return value


def demand_csv_lines(delivery_date: date):
    """The day's demand lines as CSV text, one line at a time, without loading them all into memory.

    The header is translated now, in the request's language, not later while the response streams.
    """
    return _demand_csv_rows(delivery_date, [str(column) for column in DEMAND_CSV_HEADER])


def _demand_csv_rows(delivery_date: date, header: list[str]):
    writer = csv.writer(_Line())
    # The byte-order mark lets Excel and WPS open the file as UTF-8 (Chinese names), see core.documents.
    yield BOM + writer.writerow(header)
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


# --- privacy: find, export (residents' own data) ------------------------------------------------


def resident_by_phone(phone: str) -> Resident:
    """The resident with this full phone number (looked up by its keyed hash; the number itself is not stored)."""
    normalized = normalize_phone(phone)
    if normalized is None:
        raise InvalidInput(_("not a valid phone number"), field="phone", code="invalid_phone")
    found = Resident.objects.filter(phone_hash=hash_phone(normalized)).first()
    if found is None:
        raise NotFound(_("no resident has this phone number"), field="phone", code="resident_not_found")
    return found


def resident(resident_id: int) -> Resident:
    found = Resident.objects.filter(pk=resident_id).first()
    if found is None:
        raise NotFound(_("resident %(resident_id)s does not exist") % {"resident_id": resident_id}, field="resident_id", code="resident_not_found")
    return found


def resident_export(resident_id: int) -> dict:
    """Everything the order side stores about a resident, as JSON-ready data."""
    person = resident(resident_id)
    lines = (
        OrderLine.objects.filter(resident=person)
        .select_related("order__pickup_point", "order__wave", "deal__product")
        .order_by("id")
    )
    return {
        "resident": {
            "id": person.pk,
            "name": person.name,
            "phone_masked": person.phone_masked,
            "consent": person.consent,
            "consent_at": person.consent_at,
            "consent_version": person.consent_version,
            "created_at": person.created_at,
            "erased_at": person.erased_at,
        },
        "order_lines": [
            {
                "id": line.pk,
                "delivery_date": line.order.wave.delivery_date,
                "pickup_point": line.order.pickup_point.code,
                "product_sku": line.deal.product.sku,
                "product": line.deal.product.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "status": line.status,
                "cancelled_at": line.cancelled_at,
            }
            for line in lines
        ],
    }


# --- the leader's pages -------------------------------------------------------------------------


def open_waves_with_deals() -> QuerySet[SalesWave]:
    """Open waves, the next delivery first, each with its deals and how many units of a limited deal are left."""
    deals = Deal.objects.select_related("product").annotate(remaining=F("quantity_limit") - F("sold_quantity"))
    return (
        SalesWave.objects.filter(status=WaveStatus.OPEN)
        .order_by("delivery_date")
        .prefetch_related(Prefetch("deals", queryset=deals))
    )


def waves_accepting_orders() -> QuerySet[SalesWave]:
    return SalesWave.objects.filter(status=WaveStatus.OPEN, cutoff_at__gt=timezone.now()).order_by("delivery_date")


def own_pickup_points(user) -> QuerySet[PickupPoint]:
    """The points the user leads; staff who are not leaders have none, even though they may see every point."""
    return PickupPoint.objects.filter(leaders__user=user, leaders__is_active=True).order_by("code")


def orders_with_totals(user, delivered_since: date) -> QuerySet[LeaderOrder]:
    """The caller's orders for deliveries since the day, newest first, with their active lines, units and amount."""
    active = Q(lines__status=LineStatus.ACTIVE)
    return (
        orders_visible_to(user)
        .filter(wave__delivery_date__gte=delivered_since)
        .annotate(
            active_lines=Count("lines", filter=active),
            total_quantity=Coalesce(Sum("lines__quantity", filter=active), 0),
            total_amount=Coalesce(
                Sum(F("lines__quantity") * F("lines__unit_price"), filter=active),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
        .order_by("-wave__delivery_date", "pickup_point__code")
    )


def own_order(user, *, pickup_point_id: int, wave_id: int) -> LeaderOrder | None:
    return LeaderOrder.objects.filter(leader__user=user, pickup_point_id=pickup_point_id, wave_id=wave_id).first()


def own_order_with_lines(user, order_id: int) -> LeaderOrder:
    """One of the caller's own orders, to change it; an operator may see others' orders but not change them."""
    order = order_with_lines(user, order_id)
    if order.leader.user_id != user.pk:
        raise NotFound(_("order %(order_id)s does not exist") % {"order_id": order_id}, field="order_id", code="order_not_found")
    return order


@dataclass(frozen=True)
class StatementLine:
    line: OrderLine
    amount: Decimal


@dataclass(frozen=True)
class OrderStatement:
    """An order with each line's amount and the totals of its active lines."""

    order: LeaderOrder
    lines: list[StatementLine]
    active_lines: int
    quantity: int
    amount: Decimal


def order_statement(user, order_id: int) -> OrderStatement:
    order = order_with_lines(user, order_id)
    lines = [StatementLine(line, line.quantity * line.unit_price) for line in order.lines.all()]
    active = [entry for entry in lines if entry.line.status == LineStatus.ACTIVE]
    return OrderStatement(
        order=order,
        lines=lines,
        active_lines=len(active),
        quantity=sum(entry.line.quantity for entry in active),
        amount=sum((entry.amount for entry in active), Decimal("0")),
    )
