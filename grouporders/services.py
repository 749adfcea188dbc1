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
from django.utils.translation import gettext as _

from catalog.models import PickupPoint, Product
from core.bulk import refresh_statistics
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Role
from core.rawsql import any_of, columns, concrete_fields, execute, fetch, fields_of, instance, instances, placeholders

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
        raise InvalidInput(_("cutoff_at needs a time zone"), field="cutoff_at", code="naive_datetime")
    if cutoff_at.date() > delivery_date:
        raise InvalidInput(_("the cutoff must be before the delivery day"), field="cutoff_at", code="cutoff_after_delivery")
    if SalesWave.objects.filter(delivery_date=delivery_date).exists():
        raise Conflict(_("a wave for %(delivery_date)s already exists") % {"delivery_date": delivery_date}, field="delivery_date", code="wave_exists")
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
        raise NotFound(_("wave %(wave_id)s does not exist") % {"wave_id": wave_id}, field="wave_id", code="wave_not_found")
    if not wave.accepts_orders():
        raise Conflict(_("the wave for %(delivery_date)s is closed") % {"delivery_date": wave.delivery_date}, field="wave_id", code="wave_closed")
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise InvalidInput(_("product %(product_id)s does not exist") % {"product_id": product_id}, field="product_id", code="product_not_found")
    if not product.is_active:
        raise InvalidInput(_("product %(sku)s is not active") % {"sku": product.sku}, field="product_id", code="product_inactive")
    if price <= 0:
        raise InvalidInput(_("price must be positive"), field="price", code="price_not_positive")
    for field, value in (("quantity_limit", quantity_limit), ("per_resident_limit", per_resident_limit)):
        if value is not None and value <= 0:
            raise InvalidInput(_("%(field)s must be positive") % {"field": field}, field=field, code="limit_not_positive")
    if Deal.objects.filter(wave=wave, product=product).exists():
        raise Conflict(_("product %(sku)s already has a deal in this wave") % {"sku": product.sku}, field="product_id", code="deal_exists")
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
        raise NotFound(_("wave %(wave_id)s does not exist") % {"wave_id": wave_id}, field="wave_id", code="wave_not_found")
    _check_accepts_orders(wave)
    return wave


def _check_accepts_orders(wave: SalesWave) -> None:
    if not wave.accepts_orders():
        raise Conflict(
            _("the wave for %(day)s is closed (cutoff %(cutoff)s); orders can no longer change") % {
                "day": wave.delivery_date, "cutoff": f"{timezone.localtime(wave.cutoff_at):%Y-%m-%d %H:%M}"},
            field="wave_id", code="cutoff_passed",
        )


# --- leader orders -----------------------------------------------------------------------------
#
# Submission is the hot path of the day (thousands of leaders resubmitting until the cutoff), so its
# statements are plain SQL (see core.rawsql): through the ORM, composing them cost more CPU than the
# database spent running them. Each statement is one round trip; none is repeated per line.

_WAVE_FIELDS = concrete_fields(SalesWave)
_DEAL_FIELDS = concrete_fields(Deal)
_PRODUCT_FIELDS = fields_of(Product, "id", "sku", "name", "is_active")
_POINT_FIELDS = fields_of(PickupPoint, "id", "code")
_RESIDENT_FIELDS = concrete_fields(Resident)
_NEW_RESIDENT_FIELDS = fields_of(
    Resident, "name", "phone_masked", "phone_hash", "consent", "consent_at", "consent_version", "created_at"
)
_LINE_FIELDS = fields_of(OrderLine, "order_id", "resident_id", "deal_id", "quantity", "unit_price", "status")
_LINES_PER_INSERT = 500  # keeps each INSERT well below SQLite's limit on parameters


def leader_for_user(user) -> GroupLeader:
    leader = GroupLeader.objects.filter(user=user, is_active=True).first()
    if leader is None:
        raise NotFound(_("you are not an active group leader"), code="not_a_leader")
    return leader


