"""The order side of the simulated city (simulation/): master data around Hangzhou, the daily
wave with its deals and promotions, residents' orders through their leaders, and cheap demand history.

Everything created is marked (codes and SKUs start with ``DEMO-``, usernames with ``demo-``) so that
a rerun first removes what the previous run left and starts again; nothing else is touched. Orders
go through the services, as the leaders' clients would send them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from catalog.models import Depot, PickupPoint, Product, StorageTemperature, Warehouse
from core.bulk import copy_rows, refresh_statistics
from core.models import Role
from core.services import ensure_role_groups, grant_role

from . import services
from .models import Deal, DemandLine, GroupLeader, LeaderOrder, OrderLine, SalesWave, WaveStatus

CODE_PREFIX = "DEMO-"
USER_PREFIX = "demo-"
CENTS = Decimal("0.01")

# Hangzhou: the central warehouse in Yuhang; grid depots at real district centres, pickup points around them.
WAREHOUSE = ("DEMO-WH1", "Yuhang central warehouse", 30.4190, 120.3010, "Yuhang Economic Development Zone")
DISTRICTS = [
    ("XH", "Xihu", 30.2741, 120.1200, "Xixi Rd"),
    ("SC", "Shangcheng", 30.2500, 120.1700, "Qiutao North Rd"),
    ("GS", "Gongshu", 30.3190, 120.1420, "Moganshan Rd"),
    ("BJ", "Binjiang", 30.2084, 120.2110, "Jiangnan Ave"),
    ("XS", "Xiaoshan", 30.1850, 120.2640, "Shixin Rd"),
    ("YH", "Yuhang", 30.2870, 120.0100, "Wenyi West Rd"),
    ("LP", "Linping", 30.4210, 120.2990, "Linping Ave"),
    ("QT", "Qiantang", 30.3050, 120.3600, "Xiasha Rd"),
    ("FY", "Fuyang", 30.0490, 119.9600, "Fuchun Rd"),
    ("LA", "Lin'an", 30.2330, 119.7250, "Qianwang St"),
]
POINT_SPREAD_DEG = 0.022  # about 2.4 km: pickup points are the shops of a district's residential compounds
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


# The city in Chinese (the default; `simulate --locale en` keeps the English names above). Same places,
# same products in the same order as PRODUCTS, so both cities differ only in what people read.
WAREHOUSE_ZH = ("余杭中心仓", "余杭经济开发区")
DISTRICTS_ZH = {
    "XH": ("西湖", "西溪路"), "SC": ("上城", "秋涛北路"), "GS": ("拱墅", "莫干山路"), "BJ": ("滨江", "江南大道"),
    "XS": ("萧山", "市心路"), "YH": ("余杭", "文一西路"), "LP": ("临平", "临平大道"), "QT": ("钱塘", "下沙路"),
    "FY": ("富阳", "富春路"), "LA": ("临安", "钱王街"),
}
STREETS_ZH = [
    "文三路", "文二路", "莫干山路", "天目山路", "庆春路", "解放路", "延安路", "凤起路", "湖墅南路", "凯旋路",
    "秋涛路", "建国路", "中山路", "体育场路", "古墩路", "学院路", "教工路", "石祥路", "登云路", "新塘路",
]
# A pickup point is a shop in or at the gate of a residential compound (小区): 翠苑一区3幢, 金色家园南门便利店.
COMPOUNDS_ZH = [
    "翠苑一区", "翠苑二区", "金色家园", "文新小区", "嘉绿苑", "古荡新村", "濮家新村", "三墩北苑", "丰潭苑", "蒋村花园",
    "紫金港花园", "城西银泰城", "和睦新村", "大关西苑", "米市巷小区", "采荷人家", "景芳三区", "江南春城", "东方郡", "西溪诚园",
    "闲林山水", "良渚文化村", "九堡家苑", "下沙阳光城", "富春山居", "锦城花园",
]
PHASES_ZH = ["", "", "二期", "三期"]  # most points are in a compound's first (unnamed) phase
GATES_ZH = ["南门", "北门", "东门", "西门", ""]
SHOPS_ZH = ["便利店", "水果店", "生鲜店", "社区超市", "烟酒店", "菜鸟驿站", "洗衣店", "药店"]
SURNAMES_ZH = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "沈", "陆", "朱", "胡"]
GIVEN_ZH = ["芳", "敏", "静", "伟", "磊", "艳", "军", "慧", "平", "强", "霞", "红", "波", "丽", "娜", "建国", "秀英",
            "志强", "海燕", "晓东", "美玲", "国庆"]
# Per PRODUCTS row: the name with its spec, as group-buy apps list them, and the unit it is sold by.
PRODUCTS_ZH = [
    ("砂糖橘 2.5kg/袋", "袋"), ("红富士苹果 2kg/袋", "袋"), ("香蕉 1.5kg/把", "把"), ("仙居杨梅 1kg/盒", "盒"),
    ("红颜草莓 500g/盒", "盒"), ("猕猴桃 12个/盒", "盒"), ("上海青 500g/袋", "袋"), ("番茄 1kg/袋", "袋"),
    ("土豆 2kg/袋", "袋"), ("春笋 1kg/袋", "袋"), ("黄瓜 1kg/袋", "袋"), ("香菇 300g/盒", "盒"),
    ("五花肉 500g/盒", "盒"), ("鸡腿 1kg/盒", "盒"), ("牛腩 500g/袋", "袋"), ("河虾 500g/袋", "袋"),
    ("大黄鱼 2条/袋", "袋"), ("鲜牛奶 950ml/瓶", "瓶"), ("原味酸奶 4杯/组", "组"), ("土鸡蛋 30枚/盒", "盒"),
    ("猪肉水饺 1kg/袋", "袋"), ("黑芝麻汤圆 500g/袋", "袋"), ("东北大米 5kg/袋", "袋"), ("花生油 5L/桶", "桶"),
    ("挂面 1kg/袋", "袋"), ("生抽酱油 500ml/瓶", "瓶"), ("西湖龙井 100g/罐", "罐"), ("香瓜子 500g/袋", "袋"),
    ("抽纸 3层×120抽×10包/提", "提"), ("洗衣液 3kg/瓶", "瓶"),
]
# Categories as Chinese buyers name them; the English city keeps the codes.
CATEGORIES_ZH = {
    "fruit": "水果", "vegetables": "蔬菜", "meat": "肉禽蛋", "seafood": "水产", "dairy": "乳品", "frozen": "冷冻食品",
    "staples": "粮油", "snacks": "休闲食品", "household": "日用",
}
LOCALES = ("zh", "en")


def category_name(code: str, locale: str) -> str:
    return CATEGORIES_ZH[code] if locale == "zh" else code

# Demand: Friday to Sunday are the busy days; a promoted deal is cheaper and sells about twice as much.
WEEKDAY_FACTOR = (0.9, 0.85, 0.9, 0.95, 1.1, 1.25, 1.05)  # Monday first
PROMOTION_SHARE = 0.1
PROMOTION_DISCOUNT = Decimal("0.7")
PROMOTION_UPLIFT = 2.0
QUANTITIES = np.array([1, 1, 1, 2, 2, 3])
LINES_PER_RESIDENT = 2.5  # a household orders a few things at once
LEADERS_WITH_TWO_POINTS = 0.08
CANCELLED_LINE_SHARE = 0.01


@dataclass(frozen=True)
class CityShape:
    pickup_points: int
    depots: int
    products: int
    lines_per_day: int


@dataclass
class City:
    warehouse: Warehouse
    depots: list[Depot]
    points: list[PickupPoint]
    products: list[Product]
    list_prices: np.ndarray  # per product, yuan
    popularity: np.ndarray  # per product, sums to 1
    point_lines: np.ndarray  # mean order lines a day per point, before the weekday
    leader_of: dict[int, object]  # pickup point id -> the leader's user
    operator: object
    residents: dict[int, list[services.ResidentInput]] = field(default_factory=dict)  # by pickup point id


@dataclass(frozen=True)
class DayOffer:
    wave: SalesWave
    deals: list[Deal]  # one per product, in the city's product order
    promoted: np.ndarray  # bool per product


# --- clean slate ---------------------------------------------------------------------------------


def flush_demo_data() -> dict[str, int]:
    """Delete everything of an earlier city on the order side, children first; returns counts per model."""
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


def _person_parts(rng: random.Random, locale: str) -> tuple[str, str]:
    """(surname, given name)."""
    if locale == "zh":
        return rng.choice(SURNAMES_ZH), rng.choice(GIVEN_ZH)
    return rng.choice(SURNAMES), f"{rng.choice(GIVEN)}{rng.choice(['', rng.choice(GIVEN).lower()])}"


def _person(rng: random.Random, locale: str) -> str:
    """王芳 (surname first, no space) or 'Wang Fangli'."""
    surname, given = _person_parts(rng, locale)
    return f"{surname}{given}" if locale == "zh" else f"{surname} {given}"


def _products(shape: CityShape, locale: str) -> list[Product]:
    """The catalogue's products; a bigger city sells more variants of them (brands, sizes)."""
    products = []
    for i in range(shape.products):
        category, name, unit, weight, volume, storage, shelf, _ = PRODUCTS[i % len(PRODUCTS)]
        variant = i // len(PRODUCTS)
        if locale == "zh":
            name, unit = PRODUCTS_ZH[i % len(PRODUCTS)]
            name = name + (f"（品牌{variant + 1}）" if variant else "")
        else:
            name = name + (f" (brand {variant + 1})" if variant else "")
        products.append(Product(
            sku=f"{CODE_PREFIX}{category[:3].upper()}-{i + 1:04d}", name=name,
            category=category_name(category, locale), unit=unit, weight_g=weight, volume_ml=volume,
            storage_temperature=StorageTemperature(storage), shelf_life_days=shelf,
        ))
    return products


