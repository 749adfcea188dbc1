"""The simulated city: its sizes, and everything it needs besides the order side (grouporders/demo.py):
suppliers with their terms, vans with drivers, staff, the demand history; and removing an earlier city.
"""
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from core.models import Role
from core.services import grant_role
from grouporders.demo import (
    CODE_PREFIX,
    PROMOTION_SHARE,
    PROMOTION_UPLIFT,
    QUANTITIES,
    USER_PREFIX,
    WEEKDAY_FACTOR,
    City,
    CityShape,
    category_name,
    flush_demo_data,
    seed_city,
    seed_history,
)
from grouporders.models import SalesWave
from pickup.models import Claim, Collection, CommissionEntry, PickupCode, PickupLine, Receipt, Refund
from pipeline.models import Notice, PipelineRun
from procurement import services as procurement_services
from procurement.models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderTransition,
    PurchaseSuggestion,
    Supplier,
    SupplierProduct,
)
from routing.models import Driver, RoutePlan, Vehicle, VehicleOutage
from warehouse.demo import flush_warehouse_demo

from .scenario import BASE, Fleet, Scenario
from .streams import array_stream, stream

CITIES = {
    "tiny": CityShape(pickup_points=12, depots=2, products=30, lines_per_day=500),
    "small": CityShape(pickup_points=100, depots=2, products=30, lines_per_day=20_000),
    "medium": CityShape(pickup_points=600, depots=4, products=120, lines_per_day=150_000),
    "large": CityShape(pickup_points=3_000, depots=10, products=300, lines_per_day=1_000_000),
}
# Sizing the fleet by time (the route search decides the real routes): a stop takes the routing
# service time (ROUTING_SERVICE_FIXED_SECONDS plus ROUTING_SERVICE_PER_CRATE_SECONDS a crate) and
# about 6 minutes' drive to the next point (~2.5 km at 25 km/h in town); a van loses half an hour
# of its shift driving out to its first point and back, and is planned 85 % busy. See the README.
DRIVE_BETWEEN_POINTS_S = 360
OUT_AND_BACK_S = 1800
SHIFT_USE = 0.85
VAN_FILL = 0.8  # plan for vans 80 % full: the solver needs slack to fit whole points
BUSIEST_DAY = max(WEEKDAY_FACTOR) * (1 + PROMOTION_SHARE * (PROMOTION_UPLIFT - 1))  # Saturday, with the promotions
ZONES = 3  # ambient, chilled, frozen goods travel in separate crates: each zone's last crate is part full

# (code, name, Chinese name, categories it supplies first)
SUPPLIERS = [
    ("DEMO-SUP-FRUIT", "Xiaoshan fruit cooperative", "萧山水果专业合作社", {"fruit"}),
    ("DEMO-SUP-VEG", "Yuhang vegetable base", "余杭蔬菜基地", {"vegetables"}),
    ("DEMO-SUP-MEAT", "Jinhua meat plant", "金华肉联厂", {"meat", "seafood", "frozen"}),
    ("DEMO-SUP-DAIRY", "Zhejiang dairy", "浙江乳业", {"dairy"}),
    ("DEMO-SUP-DRY", "Hangzhou dry goods wholesale", "杭州干货批发市场", {"staples", "snacks", "household"}),
]
FALLBACK_SUPPLIER = ("DEMO-SUP-MARKET", "Hangzhou wholesale market", "勾庄农产品批发市场")


@dataclass
class SimCity:
    city: City
    buyer: object  # the procurement staff member who accepts suggestions and books receipts
    warehouse_clerk: object
    history_lines: int
    scenario: Scenario = field(default_factory=Scenario)  # residents' behaviour: no-shows, claims


def flush_city() -> None:
    """Remove an earlier simulated city, children first: the later apps' rows refer to the earlier ones'."""
    demo_points = Q(pickup_point__code__startswith=CODE_PREFIX)
    demo_days = list(SalesWave.objects.filter(deals__product__sku__startswith=CODE_PREFIX).values_list("delivery_date", flat=True))
    with transaction.atomic():
        CommissionEntry.objects.filter(pickup_line__pickup_point__code__startswith=CODE_PREFIX).delete()
        Refund.objects.filter(order_line__order__pickup_point__code__startswith=CODE_PREFIX).delete()
        Collection.objects.filter(pickup_line__pickup_point__code__startswith=CODE_PREFIX).delete()
        Claim.objects.filter(pickup_line__pickup_point__code__startswith=CODE_PREFIX).delete()
        PickupLine.objects.filter(demo_points).delete()
        Receipt.objects.filter(demo_points).delete()
        PickupCode.objects.filter(delivery_date__in=demo_days).delete()
        RoutePlan.objects.filter(depot__code__startswith=CODE_PREFIX).delete()
        Driver.objects.filter(user__username__startswith=USER_PREFIX).delete()
        VehicleOutage.objects.filter(vehicle__depot__code__startswith=CODE_PREFIX).delete()
        Vehicle.objects.filter(depot__code__startswith=CODE_PREFIX).delete()
        Notice.objects.filter(delivery_date__in=demo_days).delete()
        PipelineRun.objects.filter(delivery_date__in=demo_days).delete()
        demo_orders = PurchaseOrder.objects.filter(supplier__code__startswith=CODE_PREFIX)
        GoodsReceiptLine.objects.filter(receipt__purchase_order__in=demo_orders).delete()
        GoodsReceipt.objects.filter(purchase_order__in=demo_orders).delete()
        PurchaseOrderTransition.objects.filter(purchase_order__in=demo_orders).delete()
        PurchaseOrderLine.objects.filter(purchase_order__in=demo_orders).delete()
        demo_orders.delete()
        PurchaseSuggestion.objects.filter(product__sku__startswith=CODE_PREFIX).delete()
        SupplierProduct.objects.filter(supplier__code__startswith=CODE_PREFIX).delete()
        Supplier.objects.filter(code__startswith=CODE_PREFIX).delete()
    flush_warehouse_demo()
    flush_demo_data()


