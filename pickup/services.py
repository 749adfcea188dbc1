"""Every write of the last mile: receipt at the point, pickup codes and collection, returns of uncollected
goods, claims, refunds, the leader commission ledger and its settlement, residents' erasure.
"""
import base64
import hashlib
import heapq
import hmac
import io
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import qrcode
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import DateField, DateTimeField, F, Min, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from catalog.models import StorageTemperature
from core.bulk import copy_objects, copy_rows, insert_from_select, refresh_statistics, update_rows
from core.errors import Conflict, InvalidInput, NotFound, ServiceError
from core.formatting import day as format_day
from grouporders import services as order_services
from grouporders.models import LineStatus, OrderLine, Resident, SalesWave, WaveStatus
from warehouse import services as warehouse_services
from warehouse.models import Allocation, LineShortage, LotSource

from . import commission, selectors
from .models import (
    Beneficiary,
    Claim,
    ClaimKind,
    ClaimSource,
    ClaimStatus,
    Collection,
    CommissionEntry,
    Disposition,
    EntryKind,
    PickupCode,
    PickupLine,
    Receipt,
    Refund,
    RefundCause,
)


class TooManyAttempts(ServiceError):
    status_code = 429

    default_code = "too_many_attempts"

    def __init__(self, detail: str, field: str | None = None, *, locked_until: datetime, code: str | None = None):
        super().__init__(detail, field, code)
        self.locked_until = locked_until


def _money(quantity: int, unit_price: Decimal) -> Decimal:
    return (unit_price * quantity).quantize(commission.CENT)


# --- pickup lines ----------------------------------------------------------------------------------


def ensure_pickup_lines(delivery_date: date, pickup_point_id: int | None = None) -> int:
    """Create the day's pickup lines that do not exist yet, from the active order lines and their shortages,
    in one INSERT … SELECT (a large city's day is a million lines)."""
    with transaction.atomic():
        _hold_day_for_pickup_lines(delivery_date, whole_day=pickup_point_id is None)
        return _create_pickup_lines(delivery_date, pickup_point_id)


def _hold_day_for_pickup_lines(delivery_date: date, *, whole_day: bool) -> None:
    """Lock the day's wave row: exclusively to write a whole day's lines, shared to write one point's.

    So a whole day's writer is alone: the lines it finds missing are still missing when it inserts
    them, and its INSERT needs no ON CONFLICT, whose per-row speculative insertion cost 3.4 s of a
    large city's 12 s. Points' writers do not wait for one another; they keep ON CONFLICT.
    """
    waves = SalesWave.objects.filter(delivery_date=delivery_date)
    if whole_day:
        list(waves.select_for_update().values_list("pk", flat=True))
    elif connection.vendor == "postgresql":  # Django has no FOR SHARE; SQLite has one writer anyway
        sql, params = waves.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} FOR SHARE", params)


def _create_pickup_lines(delivery_date: date, pickup_point_id: int | None) -> int:
    lines = OrderLine.objects.filter(status=LineStatus.ACTIVE, order__wave__delivery_date=delivery_date, pickup__isnull=True)
    if pickup_point_id is not None:
        lines = lines.filter(order__pickup_point_id=pickup_point_id)
    rows = lines.order_by().annotate(
        day=Value(delivery_date, output_field=DateField()),
        short=Coalesce("shortage__quantity", 0),
        missing=Value(0),
        collected=Value(0),
        returned=Value(0),
        no_disposition=Value(""),
    ).values_list(
        # fields first, then the annotations: the SQL's column order
        "id", "order__pickup_point_id", "order__leader_id", "resident_id", "deal__product_id", "unit_price", "quantity",
        "day", "short", "missing", "collected", "returned", "no_disposition",
    )
    created = insert_from_select(PickupLine, [
        "order_line_id", "pickup_point_id", "leader_id", "resident_id", "product_id", "unit_price", "ordered_quantity",
        "delivery_date", "shortage_quantity", "missing_quantity", "collected_quantity", "returned_quantity", "return_disposition",
    ], rows, skip_conflicts=pickup_point_id is not None)
    if created and pickup_point_id is None:
        # A whole day's lines at once: without fresh statistics the planner takes them for a few thousand
        # and plans the next queries over them (pickup codes) as nested loops, 4x slower.
        refresh_statistics(PickupLine)
    return created


# --- shortage refunds ------------------------------------------------------------------------------


def record_shortage_refunds(*, delivery_date: date, now: datetime | None = None) -> int:
    """One refund per order line the warehouse cut for lack of stock, for the exact amount it computed.

    Idempotent: lines already refunded are skipped (a unique key guards concurrent runs too). Refunds
    are money paid out, so if the allocation was redone with other cuts after them, this refuses (409)
    rather than pay twice or quietly disagree; an operator sorts those lines out.
    """
    now = now or timezone.now()
    with transaction.atomic():
        changed = list(
            Refund.objects.filter(cause=RefundCause.SHORTAGE, order_line__order__wave__delivery_date=delivery_date)
            .exclude(order_line__shortage__quantity=F("quantity"))
            .values_list("order_line_id", flat=True)
        )
        if changed:
            raise Conflict(
                _("the allocation for %(delivery_date)s changed after its shortages were refunded (order lines %(lines)s)") % {
                    "delivery_date": delivery_date, "lines": changed[:20]},
                field="delivery_date", code="allocation_changed",
            )
        ensure_pickup_lines(delivery_date)
        # Written in the database, one INSERT … SELECT: no cut line passes through Python.
        rows = (
            LineShortage.objects.filter(delivery_date=delivery_date)
            .exclude(order_line__refunds__cause=RefundCause.SHORTAGE)
            .order_by()
            .annotate(
                refund_cause=Value(RefundCause.SHORTAGE), refund_reason=LineShortage.reason_expression(),
                refunded_at=Value(now, output_field=DateTimeField()),
            )
            .values_list("order_line_id", "order_line__resident_id", "quantity", "refund_amount", "refund_cause",
                         "refund_reason", "refunded_at")
        )
        return insert_from_select(
            Refund, ["order_line_id", "resident_id", "quantity", "amount", "cause", "reason", "created_at"], rows
        )


# --- receipt at the point --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedCount:
    product_id: int
    quantity: int


