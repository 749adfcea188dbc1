"""A small demo city around Hangzhou, and its business day run through the services.

Everything the demo creates is marked (codes and SKUs start with ``DEMO-``, usernames with ``demo-``)
so that a rerun first removes what the previous run left and starts again; nothing else is touched.
The day is driven only through services and tasks, as the real clients would drive it, so the demo
doubles as an end-to-end smoke test. Later steps of the day (allocation, routing, pick lists, pickup)
extend `run_day` and `flush_demo_data` as their apps arrive.
"""
from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from catalog.models import Depot, PickupPoint, Product, StorageTemperature, Warehouse
from core.errors import Conflict
from core.models import Role
from core.services import ensure_role_groups, grant_role

from . import services
from .models import Deal, DemandLine, GroupLeader, LeaderOrder, LineStatus, OrderLine, SalesWave, WaveStatus
from .tasks import close_wave as close_wave_task

CODE_PREFIX = "DEMO-"
USER_PREFIX = "demo-"
CENTS = Decimal("0.01")

# Hangzhou: the central warehouse in Yuhang, one depot west and one east of the West Lake.
WAREHOUSE = ("DEMO-WH1", "Yuhang central warehouse", 30.4190, 120.3010, "Yuhang Economic Development Zone")
DEPOTS = [
    ("DEMO-DP-W", "Xihu grid depot", 30.2750, 120.1180, "Xixi Rd, Xihu District"),
    ("DEMO-DP-E", "Shangcheng grid depot", 30.2780, 120.2050, "Qiutao North Rd, Shangcheng District"),
]
STREETS = [
    "Wensan Rd", "Wener Rd", "Moganshan Rd", "Tianmushan Rd", "Qingchun Rd", "Jiefang Rd", "Yan'an Rd",
    "Fengqi Rd", "Hushu South Rd", "Kaixuan Rd", "Qiutao Rd", "Jianguo Rd", "Zhongshan Rd", "Tiyuchang Rd",
    "Gudun Rd", "Xueyuan Rd", "Jiaogong Rd", "Shixiang Rd", "Dengyun Rd", "Xintang Rd",
]
SHOPS = ["convenience store", "fruit shop", "grocery", "community shop", "tea house", "laundry", "pharmacy"]
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Shen", "Lu"]
GIVEN = ["Fang", "Min", "Jing", "Wei", "Lei", "Yan", "Jun", "Hui", "Ping", "Qiang", "Xia", "Hong", "Bo", "Li", "Na"]

# (category, name, unit, weight g, volume ml, storage, shelf life days, list price)
PRODUCTS = [
    ("fruit", "Mandarin oranges", "bag 2.5 kg", 2500, 4000, "ambient", 10, "19.90"),
    ("fruit", "Fuji apples", "bag 2 kg", 2000, 3500, "ambient", 20, "16.80"),
    ("fruit", "Bananas", "bunch 1.5 kg", 1500, 3000, "ambient", 4, "9.90"),
    ("fruit", "Yangmei bayberries", "box 1 kg", 1000, 2000, "chilled", 3, "39.00"),
    ("fruit", "Strawberries", "box 500 g", 500, 1200, "chilled", 3, "24.90"),
    ("fruit", "Kiwi fruit", "box of 12", 1100, 1800, "ambient", 14, "18.50"),
    ("vegetables", "Bok choy", "bag 500 g", 500, 1500, "chilled", 3, "3.50"),
    ("vegetables", "Tomatoes", "bag 1 kg", 1000, 1600, "ambient", 7, "7.90"),
    ("vegetables", "Potatoes", "bag 2 kg", 2000, 2500, "ambient", 30, "6.80"),
    ("vegetables", "Spring bamboo shoots", "bag 1 kg", 1000, 2200, "chilled", 4, "15.80"),
    ("vegetables", "Cucumbers", "bag 1 kg", 1000, 1800, "chilled", 6, "5.90"),
    ("vegetables", "Shiitake mushrooms", "box 300 g", 300, 1000, "chilled", 5, "8.80"),
    ("meat", "Pork belly", "tray 500 g", 500, 700, "chilled", 3, "22.00"),
    ("meat", "Chicken drumsticks", "tray 1 kg", 1000, 1300, "chilled", 3, "19.90"),
    ("meat", "Beef brisket", "pack 500 g", 500, 600, "frozen", 180, "45.00"),
    ("seafood", "River shrimp", "pack 500 g", 500, 800, "frozen", 180, "36.00"),
    ("seafood", "Yellow croaker", "pack of 2", 800, 1200, "frozen", 180, "29.90"),
    ("dairy", "Fresh milk", "bottle 950 ml", 1000, 950, "chilled", 7, "12.50"),
    ("dairy", "Plain yoghurt", "pack of 4", 400, 400, "chilled", 21, "9.90"),
    ("dairy", "Free-range eggs", "box of 30", 1800, 3000, "chilled", 25, "26.80"),
    ("frozen", "Pork dumplings", "bag 1 kg", 1000, 1500, "frozen", 270, "23.80"),
    ("frozen", "Tangyuan sesame", "bag 500 g", 500, 800, "frozen", 270, "11.90"),
    ("staples", "Northeast rice", "bag 5 kg", 5000, 6500, "ambient", 365, "39.90"),
    ("staples", "Peanut oil", "bottle 5 l", 4600, 5000, "ambient", 540, "79.00"),
    ("staples", "Dried noodles", "pack 1 kg", 1000, 1500, "ambient", 365, "8.90"),
    ("staples", "Light soy sauce", "bottle 500 ml", 600, 500, "ambient", 540, "9.50"),
    ("snacks", "Longjing tea", "tin 100 g", 200, 600, "ambient", 540, "68.00"),
    ("snacks", "Sunflower seeds", "bag 500 g", 500, 1200, "ambient", 180, "12.80"),
    ("household", "Tissue paper", "pack of 10", 1300, 9000, "ambient", 1000, "24.90"),
    ("household", "Laundry liquid", "bottle 3 kg", 3100, 3000, "ambient", 1000, "32.00"),
]


