"""Every write of the order side of the day: waves, deals, leader orders, closing and aggregation."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.utils import timezone

from catalog.models import PickupPoint, Product
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Role

from .models import (
    Deal,
    DemandLine,
    GroupLeader,
    LeaderOrder,
    LineStatus,
    OrderLine,
    Resident,
    SalesWave,
    WaveStatus,
    current_consent_version,
)
from .phones import hash_phone, mask_phone, normalize_phone


@dataclass(frozen=True)
class ResidentInput:
    """Who a line is for. Only a hash of the phone is kept, so a resident already on the order being
    replaced may be named by `resident_id` instead of retyping the phone (the leader's order page does)."""

    name: str
    phone: str
    consent: bool = False
    resident_id: int | None = None

    def names_known_resident(self) -> bool:
        return self.resident_id is not None and not self.phone.strip()


@dataclass(frozen=True)
class LineInput:
    resident: ResidentInput
    deal_id: int
    quantity: int


# --- waves and deals ---------------------------------------------------------------------------


def default_cutoff(delivery_date: date) -> datetime:
    """The configured cutoff time on the day before delivery, in the operator's time zone."""
    naive = datetime.combine(delivery_date - timedelta(days=1), settings.ORDER_CUTOFF_TIME)
    return timezone.make_aware(naive)


def create_wave(*, delivery_date: date, cutoff_at: datetime | None = None) -> SalesWave:
    cutoff_at = cutoff_at or default_cutoff(delivery_date)
    if timezone.is_naive(cutoff_at):
        raise InvalidInput("cutoff_at needs a time zone", field="cutoff_at")
    if cutoff_at.date() > delivery_date:
        raise InvalidInput("the cutoff must be before the delivery day", field="cutoff_at")
    if SalesWave.objects.filter(delivery_date=delivery_date).exists():
        raise Conflict(f"a wave for {delivery_date} already exists", field="delivery_date")
    return SalesWave.objects.create(delivery_date=delivery_date, cutoff_at=cutoff_at)


def create_deal(
    *,
    wave_id: int,
    product_id: int,
    price: Decimal,
    quantity_limit: int | None = None,
    per_resident_limit: int | None = None,
    is_promotion: bool = False,
) -> Deal:
    wave = SalesWave.objects.filter(pk=wave_id).first()
    if wave is None:
        raise NotFound(f"wave {wave_id} does not exist", field="wave_id")
    if not wave.accepts_orders():
        raise Conflict(f"the wave for {wave.delivery_date} is closed", field="wave_id")
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise InvalidInput(f"product {product_id} does not exist", field="product_id")
    if not product.is_active:
        raise InvalidInput(f"product {product.sku} is not active", field="product_id")
    if price <= 0:
        raise InvalidInput("price must be positive", field="price")
    for field, value in (("quantity_limit", quantity_limit), ("per_resident_limit", per_resident_limit)):
        if value is not None and value <= 0:
            raise InvalidInput(f"{field} must be positive", field=field)
    if Deal.objects.filter(wave=wave, product=product).exists():
        raise Conflict(f"product {product.sku} already has a deal in this wave", field="product_id")
    return Deal.objects.create(
        wave=wave,
        product=product,
        price=price,
        quantity_limit=quantity_limit,
        per_resident_limit=per_resident_limit,
        is_promotion=is_promotion,
    )


def _lock_wave_for_orders(wave_id: int) -> SalesWave:
    """Share-lock the wave so that closing it waits for orders in flight, while orders never wait for each other."""
    if connection.vendor == "postgresql":
        # One read that takes the share lock too.
        locked = SalesWave.objects.raw(f"SELECT * FROM {SalesWave._meta.db_table} WHERE id = %s FOR SHARE", [wave_id])
        wave = next(iter(locked), None)
    else:
        wave = SalesWave.objects.filter(pk=wave_id).first()
    if wave is None:
        raise NotFound(f"wave {wave_id} does not exist", field="wave_id")
    if not wave.accepts_orders():
        raise Conflict(
            f"the wave for {wave.delivery_date} is closed (cutoff {timezone.localtime(wave.cutoff_at):%Y-%m-%d %H:%M}); "
            "orders can no longer change",
            field="wave_id",
        )
    return wave


# --- leader orders -----------------------------------------------------------------------------


def leader_for_user(user) -> GroupLeader:
    leader = GroupLeader.objects.filter(user=user, is_active=True).first()
    if leader is None:
        raise NotFound("you are not an active group leader")
    return leader


def _upsert_residents(lines: list[LineInput], known: dict[int, Resident]) -> list[Resident]:
    """One resident per line, looked up by phone hash (or taken from `known` when named by id); new
    residents are created in bulk."""
    by_hash: dict[str, ResidentInput] = {}
    line_hashes = []
    for index, line in enumerate(lines):
        if line.resident.names_known_resident():
            resident = known.get(line.resident.resident_id)
            if resident is None:
                raise InvalidInput(
                    "this resident is not on the order being replaced; enter their phone", field=f"lines.{index}.resident.phone"
                )
            line_hashes.append(resident.phone_hash)
            by_hash.setdefault(resident.phone_hash, ResidentInput(resident.name, "", line.resident.consent))
            continue
        phone = normalize_phone(line.resident.phone)
        if phone is None:
            raise InvalidInput("not a valid phone number", field=f"lines.{index}.resident.phone")
        if not line.resident.name.strip():
            raise InvalidInput("the resident needs a name", field=f"lines.{index}.resident.name")
        digest = hash_phone(phone)
        line_hashes.append(digest)
        by_hash.setdefault(digest, ResidentInput(line.resident.name.strip(), phone, line.resident.consent))
    now = timezone.now()
    # Read first, then write only what is missing or changed: a resubmitted order usually needs no write.
    residents = Resident.objects.in_bulk(list(by_hash), field_name="phone_hash")
    # Sorted, so two orders creating the same new residents take their index locks in one order: no deadlock.
    missing = sorted(digest for digest in by_hash if digest not in residents)
    if missing:
        Resident.objects.bulk_create(
            [
                Resident(
                    name=by_hash[digest].name,
                    phone_masked=mask_phone(by_hash[digest].phone),
                    phone_hash=digest,
                    consent=by_hash[digest].consent,
                    consent_at=now if by_hash[digest].consent else None,
                )
                for digest in missing
            ],
            ignore_conflicts=True,
        )
        residents.update(Resident.objects.in_bulk(missing, field_name="phone_hash"))
    newly_consenting = [digest for digest, r in by_hash.items() if r.consent and not residents[digest].consent]
    if newly_consenting:
        # The resident agreed to the wording shown now, which is what their consent refers to.
        version = current_consent_version()
        Resident.objects.filter(phone_hash__in=newly_consenting, consent=False).update(
            consent=True, consent_at=now, consent_version=version
        )
        for digest in newly_consenting:
            resident = residents[digest]
            resident.consent, resident.consent_at, resident.consent_version = True, now, version
    return [residents[digest] for digest in line_hashes]


def _validate_lines(wave: SalesWave, lines: list[LineInput]) -> dict[int, Deal]:
    deals = Deal.objects.select_related("product").in_bulk({line.deal_id for line in lines})
    for index, line in enumerate(lines):
        deal = deals.get(line.deal_id)
        if deal is None:
            raise InvalidInput(f"deal {line.deal_id} does not exist", field=f"lines.{index}.deal_id")
        if deal.wave_id != wave.id:
            raise InvalidInput(f"deal {deal.id} belongs to another wave", field=f"lines.{index}.deal_id")
        if not deal.product.is_active:
            raise InvalidInput(f"product {deal.product.sku} is no longer sold", field=f"lines.{index}.deal_id")
        if line.quantity <= 0:
            raise InvalidInput("quantity must be at least 1", field=f"lines.{index}.quantity")
        if deal.quantity_limit is not None and line.quantity > deal.quantity_limit:
            raise InvalidInput(
                f"quantity {line.quantity} is above the deal's limit of {deal.quantity_limit}",
                field=f"lines.{index}.quantity",
            )
        if deal.per_resident_limit is not None and line.quantity > deal.per_resident_limit:
            raise InvalidInput(
                f"quantity {line.quantity} is above the limit of {deal.per_resident_limit} per resident",
                field=f"lines.{index}.quantity",
            )
    return deals


def _check_per_resident_limits(order: LeaderOrder, new_lines: list[OrderLine], deals: dict[int, Deal]) -> None:
    """A resident may not exceed a deal's per-resident limit across all leader orders of the wave."""
    limited = [line for line in new_lines if deals[line.deal_id].per_resident_limit is not None]
    if not limited:
        return
    # The status is checked here rather than in SQL: with `status = 'active'` in the WHERE clause PostgreSQL
    # likes to read the whole partial unique index (every active line ever) instead of the resident index.
    elsewhere = (
        OrderLine.objects.filter(
            deal_id__in={line.deal_id for line in limited},
            resident_id__in={line.resident_id for line in limited},
        )
        .exclude(order=order)
        .values_list("resident_id", "deal_id", "quantity", "status")
    )
    ordered_elsewhere: dict[tuple[int, int], int] = defaultdict(int)
    for resident_id, deal_id, quantity, status in elsewhere:
        if status == LineStatus.ACTIVE:
            ordered_elsewhere[(resident_id, deal_id)] += quantity
    for index, line in enumerate(new_lines):
        limit = deals[line.deal_id].per_resident_limit
        already = ordered_elsewhere.get((line.resident_id, line.deal_id), 0)
        if limit is not None and already + line.quantity > limit:
            raise InvalidInput(
                f"this resident already has {already} of deal {line.deal_id} in another order; the limit is {limit}",
                field=f"lines.{index}.quantity",
            )


def _reserve_limited_deals(quantity_change: dict[int, int], deals: dict[int, Deal]) -> None:
    """Move the sold counters of limited deals by the change, refusing any that would oversell.

    A single conditional UPDATE per deal, in id order so that concurrent orders cannot deadlock;
    on PostgreSQL the row lock makes each check-and-add atomic.
    """
    for deal_id in sorted(quantity_change):
        change = quantity_change[deal_id]
        deal = deals[deal_id]
        if change == 0 or deal.quantity_limit is None:
            continue
        updated = Deal.objects.filter(pk=deal_id, sold_quantity__lte=deal.quantity_limit - change).update(
            sold_quantity=F("sold_quantity") + change
        )
        if not updated:
            left = Deal.objects.filter(pk=deal_id).values_list("sold_quantity", flat=True).first()
            raise Conflict(
                f"deal {deal_id} ({deal.product.name}) has only {deal.quantity_limit - left} left",
                field="lines",
            )


def _sold_by_deal(lines) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[line.deal_id] += line.quantity
    return totals


def _residents_on_order(leader: GroupLeader, pickup_point_id: int, wave_id: int, lines: list[LineInput]) -> dict[int, Resident]:
    """The residents named by id who have a line on the leader's order being replaced: no one else's."""
    ids = {line.resident.resident_id for line in lines if line.resident.names_known_resident()}
    if not ids:
        return {}
    on_order = OrderLine.objects.filter(
        order__leader=leader, order__pickup_point_id=pickup_point_id, order__wave_id=wave_id, resident_id=OuterRef("pk")
    )
    return Resident.objects.filter(pk__in=ids).filter(Exists(on_order)).in_bulk()


def submit_leader_order(*, user, wave_id: int, pickup_point_id: int, lines: list[LineInput]) -> LeaderOrder:
    """Create or replace the leader's whole order for a pickup point in a wave, all or nothing."""
    # leader_for_user and the ownership check in one query.
    leader = (
        GroupLeader.objects.filter(user=user, is_active=True)
        .annotate(owns_point=Exists(PickupPoint.objects.filter(pk=pickup_point_id, leaders=OuterRef("pk"))))
        .first()
    )
    if leader is None:
        raise NotFound("you are not an active group leader")
    if not leader.owns_point:
        raise NotFound(f"pickup point {pickup_point_id} is not one of yours", field="pickup_point_id")
    if not lines:
        raise InvalidInput("an order needs at least one line; cancel it instead", field="lines")
    seen = set()
    for index, line in enumerate(lines):
        who = line.resident.resident_id if line.resident.names_known_resident() else normalize_phone(line.resident.phone)
        key = (who, line.deal_id)
        if key in seen:
            raise InvalidInput("the same resident and deal appear twice; merge the lines", field=f"lines.{index}")
        seen.add(key)

    with transaction.atomic():
        wave = _lock_wave_for_orders(wave_id)
        deals = _validate_lines(wave, lines)
        residents = _upsert_residents(lines, _residents_on_order(leader, pickup_point_id, wave.pk, lines))
        mine = (
            LeaderOrder.objects.select_for_update(of=("self",))
            .select_related("pickup_point")
            .filter(leader=leader, pickup_point_id=pickup_point_id, wave=wave)
        )
        order = mine.first()  # a resubmission, the usual case, needs no insert
        if order is None:
            LeaderOrder.objects.bulk_create(
                [LeaderOrder(leader=leader, pickup_point_id=pickup_point_id, wave=wave)], ignore_conflicts=True
            )
            order = mine.get()
        order.wave = wave  # already read under its share lock
        previous = list(order.lines.filter(status=LineStatus.ACTIVE).only("order_id", "deal_id", "quantity"))
        new_lines = [
            OrderLine(
                order=order,
                resident=resident,
                deal=deals[line.deal_id],
                quantity=line.quantity,
                unit_price=deals[line.deal_id].price,
            )
            for line, resident in zip(lines, residents)
        ]
        _check_per_resident_limits(order, new_lines, deals)
        change = _sold_by_deal(new_lines)
        for deal_id, quantity in _sold_by_deal(previous).items():
            change[deal_id] -= quantity
        deals.update(Deal.objects.select_related("product").in_bulk(set(change) - set(deals)))
        _reserve_limited_deals(change, deals)
        # One DELETE: Django's collector would first load every line to look for refunds, and a line
        # can only have a refund after the cutoff, when this code is not reached.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {OrderLine._meta.db_table} WHERE order_id = %s", [order.pk])
        OrderLine.objects.bulk_create(new_lines)
        order.revision += 1  # the row is locked FOR UPDATE above, so no re-read is needed
        order.submitted_at = timezone.now()
        order.save(update_fields=["revision", "submitted_at", "updated_at"])
    # The lines just written, with their residents and deals, so the answer needs no re-read.
    order.current_lines = new_lines
    return order


def _cancel_lines(order: LeaderOrder, lines_qs) -> int:
    lines = list(lines_qs.select_for_update().filter(status=LineStatus.ACTIVE).select_related("deal__product"))
    if not lines:
        return 0
    deals = {line.deal_id: line.deal for line in lines}
    _reserve_limited_deals({deal_id: -qty for deal_id, qty in _sold_by_deal(lines).items()}, deals)
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(
        status=LineStatus.CANCELLED, cancelled_at=timezone.now()
    )
    LeaderOrder.objects.filter(pk=order.pk).update(revision=F("revision") + 1, updated_at=timezone.now())
    return len(lines)


def _own_order_for_change(user, order_id: int) -> LeaderOrder:
    leader = leader_for_user(user)
    order = LeaderOrder.objects.filter(pk=order_id, leader=leader).first()
    if order is None:
        raise NotFound(f"order {order_id} does not exist", field="order_id")
    _lock_wave_for_orders(order.wave_id)
    return order


def cancel_order_line(*, user, order_id: int, line_id: int) -> LeaderOrder:
    with transaction.atomic():
        order = _own_order_for_change(user, order_id)
        line = order.lines.filter(pk=line_id).first()
        if line is None:
            raise NotFound(f"line {line_id} is not in order {order_id}", field="line_id")
        _cancel_lines(order, order.lines.filter(pk=line_id))
    return order


def cancel_leader_order(*, user, order_id: int) -> LeaderOrder:
    with transaction.atomic():
        order = _own_order_for_change(user, order_id)
        _cancel_lines(order, order.lines.all())
    return order


# --- cutoff ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveClosing:
    wave_id: int
    delivery_date: date
    demand_lines: int
    quantity: int


def close_wave(wave_id: int) -> WaveClosing:
    """Lock the wave against changes and rebuild its demand lines. Running it again gives the same rows."""
    with transaction.atomic():
        # FOR UPDATE waits for submissions holding the share lock, so none slips past the cutoff.
        wave = SalesWave.objects.select_for_update().filter(pk=wave_id).first()
        if wave is None:
            raise NotFound(f"wave {wave_id} does not exist", field="wave_id")
        if wave.status != WaveStatus.CLOSED:
            wave.status = WaveStatus.CLOSED
            wave.closed_at = timezone.now()
            wave.save(update_fields=["status", "closed_at"])
        count = aggregate_demand(wave)
    quantity = DemandLine.objects.filter(wave=wave).aggregate(total=Sum("quantity"))["total"] or 0
    return WaveClosing(wave.id, wave.delivery_date, count, quantity)


def aggregate_demand(wave: SalesWave) -> int:
    """Replace the wave's demand lines with one INSERT … SELECT … GROUP BY over its active order lines."""
    demand, line, order, deal = (m._meta.db_table for m in (DemandLine, OrderLine, LeaderOrder, Deal))
    DemandLine.objects.filter(wave=wave).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {demand}
                (wave_id, delivery_date, pickup_point_id, product_id, quantity, order_count, line_count, amount)
            SELECT o.wave_id, %s, o.pickup_point_id, d.product_id,
                   SUM(l.quantity), COUNT(DISTINCT l.order_id), COUNT(*), SUM(l.quantity * l.unit_price)
            FROM {line} l
            JOIN {order} o ON o.id = l.order_id
            JOIN {deal} d ON d.id = l.deal_id
            WHERE o.wave_id = %s AND l.status = %s
            GROUP BY o.wave_id, o.pickup_point_id, d.product_id
            """,
            [wave.delivery_date, wave.id, LineStatus.ACTIVE],
        )
        return cursor.rowcount


# --- leaders (operators set them up) -------------------------------------------------------------


def appoint_leader(*, user, pickup_point_ids: list[int], tier: str = "ordinary") -> GroupLeader:
    points = list(PickupPoint.objects.filter(pk__in=pickup_point_ids))
    missing = set(pickup_point_ids) - {p.pk for p in points}
    if missing:
        raise InvalidInput(f"unknown pickup points {sorted(missing)}", field="pickup_point_ids")
    with transaction.atomic():
        leader, _ = GroupLeader.objects.update_or_create(user=user, defaults={"tier": tier, "is_active": True})
        leader.pickup_points.set(points)
        user.groups.add(Group.objects.get_or_create(name=Role.LEADER)[0])
    return leader


# --- privacy: consent and erasure of residents ----------------------------------------------------


def record_consent(*, resident_id: int, consent: bool, wording_version: str, now: datetime | None = None) -> Resident:
    """Record that the resident gave (or withdrew) consent to the given wording, and when."""
    if not wording_version.strip():
        raise InvalidInput("say which consent wording the resident was shown", field="wording_version")
    with transaction.atomic():
        resident = Resident.objects.select_for_update().filter(pk=resident_id, erased_at__isnull=True).first()
        if resident is None:
            raise NotFound(f"resident {resident_id} does not exist", field="resident_id")
        resident.consent = consent
        resident.consent_at = now or timezone.now()
        resident.consent_version = wording_version.strip()
        resident.save(update_fields=["consent", "consent_at", "consent_version"])
    return resident


def erase_resident(*, resident_id: int, now: datetime | None = None) -> Resident:
    """Anonymise the resident's personal fields; orders, refunds and other amounts stay for the accounts.

    The phone hash becomes a per-row placeholder, so the same number ordering again is a new resident.
    Erasing twice changes nothing.
    """
    with transaction.atomic():
        resident = Resident.objects.select_for_update().filter(pk=resident_id).first()
        if resident is None:
            raise NotFound(f"resident {resident_id} does not exist", field="resident_id")
        if resident.erased_at is None:
            resident.name = "(erased)"
            resident.phone_masked = ""
            resident.phone_hash = f"erased:{resident.pk}"
            resident.consent, resident.consent_at, resident.consent_version = False, None, ""
            resident.erased_at = now or timezone.now()
            resident.save()
    return resident
