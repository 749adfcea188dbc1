"""Synthetic data for the benchmark commands (bench_orders, bench_intake); nothing else imports it.

Every run gets its own tag, which prefixes every code, SKU, username and resident name it creates,
and its own delivery date after every existing wave, so a run never touches data it did not make
and `cleanup_run(tag)` can remove exactly what a run made.

Small tables (depots, points, products, leaders, deals, orders) go through bulk_create on every
database. The big ones (residents, order lines) are generated inside PostgreSQL with
INSERT … SELECT over generate_series, and with bulk_create on other databases (small sizes only).
"""
import hashlib
import math
import os
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, time as dtime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from catalog.models import Depot, PickupPoint, Product, StorageTemperature
from core.models import ApiToken, IdempotentRequest, Role

from . import services
from .models import Deal, DemandLine, GroupLeader, LeaderOrder, LineStatus, OrderLine, Resident, SalesWave, current_consent_version

CATEGORIES = ["fruit", "vegetables", "meat", "seafood", "dairy", "bakery", "drinks", "snacks", "household", "frozen"]
TEMPERATURES = [StorageTemperature.AMBIENT, StorageTemperature.CHILLED, StorageTemperature.FROZEN]
BATCH = 5000


def new_tag() -> str:
    """A short code unique to one run, e.g. 'bk3x9f2a'; every object of the run carries it."""
    return "b" + _base36(int(time.time()))[-5:] + secrets.token_hex(2)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def free_delivery_date() -> date:
    """A delivery date after every existing wave, at least two days ahead so its cutoff is still open."""
    earliest = timezone.localdate() + timedelta(days=2)
    latest = SalesWave.objects.aggregate(latest=Max("delivery_date"))["latest"]
    return max(earliest, latest + timedelta(days=1)) if latest else earliest


def database_label() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"postgresql {cursor.fetchone()[0]}"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"sqlite {sqlite3.sqlite_version}"
    return connection.vendor