def confirm_receipt(
    *, user, delivery_date: date, pickup_point_id: int, counts: list[ReceivedCount], now: datetime | None = None
) -> list[Receipt]:
    """The leader's count of what the driver delivered, per product, against the manifest.

    Anything missing is cut from the residents' lines (the latest order lines first) and opens a
    'missing' claim on each, for an operator to approve (refund) or reject (the goods turned up).
    More than the manifest is recorded on the receipt for the operators; no resident is owed anything.
    """
    now = now or timezone.now()
    point = selectors.visible_point(user, pickup_point_id)
    if not counts:
        raise InvalidInput(_("count at least one product"), field="lines", code="no_lines")
    expected = selectors.expected_by_product(delivery_date, point.pk)
    seen = set()
    for index, count in enumerate(counts):
        if count.product_id not in expected:
            raise InvalidInput(
                _("product %(product_id)s is not on the manifest for %(delivery_date)s") % {
                    "product_id": count.product_id, "delivery_date": delivery_date},
                field=f"lines.{index}.product_id", code="product_not_on_manifest",
            )
        if count.product_id in seen:
            raise InvalidInput(_("the same product appears twice"), field=f"lines.{index}.product_id", code="duplicate_product")
        if count.quantity < 0:
            raise InvalidInput(_("a received quantity cannot be negative"), field=f"lines.{index}.quantity", code="negative_quantity")
        seen.add(count.product_id)
    with transaction.atomic():
        ensure_pickup_lines(delivery_date, point.pk)
        confirmed = set(
            Receipt.objects.select_for_update()
            .filter(delivery_date=delivery_date, pickup_point=point, product_id__in=seen)
            .values_list("product_id", flat=True)
        )
        if confirmed:
            raise Conflict(
                _("products %(products)s were already confirmed for %(delivery_date)s") % {
                    "products": sorted(confirmed), "delivery_date": delivery_date},
                field="lines", code="already_confirmed",
            )
        receipts = Receipt.objects.bulk_create(
            Receipt(
                delivery_date=delivery_date, pickup_point=point, product_id=c.product_id, expected_quantity=expected[c.product_id],
                received_quantity=c.quantity, confirmed_by=user, confirmed_at=now,
            )
            for c in counts
        )
        _open_missing_claims([receipt for receipt in receipts if receipt.difference < 0], user, now)
    return receipts


def _open_missing_claims(receipts: list[Receipt], user, now: datetime) -> None:
    """Cut what each short receipt misses from its product's lines at the point, the latest order lines
    first, with a 'missing' claim on each line cut; the receipts are one point's and day's."""
    if not receipts:
        return
    missing = {receipt.product_id: -receipt.difference for receipt in receipts}
    lines = (
        PickupLine.objects.select_for_update()
        .filter(delivery_date=receipts[0].delivery_date, pickup_point_id=receipts[0].pickup_point_id, product_id__in=missing)
        .alias(left=selectors.left_at_point())
        .filter(left__gt=0)
        .order_by("product_id", "-order_line_id")
    )
    reasons = {
        receipt.product_id: _("receipt on %(day)s: %(received)s of %(expected)s delivered") % {
            "day": receipt.delivery_date, "received": receipt.received_quantity, "expected": receipt.expected_quantity}
        for receipt in receipts
    }
    cut_lines, claims = [], []
    for line in lines:
        cut = min(missing[line.product_id], line.collectable_quantity)
        if cut == 0:
            continue
        missing[line.product_id] -= cut
        line.missing_quantity += cut
        cut_lines.append(line)
        claims.append(Claim(
            pickup_line=line, kind=ClaimKind.MISSING, source=ClaimSource.RECEIPT, quantity=cut,
            reason=reasons[line.product_id], filed_by=user, filed_at=now,
        ))
    update_rows(cut_lines, ["missing_quantity"])
    copy_objects(claims)


# --- pickup codes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCode:
    """A plain pickup code, handed out once at issuance; only its hash is kept."""

    resident_id: int
    resident_name: str
    resident_phone: str
    delivery_date: date
    code: str

    @property
    def qr_png(self) -> bytes:
        """Drawn on demand (about 4 ms each), so issuing a city's codes in the night does not wait for images."""
        return draw_qr_png(self.code)

    @property
    def qr_png_base64(self) -> str:
        return base64.b64encode(self.qr_png).decode()

    @property
    def message(self) -> str:
        """The text the resident receives through PICKUP_CODE_SENDER (SMS or mini-program push): in the
        city's language (LANGUAGE_CODE, zh-hans), whoever's request issued the code."""
        with translation.override(settings.LANGUAGE_CODE):
            return _(
                "Your pickup code for %(day)s is %(code)s. Show it to your group leader when you collect your goods."
            ) % {"day": format_day(self.delivery_date), "code": self.code}


def code_hasher(delivery_date: date) -> Callable[[str], str]:
    """The day's keyed hash of a code: keyed with the day too, so one code on two days hashes
    differently and a leaked table reveals nothing. The key and day are absorbed once per day."""
    day = hmac.new(settings.PICKUP_CODE_HASH_KEY.encode(), f"{delivery_date.isoformat()}:".encode(), hashlib.sha256)

    def digest(code: str) -> str:
        keyed = day.copy()
        keyed.update(code.encode())
        return keyed.hexdigest()

    return digest


def code_hash(delivery_date: date, code: str) -> str:
    return code_hasher(delivery_date)(code)


def draw_qr_png(code: str) -> bytes:
    """The code as a QR image: the leader's device scans it instead of typing the digits."""
    buffer = io.BytesIO()
    qrcode.make(code, box_size=6, border=2).save(buffer, format="PNG")
    return buffer.getvalue()


def _fresh_codes(delivery_date: date, count: int, taken: set[str]) -> list[tuple[str, str]]:
    """`count` random codes (with their hashes) not among the day's `taken` hashes, which it extends."""
    digits = settings.PICKUP_CODE_DIGITS
    digest_of = code_hasher(delivery_date)
    fresh: list[tuple[str, str]] = []
    while len(fresh) < count:
        # 64 random bits per code from the OS's CSPRNG; the modulo's bias (10**digits / 2**64) is nil.
        numbers = np.frombuffer(secrets.token_bytes(8 * (count - len(fresh))), dtype=np.uint64) % np.uint64(10**digits)
        for number in numbers.tolist():
            code = f"{number:0{digits}d}"
            digest = digest_of(code)
            if digest not in taken:
                taken.add(digest)
                fresh.append((code, digest))
    return fresh


def _lock_day(delivery_date: date) -> None:
    """Issuance for a day runs one at a time (the wave row is the lock), so codes never collide."""
    if not SalesWave.objects.select_for_update().filter(delivery_date=delivery_date, status=WaveStatus.CLOSED).exists():
        raise Conflict(
            _("the wave for %(delivery_date)s is not closed yet") % {"delivery_date": delivery_date}, field="delivery_date",
            code="wave_not_closed",
        )