def _point_name_zh(rng: random.Random, taken: set[str]) -> str:
    """A compound's building (翠苑一区3幢) or a shop at its gate (金色家园南门便利店), unique in the city.

    Large compounds are built in phases (二期), which gives a 3,000-point city room: 26 compounds × 4
    phases × (40 buildings + 40 gate shops) = 8,320 names. Past a few collisions the name takes the
    next free building number of its compound, so the loop always ends.
    """
    for _attempt in range(20):
        compound = rng.choice(COMPOUNDS_ZH) + rng.choice(PHASES_ZH)
        if rng.random() < 0.5:
            name = f"{compound}{rng.randint(1, 40)}幢"
        else:
            name = f"{compound}{rng.choice(GATES_ZH)}{rng.choice(SHOPS_ZH)}"
        if name not in taken:
            taken.add(name)
            return name
    building = 41
    while f"{compound}{building}幢" in taken:
        building += 1
    taken.add(f"{compound}{building}幢")
    return f"{compound}{building}幢"


def _points(rng: random.Random, depots: list[Depot], count: int, locale: str, districts: dict) -> list[PickupPoint]:
    """Pickup points scattered around the depots' district centres, each served by its district's depot."""
    points = []
    taken: set[str] = set()
    for i in range(1, count + 1):
        depot = depots[(i - 1) % len(depots)]
        if locale == "zh":
            street = rng.choice(STREETS_ZH)
            name = _point_name_zh(rng, taken)
            address = f"杭州市{districts[depot.pk]}区{street}{rng.randint(1, 399)}号"
        else:
            street = rng.choice(STREETS)
            name = f"{street} {rng.choice(SHOPS)}"
            address = f"{rng.randint(1, 399)} {street}, {depot.name.split()[0]}, Hangzhou"
        points.append(PickupPoint(
            code=f"{CODE_PREFIX}P{i:04d}", name=name,
            address=address,
            latitude=round(rng.gauss(depot.latitude, POINT_SPREAD_DEG), 5),
            longitude=round(rng.gauss(depot.longitude, POINT_SPREAD_DEG * 1.15), 5),
            depot=depot, opens_at=clock(rng.choice([7, 7, 8, 8, 9]), rng.choice([0, 30])),
            closes_at=clock(rng.choice([19, 20, 20, 21, 22]), 0),
        ))
    return points