def _lock_wave_for_leader_order(user, wave_id: int, pickup_point_id: int) -> tuple[SalesWave, int, str]:
    """The wave under its share lock (see _lock_wave_for_orders), the user's active leader id and the
    code of the pickup point if it is theirs, in one round trip. Leader errors come first."""
    points = GroupLeader.pickup_points.through._meta.db_table
    rows = fetch(
        f"SELECT l.id, (SELECT p.code FROM {points} lp JOIN {PickupPoint._meta.db_table} p ON p.id = lp.pickuppoint_id"
        f"   WHERE lp.groupleader_id = l.id AND lp.pickuppoint_id = %s), {columns(_WAVE_FIELDS, 'w')}"
        f" FROM {SalesWave._meta.db_table} w LEFT JOIN {GroupLeader._meta.db_table} l ON l.user_id = %s AND l.is_active"
        " WHERE w.id = %s" + (" FOR SHARE OF w" if connection.vendor == "postgresql" else ""),
        [pickup_point_id, user.pk, wave_id],
        prepare=True,
    )
    if not rows:
        leader_for_user(user)
        raise NotFound(_("wave %(wave_id)s does not exist") % {"wave_id": wave_id}, field="wave_id", code="wave_not_found")
    leader_id, point_code, *wave_values = rows[0]
    if leader_id is None:
        raise NotFound(_("you are not an active group leader"), code="not_a_leader")
    if point_code is None:
        raise NotFound(_("pickup point %(pickup_point_id)s is not one of yours") % {"pickup_point_id": pickup_point_id}, field="pickup_point_id", code="not_your_pickup_point")
    return instance(SalesWave, _WAVE_FIELDS, wave_values), leader_id, point_code


def _check_line_inputs(lines: list[LineInput]) -> None:
    if not lines:
        raise InvalidInput(_("an order needs at least one line; cancel it instead"), field="lines", code="no_lines")
    seen = set()
    for index, line in enumerate(lines):
        who = line.resident.resident_id if line.resident.names_known_resident() else normalize_phone(line.resident.phone)
        key = (who, line.deal_id)
        if key in seen:
            raise InvalidInput(_("the same resident and deal appear twice; merge the lines"), field=f"lines.{index}", code="duplicate_line")
        seen.add(key)


def _residents_by_hash(hashes) -> dict[str, Resident]:
    if not hashes:
        return {}
    where, params = any_of("phone_hash", hashes)
    rows = fetch(
        f"SELECT {columns(_RESIDENT_FIELDS)} FROM {Resident._meta.db_table} WHERE {where}", params, prepare=True
    )
    return {resident.phone_hash: resident for resident in instances(Resident, _RESIDENT_FIELDS, rows)}