def load_average() -> list[float] | None:
    """The host's 1/5/15-minute load averages: on a shared machine, other work skews every timing."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


# --- master data and leaders ------------------------------------------------------------------------


@dataclass
class Network:
    tag: str
    depots: list[Depot]
    points: list[PickupPoint]
    products: list[Product]


def create_network(tag: str, *, points: int, products: int, depots: int | None = None) -> Network:
    """Depots around Hangzhou, pickup points spread over them round-robin, a varied product range."""
    depots = depots or max(1, math.ceil(points / 300))
    rng = random.Random(f"{tag}-network")
    depot_rows = Depot.objects.bulk_create(
        [
            Depot(
                code=f"{tag}-D{i:03d}", name=f"Bench depot {i}", address=f"{i} Depot Road",
                latitude=30.0 + rng.random() * 0.6, longitude=119.9 + rng.random() * 0.6,
            )
            for i in range(depots)
        ]
    )
    point_rows = PickupPoint.objects.bulk_create(
        [
            PickupPoint(
                code=f"{tag}-P{i:05d}", name=f"Bench point {i}", address=f"{i} Community Lane",
                latitude=30.0 + rng.random() * 0.6, longitude=119.9 + rng.random() * 0.6,
                depot=depot_rows[i % depots], opens_at=dtime(7 + i % 3, 0), closes_at=dtime(20 + i % 3, 0),
            )
            for i in range(points)
        ],
        batch_size=BATCH,
    )
    product_rows = Product.objects.bulk_create(
        [
            Product(
                sku=f"{tag}-SKU{i:05d}", name=f"Bench product {i}", category=CATEGORIES[i % len(CATEGORIES)],
                unit=rng.choice(["bag 500 g", "box of 12", "piece", "kg", "bottle 1 l"]),
                weight_g=rng.randint(100, 5000), volume_ml=rng.randint(100, 8000),
                storage_temperature=TEMPERATURES[i % len(TEMPERATURES)], shelf_life_days=rng.randint(2, 180),
            )
            for i in range(products)
        ],
        batch_size=BATCH,
    )
    return Network(tag, depot_rows, point_rows, product_rows)


@dataclass
class BenchLeader:
    user: User
    leader: GroupLeader
    point_ids: list[int] = field(default_factory=list)


def create_leaders(tag: str, points: list[PickupPoint], *, points_per_leader: int = 1) -> list[BenchLeader]:
    """Leaders (users in the leader group) each owning their own `points_per_leader` points.

    The same rows that services.appoint_leader makes, in bulk.
    """
    chunks = [points[i : i + points_per_leader] for i in range(0, len(points), points_per_leader)]
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [User(username=f"{tag}-leader{i:05d}", password=unusable) for i in range(len(chunks))], batch_size=BATCH
    )
    leaders = GroupLeader.objects.bulk_create([GroupLeader(user=user) for user in users], batch_size=BATCH)
    Through = GroupLeader.pickup_points.through
    Through.objects.bulk_create(
        [Through(groupleader_id=leader.pk, pickuppoint_id=p.pk) for leader, chunk in zip(leaders, chunks) for p in chunk],
        batch_size=BATCH,
    )
    group, _ = Group.objects.get_or_create(name=Role.LEADER)
    UserGroups = User.groups.through
    UserGroups.objects.bulk_create([UserGroups(user_id=u.pk, group_id=group.pk) for u in users], batch_size=BATCH)
    return [BenchLeader(user, leader, [p.pk for p in chunk]) for user, leader, chunk in zip(users, leaders, chunks)]


def deal_price(index: int) -> Decimal:
    return Decimal("1.90") + Decimal(index % 40) * Decimal("0.75")


def create_wave_with_deals(
    products: list[Product],
    *,
    delivery_date: date | None = None,
    limited: int = 0,
    quantity_limit: int = 500,
    per_resident_limited: int = 0,
    per_resident_limit: int = 3,
) -> tuple[SalesWave, list[Deal]]:
    """An open wave with one deal per product; the first `limited` deals have a total quantity limit,
    the next `per_resident_limited` a per-resident limit."""
    wave = services.create_wave(delivery_date=delivery_date or free_delivery_date())
    deals = Deal.objects.bulk_create(
        [
            Deal(
                wave=wave, product=product, price=deal_price(i),
                quantity_limit=quantity_limit if i < limited else None,
                per_resident_limit=per_resident_limit if limited <= i < limited + per_resident_limited else None,
            )
            for i, product in enumerate(products)
        ],
        batch_size=BATCH,
    )
    return wave, deals


# --- orders of one wave, in bulk ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderShape:
    """How `lines` order lines spread over one order per pickup point.

    Order o gets lines_of(o) lines (they differ by at most one). Each resident of a point orders
    `deals_per_resident` consecutive deals starting at a skewed-random deal (a few hot deals sell most),
    so (order, resident, deal) never repeats. About `cancelled_share` of the lines are cancelled.
    """

    lines: int
    orders: int
    deals: int
    deals_per_resident: int = 3
    cancelled_share: float = 0.02

    def lines_of(self, o: int) -> int:
        return self.lines // self.orders + (1 if o < self.lines % self.orders else 0)

    @property
    def k(self) -> int:
        return max(1, min(self.deals_per_resident, self.deals))

    def residents_of(self, o: int) -> int:
        return math.ceil(self.lines_of(o) / self.k)


def generate_orders(
    tag: str, wave: SalesWave, deals: list[Deal], leaders: list[BenchLeader], *, lines: int, seed: int = 42,
    timings: dict | None = None,
) -> OrderShape:
    """One leader order per pickup point of the leaders, `lines` order lines over them, and their residents."""
    timings = {} if timings is None else timings
    started = time.perf_counter()
    order_rows = LeaderOrder.objects.bulk_create(
        [
            LeaderOrder(leader=bl.leader, pickup_point_id=point_id, wave=wave, revision=1)
            for bl in leaders
            for point_id in bl.point_ids
        ],
        batch_size=BATCH,
    )
    timings["orders"] = time.perf_counter() - started
    shape = OrderShape(lines=lines, orders=len(order_rows), deals=len(deals))
    if connection.vendor == "postgresql":
        _generate_lines_postgresql(tag, shape, order_rows, deals, seed, timings)
    else:
        started = time.perf_counter()
        _generate_lines_python(tag, shape, order_rows, deals, seed)
        timings["residents_and_lines"] = time.perf_counter() - started
    return shape


def _is_superuser(cursor) -> bool:
    cursor.execute("SELECT current_setting('is_superuser') = 'on'")
    return cursor.fetchone()[0]


def _generate_lines_postgresql(tag, shape: OrderShape, orders, deals, seed: int, timings: dict) -> None:
    """Residents and order lines generated inside PostgreSQL, each table by one INSERT … SELECT.

    The ids all come from rows made just before in the same transaction, so when the connection may
    (superuser) the per-row foreign-key triggers are skipped for these two statements only, which
    would otherwise dominate the load; indexes and check constraints are still maintained.
    """
    resident, line = Resident._meta.db_table, OrderLine._meta.db_table
    base, extra = divmod(shape.lines, shape.orders)
    k = shape.k
    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_triggers = _is_superuser(cursor)
        timings["fk_triggers_skipped"] = skip_fk_triggers
        if skip_fk_triggers:
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000.0])
        started = time.perf_counter()
        # One row per (order index, resident number) with the resident's first (skewed-random) deal.
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_residents ON COMMIT DROP AS
            SELECT o.o, r.r, nextval(pg_get_serial_sequence('{resident}', 'id')) AS id,
                   floor(%(deals)s * power(random(), 2))::int AS d0
            FROM generate_series(0, %(orders)s - 1) AS o(o)
            CROSS JOIN LATERAL generate_series(
                0, ceil((%(base)s + CASE WHEN o.o < %(extra)s THEN 1 ELSE 0 END)::numeric / %(k)s)::int - 1
            ) AS r(r)
            """,
            {"deals": shape.deals, "orders": shape.orders, "base": base, "extra": extra, "k": k},
        )
        cursor.execute(
            f"""
            INSERT INTO {resident} (id, name, phone_masked, phone_hash, consent, consent_at, consent_version, created_at)
            SELECT id, %(tag)s || ' resident ' || o || '-' || r,
                   '13' || (o %% 10) || '****' || lpad(((o * 7 + r) %% 10000)::text, 4, '0'),
                   md5(%(tag)s || ':' || o || ':' || r) || md5(r || ':' || o || ':' || %(tag)s),
                   r %% 4 <> 0, CASE WHEN r %% 4 <> 0 THEN now() END, %(version)s, now()
            FROM bench_residents
            """,
            {"tag": tag, "version": current_consent_version()},
        )
        timings["residents"] = time.perf_counter() - started
        started = time.perf_counter()
        # The subquery's random() columns keep it from being flattened: one draw per line.
        cursor.execute(
            f"""
            INSERT INTO {line} (order_id, resident_id, deal_id, quantity, unit_price, status, cancelled_at)
            SELECT (%(orders)s::bigint[])[x.o + 1], x.id, (%(deals)s::bigint[])[x.d + 1],
                   1 + floor(power(x.u, 3) * 6)::int, (%(prices)s::numeric[])[x.d + 1],
                   CASE WHEN x.v < %(share)s THEN %(cancelled)s ELSE %(active)s END,
                   CASE WHEN x.v < %(share)s THEN now() END
            FROM (
                SELECT br.o, br.id, (br.d0 + m.m) %% %(ndeals)s AS d, random() AS u, random() AS v
                FROM bench_residents br
                CROSS JOIN LATERAL generate_series(0, %(k)s - 1) AS m(m)
                WHERE br.r * %(k)s + m.m < %(base)s + CASE WHEN br.o < %(extra)s THEN 1 ELSE 0 END
            ) AS x
            """,
            {
                "orders": [o.pk for o in orders],
                "deals": [d.pk for d in deals],
                "prices": [d.price for d in deals],
                "ndeals": shape.deals,
                "k": k,
                "base": base,
                "extra": extra,
                "share": shape.cancelled_share,
                "cancelled": LineStatus.CANCELLED.value,
                "active": LineStatus.ACTIVE.value,
            },
        )
        timings["lines"] = time.perf_counter() - started
        if skip_fk_triggers:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def _generate_lines_python(tag, shape: OrderShape, orders, deals, seed: int) -> None:
    """The same shape with bulk_create: for SQLite and small sizes."""
    rng = random.Random(seed)
    now = timezone.now()
    k = shape.k
    pending_lines = []
    for o, order in enumerate(orders):
        n = shape.lines_of(o)
        firsts = [int(shape.deals * rng.random() ** 2) for _ in range(shape.residents_of(o))]
        residents = Resident.objects.bulk_create(
            [
                Resident(
                    name=f"{tag} resident {o}-{r}", phone_masked=f"13{o % 10}****{(o * 7 + r) % 10000:04d}",
                    phone_hash=hashlib.sha256(f"{tag}:{o}:{r}".encode()).hexdigest(), consent=r % 4 != 0, consent_at=now if r % 4 else None,
                )
                for r in range(len(firsts))
            ]
        )
        for j in range(n):
            r, m = divmod(j, k)
            deal = deals[(firsts[r] + m) % shape.deals]
            cancelled = rng.random() < shape.cancelled_share
            pending_lines.append(
                OrderLine(
                    order=order, resident=residents[r], deal=deal, quantity=1 + int(rng.random() ** 3 * 6),
                    unit_price=deal.price, status=LineStatus.CANCELLED if cancelled else LineStatus.ACTIVE,
                    cancelled_at=now if cancelled else None,
                )
            )
        if len(pending_lines) >= BATCH:
            OrderLine.objects.bulk_create(pending_lines, batch_size=BATCH)
            pending_lines = []
    OrderLine.objects.bulk_create(pending_lines, batch_size=BATCH)