@dataclass
class DemoOptions:
    seed: int = 7
    pickup_points: int = 40
    products: int = len(PRODUCTS)
    residents_per_point: tuple[int, int] = (6, 16)
    leaders_with_two_points: int = 8
    limited_deals: int = 6
    cancel_line_share: float = 0.06
    resubmit_share: float = 0.15
    orders_cancelled: int = 1
    delivery_date: date | None = None


@dataclass
class DemoCity:
    warehouse: Warehouse
    depots: list[Depot]
    points: list[PickupPoint]
    products: list[Product]
    leaders: list[tuple[object, list[PickupPoint]]]  # (user, their points)
    operator: object
    residents: dict[int, list[services.ResidentInput]] = field(default_factory=dict)  # by pickup point id


# --- clean slate ---------------------------------------------------------------------------------


def flush_demo_data() -> dict[str, int]:
    """Delete everything an earlier demo run created, children first; returns counts per model."""
    demo_products = Q(product__sku__startswith=CODE_PREFIX)
    waves = list(
        SalesWave.objects.filter(deals__product__sku__startswith=CODE_PREFIX).distinct().values_list("pk", flat=True)
    )
    demo_points = Q(pickup_point__code__startswith=CODE_PREFIX)
    counts: dict[str, int] = {}

    def delete(label, qs):
        counts[label] = qs.delete()[0]

    with transaction.atomic():
        delete("demand lines", DemandLine.objects.filter(Q(wave_id__in=waves) | demo_points | demo_products))
        delete(
            "order lines",
            OrderLine.objects.filter(
                Q(order__wave_id__in=waves)
                | Q(order__pickup_point__code__startswith=CODE_PREFIX)
                | Q(deal__product__sku__startswith=CODE_PREFIX)
            ),
        )
        delete("leader orders", LeaderOrder.objects.filter(Q(wave_id__in=waves) | demo_points))
        delete("deals", Deal.objects.filter(Q(wave_id__in=waves) | demo_products))
        delete("waves", SalesWave.objects.filter(pk__in=waves))
        delete("leaders", GroupLeader.objects.filter(user__username__startswith=USER_PREFIX))
        delete("users", get_user_model().objects.filter(username__startswith=USER_PREFIX))
        delete("pickup points", PickupPoint.objects.filter(code__startswith=CODE_PREFIX))
        delete("depots", Depot.objects.filter(code__startswith=CODE_PREFIX))
        delete("warehouses", Warehouse.objects.filter(code__startswith=CODE_PREFIX))
        delete("products", Product.objects.filter(sku__startswith=CODE_PREFIX))
    # Residents stay: they are people keyed by phone, and a rerun finds the same ones again.
    return counts


# --- master data -----------------------------------------------------------------------------------


def _person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}{rng.choice(['', rng.choice(GIVEN).lower()])}"


