"""Reads of the last mile, always scoped to what the caller may see: manifests, claims, refunds, statements."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import PickupPoint, Product
from core.errors import NotFound
from core.models import Role
from core.selectors import roles_of
from grouporders import selectors as order_selectors
from grouporders.models import GroupLeader
from warehouse.models import Allocation, LineShortage

from .commission import CENT
from .models import (
    Beneficiary,
    Claim,
    ClaimSource,
    ClaimStatus,
    CommissionEntry,
    EntryKind,
    PickupLine,
    Receipt,
    Refund,
)


def is_operator(user) -> bool:
    return Role.OPERATOR.value in roles_of(user)


def visible_point(user, pickup_point_id: int) -> PickupPoint:
    """A pickup point the caller may work on; a leader's others' points do not exist for them."""
    point = order_selectors.pickup_points_visible_to(user).filter(pk=pickup_point_id).first()
    if point is None:
        raise NotFound(
            _("pickup point %(pickup_point_id)s does not exist") % {"pickup_point_id": pickup_point_id},
            field="pickup_point_id", code="pickup_point_not_found",
        )
    return point


def pickup_lines_visible_to(user) -> QuerySet[PickupLine]:
    lines = PickupLine.objects.select_related("resident", "product", "pickup_point")
    return lines if is_operator(user) else lines.filter(pickup_point__leaders__user=user)


# --- manifest and receipt ------------------------------------------------------------------------


def expected_by_product(delivery_date: date, pickup_point_id: int) -> dict[int, int]:
    """The manifest: what the warehouse allocated to the point for the day, per product."""
    rows = (
        Allocation.objects.filter(delivery_date=delivery_date, pickup_point_id=pickup_point_id)
        .values("product_id")
        .annotate(quantity=Sum("quantity"))
        .values_list("product_id", "quantity")
    )
    return dict(rows)


@dataclass(frozen=True)
class ManifestProduct:
    product_id: int
    sku: str
    name: str
    expected: int
    received: int | None


def manifest(delivery_date: date, pickup_point_id: int) -> list[ManifestProduct]:
    expected = expected_by_product(delivery_date, pickup_point_id)
    received = dict(
        Receipt.objects.filter(delivery_date=delivery_date, pickup_point_id=pickup_point_id).values_list("product_id", "received_quantity")
    )
    products = Product.objects.filter(pk__in=expected).order_by("sku")
    return [ManifestProduct(p.pk, p.sku, p.name, expected[p.pk], received.get(p.pk)) for p in products]


def left_at_point():
    """Units of a pickup line still at the point for the resident, as a query expression."""
    return F("ordered_quantity") - F("shortage_quantity") - F("missing_quantity") - F("collected_quantity") - F("returned_quantity")


def point_lines(delivery_date: date, pickup_point_id: int) -> QuerySet[PickupLine]:
    """The residents' lines at the point for the day (masked phones only), by resident."""
    return (
        PickupLine.objects.filter(delivery_date=delivery_date, pickup_point_id=pickup_point_id)
        .select_related("resident", "product")
        .order_by("resident__name", "resident_id", "product__sku")
    )


def receipts(delivery_date: date, pickup_point_id: int) -> QuerySet[Receipt]:
    return Receipt.objects.filter(delivery_date=delivery_date, pickup_point_id=pickup_point_id).select_related("product")


# --- claims and refunds --------------------------------------------------------------------------


def claims_visible_to(user, status: str | None = None) -> QuerySet[Claim]:
    qs = Claim.objects.select_related("pickup_line__resident", "pickup_line__product")
    if not is_operator(user):
        qs = qs.filter(pickup_line__pickup_point__leaders__user=user)
    return qs.filter(status=status) if status else qs


def claimed_quantities(pickup_line_ids: list[int], *, statuses: tuple[str, ...]) -> dict[int, int]:
    """Units claimed by residents per pickup line, for the lines that have any."""
    rows = (
        Claim.objects.filter(pickup_line_id__in=pickup_line_ids, source=ClaimSource.RESIDENT, status__in=statuses)
        .values("pickup_line_id")
        .annotate(total=Sum("quantity"))
        .values_list("pickup_line_id", "total")
    )
    return dict(rows)


def refunded_by_claims(pickup_line_ids: list[int]) -> dict[int, int]:
    return claimed_quantities(pickup_line_ids, statuses=(ClaimStatus.APPROVED,))


def refunds_visible_to(user, *, delivery_date: date | None = None, resident_id: int | None = None) -> QuerySet[Refund]:
    qs = Refund.objects.select_related("resident", "order_line__deal__product", "order_line__order__pickup_point")
    if not is_operator(user):
        qs = qs.filter(order_line__order__pickup_point__leaders__user=user)
    if delivery_date is not None:
        qs = qs.filter(order_line__order__wave__delivery_date=delivery_date)
    if resident_id is not None:
        qs = qs.filter(resident_id=resident_id)
    return qs.order_by("id")


# --- commission statements -----------------------------------------------------------------------


def month_collected_gmv(leader_ids: set[int], at: datetime, *, excluding_line_ids: list[int]) -> dict[int, Decimal]:
    """Each leader's collected, unrefunded revenue so far in the month of `at` (local time), leaving out some lines."""
    local = timezone.localtime(at)
    start = timezone.make_aware(datetime.combine(local.date().replace(day=1), time.min))
    rows = (
        CommissionEntry.objects.filter(
            leader_id__in=leader_ids, beneficiary=Beneficiary.LEADER, kind=EntryKind.ACCRUAL, earned_at__gte=start, earned_at__lte=at
        )
        .exclude(pickup_line_id__in=excluding_line_ids)
        .values("leader_id")
        .annotate(total=Sum("revenue"))
        .values_list("leader_id", "total")
    )
    return {leader_id: Decimal("0.00") for leader_id in leader_ids} | dict(rows)