def _deliver(issued: list[IssuedCode]) -> None:
    """Hand the plain codes to the configured sender (SMS or mini-program push) once the issue is committed."""
    if issued and settings.PICKUP_CODE_SENDER:
        sender = import_string(settings.PICKUP_CODE_SENDER)
        transaction.on_commit(lambda: sender(issued))


_CODE_FIELDS = ["delivery_date", "resident_id", "code_hash", "issued_at"]


def _issued(residents: list[tuple[int, str, str]], delivery_date: date, now: datetime) -> tuple[list[IssuedCode], list[tuple]]:
    """New codes for (resident id, name, masked phone), and their rows for PickupCode (`_CODE_FIELDS`)."""
    taken = set(PickupCode.objects.filter(delivery_date=delivery_date).values_list("code_hash", flat=True))
    # Random codes must stay hard to guess and quick to draw: keep the day's codes under half the space.
    if 2 * (len(taken) + len(residents)) > 10 ** settings.PICKUP_CODE_DIGITS:
        raise Conflict(
            _("%(count)s residents on %(delivery_date)s are too many for %(digits)s-digit pickup codes; raise PICKUP_CODE_DIGITS") % {
                "count": len(taken) + len(residents), "delivery_date": delivery_date, "digits": settings.PICKUP_CODE_DIGITS},
            field="delivery_date", code="too_many_codes",
        )
    issued, rows = [], []
    for (resident_id, name, phone_masked), (code, digest) in zip(residents, _fresh_codes(delivery_date, len(residents), taken)):
        issued.append(IssuedCode(resident_id, name, phone_masked, delivery_date, code))
        rows.append((delivery_date, resident_id, digest, now))
    return issued, rows


def issue_pickup_codes(*, delivery_date: date, now: datetime | None = None) -> list[IssuedCode]:
    """One code per resident with goods on the day; residents who already have one are skipped.

    Returns the new plain codes: the only time they exist. They go to PICKUP_CODE_SENDER if set (the
    SMS or mini-program channel that reaches residents: this system keeps no full phone number to send
    to) and back to the caller, e.g. the operator API. Never to the leader, whose device verifies them.
    """
    now = now or timezone.now()
    with transaction.atomic():
        _lock_day(delivery_date)
        ensure_pickup_lines(delivery_date)
        # The day's pickup lines (one per active order line) carry the day: no join through orders and
        # waves, and one semi-join instead of a DISTINCT over a million joined rows.
        residents = list(
            Resident.objects.filter(pk__in=PickupLine.objects.filter(delivery_date=delivery_date).values("resident_id"))
            .exclude(pickup_codes__delivery_date=delivery_date)
            .order_by("pk")
            .values_list("pk", "name", "phone_masked")
        )
        issued, rows = _issued(residents, delivery_date, now)
        copy_rows(PickupCode, _CODE_FIELDS, rows)
        _deliver(issued)
    return issued


def reissue_pickup_code(*, delivery_date: date, resident_id: int, now: datetime | None = None) -> IssuedCode:
    """A new code for a resident who lost theirs; the old one stops working."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_day(delivery_date)
        resident = (
            Resident.objects.filter(
                pk=resident_id, order_lines__status=LineStatus.ACTIVE, order_lines__order__wave__delivery_date=delivery_date
            )
            .values_list("pk", "name", "phone_masked")
            .first()
        )
        if resident is None:
            raise NotFound(
                _("resident %(resident_id)s has nothing to collect on %(delivery_date)s") % {
                    "resident_id": resident_id, "delivery_date": delivery_date},
                field="resident_id", code="nothing_to_collect",
            )
        PickupCode.objects.filter(delivery_date=delivery_date, resident_id=resident_id).delete()
        [issued], rows = _issued([resident], delivery_date, now)
        copy_rows(PickupCode, _CODE_FIELDS, rows)
        _deliver([issued])
    return issued


def _lock_key(pickup_point_id: int) -> str:
    return f"pickup:code-lock:{pickup_point_id}"


def _check_not_locked(pickup_point_id: int) -> None:
    locked_until = cache.get(_lock_key(pickup_point_id))
    if locked_until:
        # Rounded up: at the minute shown the lock is over.
        shown = timezone.localtime(locked_until).replace(second=0, microsecond=0)
        if shown < locked_until:
            shown += timedelta(minutes=1)
        raise TooManyAttempts(
            _("too many wrong pickup codes at this point; verification is locked until %(time)s") % {"time": f"{shown:%H:%M}"},
            field="code",
            locked_until=locked_until,
        )


def _count_wrong_code(pickup_point_id: int) -> None:
    """Count a wrong code in the shared cache; the last allowed failure locks the point (only that point)."""
    key = f"pickup:code-failures:{pickup_point_id}"
    window = settings.PICKUP_CODE_FAILURE_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)  # the window starts at the first failure
    try:
        failures = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    if failures >= settings.PICKUP_CODE_MAX_FAILURES:
        lock_seconds = settings.PICKUP_CODE_LOCK_SECONDS
        cache.set(_lock_key(pickup_point_id), timezone.now() + timedelta(seconds=lock_seconds), timeout=lock_seconds)
        cache.delete(key)


@dataclass(frozen=True)
class PickupResult:
    resident: Resident
    lines: list[PickupLine]
    collected: dict[int, int]  # order line id -> units handed over now


def _residents_lines(user, delivery_date: date, pickup_point_id: int, code: str):
    """The lines at the point today of the resident whose code this is; a wrong code counts toward the lock."""
    point = selectors.visible_point(user, pickup_point_id)
    _check_not_locked(point.pk)
    found = PickupCode.objects.filter(delivery_date=delivery_date, code_hash=code_hash(delivery_date, code.strip())).first()
    lines_here = PickupLine.objects.filter(delivery_date=delivery_date, pickup_point=point)
    residents_lines = lines_here.filter(resident_id=found.resident_id) if found else PickupLine.objects.none()
    known = found is not None and residents_lines.exists()
    if found is not None and not known:
        ensure_pickup_lines(delivery_date, point.pk)  # the pipeline makes them at the cutoff; a day it has not reached yet
        known = residents_lines.exists()
    if not known:
        _count_wrong_code(point.pk)
        raise InvalidInput(_("this pickup code is not valid at this point today"), field="code", code="invalid_pickup_code")
    return residents_lines


def verify_pickup_code(*, user, delivery_date: date, pickup_point_id: int, code: str) -> PickupResult:
    """Check a resident's code at the point and show their lines, handing nothing over (the leader's
    page shows them before the hand-over). Wrong codes count toward the lock as in a collection."""
    lines = list(_residents_lines(user, delivery_date, pickup_point_id, code).select_related("resident", "product", "leader"))
    return PickupResult(lines[0].resident, lines, {})


def collect_with_code(
    *,
    user,
    delivery_date: date,
    pickup_point_id: int,
    code: str,
    quantities: dict[int, int] | None = None,
    now: datetime | None = None,
) -> PickupResult:
    """Verify a resident's code at the point and mark their goods collected: all that is left, or the
    given quantity per order line (a partial collection; the code works again for the rest).
    """
    now = now or timezone.now()
    residents_lines = _residents_lines(user, delivery_date, pickup_point_id, code)
    with transaction.atomic():
        lines = list(residents_lines.select_for_update(of=("self",)).select_related("resident", "product", "leader__head_link"))
        by_order_line = {line.order_line_id: line for line in lines}
        if quantities is None:
            quantities = {line.order_line_id: line.collectable_quantity for line in lines if line.collectable_quantity > 0}
            if not quantities:
                raise Conflict(
                    _("everything of this resident was already collected or returned"), field="code", code="already_collected"
                )
        for index, (order_line_id, quantity) in enumerate(quantities.items()):
            line = by_order_line.get(order_line_id)
            if line is None:
                raise InvalidInput(
                    _("order line %(order_line_id)s is not this resident's here today") % {"order_line_id": order_line_id},
                    field=f"lines.{index}.order_line_id", code="not_this_residents_line",
                )
            if not 0 < quantity <= line.collectable_quantity:
                raise InvalidInput(
                    _("between 1 and %(left)s of order line %(order_line_id)s can be collected") % {
                        "left": line.collectable_quantity, "order_line_id": order_line_id},
                    field=f"lines.{index}.quantity", code="quantity_out_of_range",
                )
        handed_over = [by_order_line[order_line_id] for order_line_id in quantities]
        _hand_over([(handed_over, quantities, now)], user)
    return PickupResult(lines[0].resident, lines, quantities)


def _hand_over(steps: list[tuple[list[PickupLine], dict[int, int], datetime]], user) -> None:
    """Write hand-overs, each (lines, units per order line, moment), in the order of their moments:
    the lines' collected units, a collection record per line, and the commission they earn."""
    lines, collections = [], []
    for step_lines, quantities, now in steps:
        for line in step_lines:
            line.collected_quantity += quantities[line.order_line_id]
            line.collected_at = now
            collections.append(Collection(pickup_line=line, quantity=quantities[line.order_line_id], collected_by=user,
                                          collected_at=now))
        lines.extend(step_lines)
    update_rows(lines, ["collected_quantity", "collected_at"])
    copy_objects(collections)
    _accrue_in_steps([(step_lines, now) for step_lines, _quantities, now in steps], collected=True)