def seed_city(rng: random.Random, options: DemoOptions) -> DemoCity:
    """Warehouse, depots, pickup points, products, leaders, an operator and residents."""
    ensure_role_groups()
    code, name, lat, lng, address = WAREHOUSE
    warehouse = Warehouse.objects.create(code=code, name=name, latitude=lat, longitude=lng, address=address)
    depots = [
        Depot.objects.create(code=c, name=n, latitude=la, longitude=lo, address=a, warehouse=warehouse)
        for c, n, la, lo, a in DEPOTS
    ]

    points = []
    for i in range(1, options.pickup_points + 1):
        lat = round(rng.uniform(30.20, 30.33), 5)
        lng = round(rng.uniform(120.07, 120.25), 5)
        depot = min(depots, key=lambda d: (d.latitude - lat) ** 2 + (d.longitude - lng) ** 2)
        street = rng.choice(STREETS)
        opens = clock(rng.choice([7, 7, 8, 8, 9]), rng.choice([0, 30]))
        closes = clock(rng.choice([19, 20, 20, 21, 22]), 0)
        points.append(
            PickupPoint(
                code=f"{CODE_PREFIX}P{i:03d}",
                name=f"{street} {rng.choice(SHOPS)}",
                address=f"{rng.randint(1, 399)} {street}, Hangzhou",
                latitude=lat,
                longitude=lng,
                depot=depot,
                opens_at=opens,
                closes_at=closes,
            )
        )
    PickupPoint.objects.bulk_create(points)
    points = list(PickupPoint.objects.filter(code__startswith=CODE_PREFIX).select_related("depot").order_by("code"))

    products = [
        Product(
            sku=f"{CODE_PREFIX}{category[:3].upper()}-{i:03d}",
            name=pname,
            category=category,
            unit=unit,
            weight_g=weight,
            volume_ml=volume,
            storage_temperature=StorageTemperature(storage),
            shelf_life_days=shelf,
        )
        for i, (category, pname, unit, weight, volume, storage, shelf, _) in enumerate(PRODUCTS[: options.products], 1)
    ]
    Product.objects.bulk_create(products)
    products = list(Product.objects.filter(sku__startswith=CODE_PREFIX).order_by("sku"))

    User = get_user_model()
    operator = User.objects.create_user(username=f"{USER_PREFIX}operator", first_name="Demo", last_name="Operator")
    grant_role(operator, Role.OPERATOR)

    # Most leaders run one pickup point; a few "core" leaders run two.
    shuffled = points[:]
    rng.shuffle(shuffled)
    groups: list[list[PickupPoint]] = []
    doubles = min(options.leaders_with_two_points, len(shuffled) // 2)
    for _ in range(doubles):
        groups.append([shuffled.pop(), shuffled.pop()])
    groups.extend([p] for p in shuffled)
    groups.sort(key=lambda g: g[0].code)
    leaders = []
    for n, group in enumerate(groups, 1):
        first, last = _person(rng).split(" ", 1)
        user = User.objects.create_user(username=f"{USER_PREFIX}leader-{n:02d}", first_name=last, last_name=first)
        services.appoint_leader(
            user=user, pickup_point_ids=[p.pk for p in group], tier="core" if len(group) > 1 else "ordinary"
        )
        leaders.append((user, group))

    city = DemoCity(warehouse, depots, points, products, leaders, operator)
    low, high = options.residents_per_point
    for index, point in enumerate(points, 1):
        # Phones in the 170 range (virtual operators), unique by construction: 170 + point + resident.
        city.residents[point.pk] = [
            services.ResidentInput(name=_person(rng), phone=f"170{index:04d}{r:04d}", consent=rng.random() < 0.8)
            for r in range(1, rng.randint(low, high) + 1)
        ]
    return city


# --- the wave ----------------------------------------------------------------------------------------


def free_delivery_date(start: date) -> date:
    day = start
    while SalesWave.objects.filter(delivery_date=day).exists():
        day += timedelta(days=1)
    return day


def open_wave(rng: random.Random, city: DemoCity, options: DemoOptions) -> tuple[SalesWave, list[Deal]]:
    """An open wave for tomorrow (or the next free day) with a deal for every product, some limited."""
    delivery_date = free_delivery_date(options.delivery_date or timezone.localdate() + timedelta(days=1))
    cutoff = services.default_cutoff(delivery_date)
    now = timezone.localtime()
    if cutoff <= now + timedelta(minutes=10):
        # Run after the day's cutoff: keep the wave open for an hour so the orders can still come in.
        cutoff = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    wave = services.create_wave(delivery_date=delivery_date, cutoff_at=cutoff)
    limited = set(rng.sample(range(len(city.products)), min(options.limited_deals, len(city.products))))
    list_prices = {f"{CODE_PREFIX}{c[:3].upper()}-{i:03d}": Decimal(p) for i, (c, *_, p) in enumerate(PRODUCTS, 1)}
    deals = []
    for index, product in enumerate(city.products):
        discount = Decimal(str(rng.choice([0.7, 0.8, 0.85, 0.9, 0.95, 1.0])))
        price = max((list_prices[product.sku] * discount).quantize(CENTS, ROUND_HALF_UP), CENTS)
        if index in limited:  # flash deals: deep discount, few units, a cap per resident
            deals.append(
                services.create_deal(
                    wave_id=wave.pk,
                    product_id=product.pk,
                    price=(price * Decimal("0.6")).quantize(CENTS, ROUND_HALF_UP),
                    quantity_limit=rng.randint(20, 50),
                    per_resident_limit=rng.choice([1, 2, 3]),
                    is_promotion=True,
                )
            )
        else:
            deals.append(services.create_deal(wave_id=wave.pk, product_id=product.pk, price=price))
    return wave, deals


# --- the orders ----------------------------------------------------------------------------------------


def _basket(rng, residents, deals, weights, remaining) -> list[services.LineInput]:
    """Each resident picks 1–4 deals (popular products more often) and a small quantity of each."""
    lines = []
    for resident in residents:
        # Sold-out flash deals are no longer offered, so residents pick something else.
        offered = [0 if remaining.get(d.pk, 1) <= 0 else w for d, w in zip(deals, weights)]
        chosen = set()
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
            chosen.add(rng.choices(range(len(deals)), weights=offered)[0])
        for index in sorted(chosen):
            deal = deals[index]
            quantity = rng.choice([1, 1, 1, 2, 2, 3])
            if deal.per_resident_limit is not None:
                quantity = min(quantity, deal.per_resident_limit)
            if deal.quantity_limit is not None:
                quantity = min(quantity, remaining[deal.pk])
                if quantity <= 0:
                    continue
                remaining[deal.pk] -= quantity
            lines.append(services.LineInput(resident=resident, deal_id=deal.pk, quantity=quantity))
    return lines


def place_orders(rng: random.Random, city: DemoCity, wave: SalesWave, deals: list[Deal], options: DemoOptions) -> dict:
    """Every leader submits one consolidated order per point; some resubmit, cancel lines or a whole order."""
    weights = [1.0 / (rank + 1) ** 0.7 for rank in range(len(deals))]
    rng.shuffle(weights)
    # Flash deals are cheap, so they are popular: most of them sell out.
    weights = [w * (3 if d.quantity_limit is not None else 1) for w, d in zip(weights, deals)]
    remaining = {d.pk: d.quantity_limit for d in deals if d.quantity_limit is not None}
    stats = defaultdict(int)
    orders = []
    for user, points in city.leaders:
        for point in points:
            lines = _basket(rng, city.residents[point.pk], deals, weights, remaining)
            if not lines:
                continue
            order = services.submit_leader_order(user=user, wave_id=wave.pk, pickup_point_id=point.pk, lines=lines)
            stats["submissions"] += 1
            if rng.random() < options.resubmit_share:
                # The leader collects a late order from one more resident and resubmits the whole list.
                phone = f"171{point.code[-3:]}0{rng.randint(0, 9999):04d}"
                extra = services.LineInput(
                    resident=services.ResidentInput(name=_person(rng), phone=phone),
                    deal_id=rng.choice([d for d in deals if d.quantity_limit is None]).pk,
                    quantity=1,
                )
                order = services.submit_leader_order(
                    user=user, wave_id=wave.pk, pickup_point_id=point.pk, lines=lines + [extra]
                )
                stats["resubmissions"] += 1
            orders.append((user, order))

    for user, order in orders:
        for line_id in order.lines.filter(status=LineStatus.ACTIVE).values_list("pk", flat=True):
            if rng.random() < options.cancel_line_share:
                services.cancel_order_line(user=user, order_id=order.pk, line_id=line_id)
                stats["lines_cancelled"] += 1
    for user, order in rng.sample(orders, min(options.orders_cancelled, len(orders))):
        services.cancel_leader_order(user=user, order_id=order.pk)
        stats["orders_cancelled"] += 1
    return dict(stats)


def close(wave: SalesWave, timeout: float = 120) -> dict:
    """Close the wave the way beat does: through the Celery task (inline in eager mode)."""
    return close_wave_task.delay(wave.pk).get(timeout=timeout)


def late_order_is_refused(city: DemoCity, wave: SalesWave, deals: list[Deal]) -> bool:
    user, points = city.leaders[0]
    late = services.LineInput(resident=city.residents[points[0].pk][0], deal_id=deals[0].pk, quantity=1)
    try:
        services.submit_leader_order(user=user, wave_id=wave.pk, pickup_point_id=points[0].pk, lines=[late])
    except Conflict:
        return True
    return False


# --- the summary ----------------------------------------------------------------------------------------


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENTS)