def collected_between(leader_ids: set[int], after: datetime, until: datetime, *, excluding_line_ids: list[int]
                      ) -> list[tuple[datetime, int, Decimal]]:
    """(earned at, leader, revenue) of the leaders' collected revenue earned after `after` up to
    `until`, in time order, leaving out some lines: what month_collected_gmv adds from one moment to a later one."""
    return list(
        CommissionEntry.objects.filter(
            leader_id__in=leader_ids, beneficiary=Beneficiary.LEADER, kind=EntryKind.ACCRUAL, earned_at__gt=after,
            earned_at__lte=until,
        )
        .exclude(pickup_line_id__in=excluding_line_ids)
        .order_by("earned_at", "pk")
        .values_list("earned_at", "leader_id", "revenue")
    )


def visible_leader(user, leader_id: int | None) -> GroupLeader:
    """Leaders see their own statement; operators anybody's (leader_id required)."""
    if is_operator(user) and leader_id is not None:
        leader = GroupLeader.objects.select_related("user").filter(pk=leader_id).first()
    else:
        leader = GroupLeader.objects.select_related("user").filter(user=user).first()
        if leader is not None and leader_id is not None and leader.pk != leader_id:
            leader = None
    if leader is None:
        raise NotFound(_("no such group leader"), field="leader_id", code="leader_not_found")
    return leader


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    kind: str
    beneficiary: str
    order_line_id: int
    delivery_date: date
    pickup_point: str
    product: str
    resident_phone: str
    quantity: int
    revenue: Decimal
    rate: Decimal
    amount: Decimal
    earned_at: datetime
    settled_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Statement:
    leader_id: int
    leader: str
    start: date
    end: date
    lines: list[StatementLine]
    gmv: Decimal
    accrued: Decimal
    settled: Decimal
    clawed_back: Decimal
    payable: Decimal


def _day_range(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def _sum(qs, field: str) -> Decimal:
    total = qs.aggregate(total=Sum(field))["total"] or 0
    return Decimal(total).quantize(CENT)  # SQLite sums decimals as floats


def statement(leader: GroupLeader, start: date, end: date) -> Statement:
    """The leader's commission for a period: what was earned in it (lines, GMV, accrued), what settled
    in it, and what was clawed back in it; payable is settled minus clawed back.
    """
    since, until = _day_range(start, end)
    entries = CommissionEntry.objects.filter(leader=leader)
    earned = entries.filter(kind=EntryKind.ACCRUAL, earned_at__gte=since, earned_at__lt=until)
    clawbacks = entries.filter(kind=EntryKind.CLAWBACK, created_at__gte=since, created_at__lt=until)
    settled = entries.filter(kind=EntryKind.ACCRUAL, settled_at__gte=since, settled_at__lt=until)
    shown = (
        entries.filter(Q(pk__in=earned.values("pk")) | Q(pk__in=clawbacks.values("pk")) | Q(pk__in=settled.values("pk")))
        .select_related("pickup_line__resident", "pickup_line__product", "pickup_line__pickup_point")
        .order_by("created_at", "id")
    )
    lines = [
        StatementLine(
            e.pk, e.kind, e.beneficiary, e.pickup_line.order_line_id, e.pickup_line.delivery_date,
            e.pickup_line.pickup_point.name, e.pickup_line.product.name, e.pickup_line.resident.phone_masked,
            e.quantity, e.revenue, e.rate, e.amount, e.earned_at, e.settled_at, e.created_at,
        )
        for e in shown
    ]
    settled_total = _sum(settled, "amount")
    clawed_back = -_sum(clawbacks, "amount")
    return Statement(
        leader.pk, str(leader), start, end, lines,
        gmv=_sum(earned.filter(beneficiary=Beneficiary.LEADER), "revenue"),
        accrued=_sum(earned, "amount"),
        settled=settled_total,
        clawed_back=clawed_back,
        payable=settled_total - clawed_back,
    )


# --- privacy -------------------------------------------------------------------------------------


def resident_export(resident_id: int) -> dict:
    """Everything stored about a resident across the order side, the warehouse's cuts and the last mile."""
    data = order_selectors.resident_export(resident_id)
    data["shortages"] = list(
        LineShortage.objects.filter(order_line__resident_id=resident_id)
        .values("order_line_id", "delivery_date", "quantity", "refund_amount")
        .order_by("order_line_id")
    )
    data["pickup_lines"] = list(
        PickupLine.objects.filter(resident_id=resident_id)
        .values(
            "order_line_id", "delivery_date", "pickup_point__code", "product__sku", "unit_price", "ordered_quantity",
            "shortage_quantity", "missing_quantity", "collected_quantity", "collected_at", "returned_quantity",
            "return_disposition", "returned_at",
        )
        .order_by("order_line_id")
    )
    data["collections"] = list(
        PickupLine.objects.filter(resident_id=resident_id)
        .values("order_line_id", "collections__quantity", "collections__collected_at")
        .exclude(collections__isnull=True)
        .order_by("collections__id")
    )
    data["pickup_codes"] = list(
        order_selectors.resident(resident_id).pickup_codes.values("delivery_date", "issued_at").order_by("delivery_date")
    )
    data["claims"] = list(
        Claim.objects.filter(pickup_line__resident_id=resident_id)
        .values(
            "id", "pickup_line__order_line_id", "kind", "source", "quantity", "reason", "photo_ref", "status",
            "filed_at", "decided_at", "decision_note",
        )
        .order_by("id")
    )
    data["refunds"] = list(
        Refund.objects.filter(resident_id=resident_id)
        .values("id", "cause", "order_line_id", "quantity", "amount", "reason", "created_at")
        .order_by("id")
    )
    return data