def _create_residents(new: list[tuple[str, ResidentInput]], now: datetime) -> dict[str, Resident]:
    """Insert residents (phone hash, input), in the order given, and return them by hash; one already there
    (a concurrent order made it) is skipped and not returned."""
    table, version = Resident._meta.db_table, current_consent_version()
    at = connection.ops.adapt_datetimefield_value(now)
    if connection.vendor == "postgresql":
        # One statement of fixed text whatever the number of residents, so it is planned once per connection.
        rows = fetch(
            f"INSERT INTO {table} ({columns(_NEW_RESIDENT_FIELDS)})"
            " SELECT name, phone_masked, phone_hash, consent, CASE WHEN consent THEN %s::timestamptz END, %s, %s"
            " FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::boolean[])"
            " AS r(name, phone_masked, phone_hash, consent)"
            f" ON CONFLICT DO NOTHING RETURNING {columns(_RESIDENT_FIELDS)}",
            [at, version, at, [who.name for _, who in new], [mask_phone(who.phone) for _, who in new],
             [digest for digest, _ in new], [who.consent for _, who in new]],
            prepare=True,
        )
    else:
        values = []
        for digest, who in new:
            values += [who.name, mask_phone(who.phone), digest, who.consent, at if who.consent else None, version, at]
        row = f"({placeholders(len(_NEW_RESIDENT_FIELDS))})"
        rows = fetch(
            f"INSERT INTO {table} ({columns(_NEW_RESIDENT_FIELDS)}) VALUES {', '.join([row] * len(new))}"
            f" ON CONFLICT DO NOTHING RETURNING {columns(_RESIDENT_FIELDS)}",
            values,
        )
    return {resident.phone_hash: resident for resident in instances(Resident, _RESIDENT_FIELDS, rows)}


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
                    _("this resident is not on the order being replaced; enter their phone"),
                    field=f"lines.{index}.resident.phone", code="unknown_resident",
                )
            line_hashes.append(resident.phone_hash)
            by_hash.setdefault(resident.phone_hash, ResidentInput(resident.name, "", line.resident.consent))
            continue
        phone = normalize_phone(line.resident.phone)
        if phone is None:
            raise InvalidInput(_("not a valid phone number"), field=f"lines.{index}.resident.phone", code="invalid_phone")
        if not line.resident.name.strip():
            raise InvalidInput(_("the resident needs a name"), field=f"lines.{index}.resident.name", code="name_required")
        digest = hash_phone(phone)
        line_hashes.append(digest)
        by_hash.setdefault(digest, ResidentInput(line.resident.name.strip(), phone, line.resident.consent))
    now = timezone.now()
    # Read first, then write only what is missing or changed: a resubmitted order usually needs no write.
    residents = _residents_by_hash(list(by_hash))
    # Sorted, so two orders creating the same new residents take their index locks in one order: no deadlock.
    missing = sorted(digest for digest in by_hash if digest not in residents)
    if missing:
        residents.update(_create_residents([(digest, by_hash[digest]) for digest in missing], now))
        residents.update(_residents_by_hash([digest for digest in missing if digest not in residents]))
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


def _deals_with_products(deal_ids) -> dict[int, Deal]:
    """Deals by id, each with its product (sku, name, active flag) attached."""
    if not deal_ids:
        return {}
    where, params = any_of("d.id", deal_ids)
    rows = fetch(
        f"SELECT {columns(_DEAL_FIELDS, 'd')}, {columns(_PRODUCT_FIELDS, 'p')}"
        f" FROM {Deal._meta.db_table} d JOIN {Product._meta.db_table} p ON p.id = d.product_id WHERE {where}",
        params,
        prepare=True,
    )
    split = len(_DEAL_FIELDS)
    deals = instances(Deal, _DEAL_FIELDS, [row[:split] for row in rows])
    products = instances(Product, _PRODUCT_FIELDS, [row[split:] for row in rows])
    for deal, product in zip(deals, products):
        deal.product = product
    return {deal.pk: deal for deal in deals}


def _validate_lines(wave: SalesWave, lines: list[LineInput]) -> dict[int, Deal]:
    deals = _deals_with_products({line.deal_id for line in lines})
    for index, line in enumerate(lines):
        deal = deals.get(line.deal_id)
        if deal is None:
            raise InvalidInput(_("deal %(deal_id)s does not exist") % {"deal_id": line.deal_id}, field=f"lines.{index}.deal_id", code="deal_not_found")
        if deal.wave_id != wave.id:
            raise InvalidInput(_("deal %(id)s belongs to another wave") % {"id": deal.id}, field=f"lines.{index}.deal_id", code="deal_of_another_wave")
        if not deal.product.is_active:
            raise InvalidInput(_("product %(sku)s is no longer sold") % {"sku": deal.product.sku}, field=f"lines.{index}.deal_id", code="deal_not_sold")
        if line.quantity <= 0:
            raise InvalidInput(_("quantity must be at least 1"), field=f"lines.{index}.quantity", code="quantity_too_small")
        if deal.quantity_limit is not None and line.quantity > deal.quantity_limit:
            raise InvalidInput(
                _("quantity %(quantity)s is above the deal's limit of %(limit)s") % {
                    "quantity": line.quantity, "limit": deal.quantity_limit},
                field=f"lines.{index}.quantity", code="quantity_limit",
            )
        if deal.per_resident_limit is not None and line.quantity > deal.per_resident_limit:
            raise InvalidInput(
                _("quantity %(quantity)s is above the limit of %(limit)s per resident") % {
                    "quantity": line.quantity, "limit": deal.per_resident_limit},
                field=f"lines.{index}.quantity", code="per_resident_limit",
            )
    return deals