@dataclass(frozen=True)
class Handover:
    """A resident showing their code at a pickup point at a moment: everything of theirs left there is handed over."""

    pickup_point_id: int
    code: str
    at: datetime


def collect_many(*, user, delivery_date: date, handovers: list[Handover]) -> int:
    """Hand over many residents' goods in one call (a leader's day, or a point's), as if each
    resident came in turn at their moment: the same checks, lines, collection records and
    commission as collect_with_code one by one in the order of the moments (ties in the given
    order), in a few queries for the whole batch. All or nothing: a wrong code, or a resident with
    nothing left to collect, refuses the batch, naming the hand-over (a wrong code counts toward
    the point's lock as on the leader's page). Returns the residents served.
    """
    if not handovers:
        return 0
    points = {pid: selectors.visible_point(user, pid).pk for pid in sorted({h.pickup_point_id for h in handovers})}
    for point_id in points:
        _check_not_locked(point_id)
    hasher = code_hasher(delivery_date)
    hashes = [hasher(h.code.strip()) for h in handovers]
    resident_of = dict(
        PickupCode.objects.filter(delivery_date=delivery_date, code_hash__in=set(hashes)).values_list("code_hash", "resident_id")
    )
    wanted = PickupLine.objects.filter(
        delivery_date=delivery_date, pickup_point_id__in=points, resident_id__in=set(resident_of.values())
    )
    if len(set(wanted.values_list("pickup_point_id", "resident_id"))) < len({
        (h.pickup_point_id, resident_of[code]) for h, code in zip(handovers, hashes) if code in resident_of
    }):
        for point_id in points:  # the pipeline makes them at the cutoff; a day it has not reached yet
            ensure_pickup_lines(delivery_date, point_id)
    with transaction.atomic():
        by_resident = defaultdict(list)
        for line in wanted.select_for_update(of=("self",)).select_related("product", "leader__head_link").order_by("pk"):
            by_resident[(line.pickup_point_id, line.resident_id)].append(line)
        steps = []
        for index, (handover, code) in sorted(enumerate(zip(handovers, hashes)), key=lambda item: (item[1][0].at, item[0])):
            resident = (handover.pickup_point_id, resident_of.get(code))
            lines = by_resident.get(resident)
            if lines is None:
                _count_wrong_code(handover.pickup_point_id)
                raise InvalidInput(_("this pickup code is not valid at this point today"), field=f"handovers.{index}.code",
                                   code="invalid_pickup_code")
            quantities = {line.order_line_id: line.collectable_quantity for line in lines if line.collectable_quantity > 0}
            if not quantities:
                raise Conflict(_("everything of this resident was already collected or returned"),
                               field=f"handovers.{index}.code", code="already_collected")
            by_resident[resident] = []  # a second hand-over of the same resident finds nothing left, as one by one
            steps.append(([line for line in lines if line.order_line_id in quantities], quantities, handover.at))
        _hand_over(steps, user)
    return len(steps)


# --- commission --------------------------------------------------------------------------------------


def _tiers() -> dict[str, tuple[commission.Bracket, ...]]:
    return commission.parse_tiers(settings.PICKUP_COMMISSION_TIERS, settings.PICKUP_COMMISSION_CAP)


def _month_start(at: datetime) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localtime(at).date().replace(day=1), datetime.min.time()))