def _staff(username: str, role: Role):
    user = get_user_model().objects.create_user(username=f"{USER_PREFIX}{username}")
    grant_role(user, role)
    return user


def add_suppliers(rng: random.Random, city: City, locale: str = "zh") -> int:
    """A preferred supplier per category and the wholesale market as everyone's fallback (dearer, smaller)."""
    pick = 2 if locale == "zh" else 1
    preferred = {row[0]: procurement_services.create_supplier(code=row[0], name=row[pick]) for row in SUPPLIERS}
    market = procurement_services.create_supplier(code=FALLBACK_SUPPLIER[0], name=FALLBACK_SUPPLIER[pick])
    supplies = {code: {category_name(c, locale) for c in categories} for code, _, _, categories in SUPPLIERS}
    daily_units = city.point_lines.sum() * city.popularity * 1.7 * 3  # three times a busy day's units
    terms = 0
    for product, price, units in zip(city.products, city.list_prices, daily_units):
        supplier = next(preferred[code] for code, categories in supplies.items() if product.category in categories)
        pack = rng.choice([1, 6, 10, 12])
        cost = Decimal(str(round(price * rng.uniform(0.55, 0.7), 2)))
        for priority, (who, unit_cost, capacity) in enumerate(
            ((supplier, cost, int(units) + pack), (market, (cost * Decimal("1.12")).quantize(Decimal("0.01")), int(units / 3) + 1))
        ):
            procurement_services.set_supplier_terms(
                supplier_id=who.pk, product_id=product.pk, unit_cost=unit_cost, case_pack=pack if priority == 0 else 1,
                moq=pack if priority == 0 else 0, daily_capacity=capacity, shelf_life_days=product.shelf_life_days,
                priority=priority,
            )
            terms += 1
    return terms


def busiest_load(city: City) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each pickup point takes on a busy day (its lines, the units per line, each unit's share):
    crates, kilograms and litres."""
    def per_point(per_unit) -> np.ndarray:
        return city.point_lines * BUSIEST_DAY * float(city.popularity @ np.array(per_unit)) * QUANTITIES.mean()

    products = city.products
    crates = per_point([max(p.volume_ml / settings.CRATE_VOLUME_ML, p.weight_g / settings.CRATE_MAX_WEIGHT_G) for p in products])
    return crates + ZONES, per_point([p.weight_g / 1000 for p in products]), per_point([p.volume_ml / 1000 for p in products])


def add_fleet(city: City, fleet: Fleet, loaded_at: time) -> int:
    """Each depot's vans with a driver: the fleet's count, else enough for the depot's busy day (by
    crates, weight and volume, and by the time its stops take within a shift) and a spare. The vans are the fleet's
    (by default 4.2 m box vans, see Fleet), with chilled and frozen compartments: nearly every
    point orders some chilled and frozen goods each day. They leave when the night's goods are
    loaded (`loaded_at`), if that is after their shift's start."""
    vans = 0
    fleet = replace(fleet, shift_start=max(fleet.shift_start, loaded_at))
    crates, kilograms, litres = busiest_load(city)
    stop_seconds = settings.ROUTING_SERVICE_FIXED_SECONDS + settings.ROUTING_SERVICE_PER_CRATE_SECONDS * crates + DRIVE_BETWEEN_POINTS_S
    shift = datetime.combine(date.min, fleet.shift_end) - datetime.combine(date.min, fleet.shift_start)
    van_seconds = (shift.total_seconds() - OUT_AND_BACK_S) * SHIFT_USE
    for depot in city.depots:
        here = np.array([point.depot_id == depot.pk for point in city.points])
        by_time = int(np.ceil(stop_seconds[here].sum() / van_seconds))
        by_load = max(crates[here].sum() / fleet.crates, kilograms[here].sum() / fleet.payload_kg,
                      litres[here].sum() / fleet.volume_litres)
        needed = max(by_time, int(np.ceil(by_load / VAN_FILL))) + 1
        for number in range(1, (fleet.vans or needed) + 1):
            van = Vehicle.objects.create(
                code=f"{depot.code}-V{number:02d}", depot=depot, capacity_kg=fleet.payload_kg, capacity_litres=fleet.volume_litres,
                capacity_crates=fleet.crates, has_chilled_zone=True, has_frozen_zone=True,
                shift_start=fleet.shift_start, shift_end=fleet.shift_end, cost_per_km=fleet.cost_per_km,
                fixed_cost=fleet.fixed_cost,
            )
            Driver.objects.create(
                user=_staff(f"driver-{van.code.lower()}", Role.DRIVER), vehicle=van,
                shift_start=van.shift_start, shift_end=van.shift_end,
            )
            vans += 1
    return vans


def build_city(seed: int, shape: CityShape, first_day: date, history_days: int, locale: str = "zh",
               scenario: Scenario = BASE) -> SimCity:
    # A stream per part: a scenario with another fleet keeps the same city, suppliers and history.
    city = seed_city(stream(seed, None, "city"), array_stream(seed, None, "city"), shape, locale)
    with transaction.atomic():
        add_suppliers(stream(seed, None, "suppliers"), city, locale)
        add_fleet(city, scenario.fleet, scenario.vans_ready())
        buyer = _staff("buyer", Role.PROCUREMENT)
        clerk = _staff("warehouse", Role.WAREHOUSE)
        history = seed_history(array_stream(seed, None, "history"), city, first_day, history_days)
    return SimCity(city, buyer, clerk, history, scenario)