def _check_per_resident_limits(order_id: int, new_lines: list[OrderLine], deals: dict[int, Deal]) -> None:
    """A resident may not exceed a deal's per-resident limit across all leader orders of the wave."""
    limited = [line for line in new_lines if deals[line.deal_id].per_resident_limit is not None]
    if not limited:
        return
    of_deals, deal_params = any_of("deal_id", {line.deal_id for line in limited})
    of_residents, resident_params = any_of("resident_id", {line.resident_id for line in limited})
    # The status is checked here rather than in SQL: with `status = 'active'` in the WHERE clause PostgreSQL
    # likes to read the whole partial unique index (every active line ever) instead of the resident index.
    elsewhere = fetch(
        f"SELECT resident_id, deal_id, quantity, status FROM {OrderLine._meta.db_table}"
        f" WHERE {of_deals} AND {of_residents} AND order_id <> %s",
        deal_params + resident_params + [order_id],
        prepare=True,
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
                _("this resident already has %(already)s of deal %(deal)s in another order; the limit is %(limit)s") % {
                    "already": already, "deal": line.deal_id, "limit": limit},
                field=f"lines.{index}.quantity", code="per_resident_limit",
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
        updated = execute(
            f"UPDATE {Deal._meta.db_table} SET sold_quantity = sold_quantity + %s"
            " WHERE id = %s AND sold_quantity <= %s",
            [change, deal_id, deal.quantity_limit - change],
            prepare=True,
        )
        if not updated:
            left = Deal.objects.filter(pk=deal_id).values_list("sold_quantity", flat=True).first()
            raise Conflict(
                _("deal %(deal)s (%(product)s) has only %(left)s left") % {
                    "deal": deal_id, "product": deal.product.name, "left": deal.quantity_limit - left},
                field="lines", code="sold_out",
            )


def _sold_by_deal(lines) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[line.deal_id] += line.quantity
    return totals


def _residents_on_order(
    leader_id: int, pickup_point_id: int, wave_id: int, lines: list[LineInput]
) -> dict[int, Resident]:
    """The residents named by id who have a line on the leader's order being replaced: no one else's."""
    ids = {line.resident.resident_id for line in lines if line.resident.names_known_resident()}
    if not ids:
        return {}
    on_order = OrderLine.objects.filter(
        order__leader_id=leader_id,
        order__pickup_point_id=pickup_point_id,
        order__wave_id=wave_id,
        resident_id=OuterRef("pk"),
    )
    return Resident.objects.filter(pk__in=ids).filter(Exists(on_order)).in_bulk()


def _lock_order(leader_id: int, pickup_point_id: int, wave: SalesWave, now: datetime) -> LeaderOrder:
    """Create the order or count one more revision of it, in one statement that also locks its row."""
    table = LeaderOrder._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    [(order_id, revision)] = fetch(
        f"INSERT INTO {table} (leader_id, pickup_point_id, wave_id, submitted_at, updated_at, revision)"
        " VALUES (%s, %s, %s, %s, %s, 1)"
        " ON CONFLICT (leader_id, pickup_point_id, wave_id) DO UPDATE"
        f" SET revision = {table}.revision + 1, submitted_at = excluded.submitted_at, updated_at = excluded.updated_at"
        " RETURNING id, revision",
        [leader_id, pickup_point_id, wave.pk, at, at],
        prepare=True,
    )
    order = LeaderOrder(id=order_id, leader_id=leader_id, pickup_point_id=pickup_point_id, revision=revision)
    order.submitted_at = order.updated_at = now
    order.wave = wave
    return order


def _replace_lines(order: LeaderOrder, new_lines: list[OrderLine]) -> list[tuple[int, int]]:
    """Delete the order's lines and insert the new ones (setting their ids); returns the (deal, quantity)
    of the active lines deleted.

    One DELETE: Django's collector would first load every line to look for refunds, and a line can only
    have a refund after the cutoff, when this code is not reached.
    """
    deleted = fetch(
        f"DELETE FROM {OrderLine._meta.db_table} WHERE order_id = %s RETURNING deal_id, quantity, status",
        [order.pk],
        prepare=True,
    )
    ids = _insert_lines(order.pk, new_lines)
    for line, line_id in zip(new_lines, ids):
        line.pk = line_id
        line._state.adding = False
    return [(deal_id, quantity) for deal_id, quantity, status in deleted if status == LineStatus.ACTIVE]


def _insert_lines(order_id: int, lines: list[OrderLine]) -> list[int]:
    """Insert active lines of the order; returns their ids in the order given (the order in which the rows
    are inserted, which RETURNING follows, as Django's bulk_create also relies on)."""
    table, status = OrderLine._meta.db_table, LineStatus.ACTIVE.value
    if connection.vendor == "postgresql":
        # One statement of fixed text whatever the number of lines, so it is planned once per connection.
        rows = fetch(
            f"INSERT INTO {table} ({columns(_LINE_FIELDS)})"
            " SELECT %s, resident_id, deal_id, quantity, unit_price, %s"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::integer[], %s::numeric[])"
            " AS l(resident_id, deal_id, quantity, unit_price)"
            " RETURNING id",
            [order_id, status, [line.resident_id for line in lines], [line.deal_id for line in lines],
             [line.quantity for line in lines], [line.unit_price for line in lines]],
            prepare=True,
        )
        return [line_id for (line_id,) in rows]
    ids = []
    row = f"({placeholders(len(_LINE_FIELDS))})"
    for start in range(0, len(lines), _LINES_PER_INSERT):
        batch = lines[start : start + _LINES_PER_INSERT]
        values = []
        for line in batch:
            values += [order_id, line.resident_id, line.deal_id, line.quantity, line.unit_price, status]
        sql = f"INSERT INTO {table} ({columns(_LINE_FIELDS)}) VALUES {', '.join([row] * len(batch))} RETURNING id"
        ids += [line_id for (line_id,) in fetch(sql, values)]
    return ids