class _MonthRevenue:
    """Leaders' month-to-date collected revenue while their lines are accrued in steps, one after
    another: a step is what one hand-over (or one claim decision) accrues, at its moment.

    A line's tier rate counts what the ledger would hold at the step's moment had every earlier
    step been written: the month's entries of other lines earned by then, the entries the earlier
    steps left, and within the step the line itself and the step's lines before it. One step is
    what collect_with_code accrues; collect_many's steps give the same rates as its hand-overs
    made one by one in turn.
    """

    def __init__(self, lines: list[PickupLine], accruals: dict[int, dict[str, CommissionEntry]], first: datetime,
                 last: datetime):
        self.leaders = {line.leader_id for line in lines}
        self.line_ids = [line.pk for line in lines]
        self.first, self.last = first, last
        self.month = _month_start(first)
        self.before_first: dict[int, Decimal] | None = None  # other lines' revenue up to `first`, read when first needed
        self.window: list[tuple[datetime, int, Decimal]] = []  # other lines' entries after `first` up to `last`
        self.window_seen, self.window_total = 0, defaultdict(Decimal)  # the window's entries earned by the last step
        # The batch lines' leader entries as the ledger holds them between steps: line -> (leader, earned at, revenue).
        self.entries: dict[int, tuple[int, datetime, Decimal]] = {}
        # Steps come in time order, so the entries' sum by leader is kept as it goes, not summed again each
        # step: `counted` holds the entries of the month earned by `clock`, `pending` (a heap) the later ones.
        self.clock: datetime | None = None
        self.counted: dict[int, tuple[int, Decimal]] = {}
        self.counted_total: dict[int, Decimal] = defaultdict(Decimal)
        self.pending: list[tuple[datetime, int, int]] = []  # (earned at, version, line)
        self.version: dict[int, int] = {}
        for line in lines:
            if (entry := accruals[line.pk].get(Beneficiary.LEADER)) is not None:
                self.written(line, entry.earned_at, entry.revenue)

    def step(self, lines: list[PickupLine], at: datetime) -> None:
        self.at, self.step_ids, self.elsewhere = at, {line.pk for line in lines}, None
        self.in_step: dict[int, Decimal] = {}
        self.step_total: dict[int, Decimal] = defaultdict(Decimal)
        for line in lines:
            entry = self.entries.get(line.pk)
            if entry is not None and entry[1] <= at:
                self.counted_in_step(line, entry[2])

    def including(self, line: PickupLine, revenue: Decimal) -> Decimal:
        if self.elsewhere is None:
            self.elsewhere = self._elsewhere()
        in_step = self.step_total[line.leader_id] - self.in_step.get(line.pk, Decimal(0))
        return self.elsewhere[line.leader_id] + in_step + revenue

    def counted_in_step(self, line: PickupLine, revenue: Decimal) -> None:
        self.step_total[line.leader_id] += revenue - self.in_step.get(line.pk, Decimal(0))
        self.in_step[line.pk] = revenue

    def written(self, line: PickupLine, earned_at: datetime, revenue: Decimal) -> None:
        """The line's leader entry as its step leaves it, for the steps after."""
        self.entries[line.pk] = (line.leader_id, earned_at, revenue)
        self._uncount(line.pk)
        self.version[line.pk] = version = self.version.get(line.pk, 0) + 1
        if earned_at < self.month:
            return
        if self.clock is not None and earned_at <= self.clock:
            self._count(line.pk)
        else:
            heapq.heappush(self.pending, (earned_at, version, line.pk))

    def _count(self, line_id: int) -> None:
        leader_id, _earned_at, revenue = self.entries[line_id]
        self.counted[line_id] = (leader_id, revenue)
        self.counted_total[leader_id] += revenue

    def _uncount(self, line_id: int) -> None:
        if (counted := self.counted.pop(line_id, None)) is not None:
            self.counted_total[counted[0]] -= counted[1]

    def _elsewhere(self) -> dict[int, Decimal]:
        """The leaders' month-to-date revenue at the step's moment from everything but the step's lines."""
        if _month_start(self.at) != self.month:  # a batch across the turn of a month: read that month's own figures
            month = _month_start(self.at)
            totals = selectors.month_collected_gmv(self.leaders, self.at, excluding_line_ids=self.line_ids)
            for line_id, (leader_id, earned_at, revenue) in self.entries.items():
                if line_id not in self.step_ids and month <= earned_at <= self.at:
                    totals[leader_id] += revenue
            return totals
        if self.before_first is None:
            self.before_first = selectors.month_collected_gmv(self.leaders, self.first, excluding_line_ids=self.line_ids)
            if self.last > self.first:
                self.window = selectors.collected_between(self.leaders, self.first, self.last, excluding_line_ids=self.line_ids)
        while self.window_seen < len(self.window) and self.window[self.window_seen][0] <= self.at:
            _earned_at, leader_id, revenue = self.window[self.window_seen]
            self.window_total[leader_id] += revenue
            self.window_seen += 1
        self.clock = self.at
        while self.pending and self.pending[0][0] <= self.at:
            _earned_at, version, line_id = heapq.heappop(self.pending)
            if version == self.version[line_id]:  # not since rewritten
                self._count(line_id)
        totals = {leader_id: gmv + self.window_total[leader_id] + self.counted_total[leader_id]
                  for leader_id, gmv in self.before_first.items()}
        for line_id in self.step_ids & self.counted.keys():
            leader_id, revenue = self.counted[line_id]
            totals[leader_id] -= revenue
        return totals


def _leader_rate(line: PickupLine, month: _MonthRevenue, revenue: Decimal, tiers) -> Decimal:
    """The category's own rate if configured, else the leader's tier rate for the month's collected GMV."""
    category_rate = settings.PICKUP_COMMISSION_CATEGORY_RATES.get(line.product.category)
    if category_rate is not None:
        return min(Decimal(str(category_rate)), settings.PICKUP_COMMISSION_CAP)
    return commission.tier_rate(tiers[line.leader.tier], month.including(line, revenue))


def _head_leader_id(line: PickupLine) -> int | None:
    if not settings.PICKUP_HEAD_LEADER_BONUS_ENABLED:
        return None
    link = getattr(line.leader, "head_link", None)
    return link.head_leader_id if link else None


