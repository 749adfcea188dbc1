from ninja import Router
from ninja.pagination import paginate

from core.auth import require_role
from core.schemas import Text
from core.pagination import Page
from core.models import Role

from . import selectors
from .schemas import DepotOut, ProductOut

router = Router(tags=["master data"])


@router.get("/products", response=list[ProductOut])
@paginate(Page)
def list_products(request, category: Text | None = None, include_inactive: bool = False):
    return selectors.products(active_only=not include_inactive, category=category)


@router.get("/depots", response=list[DepotOut])
def list_depots(request):
    require_role(request, Role.OPERATOR, Role.WAREHOUSE, Role.PROCUREMENT, Role.DRIVER)
    return selectors.depots()