def summarize(city: DemoCity, wave: SalesWave, deals: list[Deal], order_stats: dict, closing: dict) -> dict:
    wave.refresh_from_db()
    lines = OrderLine.objects.filter(order__wave=wave)
    active = lines.filter(status=LineStatus.ACTIVE)
    gmv = sum((q * p for q, p in active.values_list("quantity", "unit_price")), Decimal("0.00"))
    demand = DemandLine.objects.filter(wave=wave)
    demand_totals = demand.aggregate(units=Sum("quantity"), amount=Sum("amount"))
    if _money(demand_totals["amount"]) != _money(gmv):
        raise AssertionError(f"demand amount {demand_totals['amount']} differs from the GMV of the orders {gmv}")
    deals_now = Deal.objects.filter(wave=wave)
    top = (
        demand.values("product__sku", "product__name", "product__category")
        .annotate(units=Sum("quantity"), amount=Sum("amount"))
        .order_by("-units", "product__sku")[:5]
    )
    by_depot = (
        demand.values("pickup_point__depot__code", "pickup_point__depot__name")
        .annotate(units=Sum("quantity"), amount=Sum("amount"))
        .order_by("pickup_point__depot__code")
    )
    return {
        "seed": None,  # filled in by run_demo
        "delivery_date": wave.delivery_date.isoformat(),
        "wave": {
            "id": wave.pk,
            "status": wave.status,
            "cutoff_at": timezone.localtime(wave.cutoff_at).isoformat(),
            "late_order_refused": None,
        },
        "network": {
            "warehouses": 1,
            "depots": len(city.depots),
            "pickup_points": len(city.points),
            "products": len(city.products),
            "leaders": len(city.leaders),
            "residents": sum(len(r) for r in city.residents.values()),
        },
        "deals": {
            "total": len(deals),
            "limited": deals_now.filter(quantity_limit__isnull=False).count(),
            "promotions": deals_now.filter(is_promotion=True).count(),
            "sold_out": sum(d.quantity_limit is not None and d.sold_quantity >= d.quantity_limit for d in deals_now),
        },
        "orders": {
            "leader_orders": LeaderOrder.objects.filter(wave=wave).count(),
            "with_active_lines": (
                LeaderOrder.objects.filter(wave=wave, lines__status=LineStatus.ACTIVE).distinct().count()
            ),
            **order_stats,
        },
        "lines": {
            "active": active.count(),
            "cancelled": lines.filter(status=LineStatus.CANCELLED).count(),
            "units": active.aggregate(units=Sum("quantity"))["units"] or 0,
        },
        "gmv": _money(gmv),
        "demand": {
            "lines": demand.count(),
            "units": demand_totals["units"] or 0,
            "amount": _money(demand_totals["amount"]),
            "close_task": closing,
        },
        "by_depot": [
            {
                "depot": row["pickup_point__depot__code"],
                "name": row["pickup_point__depot__name"],
                "units": row["units"],
                "amount": _money(row["amount"]),
            }
            for row in by_depot
        ],
        "top_products": [
            {
                "sku": row["product__sku"],
                "name": row["product__name"],
                "category": row["product__category"],
                "units": row["units"],
                "amount": _money(row["amount"]),
            }
            for row in top
        ],
    }


# --- the whole run --------------------------------------------------------------------------------------


def run_demo(options: DemoOptions | None = None) -> dict:
    """Flush the previous demo, seed the city, run the day so far; returns the summary (Decimals kept)."""
    options = options or DemoOptions()
    rng = random.Random(options.seed)
    timings = {}
    started = step = time.perf_counter()

    def lap(name):
        nonlocal step
        now = time.perf_counter()
        timings[name] = round(now - step, 3)
        step = now

    flush_demo_data()
    lap("flush")
    with transaction.atomic():
        city = seed_city(rng, options)
        wave, deals = open_wave(rng, city, options)
    lap("seed")
    order_stats = place_orders(rng, city, wave, deals, options)
    lap("orders")
    closing = close(wave)
    lap("close_wave")
    summary = summarize(city, wave, deals, order_stats, closing)
    summary["seed"] = options.seed
    summary["wave"]["late_order_refused"] = late_order_is_refused(city, wave, deals)
    lap("summary")
    timings["total"] = round(time.perf_counter() - started, 3)
    summary["timings_s"] = timings
    assert summary["wave"]["status"] == WaveStatus.CLOSED
    return summary
