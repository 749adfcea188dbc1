from django.db.models import QuerySet

from .models import Depot, Product


def products(active_only: bool = True, category: str | None = None) -> QuerySet[Product]:
    qs = Product.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    if category:
        qs = qs.filter(category=category)
    return qs


def depots() -> QuerySet[Depot]:
    return Depot.objects.all()