def _appoint_leaders(rng: random.Random, points: list[PickupPoint], locale: str) -> dict[int, object]:
    """Most leaders run one pickup point; a few "core" leaders run two."""
    shuffled = points[:]
    rng.shuffle(shuffled)
    groups = [[shuffled.pop(), shuffled.pop()] for _ in range(int(len(points) * LEADERS_WITH_TWO_POINTS) // 2)]
    groups.extend([p] for p in shuffled)
    groups.sort(key=lambda g: g[0].code)
    users = get_user_model()
    leader_of = {}
    for n, group in enumerate(groups, 1):
        surname, given = _person_parts(rng, locale)
        user = users.objects.create_user(username=f"{USER_PREFIX}leader-{n:04d}", first_name=given, last_name=surname)
        services.appoint_leader(
            user=user, pickup_point_ids=[p.pk for p in group], tier="core" if len(group) > 1 else "ordinary",
            phone=f"139{n:08d}",
        )
        leader_of.update((p.pk, user) for p in group)
    return leader_of


def seed_city(rng: random.Random, np_rng: np.random.Generator, shape: CityShape, locale: str = "zh") -> City:
    """Warehouse, depots, pickup points, products, leaders, an operator and residents, in one transaction.

    `locale` "zh" (the default) names everything in Chinese, "en" in English.
    """
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {LOCALES}")
    ensure_role_groups()
    with transaction.atomic():
        code, name, lat, lng, address = WAREHOUSE
        if locale == "zh":
            name, address = WAREHOUSE_ZH
        warehouse = Warehouse.objects.create(code=code, name=name, latitude=lat, longitude=lng, address=address)
        depots, district_of = [], {}
        for c, district, la, lo, street in DISTRICTS[: shape.depots]:
            if locale == "zh":
                district, street = DISTRICTS_ZH[c]
            depot = Depot.objects.create(
                code=f"{CODE_PREFIX}DP-{c}", latitude=la, longitude=lo, warehouse=warehouse,
                name=f"{district}网格仓" if locale == "zh" else f"{district} grid depot",
                address=f"杭州市{district}区{street}" if locale == "zh" else f"{street}, {district} District",
            )
            depots.append(depot)
            district_of[depot.pk] = district
        PickupPoint.objects.bulk_create(_points(rng, depots, shape.pickup_points, locale, district_of))
        points = list(PickupPoint.objects.filter(code__startswith=CODE_PREFIX).select_related("depot").order_by("code"))
        Product.objects.bulk_create(_products(shape, locale))
        products = list(Product.objects.filter(sku__startswith=CODE_PREFIX).order_by("sku"))
        operator = get_user_model().objects.create_user(
            username=f"{USER_PREFIX}operator", first_name="运营" if locale == "zh" else "Demo",
            last_name="演示" if locale == "zh" else "Operator",
        )
        grant_role(operator, Role.OPERATOR)
        leader_of = _appoint_leaders(rng, points, locale)

    # The SKUs number the catalogue in PRODUCTS order, so a product's list price is its row's.
    list_prices = np.array([float(PRODUCTS[(int(p.sku.rsplit("-", 1)[1]) - 1) % len(PRODUCTS)][-1]) for p in products])
    list_prices *= np_rng.uniform(0.85, 1.15, len(products))  # brands differ in price
    popularity = 1.0 / np.arange(1, len(products) + 1) ** 0.8
    np_rng.shuffle(popularity)
    size = np_rng.lognormal(0.0, 0.45, len(points))
    city = City(
        warehouse, depots, points, products, np.round(list_prices, 1), popularity / popularity.sum(),
        shape.lines_per_day / len(points) * size / size.mean(), leader_of, operator,
    )
    for index, (point, lines) in enumerate(zip(points, city.point_lines), 1):
        # Phones in the 170 range (virtual operators), unique by construction: 170 + point + resident.
        city.residents[point.pk] = [
            services.ResidentInput(name=_person(rng, locale), phone=f"170{index:04d}{r:04d}", consent=rng.random() < 0.8)
            for r in range(1, max(4, round(lines / LINES_PER_RESIDENT)) + 1)
        ]
    return city


# --- waves, deals and demand ---------------------------------------------------------------------------


def deal_prices(city: City, promoted: np.ndarray) -> list[Decimal]:
    prices = []
    for price, promo in zip(city.list_prices, promoted):
        amount = Decimal(str(price)) * (PROMOTION_DISCOUNT if promo else 1)
        prices.append(max(amount.quantize(CENTS, ROUND_HALF_UP), CENTS))
    return prices


def draw_promotions(np_rng: np.random.Generator, city: City) -> np.ndarray:
    return np_rng.random(len(city.products)) < PROMOTION_SHARE


def expected_lines(city: City, day: date, promoted: np.ndarray) -> np.ndarray:
    """Mean order lines per (pickup point, product) on the day: the point's size, the weekday, the promotions.

    A promotion lifts its own product only (no cannibalisation of the others), so a day with many
    promotions sells more; on average they add PROMOTION_SHARE × (PROMOTION_UPLIFT − 1) to the day.
    """
    share = city.popularity * np.where(promoted, PROMOTION_UPLIFT, 1.0)
    return np.outer(city.point_lines * WEEKDAY_FACTOR[day.weekday()], share)


def open_wave(np_rng: np.random.Generator, city: City, delivery_date: date) -> DayOffer:
    """The day's wave with a deal for every product; about one in ten is promoted at a discount."""
    wave = services.create_wave(delivery_date=delivery_date)
    promoted = draw_promotions(np_rng, city)
    deals = [
        services.create_deal(wave_id=wave.pk, product_id=product.pk, price=price, is_promotion=bool(promo))
        for product, price, promo in zip(city.products, deal_prices(city, promoted), promoted)
    ]
    return DayOffer(wave, deals, promoted)


def seed_history(np_rng: np.random.Generator, city: City, first_day: date, days: int) -> int:
    """Closed waves with their deals and aggregated demand for the days before the simulation, written in
    bulk (no orders behind them): what the forecaster learns from. Returns the demand lines written."""
    written = 0
    for offset in range(days, 0, -1):
        day = first_day - timedelta(days=offset)
        cutoff = services.default_cutoff(day)
        wave = SalesWave.objects.create(delivery_date=day, cutoff_at=cutoff, status=WaveStatus.CLOSED, closed_at=cutoff)
        promoted = draw_promotions(np_rng, city)
        prices = deal_prices(city, promoted)
        Deal.objects.bulk_create(
            Deal(wave=wave, product=product, price=price, is_promotion=bool(promo))
            for product, price, promo in zip(city.products, prices, promoted)
        )
        lines = np_rng.poisson(expected_lines(city, day, promoted))
        quantity = lines + np_rng.poisson(lines * (QUANTITIES.mean() - 1))
        rows, cols = np.nonzero(lines)
        written += copy_rows(
            DemandLine,
            ["wave_id", "delivery_date", "pickup_point_id", "product_id", "quantity", "order_count", "line_count", "amount"],
            (
                (wave.pk, day, city.points[r].pk, city.products[c].pk, int(quantity[r, c]), 1, int(lines[r, c]),
                 prices[c] * int(quantity[r, c]))
                for r, c in zip(rows.tolist(), cols.tolist())
            ),
        )
    refresh_statistics(DemandLine, Deal, SalesWave)  # a large city's history is millions of rows
    return written


def place_orders(rng: random.Random, np_rng: np.random.Generator, city: City, offer: DayOffer) -> dict:
    """Every leader submits one consolidated order per point (the residents' lines); a few lines are cancelled."""
    mean = expected_lines(city, offer.wave.delivery_date, offer.promoted)
    submitted = lines_total = cancelled = 0
    orders = []
    for row, point in enumerate(city.points):
        residents = city.residents[point.pk]
        count = int(np_rng.poisson(mean[row].sum()))
        if count == 0:
            continue
        basket: dict[tuple[int, int], int] = {}
        products = np_rng.choice(len(city.products), count, p=mean[row] / mean[row].sum())
        for resident, product, quantity in zip(
            np_rng.integers(0, len(residents), count).tolist(), products.tolist(), np_rng.choice(QUANTITIES, count).tolist()
        ):
            basket[(resident, product)] = basket.get((resident, product), 0) + quantity
        lines = [
            services.LineInput(resident=residents[r], deal_id=offer.deals[p].pk, quantity=q) for (r, p), q in basket.items()
        ]
        user = city.leader_of[point.pk]
        order = services.submit_leader_order(user=user, wave_id=offer.wave.pk, pickup_point_id=point.pk, lines=lines)
        submitted += 1
        lines_total += len(lines)
        orders.append((user, order))
    for user, order in orders:
        # Residents who changed their minds before the cutoff; the leader takes their lines off together.
        changed_minds = [line.pk for line in order.current_lines if rng.random() < CANCELLED_LINE_SHARE]
        if changed_minds:
            services.cancel_order_lines(user=user, order_id=order.pk, line_ids=changed_minds)
            cancelled += len(changed_minds)
    return {"leader_orders": submitted, "lines_submitted": lines_total, "lines_cancelled": cancelled}


def first_free_day(start: date, days: int) -> date:
    """The first day from `start` on such that it and the following days have no sales wave yet."""
    day = start
    while True:
        taken = set(SalesWave.objects.filter(delivery_date__gte=day, delivery_date__lt=day + timedelta(days=days))
                    .values_list("delivery_date", flat=True))
        if not taken:
            return day
        day = max(taken) + timedelta(days=1)