def _accrue_in_steps(steps: list[tuple[list[PickupLine], datetime]], *, collected: bool,
                     refunds_in_steps: list[dict[int, int]] | None = None) -> None:
    """Bring each line's commission in line with its collected, unrefunded units, for steps of lines,
    each at its moment, in order (moments not decreasing): the entries and rates of accruing each step
    in turn, with the queries of one batch.

    Before settlement the accrual itself changes (a new collection also restarts the settlement
    wait); after it, a lower amount adds a clawback entry for the difference, to the next statement.
    The lines must be locked by the caller (select_for_update) and come with product, leader and the
    leader's head link (select_related "leader__head_link": else each line's bonus costs a query).

    refunds_in_steps: the units per line that each step's approved claims refund, already recorded
    as approved; a step counts its own and the earlier steps' refunds, not the later steps'.
    """
    lines = [line for step_lines, _now in steps for line in step_lines]
    line_ids = list(dict.fromkeys(line.pk for line in lines))
    refunded = defaultdict(int, selectors.refunded_by_claims(line_ids))
    for later in refunds_in_steps or ():
        for line_id, quantity in later.items():
            refunded[line_id] -= quantity
    accruals: dict[int, dict[str, CommissionEntry]] = {line_id: {} for line_id in line_ids}
    for entry in CommissionEntry.objects.select_for_update().filter(pickup_line_id__in=line_ids, kind=EntryKind.ACCRUAL):
        accruals[entry.pickup_line_id][entry.beneficiary] = entry
    month = _MonthRevenue(lines, accruals, steps[0][1], steps[-1][1])
    tiers = _tiers()
    created, changed = [], []
    for index, (step_lines, now) in enumerate(steps):
        for line_id, quantity in (refunds_in_steps[index] if refunds_in_steps else {}).items():
            refunded[line_id] += quantity
        month.step(step_lines, now)
        for line in step_lines:
            quantity = line.collected_quantity - refunded.get(line.pk, 0)
            revenue = _money(quantity, line.unit_price)
            leader_entry = accruals[line.pk].get(Beneficiary.LEADER)
            rate = leader_entry.rate if leader_entry else _leader_rate(line, month, revenue, tiers)
            head_leader_id = _head_leader_id(line)
            head_rate = settings.PICKUP_HEAD_LEADER_BONUS_RATE if head_leader_id else Decimal(0)
            split = commission.line_commission(revenue, rate, cap=settings.PICKUP_COMMISSION_CAP, head_leader_rate=head_rate)
            targets = [(Beneficiary.LEADER, line.leader_id, rate, split.leader)]
            if head_leader_id:
                targets.append((Beneficiary.HEAD_LEADER, head_leader_id, head_rate, split.head_leader))
            for beneficiary, leader_id, beneficiary_rate, amount in targets:
                entry = accruals[line.pk].get(beneficiary)
                if entry is None:
                    entry = CommissionEntry(
                        kind=EntryKind.ACCRUAL, beneficiary=beneficiary, leader_id=leader_id, pickup_line=line,
                        quantity=quantity, revenue=revenue, rate=beneficiary_rate, amount=amount, earned_at=now,
                        due_at=now + timedelta(days=settings.PICKUP_SETTLEMENT_DAYS), created_at=now,
                    )
                    created.append(entry)
                elif entry.settled_at is None:
                    entry.quantity, entry.revenue, entry.amount = quantity, revenue, amount
                    if collected:
                        entry.earned_at, entry.due_at = now, now + timedelta(days=settings.PICKUP_SETTLEMENT_DAYS)
                    changed.append(entry)
                else:
                    _claw_back(entry, quantity, revenue, amount, now)
                if beneficiary == Beneficiary.LEADER:
                    month.written(line, entry.earned_at, entry.revenue)
            if leader_entry is None or leader_entry.settled_at is None:
                month.counted_in_step(line, revenue)
    copy_objects(created)
    update_rows(changed, ["quantity", "revenue", "amount", "earned_at", "due_at"])


def _claw_back(settled: CommissionEntry, quantity: int, revenue: Decimal, amount: Decimal, now: datetime) -> None:
    earlier = CommissionEntry.objects.filter(
        kind=EntryKind.CLAWBACK, pickup_line_id=settled.pickup_line_id, beneficiary=settled.beneficiary
    ).aggregate(amount=Sum("amount"), quantity=Sum("quantity"))
    paid = settled.amount + (earlier["amount"] or 0)
    if amount < paid:
        CommissionEntry.objects.create(
            kind=EntryKind.CLAWBACK, beneficiary=settled.beneficiary, leader_id=settled.leader_id,
            pickup_line_id=settled.pickup_line_id, quantity=quantity - settled.quantity - (earlier["quantity"] or 0),
            revenue=revenue, rate=settled.rate, amount=amount - paid, earned_at=settled.earned_at, settled_at=now,
            created_at=now,
        )


def settle_commissions(*, now: datetime | None = None) -> int:
    """Settle every accrual whose wait has passed and whose line has no open claim. Idempotent."""
    now = now or timezone.now()
    # The day's collection wrote up to a million entries by COPY: without fresh statistics the planner
    # takes the table for a few rows and probes the claims once per entry (a large city: many minutes).
    refresh_statistics(CommissionEntry, Claim)
    due = CommissionEntry.objects.filter(kind=EntryKind.ACCRUAL, settled_at__isnull=True, due_at__lte=now).exclude(
        pickup_line__claims__status=ClaimStatus.OPEN
    )
    return due.update(settled_at=now)


# --- claims ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimFiling:
    """A resident's claim on a collected order line, as their leader files it."""

    order_line_id: int
    kind: str
    quantity: int
    reason: str
    photo_ref: str = ""
    filed_at: datetime | None = None  # None: now


def file_claim(
    *,
    user,
    order_line_id: int,
    kind: str,
    quantity: int,
    reason: str,
    photo_ref: str = "",
    now: datetime | None = None,
) -> Claim:
    """A resident's claim on collected goods, filed by their leader within the claim window.

    Operators (customer service) may also accept a claim after the window.
    """
    filing = ClaimFiling(order_line_id, kind, quantity, reason, photo_ref, now)
    return _file_claims(user, [filing], field=lambda index, name: name)[0]


def file_claims(*, user, filings: list[ClaimFiling]) -> list[Claim]:
    """Several residents' claims at once (a leader's day of them), all or none: the checks of file_claim
    for each in turn (a line claimed twice can take no more than was collected), in a few queries.
    A refused batch names the filing: claims.<index>.<field>."""
    return _file_claims(user, filings, field=lambda index, name: f"claims.{index}.{name}")