def submit_leader_order(*, user, wave_id: int, pickup_point_id: int, lines: list[LineInput]) -> LeaderOrder:
    """Create or replace the leader's whole order for a pickup point in a wave, all or nothing.

    Locks, in this order: the wave (shared), the order row, then limited deals in id order.
    """
    with transaction.atomic():
        wave, leader_id, point_code = _lock_wave_for_leader_order(user, wave_id, pickup_point_id)
        _check_line_inputs(lines)
        _check_accepts_orders(wave)
        deals = _validate_lines(wave, lines)
        residents = _upsert_residents(lines, _residents_on_order(leader_id, pickup_point_id, wave.pk, lines))
        order = _lock_order(leader_id, pickup_point_id, wave, timezone.now())
        new_lines = []
        for line, resident in zip(lines, residents):
            deal = deals[line.deal_id]
            new_lines.append(
                OrderLine(order=order, resident=resident, deal=deal, quantity=line.quantity, unit_price=deal.price)
            )
        previous = _replace_lines(order, new_lines)
        _check_per_resident_limits(order.pk, new_lines, deals)
        change = _sold_by_deal(new_lines)
        for deal_id, quantity in previous:
            change[deal_id] -= quantity
        deals.update(_deals_with_products(set(change) - set(deals)))
        _reserve_limited_deals(change, deals)
    order.pickup_point = instance(PickupPoint, _POINT_FIELDS, (pickup_point_id, point_code))  # the rest loads on use
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
        raise NotFound(_("order %(order_id)s does not exist") % {"order_id": order_id}, field="order_id", code="order_not_found")
    _lock_wave_for_orders(order.wave_id)
    return order


