from datetime import date, timedelta

from django.shortcuts import render
from django.utils import timezone

from core.models import Role
from core.views import role_required

from . import selectors


@role_required(Role.WAREHOUSE, Role.OPERATOR)
def pick_lists(request):
    """Today's (or the chosen day's) pick lists with print links, for warehouse staff."""
    try:
        delivery_date = date.fromisoformat(request.GET["date"])
    except (KeyError, ValueError):
        # Pickers work at night for the next morning's deliveries.
        now = timezone.localtime()
        delivery_date = now.date() + timedelta(days=1 if now.hour >= 12 else 0)
    return render(
        request,
        "warehouse/pick_lists.html",
        {
            "delivery_date": delivery_date,
            "picks": selectors.batch_pick_list(delivery_date),
            "sort_lists": selectors.sort_lists(delivery_date),
        },
    )