def _file_claims(user, filings: list[ClaimFiling], *, field: Callable[[int, str], str]) -> list[Claim]:
    if not filings:
        return []
    visible = dict(
        selectors.pickup_lines_visible_to(user).filter(order_line_id__in={f.order_line_id for f in filings})
        .values_list("order_line_id", "pk")
    )
    for index, filing in enumerate(filings):
        if filing.order_line_id not in visible:
            raise NotFound(
                _("order line %(order_line_id)s has nothing at a pickup point of yours") % {"order_line_id": filing.order_line_id},
                field=field(index, "order_line_id"), code="order_line_not_found",
            )
        if filing.kind not in ClaimKind.values:
            raise InvalidInput(_("kind must be one of %(kinds)s") % {"kinds": ", ".join(ClaimKind.values)},
                               field=field(index, "kind"), code="invalid_kind")
        if not filing.reason.strip():
            raise InvalidInput(_("say what is wrong"), field=field(index, "reason"), code="reason_required")
    operator = selectors.is_operator(user)
    with transaction.atomic():
        lines = PickupLine.objects.select_for_update().in_bulk(sorted(set(visible.values())))
        claimed = defaultdict(int, selectors.claimed_quantities(list(lines), statuses=(ClaimStatus.OPEN, ClaimStatus.APPROVED)))
        claims = []
        for index, filing in enumerate(filings):
            now = filing.filed_at or timezone.now()
            line = lines[visible[filing.order_line_id]]
            if line.collected_at is None:
                raise Conflict(
                    _("nothing of this line was collected; goods missing at the point are claimed with the receipt"),
                    field=field(index, "order_line_id"), code="not_collected",
                )
            window_end = line.collected_at + timedelta(hours=settings.PICKUP_CLAIM_WINDOW_HOURS)
            if now > window_end and not operator:
                raise Conflict(
                    _("the claim window closed at %(time)s; customer service can still help") % {
                        "time": f"{timezone.localtime(window_end):%Y-%m-%d %H:%M}"},
                    field=field(index, "order_line_id"), code="claim_window_closed",
                )
            claimable = line.collected_quantity - claimed[line.pk]
            if not 0 < filing.quantity <= claimable:
                raise InvalidInput(
                    _("between 1 and %(claimable)s units of this line can still be claimed") % {"claimable": claimable},
                    field=field(index, "quantity"), code="quantity_out_of_range",
                )
            claimed[line.pk] += filing.quantity
            claims.append(Claim(
                pickup_line=line, kind=filing.kind, source=ClaimSource.RESIDENT, quantity=filing.quantity,
                reason=filing.reason.strip(), photo_ref=filing.photo_ref.strip(), filed_by=user, filed_at=now,
            ))
        return Claim.objects.bulk_create(claims)


@dataclass(frozen=True)
class ClaimDecision:
    """An operator's decision on one claim: approve (refund) or reject, with a note."""

    claim_id: int
    approve: bool
    note: str = ""


def decide_claim(*, user, claim_id: int, approve: bool, note: str = "", now: datetime | None = None) -> Claim:
    """An operator's decision. Approval refunds the claimed units at the line's price, to the cent, and
    lowers the leader's commission (or claws it back if already settled). Rejecting a receipt claim
    puts the units back at the point for the resident to collect.
    """
    return _decide(user, [ClaimDecision(claim_id, approve, note)], now, field=lambda index: "claim_id")[0]


def decide_claims(*, user, decisions: list[ClaimDecision], now: datetime | None = None) -> list[Claim]:
    """Many decisions at one moment (a day's receipt claims, a queue of residents' claims): the same
    claims, refunds, pickup lines and commission as decide_claim on each in turn, in a few queries
    for the whole batch. All or nothing: an unknown claim, or one already decided (or decided twice
    in the batch), refuses the batch, naming the decision. Returns the claims in the given order.
    """
    return _decide(user, decisions, now, field=lambda index: f"decisions.{index}.claim_id")


_CHUNK = 5000  # ids per IN (...): SQLite caps the parameters of a statement


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _decide(user, decisions: list[ClaimDecision], now: datetime | None, *, field: Callable[[int], str]) -> list[Claim]:
    now = now or timezone.now()
    if not decisions:
        return []
    with transaction.atomic():
        found: dict[int, Claim] = {}
        lines: dict[int, PickupLine] = {}  # one instance per line, however many of its claims are decided
        for chunk in _chunks(sorted({decision.claim_id for decision in decisions})):
            for claim in (
                Claim.objects.select_for_update(of=("self", "pickup_line"))
                .select_related("pickup_line__leader__head_link", "pickup_line__product")
                .filter(pk__in=chunk)
                .order_by("pk")
            ):
                claim.pickup_line = lines.setdefault(claim.pickup_line_id, claim.pickup_line)
                found[claim.pk] = claim
        decided, refunds, restored = [], [], defaultdict(int)
        steps, step_refunds = [], []  # approved residents' claims, each accrued in turn
        for index, decision in enumerate(decisions):
            claim = found.get(decision.claim_id)
            if claim is None:
                raise NotFound(_("claim %(claim_id)s does not exist") % {"claim_id": decision.claim_id}, field=field(index),
                               code="claim_not_found")
            if claim.status != ClaimStatus.OPEN:
                raise Conflict(
                    _("claim %(claim_id)s was already %(status)s") % {
                        "claim_id": decision.claim_id, "status": str(claim.get_status_display()).lower()},
                    field=field(index), code="claim_already_decided",
                )
            line = claim.pickup_line
            claim.status = ClaimStatus.APPROVED if decision.approve else ClaimStatus.REJECTED
            claim.decided_by, claim.decided_at, claim.decision_note = user, now, decision.note.strip()
            decided.append(claim)
            if decision.approve:
                refunds.append(Refund(
                    cause=RefundCause.CLAIM, order_line_id=line.order_line_id, resident_id=line.resident_id, claim=claim,
                    quantity=claim.quantity, amount=_money(claim.quantity, line.unit_price),
                    reason=_("%(kind)s claim approved: %(reason)s") % {"kind": claim.get_kind_display(), "reason": claim.reason},
                    created_by=user, created_at=now,
                ))
                if claim.source == ClaimSource.RESIDENT:
                    steps.append(([line], now))
                    step_refunds.append({line.pk: claim.quantity})
            elif claim.source == ClaimSource.RECEIPT:
                restored[line.pk] += claim.quantity
        update_rows(decided, ["status", "decided_by", "decided_at", "decision_note"])
        Refund.objects.bulk_create(refunds, batch_size=2000)
        by_quantity = defaultdict(list)
        for line_id, quantity in restored.items():
            by_quantity[quantity].append(line_id)
        for quantity, line_ids in sorted(by_quantity.items()):
            for chunk in _chunks(sorted(line_ids)):
                PickupLine.objects.filter(pk__in=chunk).update(missing_quantity=F("missing_quantity") - quantity)
        if steps:
            _accrue_in_steps(steps, collected=False, refunds_in_steps=step_refunds)
    return decided


