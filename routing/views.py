import math
from datetime import date

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import ServiceError
from core.models import Role
from core.views import role_required

from . import selectors, services

MAP_SIZE, MAP_MARGIN = 320, 16


def _route_map(route) -> dict:
    """The route as SVG coordinates: depot, then the stops in order (a flat projection, fine for a city)."""
    depot = route.plan.depot
    places = [(depot.latitude, depot.longitude)] + [(s.pickup_point.latitude, s.pickup_point.longitude) for s in route.stops.all()]
    shrink = math.cos(math.radians(sum(lat for lat, _ in places) / len(places)))  # degrees of longitude are shorter
    xs, ys = [lng * shrink for _, lng in places], [lat for lat, _ in places]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = (MAP_SIZE - 2 * MAP_MARGIN) / span
    points = [(round(MAP_MARGIN + (x - min(xs)) * scale, 1), round(MAP_SIZE - MAP_MARGIN - (y - min(ys)) * scale, 1))
              for x, y in zip(xs, ys)]
    return {
        "size": MAP_SIZE,
        "depot": (points[0][0] - 6, points[0][1] - 6),  # the corner of its square
        "stops": [(x, y, number) for number, (x, y) in enumerate(points[1:], start=1)],
        "path": " ".join(f"{x},{y}" for x, y in points + points[:1]),
    }


def _day(request) -> date:
    try:
        return date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return timezone.localdate()


@role_required(Role.DRIVER)
def driver_route(request):
    """The driver's route of the day on a phone: stops in order, what to drop off, a map, confirm buttons."""
    delivery_date = _day(request)
    try:
        route = selectors.driver_route(request.user, delivery_date)
    except ServiceError:
        route = None
    return render(request, "routing/driver_route.html", {
        "delivery_date": delivery_date, "route": route, "map": _route_map(route) if route else None,
    })


def _back(request):
    return redirect(f"{reverse('routing:driver-route')}?date={request.POST.get('date', '')}")


@require_POST
@role_required(Role.DRIVER)
def confirm_arrival(request, stop_id: int):
    try:
        services.confirm_arrival(user=request.user, stop_id=stop_id)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return _back(request)


@require_POST
@role_required(Role.DRIVER)
def confirm_delivery(request, stop_id: int):
    try:
        delivered = [(int(key[4:]), int(value)) for key, value in request.POST.items() if key.startswith("qty-")]
        services.confirm_delivery(user=request.user, stop_id=stop_id, delivered=delivered)
    except ValueError:
        messages.error(request, _("quantities must be whole numbers"))
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return _back(request)