def cancel_order_line(*, user, order_id: int, line_id: int) -> LeaderOrder:
    return _cancel_order_lines(user, order_id, [line_id], field=lambda index: "line_id")


def cancel_order_lines(*, user, order_id: int, line_ids: list[int]) -> LeaderOrder:
    """Cancel several lines of one order at once (residents who changed their minds), all or none."""
    return _cancel_order_lines(user, order_id, line_ids, field=lambda index: f"line_ids.{index}")


def _cancel_order_lines(user, order_id: int, line_ids: list[int], *, field) -> LeaderOrder:
    with transaction.atomic():
        order = _own_order_for_change(user, order_id)
        found = set(order.lines.filter(pk__in=line_ids).values_list("pk", flat=True))
        for index, line_id in enumerate(line_ids):
            if line_id not in found:
                raise NotFound(_("line %(line_id)s is not in order %(order_id)s") % {"line_id": line_id, "order_id": order_id},
                               field=field(index), code="line_not_found")
        _cancel_lines(order, order.lines.filter(pk__in=line_ids))
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
            raise NotFound(_("wave %(wave_id)s does not exist") % {"wave_id": wave_id}, field="wave_id", code="wave_not_found")
        if wave.status != WaveStatus.CLOSED:
            wave.status = WaveStatus.CLOSED
            wave.closed_at = timezone.now()
            wave.save(update_fields=["status", "closed_at"])
        # The day's order lines are final: fresh statistics show the planner a million of them, where it
        # saw a few dozen and planned this step's and the later steps' joins as nested loops (2-3x slower).
        refresh_statistics(OrderLine, LeaderOrder)
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


def appoint_leader(*, user, pickup_point_ids: list[int], tier: str = "ordinary", phone: str = "") -> GroupLeader:
    points = list(PickupPoint.objects.filter(pk__in=pickup_point_ids))
    missing = set(pickup_point_ids) - {p.pk for p in points}
    if missing:
        raise InvalidInput(_("unknown pickup points %(ids)s") % {"ids": sorted(missing)}, field="pickup_point_ids", code="pickup_point_not_found")
    number = normalize_phone(phone) if phone.strip() else ""
    if number is None:
        raise InvalidInput(_("not a valid phone number"), field="phone", code="invalid_phone")
    with transaction.atomic():
        leader, _created = GroupLeader.objects.update_or_create(
            user=user, defaults={"tier": tier, "is_active": True, "phone": number}
        )
        leader.pickup_points.set(points)
        user.groups.add(Group.objects.get_or_create(name=Role.LEADER)[0])
    return leader


# --- privacy: consent and erasure of residents ----------------------------------------------------


def record_consent(*, resident_id: int, consent: bool, wording_version: str, now: datetime | None = None) -> Resident:
    """Record that the resident gave (or withdrew) consent to the given wording, and when."""
    if not wording_version.strip():
        raise InvalidInput(_("say which consent wording the resident was shown"), field="wording_version", code="wording_required")
    with transaction.atomic():
        resident = Resident.objects.select_for_update().filter(pk=resident_id, erased_at__isnull=True).first()
        if resident is None:
            raise NotFound(_("resident %(resident_id)s does not exist") % {"resident_id": resident_id}, field="resident_id", code="resident_not_found")
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
            raise NotFound(_("resident %(resident_id)s does not exist") % {"resident_id": resident_id}, field="resident_id", code="resident_not_found")
        if resident.erased_at is None:
            resident.name = "(erased)"
            resident.phone_masked = ""
            resident.phone_hash = f"erased:{resident.pk}"
            resident.consent, resident.consent_at, resident.consent_version = False, None, ""
            resident.erased_at = now or timezone.now()
            resident.save()
    return resident