# --- uncollected goods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnSummary:
    lines: int
    restocked: int
    written_off: int
    refund_amount: Decimal


def _restockable(product, expiry: date, today: date) -> bool:
    """Only ambient, long-life goods that are still good go back on the shelf; the cold chain broke at the point."""
    return (
        product.storage_temperature == StorageTemperature.AMBIENT
        and product.shelf_life_days >= settings.PICKUP_RESTOCK_MIN_SHELF_LIFE_DAYS
        and expiry > today
    )


def return_uncollected(*, now: datetime | None = None, catch_up_days: int = 30) -> ReturnSummary:
    """What residents did not collect within PICKUP_RETURN_AFTER_DAYS of delivery goes back into the
    point's depot stock (through the warehouse) or is written off, and the resident is refunded.

    Idempotent: each line is returned once. Days missed by the daily run are caught up (`catch_up_days`).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    last_day = today - timedelta(days=settings.PICKUP_RETURN_AFTER_DAYS)
    days = SalesWave.objects.filter(
        status=WaveStatus.CLOSED, delivery_date__lte=last_day, delivery_date__gt=last_day - timedelta(days=catch_up_days)
    ).values_list("delivery_date", flat=True)
    for day in days:
        ensure_pickup_lines(day)
    points = (
        PickupLine.objects.filter(delivery_date__in=list(days), returned_at__isnull=True)
        .alias(left=selectors.left_at_point())
        .filter(left__gt=0)
        .values_list("delivery_date", "pickup_point_id")
        .order_by("delivery_date", "pickup_point_id")  # not the model's ordering, which would split groups
        .distinct()
    )
    totals = defaultdict(int)
    refund_total = Decimal("0.00")
    for delivery_date, point_id in list(points):
        returned = _return_at_point(delivery_date, point_id, now, today)
        for disposition, lines, units in returned.counts:
            totals["lines"] += lines
            totals[disposition] += units
        refund_total += returned.refund_amount
    return ReturnSummary(totals["lines"], totals[Disposition.RESTOCKED], totals[Disposition.WRITTEN_OFF], refund_total)


@dataclass(frozen=True)
class _PointReturn:
    counts: list[tuple[str, int, int]]  # (disposition, lines, units) per product returned
    refund_amount: Decimal


def _return_at_point(delivery_date: date, point_id: int, now: datetime, today: date) -> _PointReturn:
    """A point's day of uncollected goods, product by product, in one transaction: a few statements per
    point, not per product (a large city leaves tens of thousands of (point, product) groups a day)."""
    with transaction.atomic():
        lines = list(
            PickupLine.objects.select_for_update(of=("self",))
            .filter(delivery_date=delivery_date, pickup_point_id=point_id, returned_at__isnull=True)
            .alias(left=selectors.left_at_point())
            .filter(left__gt=0)
            .select_related("product", "pickup_point")
            .order_by("product_id", "pk")
        )
        if not lines:  # another run got here first
            return _PointReturn([], Decimal("0.00"))
        by_product = defaultdict(list)
        for line in lines:
            by_product[line.product_id].append(line)
        first_expiry = dict(
            Allocation.objects.filter(delivery_date=delivery_date, pickup_point_id=point_id, product_id__in=list(by_product))
            .values("product_id").annotate(first=Min("lot__expiry_date")).values_list("product_id", "first")
        )
        point = lines[0].pickup_point
        counts, refunds, returned = [], [], defaultdict(list)
        for product_id, product_lines in by_product.items():
            product = product_lines[0].product
            units = sum(line.collectable_quantity for line in product_lines)
            expiry = first_expiry.get(product_id) or delivery_date + timedelta(days=product.shelf_life_days)
            disposition = Disposition.RESTOCKED if _restockable(product, expiry, today) else Disposition.WRITTEN_OFF
            if disposition == Disposition.RESTOCKED:
                warehouse_services.receive_lot(
                    product_id=product_id, site=warehouse_services.StockSite(depot_id=point.depot_id), quantity=units,
                    expiry_date=expiry, source=LotSource.RETURN,
                    reference=_("uncollected at %(point)s on %(day)s") % {"point": point.code, "day": delivery_date},
                    received_at=now,
                )
            reason = _("not collected within %(days)s days of %(day)s; %(disposition)s") % {
                "days": settings.PICKUP_RETURN_AFTER_DAYS, "day": delivery_date, "disposition": str(disposition.label).lower()}
            for line in product_lines:
                left = line.collectable_quantity
                refunds.append(Refund(
                    cause=RefundCause.UNCOLLECTED, order_line_id=line.order_line_id, resident_id=line.resident_id,
                    quantity=left, amount=_money(left, line.unit_price), created_at=now, reason=reason,
                ))
            returned[disposition].extend(line.pk for line in product_lines)
            counts.append((disposition, len(product_lines), units))
        # Everything left goes back: one UPDATE per disposition, not a statement per line.
        for disposition, line_ids in returned.items():
            PickupLine.objects.filter(pk__in=line_ids).update(
                returned_quantity=F("ordered_quantity") - F("shortage_quantity") - F("missing_quantity") - F("collected_quantity"),
                return_disposition=disposition,
                returned_at=now,
            )
        copy_objects(refunds)
    return _PointReturn(counts, sum((r.amount for r in refunds), Decimal("0.00")))


# --- residents ---------------------------------------------------------------------------------------------


def record_consent(*, user, resident_id: int, consent: bool, wording_version: str) -> Resident:
    """A leader records the consent a resident who ordered through them gave; operators for anyone."""
    if not selectors.is_operator(user) and not OrderLine.objects.filter(resident_id=resident_id, order__leader__user=user).exists():
        raise NotFound(_("resident %(resident_id)s does not exist") % {"resident_id": resident_id}, field="resident_id", code="resident_not_found")
    return order_services.record_consent(resident_id=resident_id, consent=consent, wording_version=wording_version)


def erase_resident(*, resident_id: int, now: datetime | None = None) -> Resident:
    """Anonymise the resident and the free text of their claims; every amount stays for the accounts."""
    with transaction.atomic():
        resident = order_services.erase_resident(resident_id=resident_id, now=now)
        Claim.objects.filter(pickup_line__resident=resident).update(reason="(erased)", photo_ref="")
        PickupCode.objects.filter(resident=resident).delete()
    return resident
