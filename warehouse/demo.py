"""The warehouse's part of `manage.py demo` (config/demo.py): clear the previous demo's stock, receive the day's goods."""
import random
from datetime import date, timedelta

from django.db.models import Sum

from catalog.models import Product, Warehouse
from grouporders.demo import CODE_PREFIX
from grouporders.models import DemandLine

from . import services
from .models import Allocation, LineShortage, Lot, SortList, StockMove


def flush_warehouse_demo() -> None:
    """Remove the previous demo's stock and outputs, which refer to the demo products and orders."""
    demo_products = {"product__sku__startswith": CODE_PREFIX}
    SortList.objects.filter(route_code__startswith=CODE_PREFIX).delete()
    LineShortage.objects.filter(order_line__deal__product__sku__startswith=CODE_PREFIX).delete()
    Allocation.objects.filter(**demo_products).delete()
    StockMove.objects.filter(lot__product__sku__startswith=CODE_PREFIX).delete()
    Lot.objects.filter(**demo_products).delete()


def stock_the_day(rng: random.Random, delivery_date: date) -> int:
    """Goods received at the central warehouse: most products cover their demand, some fall short."""
    warehouse = Warehouse.objects.get(code__startswith=CODE_PREFIX)
    demand = (
        DemandLine.objects.filter(delivery_date=delivery_date, product__sku__startswith=CODE_PREFIX)
        .values_list("product_id")
        .annotate(units=Sum("quantity"))
        .order_by("product_id")
    )
    shelf_life = dict(Product.objects.filter(sku__startswith=CODE_PREFIX).values_list("pk", "shelf_life_days"))
    lots = 0
    for product_id, units in demand:
        received = int(units * rng.choice([0.6, 0.85, 1.0, 1.1, 1.2, 1.3]))
        first = received // 3 if received > 10 else 0
        for quantity, age in ((first, 1), (received - first, 0)):
            if quantity > 0:
                services.receive_lot(
                    product_id=product_id, site=services.StockSite(warehouse_id=warehouse.pk), quantity=quantity,
                    expiry_date=delivery_date + timedelta(days=max(1, shelf_life[product_id] - age)),
                    bin_location=f"{chr(65 + product_id % 6)}-{product_id % 40:02d}", reference="demo receipt",
                )
                lots += 1
    return lots
