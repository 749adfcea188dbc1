"""The warehouse's part of the simulated city (simulation/): clear an earlier city's stock and outputs."""
from grouporders.demo import CODE_PREFIX

from .models import Allocation, DemandForecast, LineShortage, Lot, SortList, StockMove


def flush_warehouse_demo() -> None:
    """Remove the previous city's stock, forecasts and outputs, which refer to its products and orders."""
    demo_products = {"product__sku__startswith": CODE_PREFIX}
    SortList.objects.filter(route_code__startswith=CODE_PREFIX).delete()
    LineShortage.objects.filter(order_line__deal__product__sku__startswith=CODE_PREFIX).delete()
    Allocation.objects.filter(**demo_products).delete()
    DemandForecast.objects.filter(**demo_products).delete()
    StockMove.objects.filter(lot__product__sku__startswith=CODE_PREFIX).delete()
    Lot.objects.filter(**demo_products).delete()