def analyze(*models) -> None:
    """Fresh statistics (and, on PostgreSQL, the visibility map and hint bits) so plans and timings are realistic."""
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
            # Flush the load's dirty pages now rather than in a checkpoint during the timed part.
            if _is_superuser(cursor):
                cursor.execute("CHECKPOINT")
        else:
            for table in tables:
                cursor.execute(f"ANALYZE {table}")


# --- removing a run's data ------------------------------------------------------------------------------


def cleanup_run(tag: str) -> None:
    """Delete everything that the run tagged `tag` created, children first.

    Plain DELETEs rather than Django's collector, which would load every row it cascades to; the
    database's own foreign keys still refuse if anything outside the run refers to these rows.
    """
    tables = {m: m._meta.db_table for m in (SalesWave, Deal, LeaderOrder, OrderLine, DemandLine, Resident)}
    like = f"{tag}-%"
    wave_ids = list(Deal.objects.filter(product__sku__startswith=f"{tag}-").values_list("wave_id", flat=True).distinct())
    users = User.objects.filter(username__startswith=f"{tag}-")
    with transaction.atomic(), connection.cursor() as cursor:
        for wave_id in wave_ids:
            cursor.execute(f"DELETE FROM {tables[DemandLine]} WHERE wave_id = %s", [wave_id])
            cursor.execute(
                f"DELETE FROM {tables[OrderLine]} WHERE order_id IN (SELECT id FROM {tables[LeaderOrder]} WHERE wave_id = %s)",
                [wave_id],
            )
            cursor.execute(f"DELETE FROM {tables[LeaderOrder]} WHERE wave_id = %s", [wave_id])
            cursor.execute(f"DELETE FROM {tables[Deal]} WHERE wave_id = %s", [wave_id])
            cursor.execute(f"DELETE FROM {tables[SalesWave]} WHERE id = %s", [wave_id])
        cursor.execute(f"DELETE FROM {tables[Resident]} WHERE name LIKE %s", [f"{tag} resident %"])
        IdempotentRequest.objects.filter(user__in=users).delete()
        ApiToken.objects.filter(user__in=users).delete()
        GroupLeader.pickup_points.through.objects.filter(groupleader__user__in=users).delete()
        GroupLeader.objects.filter(user__in=users).delete()
        User.groups.through.objects.filter(user__in=users).delete()
        users.delete()
        for model, column in ((PickupPoint, "code"), (Depot, "code"), (Product, "sku")):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE {column} LIKE %s", [like])
